/**
 * What every web-UI API handler gets, and how it answers. The UI's API (`/ui/api/…`) is JSON
 * for the UI's own pages, behind a session cookie; the REST API (`/api/v1`) stays the one for
 * programs. A handler returns the value to send (200 JSON) or throws HttpError (status, a code the page can branch on, a message for people).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity, Store } from '../../store/index.js';
import { HttpError, readJsonObject } from '../../http/index.js';

export const UI_API_PREFIX = '/ui/api';
/** The branch the UI reads and writes: the one the apps and DAV use. */
export const UI_BRANCH = 'main';
const MAX_JSON_BYTES = 256 * 1024;
const BODY_TIMEOUT_MS = 30_000;

export interface UiRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The signed-in user. */
  user: string;
  /** Whether that user is the device's owner (users, devices, pairing). */
  owner: boolean;
  /** The user's store. */
  store: Store;
  /** `:name` segments of the route, percent-decoded. */
  params: Record<string, string>;
}

export type UiHandler = (ui: UiRequest) => Promise<unknown> | unknown;

export interface UiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Below /ui/api/, e.g. 'contacts/:book/:name'; a `:name` matches one segment. */
  path: string;
  handler: UiHandler;
  /** Only the owner may call it. */
  ownerOnly?: boolean;
}

/** The request's JSON object body (bounded in size and time); 400/413/415 otherwise. */
export function readBody(ui: UiRequest): Promise<Record<string, unknown>> {
  return readJsonObject(ui.req, { maxBytes: MAX_JSON_BYTES, timeoutMs: BODY_TIMEOUT_MS });
}

/** A string field of a body: required unless `fallback` is given; at most `maxChars`. */
export function stringField(body: Record<string, unknown>, name: string, options: { fallback?: string; maxChars?: number } = {}): string {
  const value = body[name];
  if (value === undefined || value === null) {
    if (options.fallback !== undefined) return options.fallback;
    throw new HttpError(400, 'EINVAL', `missing field '${name}'`);
  }
  if (typeof value !== 'string') throw new HttpError(400, 'EINVAL', `field '${name}' must be a string`);
  const max = options.maxChars ?? 10_000;
  if (value.length > max) throw new HttpError(400, 'EINVAL', `field '${name}' is longer than ${max} characters`);
  return value;
}

/** Who a commit made from the UI is by. */
export function authorOf(ui: UiRequest): Identity {
  return { name: ui.user, email: `${ui.user}@nymote` };
}

/** A commit's info for a change made in the UI: its author and what it did. */
export function commitInfo(ui: UiRequest, message: string): { author: Identity; message: string } {
  return { author: authorOf(ui), message: `${message} (web UI)` };
}
