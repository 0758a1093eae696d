/**
 * The one HTTP server: every app mounts its routes here. Bounded by design: header size,
 * header and request timeouts, idle keep-alive and requests per connection are all capped.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { addressOf, describeError, listenTcp, type Logger, type Service } from '../runtime/index.js';
import { sendError } from './respond.js';
import { Router } from './router.js';
import type { TlsServerOptions } from './tls.js';

export interface HttpLimits {
  maxHeaderBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxRequestsPerSocket: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerSocket: 1000,
};

/** Where an HTTPS server gets its key and certificate, and hears that they changed (TlsCredentials). */
export interface TlsSource {
  serverOptions(): TlsServerOptions;
  onChange(listener: () => void): () => void;
}

export interface HttpServiceOptions {
  /** The service's name (default 'http'). */
  name?: string;
  /** The routes to serve; pass another service's router to serve the same on HTTP and HTTPS. */
  router?: Router;
  /** Serve HTTPS with these credentials; a changed certificate is taken without a restart. */
  tls?: TlsSource;
}

export class HttpService implements Service {
  readonly name: string;
  readonly router: Router;
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly tls: TlsSource | undefined;
  private unsubscribeTls: (() => void) | undefined;
  private readonly requestTimeoutMs: number;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly log: Logger,
    limits: HttpLimits = DEFAULT_HTTP_LIMITS,
    options: HttpServiceOptions = {},
  ) {
    this.name = options.name ?? 'http';
    this.router = options.router ?? new Router();
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
      void this.handle(req, res);
    };
    this.tls = options.tls;
    // An HTTPS server gets its key and certificate at start (setSecureContext), not here.
    const serverOptions = { maxHeaderSize: limits.maxHeaderBytes };
    this.server = this.tls === undefined ? http.createServer(serverOptions, onRequest) : https.createServer(serverOptions, onRequest);
    this.server.headersTimeout = limits.headersTimeoutMs;
    // The request timeout is kept per request (see setRequestTimeout), so a route can lift it.
    this.server.requestTimeout = 0;
    this.requestTimeoutMs = limits.requestTimeoutMs;
    this.server.keepAliveTimeout = limits.keepAliveTimeoutMs;
    this.server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      // Malformed requests get a plain 400 (or 431 for oversized headers), never a crash.
      if (!socket.writable) return socket.destroy();
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    });
  }

  async start(): Promise<void> {
    const tls = this.tls;
    if (tls !== undefined) {
      const server = this.server as https.Server;
      server.setSecureContext(tls.serverOptions());
      this.unsubscribeTls = tls.onChange(() => server.setSecureContext(tls.serverOptions()));
    }
    await listenTcp(this.server, this.name, this.host, this.port);
    this.log.info('listening', { addr: addressOf(this.server) });
  }

  async stop(): Promise<void> {
    this.unsubscribeTls?.();
    this.unsubscribeTls = undefined;
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    // Requests in flight get a moment to finish; then their sockets are closed.
    const timer = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, 2000);
    await closed;
    clearTimeout(timer);
  }

  describe() {
    const addr = addressOf(this.server);
    return addr === undefined ? {} : { listen: [addr] };
  }

  /**
   * Serves HTTP on a connection that did not come through the listening socket: a Signpost
   * stream from one of the owner's devices. It gets the same limits, timeouts and routes.
   */
  serveConnection(connection: Duplex): void {
    this.server.emit('connection', connection);
  }

  /** The bound port (useful when started on port 0). */
  boundPort(): number | undefined {
    const address = this.server.address();
    return address !== null && typeof address === 'object' ? address.port : undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    watchRequestTime(req, res, this.requestTimeoutMs);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return sendError(res, 400, 'EBADURL', 'malformed request target');
    }
    const method = req.method ?? 'GET';
    const match = this.router.match(method, url.pathname);
    if (match === undefined) return sendError(res, 404, 'ENOTFOUND', `no such resource: ${url.pathname}`);
    if (!('handler' in match)) {
      res.setHeader('allow', match.allowed.join(', '));
      return sendError(res, 405, 'EMETHOD', `${method} is not allowed on ${url.pathname}`);
    }
    try {
      await match.handler(req, res, url);
    } catch (err) {
      this.log.error('request failed', { method, path: url.pathname, error: describeError(err) });
      sendError(res, 500, 'EINTERNAL', 'internal error');
    }
  }
}

/** Per request: how long it may take to arrive whole, from its start (changed by setRequestTimeout). */
const requestDeadlines = new WeakMap<http.IncomingMessage, (ms: number) => void>();

/**
 * Node's requestTimeout, per request: a request whose body has not all arrived `ms` after it
 * began is answered 408 (or cut, once an answer has begun) and its connection closed.
 */
function watchRequestTime(req: http.IncomingMessage, res: http.ServerResponse, ms: number): void {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const expire = (): void => {
    timer = undefined;
    if (req.complete) return;
    if (res.headersSent) return void req.socket.destroy();
    res.setHeader('connection', 'close');
    res.once('finish', () => req.socket.destroy());
    sendError(res, 408, 'ETIMEOUT', `the request did not arrive within ${Math.round(ms / 1000)} s`);
  };
  const arm = (limit: number): void => {
    stop();
    if (limit > 0 && !req.complete) timer = setTimeout(expire, Math.max(0, started + limit - Date.now()));
  };
  req.once('end', stop);
  res.once('close', stop);
  requestDeadlines.set(req, arm);
  arm(ms);
}

/**
 * Gives one request its own limit on the time to arrive whole, counted from its start (0: no
 * limit), in place of the server's requestTimeoutMs: for routes whose bodies take long by
 * nature, such as a git push over a slow link, and that bound the time between chunks themselves.
 */
export function setRequestTimeout(req: http.IncomingMessage, ms: number): void {
  requestDeadlines.get(req)?.(ms);
}
