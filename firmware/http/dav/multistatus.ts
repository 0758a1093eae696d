/** Writing 207 Multi-Status bodies (RFC 4918 §13): one response per href, propstats by status. */
import type { ServerResponse } from 'node:http';
import { APPLE_NS, CALDAV_NS, CALSERVER_NS, CARDDAV_NS, DAV_NS, escapeXml } from './xml.js';

/** The prefixes the root element declares; other namespaces are declared where they are used. */
const PREFIXES: ReadonlyMap<string, string> = new Map([
  [DAV_NS, 'D'],
  [CALDAV_NS, 'C'],
  [CARDDAV_NS, 'CR'],
  [CALSERVER_NS, 'CS'],
  [APPLE_NS, 'A'],
]);
const ROOT_DECLARATIONS = [...PREFIXES].map(([ns, prefix]) => ` xmlns:${prefix}="${ns}"`).join('');

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  424: 'Failed Dependency',
  507: 'Insufficient Storage',
};

export function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}`.trimEnd();
}

interface Tags {
  open: string;
  close: string;
  empty: string;
}

/** Tags by `{ns}name`: a listing writes the same few properties for every member. */
const tagCache = new Map<string, Tags>();

function tagsOf(key: string): Tags {
  let tags = tagCache.get(key);
  if (tags !== undefined) return tags;
  const close = key.indexOf('}');
  const ns = key.slice(1, close);
  const name = key.slice(close + 1);
  const prefix = PREFIXES.get(ns);
  // An element in no namespace is written unprefixed with the default namespace undone.
  const tag = ns === '' ? name : prefix === undefined ? `x:${name}` : `${prefix}:${name}`;
  const declaration = ns === '' ? ' xmlns=""' : prefix === undefined ? ` xmlns:x="${escapeXml(ns)}"` : '';
  tags = { open: `<${tag}${declaration}>`, close: `</${tag}>`, empty: `<${tag}${declaration}/>` };
  // Clients may name any property: the cache stays bounded.
  if (tagCache.size >= 4096) tagCache.clear();
  tagCache.set(key, tags);
  return tags;
}

/** `{ns}name` → an element with that name around `inner` (empty element when inner is ''). */
export function element(key: string, inner = ''): string {
  const tags = tagsOf(key);
  return inner === '' ? tags.empty : tags.open + inner + tags.close;
}

export function hrefElement(href: string): string {
  return `<D:href>${escapeXml(href)}</D:href>`;
}

/** A property found: `{ns}name` and its complete XML (an element written by `element`, or a stored dead property). */
export interface FoundProperty {
  key: string;
  xml: string;
}

export class Multistatus {
  private readonly parts: string[] = [];

  /** A response with propstats: found properties (200) and others by status (404 etc.). */
  propstat(href: string, found: readonly FoundProperty[], others: ReadonlyMap<number, readonly string[]> = new Map()): void {
    let text = `<D:response>${hrefElement(href)}`;
    if (found.length > 0) text += `<D:propstat><D:prop>${found.map((p) => p.xml).join('')}</D:prop><D:status>${statusLine(200)}</D:status></D:propstat>`;
    for (const [status, keys] of others) {
      if (keys.length === 0) continue;
      text += `<D:propstat><D:prop>${keys.map((k) => element(k)).join('')}</D:prop><D:status>${statusLine(status)}</D:status></D:propstat>`;
    }
    this.parts.push(`${text}</D:response>`);
  }

  /** A response carrying only a status (a member gone, in a sync report; a missing href in multiget). */
  status(href: string, status: number): void {
    this.parts.push(`<D:response>${hrefElement(href)}<D:status>${statusLine(status)}</D:status></D:response>`);
  }

  send(res: ServerResponse, extra = ''): void {
    const body = `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus${ROOT_DECLARATIONS}>${this.parts.join('')}${extra}</D:multistatus>\n`;
    res.writeHead(207, {
      'content-type': 'application/xml; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(body);
  }
}
