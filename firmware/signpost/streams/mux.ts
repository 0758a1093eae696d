/**
 * Many reliable byte streams over one link of datagrams that may be lost, duplicated or
 * reordered (the encrypted channel to one paired device). The mux hands frames to the streams
 * they name, opens streams to the peer's named services and accepts the peer's, and sends what
 * is due once per turn of the event loop, many frames to a datagram. Memory is bounded: each
 * stream's receive window is its share of a budget for the whole mux, each stream's send
 * buffer is fixed, and the count of streams is capped. Frames for streams that are gone are
 * answered from a short memory of how each ended, so a peer that missed the last ACK or the
 * RESET learns it without waiting for a timeout.
 */
import { performance } from 'node:perf_hooks';

import { NymoteError, describeError, type Logger } from '../../runtime/index.js';
import { CongestionWindow } from './congestion.js';
import { RttEstimator } from './rtt.js';
import { MuxStream, type StreamHost } from './stream.js';
import {
  DatagramWriter,
  INITIAL_WINDOW,
  MAX_STREAM_ID,
  RESET_CODE,
  SERVICE_NAME,
  parseDatagram,
  type Frame,
} from './wire.js';

const DEFAULT_STREAM_WINDOW_BYTES = 2 << 20;
const DEFAULT_RECEIVE_BUDGET_BYTES = 32 << 20;
const DEFAULT_SEND_BUFFER_BYTES = 2 << 20;
const DEFAULT_MAX_STREAMS = 256;
const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;
/** Loopback-class round trips are well under a millisecond; RFC 6298's 1 s floor is for WANs of 2011. */
const DEFAULT_MIN_RTO_MS = 50;
/** The smallest datagram that holds the largest ACK (16 SACK ranges) and a useful DATA frame. */
const MIN_PAYLOAD_BYTES = 256;
/** How many ended streams are remembered to answer their late frames. */
const MAX_REMEMBERED_ENDINGS = 1024;
/** Frames for ended streams waiting for the next flush; past this more are dropped. */
const MAX_PENDING_STRAYS = 256;

export interface DatagramLink {
  /** Sends one datagram to the peer. It must not call the mux's receive() from inside. */
  send(datagram: Uint8Array): void;
  /** The most bytes one datagram carries (1420 on a real network; up to ~65,000 on loopback). */
  readonly maxPayload: number;
}

export interface StreamMuxOptions {
  /** The channel's handshake role: the initiator's streams have odd ids, the responder's even. */
  role: 'initiator' | 'responder';
  log: Logger;
  /** Names the peer in streams' remoteAddress and in errors (a device name); default 'peer'. */
  peer?: string;
  /** The most a stream's receive window grows to (default 2 MiB). */
  streamWindowBytes?: number;
  /** Receive buffering for all streams together; a stream's window is its share (default 32 MiB). */
  receiveBudgetBytes?: number;
  /** Bytes written and not yet acknowledged per stream before write() returns false (default 2 MiB). */
  sendBufferBytes?: number;
  /** Streams open at once, each way counted together (default 256). */
  maxStreams?: number;
  /** A stream with nothing received or written for this long is reset (default 5 min). */
  idleTimeoutMs?: number;
  /** The retransmission timeout's floor (default 50 ms). */
  minRtoMs?: number;
}

export interface StreamCounters {
  datagramsSent: number;
  datagramsReceived: number;
  framesSent: number;
  framesReceived: number;
  /** DATA frames sent again after a loss was detected or a timeout. */
  retransmissions: number;
  /** Tail loss probes: the last segment sent again when no ACK came for two round trips. */
  probes: number;
  timeouts: number;
  /** Datagrams or frames that could not be read or broke the protocol; dropped. */
  malformed: number;
  streamsOpened: number;
  streamsAccepted: number;
  resetsSent: number;
  resetsReceived: number;
  /** Datagrams the link threw on. */
  sendErrors: number;
}

export interface StreamMuxDescription {
  peer: string;
  streams: number;
  /** Written and not yet acknowledged, all streams. */
  sendBufferedBytes: number;
  /** Arrived and not yet read (in order or waiting for a gap), all streams. */
  receiveBufferedBytes: number;
  congestionWindowBytes: number;
  bytesInFlight: number;
  smoothedRttMs: number | undefined;
  rtoMs: number;
  counters: StreamCounters;
}

/** How an ended stream ended, to answer frames that still come for it. */
type Ending = { kind: 'done'; cumulative: number; limit: number } | { kind: 'reset'; code: number };

type StrayFrame = Extract<Frame, { type: 'ack' } | { type: 'reset' }>;

