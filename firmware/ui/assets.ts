/**
 * The UI's files: index.html, app.js and app.css, built from firmware/ui/client by
 * scripts/build-ui.mjs into `ui/` beside the bundle (dist/firmware/ui, a device's app slot).
 * They are read once at start and served from memory with strong ETags, gzipped (once, at the
 * first request that takes gzip, not at start) for browsers that take it: a third of the bytes
 * over a Pi's Wi-Fi; every UI answer carries a
 * Content-Security-Policy that allows script only from these files.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

/** No inline script or style, nothing from elsewhere, never framed. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every answer of the UI (pages and its API). */
export function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  body: Buffer;
  gzipped?: Buffer;
  type: string;
  etag: string;
}

/** Where the built UI is: beside the bundle, else dist/firmware/ui of the source tree (tests under tsx). */
export function defaultAssetsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const besideBundle = path.join(here, 'ui');
  if (fs.existsSync(path.join(besideBundle, 'index.html'))) return besideBundle;
  return path.resolve(here, '../../dist/firmware/ui');
}

export class UiAssets {
  private readonly files = new Map<string, Asset>();

  /** Loads `dir`'s files; a missing dir leaves the UI unbuilt (answers say so). */
  constructor(readonly dir: string) {
    if (!fs.existsSync(dir)) return;
    for (const name of fs.readdirSync(dir)) {
      const type = TYPES[path.extname(name)];
      if (type === undefined) continue;
      const body = fs.readFileSync(path.join(dir, name));
      this.files.set(name, { body, type, etag: `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
    }
  }

  get built(): boolean {
    return this.files.has('index.html');
  }

  /** Answers GET/HEAD of one file; false when there is no such file. */
  serve(req: IncomingMessage, res: ServerResponse, name: string): boolean {
    const asset = this.files.get(name);
    if (asset === undefined) return false;
    setSecurityHeaders(res);
    // Revalidated each time (cheap: 304), so an update is picked up at once.
    const headers = { 'content-type': asset.type, etag: asset.etag, 'cache-control': 'no-cache', vary: 'accept-encoding' };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
    const body = gzip ? (asset.gzipped ??= zlib.gzipSync(asset.body, { level: 9 })) : asset.body;
    res.writeHead(200, { ...headers, ...(gzip ? { 'content-encoding': 'gzip' } : {}), 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }
}
