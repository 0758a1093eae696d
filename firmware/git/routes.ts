/**
 * The smart-HTTP routes under /git/<repo>.git/ (gitprotocol-http): GET info/refs?service=…
 * (v0/v1 advertisement, or v2 capabilities when the client sends `Git-Protocol: version=2`),
 * POST git-upload-pack and POST git-receive-pack. Dumb HTTP is not served. Every request is
 * authorised first (read for upload-pack, write for receive-pack), bounded in size and
 * idle time, and logged in one line.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { sendError, type GitAuthorizer, type Router } from '../http/index.js';
import { setRequestTimeout } from '../http/server.js';
import { describeError, type LogFields, type Logger } from '../runtime/index.js';
import { StoreError, type Store, type UserStores } from '../store/index.js';
import { advertiseV0, advertiseV2, snapshotRefs, type GitService } from './advertise.js';
import { GitRequestError } from './errors.js';
import { PktLineReader } from './pkt-line.js';
import { receivePack, type ReceiveHooks, type ReceivePackLimits } from './receive-pack.js';
import { RequestBody } from './request-body.js';
import { sendErrPacket, uploadPackV0, uploadPackV2, type UploadPackLimits } from './upload-pack.js';

/**
 * The authorizer (the HTTP layer's Authenticator.gitAuthorizer()): decides whether a request
 * may reach repository `repo` (a user name or 'firmware') for read or write; when it may not,
 * it has answered already (401 or 403) and returns undefined; else it names the user.
 */
export type { GitAuthorizer };
export type GitAccess = Parameters<GitAuthorizer>[3];

export interface GitLimits extends UploadPackLimits, ReceivePackLimits {
  /** Largest upload-pack request body (after gzip). */
  maxRequestBytes: number;
  /** Largest push (the pack and its commands). */
  maxPushBytes: number;
  /** Longest wait for the next bytes of a request body. */
  idleTimeoutMs: number;
  /**
   * How long a push may take to arrive whole (instead of the HTTP server's request timeout,
   * which would cut a large push on a slow link); the idle timeout still applies throughout.
   */
  pushTimeoutMs: number;
}

export const DEFAULT_GIT_LIMITS: GitLimits = {
  maxWants: 10_000,
  maxHaves: 50_000,
  deltaWindow: 10,
  deltaSearchMaxObjects: 2000,
  maxRequestBytes: 8 * 1024 * 1024,
  maxPushBytes: 2 * 1024 * 1024 * 1024,
  idleTimeoutMs: 30_000,
  // maxPushBytes at about 150 KB/s.
  pushTimeoutMs: 4 * 60 * 60 * 1000,
  maxCommands: 1000,
  maxPushOptions: 100,
  maxObjects: 1_000_000,
  // The store's own limit on a value (MAX_VALUE_BYTES): a pushed object may be no larger.
  maxObjectBytes: 64 * 1024 * 1024,
  maxDeltaDepth: 1000,
};

export interface GitServerOptions {
  stores: UserStores;
  authorize: GitAuthorizer;
  /** The hooks that vet pushes into a repository (OTA for 'firmware', apps for users). */
  hooks?: (repo: string) => ReceiveHooks | undefined;
  log: Logger;
  limits?: Partial<GitLimits>;
}

const REPO_PATH = /^\/git\/([a-z][a-z0-9_-]{0,31})\.git\/(info\/refs|git-upload-pack|git-receive-pack)$/;
/** Headroom for the command list in front of a pushed pack. */
const PUSH_COMMANDS_BYTES = 1024 * 1024;

export function mountGit(router: Router, options: GitServerOptions): void {
  const limits: GitLimits = { ...DEFAULT_GIT_LIMITS, ...options.limits };
  const log = options.log;
  router.add(['GET', 'POST'], '/git/*', async (req, res, url) => {
    const started = Date.now();
    const match = REPO_PATH.exec(url.pathname);
    if (match === null) return sendError(res, 404, 'ENOTFOUND', 'no such git resource (only smart HTTP is served)');
    const repo = match[1]!;
    const endpoint = match[2]!;
    const service = endpoint === 'info/refs' ? url.searchParams.get('service') : endpoint;
    if (service !== 'git-upload-pack' && service !== 'git-receive-pack') {
      return sendError(res, 403, 'EFORBIDDEN', 'only the smart HTTP services git-upload-pack and git-receive-pack are served');
    }
    const wantsPost = endpoint !== 'info/refs';
    if ((req.method === 'POST') !== wantsPost) {
      res.setHeader('allow', wantsPost ? 'POST' : 'GET');
      return sendError(res, 405, 'EMETHOD', `${req.method ?? ''} is not allowed on ${url.pathname}`);
    }
    const access = await options.authorize(req, res, repo, service === 'git-receive-pack' ? 'write' : 'read');
    if (access === undefined) return;
    let store: Store;
    try {
      store = options.stores.get(repo);
    } catch (error) {
      if (error instanceof StoreError && error.code === 'ENOTFOUND') return sendError(res, 404, 'ENOTFOUND', `no repository ${repo}.git`);
      throw error;
    }
    const fields: LogFields = { repo, user: access.user, service: wantsPost ? service : `${service} refs` };
    try {
      Object.assign(fields, await serve(req, res, { store, repo, user: access.user, service, wantsPost, limits, options }));
      log.info('git', { ...fields, ms: Date.now() - started });
    } catch (error) {
      answerFailure(req, res, service, error);
      const level = error instanceof GitRequestError ? 'warn' : 'error';
      log[level]('git request failed', { ...fields, ms: Date.now() - started, error: describeError(error) });
    }
  });
}

