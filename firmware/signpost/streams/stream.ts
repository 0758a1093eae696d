/**
 * One stream as a Node Duplex that passes for a socket with node:http on either side: write()
 * says wait once the send buffer is full, end() sends a FIN and the peer's reader gets 'end'
 * (the stream stays writable the other way: half-close), destroy() before both directions
 * ended sends a RESET, setTimeout() emits 'timeout' after inactivity as net.Socket does, and
 * setNoDelay/setKeepAlive/ref/unref are accepted and do nothing (there is no socket under it).
 * remoteAddress names the peer and remotePort is the stream id, for logs.
 */
import { Duplex } from 'node:stream';

import { NymoteError } from '../../runtime/index.js';
import type { CongestionWindow } from './congestion.js';
import { StreamReceiver } from './receiver.js';
import type { RttEstimator } from './rtt.js';
import { StreamSender, type SentSegment } from './sender.js';
import { RESET_CODE, type ByteRange, type DatagramWriter } from './wire.js';

/** Timeouts in a row with nothing heard on the stream before it is given up. */
const MAX_SILENT_TIMEOUTS = 12;
/** The tail loss probe's floor; it fires after two smoothed round trips (RFC 8985). */
const MIN_PROBE_MS = 10;

/** What a stream needs from its mux. */
export interface StreamHost {
  readonly congestion: CongestionWindow;
  readonly rtt: RttEstimator;
  readonly sendBufferBytes: number;
  readonly peer: string;
  readonly counters: { timeouts: number; probes: number };
  now(): number;
  /** Asks for the frames due to be sent at the end of this turn of the event loop. */
  schedule(): void;
  /** The receive window a stream may advertise now: its share of the mux's budget. */
  windowShare(): number;
  /** The stream is over: forget it, sending a RESET with this code if one is given. */
  release(stream: MuxStream, resetCode: number | undefined): void;
}

export type StreamDirection = 'outbound' | 'inbound';