export class StreamMux implements StreamHost {
  readonly counters: StreamCounters = {
    datagramsSent: 0,
    datagramsReceived: 0,
    framesSent: 0,
    framesReceived: 0,
    retransmissions: 0,
    probes: 0,
    timeouts: 0,
    malformed: 0,
    streamsOpened: 0,
    streamsAccepted: 0,
    resetsSent: 0,
    resetsReceived: 0,
    sendErrors: 0,
  };
  readonly congestion: CongestionWindow;
  readonly rtt: RttEstimator;
  readonly sendBufferBytes: number;
  readonly peer: string;
  private readonly log: Logger;
  private readonly streamWindowBytes: number;
  private readonly receiveBudgetBytes: number;
  private readonly maxStreams: number;
  private readonly idleTimeoutMs: number;
  private readonly initiator: boolean;
  private readonly streams = new Map<number, MuxStream>();
  private readonly listeners = new Map<string, (stream: MuxStream) => void>();
  private readonly endings = new Map<number, Ending>();
  private readonly strays: StrayFrame[] = [];
  private readonly writer: DatagramWriter;
  private nextId: number;
  /** The peer's highest stream id seen, and the ids below it whose OPEN has not come yet. */
  private highestPeerId = 0;
  private readonly missingPeerIds = new Set<number>();
  private flushScheduled = false;
  private closed: NymoteError | undefined;
  private readonly idleSweep: NodeJS.Timeout;

  constructor(
    private readonly link: DatagramLink,
    options: StreamMuxOptions,
  ) {
    if (!(link.maxPayload >= MIN_PAYLOAD_BYTES)) throw new NymoteError('EINVAL', `streams need datagrams of at least ${MIN_PAYLOAD_BYTES} bytes, the link carries ${link.maxPayload}`);
    this.log = options.log;
    this.peer = options.peer ?? 'peer';
    this.initiator = options.role === 'initiator';
    this.nextId = this.initiator ? 1 : 2;
    this.streamWindowBytes = Math.max(INITIAL_WINDOW, options.streamWindowBytes ?? DEFAULT_STREAM_WINDOW_BYTES);
    this.receiveBudgetBytes = options.receiveBudgetBytes ?? DEFAULT_RECEIVE_BUDGET_BYTES;
    this.sendBufferBytes = options.sendBufferBytes ?? DEFAULT_SEND_BUFFER_BYTES;
    this.maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.rtt = new RttEstimator(options.minRtoMs ?? DEFAULT_MIN_RTO_MS);
    this.congestion = new CongestionWindow(link.maxPayload);
    this.writer = new DatagramWriter(Math.min(link.maxPayload, 0xffff), (datagram) => this.sendDatagram(datagram), this.counters);
    this.idleSweep = setInterval(() => this.closeIdleStreams(), Math.min(30_000, Math.max(50, this.idleTimeoutMs / 4)));
    this.idleSweep.unref();
  }

  /** A stream to `service` on the peer; it fails with ENOSERVICE if nobody listens there. */
  open(service: string): MuxStream {
    checkServiceName(service);
    const stream = new MuxStream(this, this.nextId, service, 'outbound');
    const refusal =
      this.closed ??
      (this.streams.size >= this.maxStreams
        ? new NymoteError('ETOOMANYSTREAMS', `${this.maxStreams} streams to ${this.peer} are open already`)
        : this.nextId > MAX_STREAM_ID
          ? new NymoteError('ETOOMANYSTREAMS', `every stream id to ${this.peer} has been used; the channel must be made anew`)
          : undefined);
    if (refusal !== undefined) {
      stream.refuse(refusal);
      return stream;
    }
    this.nextId += 2;
    this.streams.set(stream.id, stream);
    this.counters.streamsOpened++;
    stream.requestOpen();
    this.schedule();
    return stream;
  }

  /** Streams the peer opens to `service` are handed to `onStream`. */
  listen(service: string, onStream: (stream: MuxStream) => void): void {
    checkServiceName(service);
    if (this.listeners.has(service)) throw new NymoteError('EEXIST', `something listens for '${service}' already`);
    this.listeners.set(service, onStream);
  }

  /** Takes one datagram from the peer. Never throws: what cannot be read is counted and dropped. */
  receive(datagram: Uint8Array): void {
    if (this.closed !== undefined) return;
    this.counters.datagramsReceived++;
    const bytes = Buffer.isBuffer(datagram) ? datagram : Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
    const { frames, malformed } = parseDatagram(bytes);
    if (malformed) this.counters.malformed++;
    for (const frame of frames) {
      this.counters.framesReceived++;
      try {
        if (!this.onFrame(frame)) this.counters.malformed++;
      } catch (error) {
        // A reader's 'data' handler or a listener threw: that stream fails, not the mux.
        this.log.error('stream handler failed', { peer: this.peer, stream: frame.id, error: describeError(error) });
        this.streams.get(frame.id)?.fail(new NymoteError('ESTREAMHANDLER', describeError(error), { cause: error }), RESET_CODE.cancelled);
      }
    }
  }

