/** DAV errors: a status, a message, and the precondition element RFC 4918 §16 asks for. */
import type { ServerResponse } from 'node:http';
import { escapeXml } from './xml.js';

export interface Condition {
  ns: string;
  name: string;
}

export class DavError extends Error {
  override name = 'DavError';
  constructor(
    readonly status: number,
    message: string,
    readonly condition?: Condition,
  ) {
    super(message);
  }
}

export const NYMOTE_NS = 'http://nymote.org/ns/';

/** `<D:error>` with the precondition (when there is one) and the message, for humans and logs. */
export function sendDavError(res: ServerResponse, err: DavError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const condition = err.condition === undefined ? '' : `<c:${err.condition.name} xmlns:c="${escapeXml(err.condition.ns)}"/>`;
  const body = `<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:">${condition}<n:message xmlns:n="${NYMOTE_NS}">${escapeXml(err.message)}</n:message></D:error>\n`;
  res.writeHead(err.status, {
    'content-type': 'application/xml; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