export class MuxStream extends Duplex {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress = 'signpost';
  readonly localPort: number;
  readonly connecting = false;
  readonly sender: StreamSender;
  readonly receiver: StreamReceiver;
  /** When something last arrived for it or was written to it (the mux's idle timeout). */
  lastActivity: number;
  private released = false;
  private openDue = false;
  /** The peer has answered the OPEN (always so for a stream the peer opened). */
  private openAnswered: boolean;
  private ackDue = false;
  private writeWaiting: (() => void) | undefined;
  private silentTimeouts = 0;
  /** Timeouts since the peer last acknowledged something new: the RTO doubles with each. */
  private backoff = 0;
  /** The tail loss probe went out since the last progress; the next expiry is a timeout. */
  private probed = false;
  private retransmitAt: number | undefined;
  private retransmitTimer: NodeJS.Timeout | undefined;
  private retransmitTimerAt = Infinity;
  private socketTimeoutMs = 0;
  private socketTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: StreamHost,
    readonly id: number,
    readonly service: string,
    readonly direction: StreamDirection,
  ) {
    super({ allowHalfOpen: true });
    this.remoteAddress = host.peer;
    this.remotePort = id;
    this.localPort = id;
    this.openAnswered = direction === 'inbound';
    this.lastActivity = host.now();
    this.sender = new StreamSender(host.congestion, host.rtt);
    this.receiver = new StreamReceiver(
      (bytes) => {
        this.push(bytes);
        this.touch();
      },
      () => this.push(null),
    );
  }

  // Socket methods node:http calls; there is no socket under a stream to tune.
  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** As net.Socket: 'timeout' once after `ms` without reads or writes; 0 turns it off. */
  setTimeout(ms: number, callback?: () => void): this {
    if (callback !== undefined) {
      if (ms === 0) this.off('timeout', callback);
      else this.once('timeout', callback);
    }
    this.socketTimeoutMs = ms;
    clearTimeout(this.socketTimer);
    this.socketTimer = undefined;
    if (ms > 0 && !this.destroyed) this.armSocketTimer(ms);
    return this;
  }

  /** The opener's OPEN goes out with the next flush, and again on timeouts until answered. */
  requestOpen(): void {
    this.openDue = true;
  }

  /** A refused open: the stream was never known to the mux; it fails on the next tick. */
  refuse(error: NymoteError): void {
    this.released = true;
    process.nextTick(() => this.destroy(error));
  }

  /** An OPEN came for this stream (first or again): answer it with an ACK. */
  acknowledgeOpen(): void {
    this.heard();
    this.ackDue = true;
    this.host.schedule();
  }

  /** Returns false if the bytes break the rules (past the final offset). */
  onData(offset: number, bytes: Buffer): boolean {
    this.heard();
    if (this.receiver.onData(offset, bytes) === 'invalid') return false;
    // Every DATA is answered, duplicates too: that is how a sender learns its ACK was lost.
    this.ackDue = true;
    this.host.schedule();
    this.finishIfDone();
    return true;
  }

  onFin(final: number): boolean {
    this.heard();
    if (!this.receiver.onFin(final)) return false;
    this.ackDue = true;
    this.host.schedule();
    this.finishIfDone();
    return true;
  }

  onAck(cumulative: number, limit: number, ranges: readonly ByteRange[]): boolean {
    this.heard();
    const now = this.host.now();
    const progress = this.sender.onAck(cumulative, limit, ranges, now);
    if (progress === undefined) return false;
    if (progress) {
      this.backoff = 0;
      this.probed = false;
      this.retransmitAt = undefined;
      this.armRetransmit(now);
      this.releaseWriter();
    }
    this.host.schedule();
    this.finishIfDone();
    return true;
  }

  onReset(code: number): void {
    this.fail(resetError(code, this), undefined);
  }

  /** The stream ends with an error (sending a RESET with `resetCode` if given). */
  fail(error: NymoteError, resetCode: number | undefined): void {
    if (this.released) return;
    this.release(resetCode);
    // A stream its user has finished with both ways closes quietly.
    if (!this.destroyed) this.destroy(this.readableEnded && this.writableFinished ? undefined : error);
  }

  writeControl(writer: DatagramWriter): void {
    if (this.openDue) {
      writer.open(this.id, this.service);
      this.openDue = false;
    }
    if (this.ackDue) {
      this.ackDue = false;
      this.receiver.limit = Math.max(this.receiver.limit, this.consumed() + this.host.windowShare());
      writer.ack(this.id, this.receiver.cumulative(), this.receiver.limit, this.receiver.ranges());
    }
  }

  writeSegment(writer: DatagramWriter, now: number): SentSegment | undefined {
    return this.sender.writeSegment(writer, this.id, now);
  }

  writeFin(writer: DatagramWriter): void {
    if (!this.sender.finDue()) return;
    writer.fin(this.id, this.sender.final!);
    this.sender.finSent = true;
  }

  /** After a flush: the retransmission timer runs while anything sent is unanswered. */
  armRetransmit(now: number): void {
    if (this.released) return;
    if (this.openAnswered && !this.sender.outstanding()) {
      this.retransmitAt = undefined;
      return;
    }
    this.retransmitAt ??= now + this.expiry();
    // The timer is lazy: it fires at the deadline it was set for and looks again; it is set
    // anew only when the deadline moves earlier.
    if (this.retransmitTimer !== undefined && this.retransmitTimerAt <= this.retransmitAt) return;
    clearTimeout(this.retransmitTimer);
    this.retransmitTimerAt = this.retransmitAt;
    this.retransmitTimer = setTimeout(() => this.onRetransmitTimer(), this.retransmitAt - now);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.sender.write(chunk);
    this.touch();
    this.host.schedule();
    if (this.sender.unacked() < this.host.sendBufferBytes) callback();
    else this.writeWaiting = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.sender.end();
    this.host.schedule();
    callback();
  }

  /** The reader took bytes: if the window it may advertise grew by a quarter, say so now. */
  override _read(): void {
    if (this.released) return;
    const share = this.host.windowShare();
    if (this.consumed() + share - this.receiver.limit < share / 4) return;
    this.ackDue = true;
    this.host.schedule();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.socketTimer);
    this.socketTimer = undefined;
    // Both ways ended: the mux keeps the stream until the peer has the last bytes and the FIN.
    // Anything else is an abort, which the peer learns from a RESET.
    if (!this.released && !(this.receiver.ended && this.sender.final !== undefined)) this.release(RESET_CODE.cancelled);
    callback(error);
  }

  /** When the retransmission timer expires: the tail loss probe's time, then the RTO's. */
  private expiry(): number {
    const rto = this.host.rtt.rto(this.backoff);
    const smoothed = this.host.rtt.smoothed;
    if (this.probed || smoothed === undefined) return rto;
    return Math.min(rto, Math.max(MIN_PROBE_MS, 2 * smoothed));
  }

  /** Bytes the reader has taken: what arrived in order, less what waits in the readable buffer. */
  private consumed(): number {
    return this.receiver.next - this.readableLength;
  }

  private heard(): void {
    this.silentTimeouts = 0;
    this.openAnswered = true;
    this.touch();
  }

  private touch(): void {
    this.lastActivity = this.host.now();
    if (this.socketTimeoutMs > 0 && this.socketTimer === undefined && !this.destroyed) this.armSocketTimer(this.socketTimeoutMs);
  }

  private armSocketTimer(ms: number): void {
    this.socketTimer = setTimeout(() => {
      this.socketTimer = undefined;
      if (this.socketTimeoutMs === 0 || this.destroyed) return;
      const idle = this.host.now() - this.lastActivity;
      // Fires once per quiet spell; the next read or write arms it again.
      if (idle >= this.socketTimeoutMs) this.emit('timeout');
      else this.armSocketTimer(this.socketTimeoutMs - idle);
    }, ms);
    this.socketTimer.unref();
  }

  private onRetransmitTimer(): void {
    this.retransmitTimer = undefined;
    this.retransmitTimerAt = Infinity;
    if (this.released || this.retransmitAt === undefined) return;
    const now = this.host.now();
    if (now < this.retransmitAt) this.armRetransmit(now);
    // Timers run before the event loop reads I/O: after a long busy spell the ACKs that would
    // stop this timeout are already waiting. Look again once they have been read.
    else setImmediate(() => this.retransmitIfStillDue());
  }

  private retransmitIfStillDue(): void {
    if (this.released || this.retransmitAt === undefined) return;
    const now = this.host.now();
    if (now < this.retransmitAt) {
      this.armRetransmit(now);
      return;
    }
    // One ACK answers a whole burst; if it is lost the sender hears nothing more. A probe
    // (the last segment again, the window untouched) asks for another before the timeout.
    if (!this.probed && this.sender.probeTail()) {
      this.probed = true;
      this.host.counters.probes++;
      this.retransmitAt = now + this.host.rtt.rto(this.backoff);
      this.armRetransmit(now);
      this.host.schedule();
      return;
    }
    this.host.counters.timeouts++;
    if (++this.silentTimeouts > MAX_SILENT_TIMEOUTS) {
      this.fail(new NymoteError('ETIMEDOUT', `stream ${this.id} to '${this.service}' on ${this.host.peer}: the peer stopped answering`), RESET_CODE.timedOut);
      return;
    }
    this.backoff++;
    if (this.sender.onTimeout()) this.host.congestion.onTimeout();
    if (!this.openAnswered) this.openDue = true;
    this.retransmitAt = now + this.host.rtt.rto(this.backoff);
    this.armRetransmit(now);
    this.host.schedule();
  }

  /** Both directions are over and acknowledged: the mux forgets the stream. */
  private finishIfDone(): void {
    if (!this.released && this.receiver.ended && this.sender.finAcked) this.release(undefined);
  }

  private release(resetCode: number | undefined): void {
    this.released = true;
    clearTimeout(this.retransmitTimer);
    this.retransmitTimer = undefined;
    this.writeWaiting = undefined;
    this.sender.abandon();
    this.host.release(this, resetCode);
  }

  private releaseWriter(): void {
    if (this.writeWaiting === undefined || this.sender.unacked() >= this.host.sendBufferBytes) return;
    const callback = this.writeWaiting;
    this.writeWaiting = undefined;
    callback();
  }
}

function resetError(code: number, stream: MuxStream): NymoteError {
  const where = `stream ${stream.id} to '${stream.service}' on ${stream.remoteAddress}`;
  switch (code) {
    case RESET_CODE.noService:
      return new NymoteError('ENOSERVICE', `no service '${stream.service}' on the peer`);
    case RESET_CODE.refused:
      return new NymoteError('ECONNREFUSED', `${where}: refused, the peer has too many streams open`);
    case RESET_CODE.timedOut:
      return new NymoteError('ETIMEDOUT', `${where}: timed out on the peer`);
    case RESET_CODE.protocol:
      return new NymoteError('EPROTO', `${where}: reset by the peer for breaking the protocol`);
    default:
      return new NymoteError('ECONNRESET', `${where}: reset by the peer`);
  }
}