  /** The peer is gone (the channel closed): every stream fails with ECHANNELCLOSED. */
  close(reason: string): void {
    if (this.closed !== undefined) return;
    this.closed = new NymoteError('ECHANNELCLOSED', `the channel to ${this.peer} closed: ${reason}`);
    clearInterval(this.idleSweep);
    for (const stream of [...this.streams.values()]) stream.fail(this.closed, undefined);
    this.strays.length = 0;
  }

  describe(): StreamMuxDescription {
    let sendBufferedBytes = 0;
    let receiveBufferedBytes = 0;
    for (const stream of this.streams.values()) {
      sendBufferedBytes += stream.sender.unacked();
      receiveBufferedBytes += stream.readableLength + stream.receiver.waitingBytes;
    }
    return {
      peer: this.peer,
      streams: this.streams.size,
      sendBufferedBytes,
      receiveBufferedBytes,
      congestionWindowBytes: Math.round(this.congestion.window),
      bytesInFlight: this.congestion.inFlight,
      smoothedRttMs: this.rtt.smoothed,
      rtoMs: this.rtt.rto(),
      counters: { ...this.counters },
    };
  }

  // StreamHost: what the streams ask of the mux.

  now(): number {
    return performance.now();
  }

  schedule(): void {
    if (this.flushScheduled || this.closed !== undefined) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  windowShare(): number {
    const share = Math.floor(this.receiveBudgetBytes / Math.max(1, this.streams.size));
    return Math.min(this.streamWindowBytes, Math.max(INITIAL_WINDOW, share));
  }

  release(stream: MuxStream, resetCode: number | undefined): void {
    this.streams.delete(stream.id);
    if (resetCode !== undefined) {
      this.remember(stream.id, { kind: 'reset', code: resetCode });
      this.sendStray({ type: 'reset', id: stream.id, code: resetCode });
    } else if (stream.receiver.ended && stream.sender.finAcked) {
      // The ACK of the peer's FIN may still be due: it goes out now, and again if the FIN comes again.
      const ending = { kind: 'done', cumulative: stream.receiver.cumulative(), limit: stream.receiver.limit } as const;
      this.remember(stream.id, ending);
      this.sendStray({ type: 'ack', id: stream.id, cumulative: ending.cumulative, limit: ending.limit, ranges: [] });
    } else {
      this.remember(stream.id, { kind: 'reset', code: RESET_CODE.gone });
    }
  }

  /** Returns false for a frame that breaks the protocol. */
  private onFrame(frame: Frame): boolean {
    if (frame.type === 'open') return this.onOpen(frame.id, frame.service);
    const stream = this.streams.get(frame.id);
    if (stream === undefined) return this.onStray(frame);
    switch (frame.type) {
      case 'data':
        return stream.onData(frame.offset, frame.bytes);
      case 'ack':
        return stream.onAck(frame.cumulative, frame.limit, frame.ranges);
      case 'fin':
        return stream.onFin(frame.final);
      case 'reset':
        this.counters.resetsReceived++;
        stream.onReset(frame.code);
        return true;
    }
  }

  private onOpen(id: number, service: string): boolean {
    if (this.isOwnId(id)) return false;
    const existing = this.streams.get(id);
    if (existing !== undefined) {
      // The ACK that answered the first OPEN was lost.
      if (existing.service !== service) return false;
      existing.acknowledgeOpen();
      return true;
    }
    const fresh = this.claimPeerId(id);
    if (fresh === undefined) return false;
    const onStream = this.listeners.get(service);
    if (!fresh) this.answerEnded(id, onStream === undefined ? RESET_CODE.noService : RESET_CODE.gone);
    else if (onStream === undefined) this.refuseOpen(id, service, RESET_CODE.noService);
    else if (this.streams.size >= this.maxStreams) this.refuseOpen(id, service, RESET_CODE.refused);
    else {
      const stream = new MuxStream(this, id, service, 'inbound');
      this.streams.set(id, stream);
      this.counters.streamsAccepted++;
      stream.acknowledgeOpen();
      onStream(stream);
    }
    return true;
  }

  /** A frame for a stream that is not open: ended, or opened by the peer with its OPEN still on the way. */
  private onStray(frame: Exclude<Frame, { type: 'open' }>): boolean {
    const peerId = !this.isOwnId(frame.id);
    if (frame.type === 'reset') {
      // The peer gave up on a stream before its OPEN arrived: the OPEN must not make it anew.
      if (peerId) this.claimPeerId(frame.id);
      return true;
    }
    if (frame.type === 'ack' || (peerId && this.isUnseenPeerId(frame.id))) return true;
    this.answerEnded(frame.id, RESET_CODE.gone);
    return true;
  }

  /** Answers a frame for an ended stream as it ended: the last ACK again, or a RESET. */
  private answerEnded(id: number, fallbackCode: number): void {
    const ending = this.endings.get(id);
    if (ending?.kind === 'done') this.sendStray({ type: 'ack', id, cumulative: ending.cumulative, limit: ending.limit, ranges: [] });
    else this.sendStray({ type: 'reset', id, code: ending?.code ?? fallbackCode });
  }

  private refuseOpen(id: number, service: string, code: number): void {
    this.log.debug('stream refused', { peer: this.peer, service, stream: id, code });
    this.remember(id, { kind: 'reset', code });
    this.sendStray({ type: 'reset', id, code });
  }

  private sendStray(frame: StrayFrame): void {
    if (this.closed !== undefined || this.strays.length >= MAX_PENDING_STRAYS) return;
    if (frame.type === 'reset') this.counters.resetsSent++;
    this.strays.push(frame);
    this.schedule();
  }

  private remember(id: number, ending: Ending): void {
    this.endings.delete(id);
    this.endings.set(id, ending);
    if (this.endings.size > MAX_REMEMBERED_ENDINGS) this.endings.delete(this.endings.keys().next().value!);
  }

  private isOwnId(id: number): boolean {
    return (id % 2 === 1) === this.initiator;
  }

  private isUnseenPeerId(id: number): boolean {
    return id > this.highestPeerId || this.missingPeerIds.has(id);
  }

  /**
   * Marks a peer's stream id as seen. Returns true the first time, false after, and undefined
   * for an id too far past the highest seen to be one the peer could have opened.
   */
  private claimPeerId(id: number): boolean | undefined {
    if (id <= this.highestPeerId) return this.missingPeerIds.delete(id);
    const first = this.highestPeerId === 0 ? (this.initiator ? 2 : 1) : this.highestPeerId + 2;
    if ((id - first) / 2 > this.maxStreams) return undefined;
    for (let missing = first; missing < id; missing += 2) this.missingPeerIds.add(missing);
    // OPENs lost for good (the peer gave up) would otherwise be waited for forever.
    for (const missing of this.missingPeerIds) {
      if (this.missingPeerIds.size <= this.maxStreams) break;
      this.missingPeerIds.delete(missing);
    }
    this.highestPeerId = id;
    return true;
  }

  /** Sends what is due: answers for ended streams, OPENs and ACKs, then data round-robin, then FINs. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.closed !== undefined) return;
    const now = this.now();
    for (const frame of this.strays) {
      if (frame.type === 'ack') this.writer.ack(frame.id, frame.cumulative, frame.limit, frame.ranges);
      else this.writer.reset(frame.id, frame.code);
    }
    this.strays.length = 0;
    for (const stream of this.streams.values()) stream.writeControl(this.writer);
    let sending = true;
    while (sending && this.congestion.canSend()) {
      sending = false;
      for (const stream of this.streams.values()) {
        const sent = stream.writeSegment(this.writer, now);
        if (sent === undefined) continue;
        sending = true;
        if (sent === 'retransmission') this.counters.retransmissions++;
      }
    }
    for (const stream of this.streams.values()) {
      stream.writeFin(this.writer);
      stream.armRetransmit(now);
    }
    this.writer.flush();
  }

  private sendDatagram(datagram: Buffer): void {
    try {
      this.link.send(datagram);
    } catch (error) {
      // The channel below is failing; it will close the mux when it gives up. Logged once.
      if (this.counters.sendErrors++ === 0) this.log.warn('streams: the link failed to send', { peer: this.peer, error: describeError(error) });
    }
  }

  private closeIdleStreams(): void {
    const now = this.now();
    for (const stream of [...this.streams.values()]) {
      if (now - stream.lastActivity < this.idleTimeoutMs) continue;
      const seconds = Math.round(this.idleTimeoutMs / 1000);
      stream.fail(new NymoteError('ETIMEDOUT', `stream ${stream.id} to '${stream.service}' on ${this.peer}: idle for ${seconds} s`), RESET_CODE.timedOut);
    }
  }
}

function checkServiceName(service: string): void {
  if (!SERVICE_NAME.test(service)) throw new NymoteError('EINVAL', `not a service name: '${service}' (1 to 64 of a-z, 0-9 and -)`);
}