interface Served {
  store: Store;
  repo: string;
  user: string;
  service: GitService;
  wantsPost: boolean;
  limits: GitLimits;
  options: GitServerOptions;
}

async function serve(req: IncomingMessage, res: ServerResponse, served: Served): Promise<LogFields> {
  const { store, service, limits } = served;
  const protocol = protocolVersion(req);
  if (!served.wantsPost) {
    // Receive-pack has no v2: git itself answers such a request in v0.
    const body = service === 'git-upload-pack' && protocol === 2 ? advertiseV2() : advertiseV0(service, snapshotRefs(store), protocol === 1 ? 1 : 0);
    res.writeHead(200, {
      'content-type': `application/x-${service}-advertisement`,
      'cache-control': 'no-cache, max-age=0, must-revalidate',
      expires: 'Fri, 01 Jan 1980 00:00:00 GMT',
      pragma: 'no-cache',
    });
    res.end(body);
    return { proto: protocol };
  }
  const contentType = String(req.headers['content-type'] ?? '');
  if (contentType !== `application/x-${service}-request`) {
    throw new GitRequestError('EMEDIATYPE', `expected content-type application/x-${service}-request`);
  }
  if (service === 'git-upload-pack') {
    const body = new RequestBody(req, { maxBytes: limits.maxRequestBytes, idleTimeoutMs: limits.idleTimeoutMs });
    const reader = new PktLineReader(body);
    const context = { store, limits };
    return protocol === 2 ? uploadPackV2(context, reader, res) : uploadPackV0(context, reader, res);
  }
  setRequestTimeout(req, limits.pushTimeoutMs);
  const body = new RequestBody(req, { maxBytes: limits.maxPushBytes + PUSH_COMMANDS_BYTES, idleTimeoutMs: limits.idleTimeoutMs });
  const hooks = served.options.hooks?.(served.repo);
  return receivePack({ repo: served.repo, user: served.user, store, hooks, limits, log: served.options.log }, body, res);
}

/** The protocol version the client asked for in `Git-Protocol` (colon-separated key=value). */
function protocolVersion(req: IncomingMessage): 0 | 1 | 2 {
  const header = String(req.headers['git-protocol'] ?? '');
  const versions = header
    .split(':')
    .filter((part) => part.startsWith('version='))
    .map((part) => part.slice('version='.length));
  if (versions.includes('2')) return 2;
  return versions.includes('1') ? 1 : 0;
}

/** After an error answer, how long the rest of a request body is read and dropped, so the client sees the answer. */
const LINGER_MS = 2000;

/** Tells the client what went wrong in the terms it can still receive. */
function answerFailure(req: IncomingMessage, res: ServerResponse, service: GitService, error: unknown): void {
  if (res.headersSent) {
    // Mid-response: the pack stream already carried the error (band 3) or the client is gone.
    if (!res.writableEnded) res.destroy();
    return;
  }
  if (error instanceof GitRequestError && error.code === 'EPROTO' && service === 'git-upload-pack') return sendErrPacket(res, error.message);
  if (error instanceof GitRequestError && error.code === 'ECLOSED') return void res.destroy();
  // The rest of the body is not worth reading: drop it for a moment (a client that is still
  // sending reads no answer if the socket closes under it), then close the connection.
  res.setHeader('connection', 'close');
  req.resume();
  setTimeout(() => req.socket.destroy(), LINGER_MS).unref();
  if (error instanceof GitRequestError) return sendError(res, error.httpStatus, error.code, error.message);
  sendError(res, 500, 'EINTERNAL', 'internal error');
}
