/**
 * The REST API, `/api/v1/<user>/…`, on the store of the authenticated user:
 *
 *   GET    tree/<branch>/<path>            value bytes (ETag = blob id) or directory listing (JSON)
 *   GET    tree/<branch>/<path>?history=1&limit=N
 *   PUT    tree/<branch>/<path>            body = value; If-Match, X-Nymote-Message → {commit, id}
 *   DELETE tree/<branch>/<path>            If-Match; ?recursive=1 for a directory → {commit}
 *   GET    branches | POST branches {name, from}
 *   POST   merge {from, into}              → {kind, commit, conflicts: [paths]}
 *   GET    diff?from=A&to=B&prefix=P
 *   GET    events?branch=B&prefix=P        Server-Sent Events, one per commit
 *
 * Errors are `{"error": {"code", "message"}}`: 400 bad path or input, 401/403 credentials,
 * 404 missing, 405, 408/413 body, 409 conflict, 412 If-Match, 415 not JSON, 429 too many.
 * A user reaches only their own store (another user's name is 403, whether it exists or not).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger, Service } from '../../runtime/index.js';
import type { UserStores } from '../../store/index.js';
import type { Authenticator } from '../auth.js';
import { HttpError } from '../body.js';
import type { Router } from '../router.js';
import { DEFAULT_API_LIMITS, methodNotAllowed, type ApiLimits, type ApiRequest } from './context.js';
import { sendApiError } from './errors.js';
import { EventStreams } from './events.js';
import { handleBranches, handleDiff, handleMerge } from './refs.js';
import { handleTree } from './tree.js';

export { DEFAULT_API_LIMITS, authorOf, stringField, type ApiLimits } from './context.js';
export const API_PREFIX = '/api/v1';

export interface ApiDeps {
  stores: UserStores;
  auth: Authenticator;
  log: Logger;
  limits?: Partial<ApiLimits>;
}

/** The API's running state; register it as a service after the HTTP(S) services so its event streams end first on stop. */
export class ApiService implements Service {
  readonly name = 'api';

  constructor(private readonly events: EventStreams) {}

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    await this.events.closeAll();
  }

  describe() {
    return { detail: `${this.events.size} event streams` };
  }
}

/** Mounts `/api/v1/*` on the router; returns the service that closes event streams on stop. */
export function mountApi(router: Router, deps: ApiDeps): ApiService {
  const limits: ApiLimits = { ...DEFAULT_API_LIMITS, ...deps.limits };
  const events = new EventStreams(limits);
  const handler = (req: IncomingMessage, res: ServerResponse, url: URL) => handleApi(req, res, url, deps, limits, events);
  router.add(['GET', 'PUT', 'DELETE', 'POST'], `${API_PREFIX}/*`, handler);
  return new ApiService(events);
}

function decodeSegments(pathname: string): string[] {
  return pathname.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw new HttpError(400, 'EBADPATH', 'malformed percent-encoding in the path');
    }
  });
}

async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL, deps: ApiDeps, limits: ApiLimits, events: EventStreams): Promise<void> {
  const context = { method: req.method ?? '', path: url.pathname.slice(0, 200) };
  try {
    // /api/v1/<user>/<resource>/<rest…>
    const [user, resource, ...rest] = decodeSegments(url.pathname.slice(API_PREFIX.length + 1));
    if (user === undefined || user === '' || resource === undefined || resource === '') {
      throw new HttpError(404, 'ENOTFOUND', 'expected /api/v1/<user>/<tree|branches|merge|diff|events>');
    }
    const principal = await deps.auth.requireUser(req, res, user);
    if (principal === undefined) return;
    const store = deps.stores.get(user);
    const api: ApiRequest = { req, res, url, user, principal, store, rest, limits };
    switch (resource) {
      case 'tree':
        return await handleTree(api);
      case 'branches':
        return await handleBranches(api);
      case 'merge':
        return await handleMerge(api);
      case 'diff':
        return await handleDiff(api);
      case 'events':
        if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, req.method ?? '', ['GET', 'HEAD']);
        return events.open(api);
      default:
        throw new HttpError(404, 'ENOTFOUND', `no resource '${resource.slice(0, 40)}' (tree, branches, merge, diff, events)`);
    }
  } catch (err) {
    sendApiError(res, err, deps.log, context);
  }
}
