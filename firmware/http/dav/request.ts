/** What every DAV method handler gets, and the helpers they share (bodies, headers, commits). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../runtime/index.js';
import type { Branch, Store, TreeView } from '../../store/index.js';
import { authorOf } from '../api/context.js';
import type { Principal } from '../auth.js';
import { readBody } from '../body.js';
import { DavError } from './errors.js';
import { BRANCH, makeHome, PROPS_FILE, type DavSpace, type DavTarget, type Resource } from './space.js';
import { parseXml, type XmlElement } from './xml.js';

export interface DavLimits {
  /** Largest XML request body (PROPFIND, PROPPATCH, REPORT, MKCOL). */
  maxXmlBytes: number;
  /** Longest wait for the next chunk of a body. */
  bodyTimeoutMs: number;
}

export const DEFAULT_DAV_LIMITS: DavLimits = { maxXmlBytes: 1024 * 1024, bodyTimeoutMs: 30_000 };

export interface DavRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  space: DavSpace;
  target: DavTarget;
  principal: Principal;
  /** The user's store (undefined at the root, which shows only the principal). */
  store: Store | undefined;
  limits: DavLimits;
  log: Logger;
}

export function branchOf(request: DavRequest): Branch {
  if (request.store === undefined) throw new DavError(405, 'nothing can be changed here');
  return request.store.branch(BRANCH);
}

/** The request's XML body, or undefined when there is none; 415 for a body that is not XML. */
export async function readXmlBody(request: DavRequest): Promise<XmlElement | undefined> {
  const { req, limits } = request;
  const body = await readBody(req, { maxBytes: limits.maxXmlBytes, timeoutMs: limits.bodyTimeoutMs });
  if (body.length === 0 || body.toString('utf8').trim() === '') return undefined;
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== '' && type !== 'application/xml' && type !== 'text/xml') throw new DavError(415, `expected an XML body, not ${type.slice(0, 60)}`);
  try {
    return parseXml(body.toString('utf8'));
  } catch (err) {
    throw new DavError(400, (err as Error).message);
  }
}

/** The Depth header: '0', '1' or 'infinity' (the default given). */
export function depthOf(req: IncomingMessage, fallback: '0' | '1' | 'infinity'): '0' | '1' | 'infinity' {
  const value = headerText(req.headers.depth, fallback).toLowerCase();
  if (value === '0' || value === '1' || value === 'infinity') return value;
  throw new DavError(400, `invalid Depth header '${value.slice(0, 20)}'`);
}

/** A header's value (the first, if repeated), trimmed. */
export function headerText(header: string | string[] | undefined, fallback: string): string {
  return (Array.isArray(header) ? header[0] : header)?.trim() ?? fallback;
}

/** One commit by the authenticated user; `change` may throw DavError to change nothing. */
export async function commit<T>(request: DavRequest, message: string, change: (view: TreeView) => T): Promise<T> {
  const { result } = await branchOf(request).transaction(change, { message: `dav: ${message}\n`, author: authorOf(request.principal.user) });
  return result;
}

/** The homes of every kind, with their default collections, when the user has none yet. */
export async function ensureHomes(request: DavRequest): Promise<void> {
  const { store, space } = request;
  if (store === undefined) return;
  const view = store.branch(BRANCH).view();
  const missing = space.allKinds().filter((kind) => !view.exists(`${kind.home}/${PROPS_FILE}`));
  if (missing.length === 0) return;
  await commit(request, 'make the homes', (view) => {
    for (const kind of missing) if (!view.exists(`${kind.home}/${PROPS_FILE}`)) makeHome(view, kind);
  });
}

/** The resource a target names in the branch as it is now. */
export function resolveNow(request: DavRequest, view: TreeView): Resource {
  return request.space.resolve(request.target, view);
}
