/**
 * The console on a local socket (data/run/console.sock, owner-only), which `nymote console`
 * attaches to. The client's first line says whether a person is at a terminal:
 * `nymote-console tty=1`. The socket doubles as the instance lock: a second `run` on the
 * same data directory finds it answering and refuses to start.
 */
import fs from 'node:fs';
import net from 'node:net';
import { NymoteError, type Logger, type Service } from '../runtime/index.js';
import { startSession, type ConsoleSession } from './session.js';
import type { Shell } from './shell.js';

export const CONSOLE_HELLO = 'nymote-console';
const MAX_SESSIONS = 4;
const HELLO_TIMEOUT_MS = 5000;

export class ConsoleSocketService implements Service {
  readonly name = 'console';
  private readonly server: net.Server;
  private readonly sessions = new Set<ConsoleSession>();

  constructor(
    private readonly socketPath: string,
    private readonly shell: Shell,
    private readonly log: Logger,
  ) {
    // Half-open: a piped client ends its input and still reads the answers.
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    this.server.maxConnections = MAX_SESSIONS;
  }

  async start(): Promise<void> {
    if (Buffer.byteLength(this.socketPath) > 100) {
      throw new NymoteError('EPATHLONG', `console socket path ${this.socketPath} is too long for a unix socket`);
    }
    if (await socketAnswers(this.socketPath)) {
      throw new NymoteError('ERUNNING', `another nymote is already running on this data directory (${this.socketPath})`);
    }
    fs.rmSync(this.socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.socketPath, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    fs.chmodSync(this.socketPath, 0o600);
  }

  async stop(): Promise<void> {
    for (const session of this.sessions) session.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.socketPath, { force: true });
  }

  describe() {
    return { listen: [this.socketPath], detail: `${this.sessions.size} attached` };
  }

  private accept(socket: net.Socket): void {
    let hello = '';
    const timer = setTimeout(() => socket.destroy(), HELLO_TIMEOUT_MS);
    const onHello = (chunk: Buffer) => {
      hello += chunk.toString('latin1');
      const newline = hello.indexOf('\n');
      if (newline < 0) {
        if (hello.length > 256) socket.destroy();
        return;
      }
      clearTimeout(timer);
      socket.off('data', onHello);
      const first = hello.slice(0, newline).trim().split(/\s+/);
      if (first[0] !== CONSOLE_HELLO) return void socket.end('not a nymote console client\r\n');
      const rest = Buffer.from(hello.slice(newline + 1), 'latin1');
      if (rest.length > 0) socket.unshift(rest);
      this.open(socket, first.includes('tty=1'));
    };
    socket.on('data', onHello);
    socket.on('error', () => socket.destroy());
  }

  private open(socket: net.Socket, terminal: boolean): void {
    const session = startSession(this.shell, { input: socket, output: socket, terminal });
    this.sessions.add(session);
    this.log.info('console attached', { terminal });
    void session.closed.then(() => {
      this.sessions.delete(session);
      socket.end();
      this.log.info('console detached');
    });
  }
}

function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
