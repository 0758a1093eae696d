/**
 * The one HTTP server: every app mounts its routes here. Bounded by design: header size,
 * header and request timeouts, idle keep-alive and requests per connection are all capped.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { addressOf, describeError, listenTcp, type Logger, type Service } from '../runtime/index.js';
import { sendError } from './respond.js';
import { Router } from './router.js';

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

export class HttpService implements Service {
  readonly name = 'http';
  readonly router = new Router();
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly log: Logger,
    limits: HttpLimits = DEFAULT_HTTP_LIMITS,
  ) {
    this.server = http.createServer({ maxHeaderSize: limits.maxHeaderBytes }, (req, res) => {
      void this.handle(req, res);
    });
    this.server.headersTimeout = limits.headersTimeoutMs;
    this.server.requestTimeout = limits.requestTimeoutMs;
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
    await listenTcp(this.server, this.name, this.host, this.port);
    this.log.info('listening', { addr: addressOf(this.server) });
  }

  async stop(): Promise<void> {
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

  /** The bound port (useful when started on port 0). */
  boundPort(): number | undefined {
    const address = this.server.address();
    return address !== null && typeof address === 'object' ? address.port : undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
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
