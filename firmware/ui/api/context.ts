/**
 * What every web-UI API handler gets, and how it answers. The UI's API (`/ui/api/…`) is JSON
 * for the UI's own pages, behind a session cookie; the REST API (`/api/v1`) stays the one for
 * programs. A handler returns the value to send (200 JSON) or throws HttpError (status, a code the page can branch on, a message for people).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity, Store } from '../../store/index.js';
import { authorOf, readJsonObject } from '../../http/index.js';

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

/** A commit's info for a change made in the UI: its author and what it did. */
export function commitInfo(ui: UiRequest, message: string): { author: Identity; message: string } {
  return { author: authorOf(ui.user), message: `${message} (web UI)` };
}
