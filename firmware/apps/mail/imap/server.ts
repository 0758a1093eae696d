/**
 * The IMAP listeners: IMAP with STARTTLS (143/1143) and IMAPS (993/1993). Each accepted
 * socket becomes an ImapConnection with a Session on top; connections are capped in total
 * and per client address so one client cannot take the device's memory.
 */
import net from 'node:net';
import type tls from 'node:tls';
import { addressOf, listenTcp, type Logger, type Service, type ServiceHealth } from '../../../runtime/index.js';
import { ImapConnection } from './connection.js';
import { Session, type SessionContext } from './session.js';

export interface ImapLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
}

export const DEFAULT_IMAP_LIMITS: ImapLimits = { maxConnections: 256, maxConnectionsPerAddress: 32 };

export class ImapService implements Service {
  readonly name: string;
  private server: net.Server | undefined;
  private readonly sessions = new Set<Session>();
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly options: { name: 'imap' | 'imaps'; listen: string; port: number; implicitTls: boolean; secureContext: () => tls.SecureContext; log: Logger; limits?: ImapLimits },
    private readonly context: Omit<SessionContext, 'log' | 'implicitTls'>,
  ) {
    this.name = options.name;
  }

  async start(): Promise<void> {
    const limits = this.options.limits ?? DEFAULT_IMAP_LIMITS;
    const accept = (socket: net.Socket) => this.accept(socket, limits);
    // IMAPS too is a plain listener: the connection starts TLS itself (connection.ts).
    this.server = net.createServer(accept);
    await listenTcp(this.server, this.name, this.options.listen, this.options.port);
    this.options.log.info('listening', { addr: addressOf(this.server) });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const session of this.sessions) session.shutdown();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  describe(): Omit<ServiceHealth, 'state'> {
    const address = this.server === undefined ? undefined : addressOf(this.server);
    return { ...(address === undefined ? {} : { listen: [address] }), detail: `${this.sessions.size} connections` };
  }

  /** The port actually bound (tests bind port 0). */
  boundPort(): number | undefined {
    const address = this.server?.address();
    return typeof address === 'object' && address !== null ? address.port : undefined;
  }

  private accept(socket: net.Socket, limits: ImapLimits): void {
    const address = socket.remoteAddress ?? 'unknown';
    const count = this.perAddress.get(address) ?? 0;
    if (this.sessions.size >= limits.maxConnections || count >= limits.maxConnectionsPerAddress) {
      socket.on('error', () => undefined);
      socket.end('* BYE [UNAVAILABLE] Too many connections; try again later\r\n');
      return;
    }
    this.perAddress.set(address, count + 1);
    const connection = new ImapConnection(socket, this.options.secureContext, this.options.implicitTls);
    const session = new Session(connection, { ...this.context, log: this.options.log, implicitTls: this.options.implicitTls }, () => {
      this.sessions.delete(session);
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    });
    this.sessions.add(session);
  }
}
