/**
 * One client's byte stream: plain TCP, TLS from the start (IMAPS) or after STARTTLS, and
 * optionally DEFLATE-compressed (RFC 4978). The session above sees only `data` chunks in and
 * `write` out; this layer owns the socket swaps, back-pressure and the idle timer.
 */
import type net from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';

/** Gathered writes leave once this many bytes are waiting; a chunk this large goes at once. */
const BATCH_BYTES = 64 * 1024;

export interface ConnectionEvents {
  data(chunk: Buffer): void;
  /** The peer went away, the idle timer fired, or the session closed it. Called once. */
  closed(reason: string): void;
}

export class ImapConnection {
  readonly remoteAddress: string;
  private socket: net.Socket;
  private deflate: zlib.DeflateRaw | undefined;
  private flushScheduled = false;
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private ended = false;
  private events: ConnectionEvents | undefined;
  private readonly onData = (chunk: Buffer) => this.delivered(chunk);
  private inflate: zlib.InflateRaw | undefined;
  /** Small writes gathered into one socket write per turn of the event loop (a FETCH of many envelopes). */
  private outgoing: Buffer[] = [];
  private outgoingBytes = 0;
  private outgoingScheduled = false;

  /** With `implicitTls` (IMAPS) the socket speaks TLS from its first byte. */
  constructor(
    socket: net.Socket,
    private readonly secureContext: () => tls.SecureContext,
    implicitTls: boolean,
  ) {
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    socket.setNoDelay(true);
    // Wrapped here rather than by tls.createServer, so a renewed certificate is used at once.
    this.socket = implicitTls ? this.wrap(socket) : socket;
  }

  get secure(): boolean {
    return this.socket instanceof tls.TLSSocket;
  }

  get compressed(): boolean {
    return this.deflate !== undefined;
  }

  /** Starts delivering events (after the greeting is written). */
  start(events: ConnectionEvents): void {
    this.events = events;
    this.attach(this.socket);
  }

  /** Queues bytes; false when the socket's buffer is full (then await `drained`). */
  write(chunk: Buffer | string): boolean {
    if (this.ended) return true;
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (data.length >= BATCH_BYTES) {
      this.flush();
      return this.send(data);
    }
    this.outgoing.push(data);
    this.outgoingBytes += data.length;
    if (this.outgoingBytes >= BATCH_BYTES) return this.flush();
    if (!this.outgoingScheduled) {
      this.outgoingScheduled = true;
      setImmediate(() => this.flush());
    }
    return this.socket.writableLength + this.outgoingBytes < this.socket.writableHighWaterMark;
  }

  /** Writes what was gathered. */
  private flush(): boolean {
    this.outgoingScheduled = false;
    if (this.outgoing.length === 0) return this.socket.writableLength < this.socket.writableHighWaterMark;
    const data = this.outgoing.length === 1 ? this.outgoing[0] : Buffer.concat(this.outgoing, this.outgoingBytes);
    this.outgoing = [];
    this.outgoingBytes = 0;
    return this.send(data);
  }

  private send(chunk: Buffer): boolean {
    if (this.ended) return true;
    if (this.deflate !== undefined) {
      this.deflate.write(chunk);
      // One sync flush per burst of writes, so each response leaves without waiting for more.
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          this.deflate?.flush(zlib.constants.Z_SYNC_FLUSH);
        });
      }
      return this.socket.writableLength < this.socket.writableHighWaterMark;
    }
    return this.socket.write(chunk);
  }

  /** Resolves when the socket can take more (or is gone). */
  drained(): Promise<void> {
    this.flush();
    if (this.ended || this.socket.writableLength < this.socket.writableHighWaterMark) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  /**
   * STARTTLS, after the tagged OK was written: anything the client sent after its command in
   * clear is dropped by the session (RFC 9051 11.1; the classic STARTTLS injection).
   */
  async startTls(): Promise<void> {
    this.flush();
    const plain = this.socket;
    plain.off('data', this.onData);
    const secure = this.wrap(plain);
    this.socket = secure;
    this.attach(secure);
    await new Promise<void>((resolve, reject) => {
      secure.once('secure', resolve);
      secure.once('error', reject);
    });
  }

  private wrap(socket: net.Socket): tls.TLSSocket {
    return new tls.TLSSocket(socket, { isServer: true, secureContext: this.secureContext() });
  }

  /** COMPRESS=DEFLATE, after the tagged OK was written uncompressed. */
  startCompression(): void {
    this.flush();
    const socket = this.socket;
    socket.off('data', this.onData);
    this.deflate = zlib.createDeflateRaw({ level: 6, windowBits: 15 });
    this.deflate.on('data', (chunk: Buffer) => socket.write(chunk));
    this.deflate.on('error', () => this.close('compression error'));
    this.inflate = zlib.createInflateRaw({ windowBits: 15 });
    this.inflate.on('data', (chunk: Buffer) => this.delivered(chunk));
    this.inflate.on('error', () => this.close('bad compressed data from the client'));
    socket.on('data', (chunk: Buffer) => this.inflate?.write(chunk));
  }

  /** Stops reading from the client until resume() (its input is not being consumed). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Bytes that arrived compressed before the switch (pipelined behind COMPRESS). */
  feedCompressed(data: Buffer): void {
    this.inflate?.write(data);
  }

  /** Closes after the peer stopped sending for `ms` (0: never). Reset by each chunk received. */
  setIdleTimeout(ms: number): void {
    this.idleMs = ms;
    this.touch();
  }

  /** Ends the connection after what was written has left. */
  close(reason = 'closed by the server'): void {
    if (this.ended) return;
    this.flush();
    const socket = this.socket;
    const end = () => socket.end(() => socket.destroy());
    if (this.deflate !== undefined) this.deflate.end(end);
    else end();
    // A client that never reads its last bytes must not hold the socket for ever.
    setTimeout(() => socket.destroy(), 5000).unref();
    this.finish(reason);
  }

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.finish('connection closed'));
  }

  private delivered(chunk: Buffer): void {
    if (this.ended) return;
    this.touch();
    this.events?.data(chunk);
  }

  private touch(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = this.idleMs > 0 ? setTimeout(() => this.timedOut(), this.idleMs).unref() : undefined;
  }

  private timedOut(): void {
    this.write('* BYE Autologout; idle for too long\r\n');
    this.close('idle timeout');
  }

  private finish(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.inflate?.destroy();
    this.events?.closed(reason);
  }
}
