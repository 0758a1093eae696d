/**
 * Request bodies, read with bounds: a byte limit (413, checked against Content-Length before
 * reading and against what arrives while reading), an idle timeout between chunks (408), and
 * JSON parsing with a clear 400. Every failure is an HttpError that `sendHttpError` answers;
 * after a 413 or 415 the rest of the body is drained (within bounds) so the client reads the
 * answer; after a 408 or a broken body the connection is closed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from './respond.js';

/** What to do with the rest of a request body that was not read when the answer goes out. */
export type UnreadBody =
  /** Read and discard it, within bounds, so the client (still sending) gets to read the answer. */
  | 'drain'
  /** Close the connection after the answer (the client stalled or broke the framing). */
  | 'close';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly unread?: UnreadBody,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Bounds of draining an unread body after an early answer (413, 415): then the connection is cut. */
export const DRAIN_LIMITS = { bytes: 4 * 1024 * 1024, ms: 3000 };

export interface BodyLimits {
  maxBytes: number;
  /** Longest wait for the next chunk. */
  timeoutMs: number;
}

export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

/** Reads the whole body into memory, never more than `maxBytes`. */
export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const { maxBytes, timeoutMs } = limits;
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    if (!/^\d{1,15}$/.test(declared)) return Promise.reject(new HttpError(400, 'EBADLENGTH', 'invalid Content-Length', 'close'));
    if (Number(declared) > maxBytes) return Promise.reject(tooLarge(maxBytes));
  }
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: HttpError | undefined) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err === undefined) return resolve(Buffer.concat(chunks, size));
      // Stop reading what is left; the answer closes the connection.
      req.pause();
      chunks.length = 0;
      reject(err);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(new HttpError(408, 'ETIMEOUT', `no request body data for ${Math.max(1, Math.round(timeoutMs / 1000))} s`, 'close')), timeoutMs);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return finish(tooLarge(maxBytes));
      chunks.push(chunk);
      arm();
    };
    const onEnd = () => {
      if (declared !== undefined && size !== Number(declared)) return finish(new HttpError(400, 'EBADLENGTH', 'body length differs from Content-Length', 'close'));
      finish(undefined);
    };
    const onError = () => finish(new HttpError(400, 'EABORTED', 'the request body was cut off', 'close'));
    const onAborted = onError;
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('aborted', onAborted);
    arm();
  });
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'ETOOBIG', `request body is larger than ${maxBytes} bytes`, 'drain');
}

/** True when the request says its body is JSON (`application/json`, or `…+json`). */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const type = header.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** Reads a JSON body: 415 unless it says it is JSON, 400 when it does not parse, 413 when too big. */
export async function readJson(req: IncomingMessage, limits: BodyLimits): Promise<unknown> {
  if (!isJsonContentType(req.headers['content-type'])) {
    throw new HttpError(415, 'EMEDIATYPE', 'expected a body of type application/json', 'drain');
  }
  const body = await readBody(req, limits);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (err) {
    throw new HttpError(400, 'EBADJSON', `request body is not valid JSON: ${(err as Error).message.split('\n')[0]!.slice(0, 200)}`);
  }
}

/** A JSON object body with string fields (others rejected with 400). */
export async function readJsonObject(req: IncomingMessage, limits: BodyLimits): Promise<Record<string, unknown>> {
  const value = await readJson(req, limits);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'EBADJSON', 'request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/**
 * Answers an HttpError, and deals with the part of the body that was not read. The answer is
 * JSON unless a protocol writes its own (`send`: DAV answers with its error element).
 */
export function sendHttpError(res: ServerResponse, err: HttpError, send = (r: ServerResponse, e: HttpError) => sendError(r, e.status, e.code, e.message)): void {
  if (err.unread === 'close' && !res.headersSent) res.setHeader('connection', 'close');
  if (err.unread === 'drain') drainBody(res.req);
  send(res, err);
}

/**
 * Reads and discards the rest of a body: closing at once would make the kernel answer the
 * client's next bytes with a reset, which can destroy our answer before the client reads it.
 * A body that ends within the bounds leaves the connection usable; one that does not is cut.
 */
function drainBody(req: IncomingMessage): void {
  if (req.complete) return;
  let discarded = 0;
  const cut = () => {
    clearTimeout(timer);
    req.socket.destroy();
  };
  const timer = setTimeout(cut, DRAIN_LIMITS.ms);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > DRAIN_LIMITS.bytes) cut();
  });
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  req.resume();
}
