/**
 * Pairing runs over one TCP connection: each message is a 2-byte big-endian length and that
 * many bytes. Messages are bounded (MAX_MESSAGE_BYTES) and so is the wait for each one, so a
 * silent or flooding peer ends the pairing with a clear error instead of holding it open.
 */
import type net from 'node:net';
import { NymoteError } from '../../runtime/index.js';

/** A certificate, the CA certificate and the owner's other devices fit well inside this. */
export const MAX_MESSAGE_BYTES = 16 * 1024;

export class FramedConnection {
  private buffered = Buffer.alloc(0);
  private readonly ready: Buffer[] = [];
  private waiting: { resolve: (message: Buffer) => void; reject: (err: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.take(chunk));
    socket.on('error', (err) => this.fail(new NymoteError('EPAIR', `pairing connection failed: ${err.message}`)));
    socket.on('close', () => this.fail(new NymoteError('EPAIR', 'the other side closed the pairing connection')));
  }

  send(message: Uint8Array): void {
    if (message.length > MAX_MESSAGE_BYTES) throw new NymoteError('EPAIR', 'pairing message too large');
    const header = Buffer.alloc(2);
    header.writeUInt16BE(message.length);
    this.socket.write(Buffer.concat([header, message]));
  }

  /** The next message, or an error when none comes within `timeoutMs`. */
  next(timeoutMs: number): Promise<Buffer> {
    const message = this.ready.shift();
    if (message !== undefined) return Promise.resolve(message);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new NymoteError('ETIMEDOUT', `no answer from the other side within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.waiting = {
        resolve: (m) => (clearTimeout(timer), resolve(m)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      };
    });
  }

  close(): void {
    this.socket.end();
    this.socket.destroySoon();
  }

  private take(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 2) {
      const length = this.buffered.readUInt16BE(0);
      if (length > MAX_MESSAGE_BYTES) {
        this.fail(new NymoteError('EPAIR', 'the other side sent an oversized pairing message'));
        this.socket.destroy();
        return;
      }
      if (this.buffered.length < 2 + length) break;
      const message = this.buffered.subarray(2, 2 + length);
      this.buffered = this.buffered.subarray(2 + length);
      if (this.waiting !== undefined) {
        const waiting = this.waiting;
        this.waiting = undefined;
        waiting.resolve(Buffer.from(message));
      } else if (this.ready.length < 4) {
        this.ready.push(Buffer.from(message));
      } else {
        // The protocol is lock-step: a peer that runs this far ahead is not following it.
        this.fail(new NymoteError('EPAIR', 'the other side does not follow the pairing protocol'));
        this.socket.destroy();
        return;
      }
    }
  }

  private fail(err: Error): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(err);
  }
}
