/** What every REST API handler gets, the API's limits, and small helpers they share. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import type { Branch, Identity, ObjectId, Store } from '../../store/index.js';
import type { Principal } from '../auth.js';
import { HttpError } from '../body.js';
import { sendError } from '../respond.js';

export interface ApiLimits {
  /** Largest value a PUT may carry (the store allows 64 MiB; the API buffers it in memory). */
  maxValueBytes: number;
  /** Largest JSON request body. */
  maxJsonBytes: number;
  /** Longest wait for the next chunk of a request body. */
  bodyTimeoutMs: number;
  /** Most history entries one request returns. */
  maxHistory: number;
  /** Most changes one diff returns (the answer says when it was cut). */
  maxDiffChanges: number;
  /** Server-Sent Events: streams per user, streams in all, heartbeat interval. */
  maxStreamsPerUser: number;
  maxStreams: number;
  heartbeatMs: number;
  /** A stream whose client reads slower than this many bytes behind is closed. */
  maxStreamBufferBytes: number;
}

export const DEFAULT_API_LIMITS: ApiLimits = {
  maxValueBytes: 16 * 1024 * 1024,
  maxJsonBytes: 64 * 1024,
  bodyTimeoutMs: 30_000,
  maxHistory: 1000,
  maxDiffChanges: 10_000,
  maxStreamsPerUser: 8,
  maxStreams: 128,
  heartbeatMs: 15_000,
  maxStreamBufferBytes: 1024 * 1024,
};

export interface ApiRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The user whose store this is (the authenticated one). */
  user: string;
  principal: Principal;
  store: Store;
  /** Decoded path segments after /api/v1/<user>/<resource>. */
  rest: string[];
  limits: ApiLimits;
}

export const DEFAULT_BRANCH = 'main';
const MAX_MESSAGE_BYTES = 4096;

export function methodNotAllowed(res: ServerResponse, method: string, allowed: string[]): void {
  res.setHeader('allow', allowed.join(', '));
  sendError(res, 405, 'EMETHOD', `${method} is not allowed here`);
}

/** Who a commit made for a signed-in user is by (REST API, DAV, web UI). */
export function authorOf(user: string): Identity {
  return { name: user, email: `${user}@${os.hostname() || 'nymote'}` };
}

/** The commit message from X-Nymote-Message (UTF-8 bytes allowed), or a default. */
export function commitMessage(req: IncomingMessage, fallback: string): string {
  const header = req.headers['x-nymote-message'];
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw === undefined || raw.trim() === '') return fallback;
  // node hands header bytes over as latin1; clients send UTF-8.
  const text = Buffer.from(raw, 'latin1').toString('utf8').trim();
  if (Buffer.byteLength(text) > MAX_MESSAGE_BYTES) throw new HttpError(400, 'EINVAL', `X-Nymote-Message is longer than ${MAX_MESSAGE_BYTES} bytes`);
  return text;
}

/** An ETag for a blob id; blob ids are content hashes, so it is strong. */
export function etagOf(id: ObjectId): string {
  return `"${id}"`;
}

/** The ids (or '*') an If-Match / If-None-Match header lists; quotes and W/ are dropped. */
export function parseEtagList(header: string | string[] | undefined): string[] | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  return text
    .split(',')
    .map((t) => t.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1'))
    .filter((t) => t !== '');
}

/** True when `id` (undefined = absent) satisfies an If-Match list. */
export function matchesIfMatch(list: string[], id: ObjectId | undefined): boolean {
  if (id === undefined) return false;
  return list.includes('*') || list.includes(id);
}

/** The head of a branch that must exist (404 otherwise); an empty store has an empty `main`. */
export function readableBranch(store: Store, name: string): { branch: Branch; head: ObjectId | undefined } {
  const branch = store.branch(name);
  const head = branch.head();
  if (head === undefined && !(name === DEFAULT_BRANCH && store.branches().length === 0)) {
    throw new HttpError(404, 'ENOTFOUND', `no branch '${name.slice(0, 100)}'`);
  }
  return { branch, head };
}

/** A query parameter as a bounded positive integer. */
export function intParam(url: URL, name: string, fallback: number, max: number): number {
  const text = url.searchParams.get(name);
  if (text === null || text === '') return fallback;
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) throw new HttpError(400, 'EINVAL', `${name} must be a positive integer`);
  return Math.min(Number(text), max);
}

/**
 * A string field of a JSON body; `fallback` when it is absent. 400 EINVAL when it is not a
 * string, is empty (unless `allowEmpty`) or has more than `maxChars` characters.
 */
export function stringField(body: Record<string, unknown>, name: string, options: { fallback?: string; maxChars?: number; allowEmpty?: boolean } = {}): string {
  const value = body[name] ?? options.fallback;
  if (options.allowEmpty === true) {
    if (value === undefined) throw new HttpError(400, 'EINVAL', `missing field '${name}'`);
    if (typeof value !== 'string') throw new HttpError(400, 'EINVAL', `field '${name}' must be a string`);
  } else if (typeof value !== 'string' || value === '') {
    throw new HttpError(400, 'EINVAL', `field '${name}' must be a non-empty string`);
  }
  if (options.maxChars !== undefined && value.length > options.maxChars) throw new HttpError(400, 'EINVAL', `field '${name}' is longer than ${options.maxChars} characters`);
  return value;
}
