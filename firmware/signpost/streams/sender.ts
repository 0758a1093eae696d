/**
 * One stream's sending half: the bytes written and not yet acknowledged, the segments in
 * flight, what ACKs say about them, and what to send next (a lost segment first, then new
 * bytes within the peer's limit and the mux's congestion window).
 *
 * Loss detection is by transmission order, RACK-like: a segment is lost once three segments
 * of the same stream sent after it have been acknowledged (cumulatively or by SACK); a
 * retransmission gets a new place in that order, so a lost retransmission is found the same
 * way. On a timeout every unacknowledged segment is deemed lost.
 */
import { ByteQueue } from './byte-queue.js';
import type { CongestionWindow } from './congestion.js';
import type { RttEstimator } from './rtt.js';
import { DATA_HEADER_BYTES, INITIAL_WINDOW, type ByteRange, type DatagramWriter } from './wire.js';

/** Later transmissions acknowledged before a segment is deemed lost (TCP's DupThresh). */
const REORDER_THRESHOLD = 3;
/** New bytes go into the datagram being filled only if this many fit; else into a new one. */
const MIN_FILL_BYTES = 512;

type SegmentState = 'flight' | 'lost' | 'sacked';

interface Segment {
  offset: number;
  length: number;
  sentAt: number;
  /** Place of this segment's latest transmission in the stream's order of transmissions. */
  transmission: number;
  retransmitted: boolean;
  state: SegmentState;
}

export type SentSegment = 'new' | 'retransmission';

export class StreamSender {
  /** The peer has every byte below this. */
  acked = 0;
  /** The next new byte to send. */
  next = 0;
  /** The peer takes bytes below this. */
  peerLimit = INITIAL_WINDOW;
  /** Set by end(): the FIN's offset. */
  final: number | undefined;
  finSent = false;
  finAcked = false;
  private readonly queue = new ByteQueue();
  private readonly segments: Segment[] = [];
  private head = 0;
  private lostCount = 0;
  private transmissions = 0;
  private highestAckedTransmission = 0;
  /** A timeout found the peer's window shut: one byte goes past it to learn the window again. */
  private probeDue = false;

  constructor(
    private readonly congestion: CongestionWindow,
    private readonly rtt: RttEstimator,
  ) {}

  write(chunk: Buffer): void {
    this.queue.append(chunk);
  }

  end(): void {
    this.final = this.queue.end;
  }

  /** Bytes written and not acknowledged: what the send buffer holds. */
  unacked(): number {
    return this.queue.end - this.acked;
  }

  finDue(): boolean {
    return this.final !== undefined && !this.finSent && this.next === this.final;
  }

  /** Something sent is still unacknowledged, or the peer's window must be probed. */
  outstanding(): boolean {
    return this.head < this.segments.length || (this.finSent && !this.finAcked) || this.windowShut();
  }

  /** Writes one DATA frame if there is one to send and the congestion window allows it. */
  writeSegment(writer: DatagramWriter, id: number, now: number): SentSegment | undefined {
    if (!this.congestion.canSend()) return undefined;
    if (this.lostCount > 0) {
      const segment = this.firstLost();
      writer.data(id, segment.offset, segment.length, (target, start) => this.queue.copyTo(target, start, segment.offset, segment.length));
      segment.state = 'flight';
      segment.retransmitted = true;
      segment.sentAt = now;
      segment.transmission = ++this.transmissions;
      this.lostCount--;
      this.congestion.inFlight += segment.length;
      return 'retransmission';
    }
    const unsent = this.queue.end - this.next;
    if (unsent === 0) return undefined;
    let wanted = Math.min(unsent, writer.maxSegment(), this.peerLimit - this.next);
    if (wanted <= 0) {
      if (!this.probeDue) return undefined;
      this.probeDue = false;
      wanted = 1;
    }
    if (writer.room() - DATA_HEADER_BYTES < Math.min(wanted, MIN_FILL_BYTES)) writer.flush();
    const offset = this.next;
    const length = Math.min(wanted, writer.room() - DATA_HEADER_BYTES);
    writer.data(id, offset, length, (target, start) => this.queue.copyTo(target, start, offset, length));
    this.segments.push({ offset, length, sentAt: now, transmission: ++this.transmissions, retransmitted: false, state: 'flight' });
    this.next += length;
    this.congestion.inFlight += length;
    return 'new';
  }

  /**
   * Takes an ACK; returns whether it acknowledged anything new, or undefined if it cannot be
   * right (it acknowledges bytes never sent).
   */
  onAck(cumulative: number, limit: number, ranges: readonly ByteRange[], now: number): boolean | undefined {
    const lastRange = ranges[ranges.length - 1];
    if (cumulative > this.next + (this.finSent ? 1 : 0) || (lastRange !== undefined && lastRange.end > this.next)) return undefined;
    this.peerLimit = Math.max(this.peerLimit, limit);
    const delivery = { bytes: 0, sampleSentAt: -Infinity };
    const dataAcked = Math.min(cumulative, this.next);
    while (this.head < this.segments.length) {
      const segment = this.segments[this.head]!;
      if (segment.offset >= dataAcked) break;
      if (segment.offset + segment.length > dataAcked) {
        // The receiver took only the part of it below its limit.
        const part = dataAcked - segment.offset;
        if (segment.state === 'flight') this.congestion.inFlight -= part;
        delivery.bytes += part;
        segment.offset += part;
        segment.length -= part;
        break;
      }
      if (segment.state !== 'sacked') this.delivered(segment, delivery);
      this.head++;
    }
    if (ranges.length > 0) {
      this.markSacked(ranges, delivery);
      this.detectLosses(now);
    }
    this.compact();
    if (delivery.sampleSentAt > -Infinity) this.rtt.sample(now - delivery.sampleSentAt);
    if (delivery.bytes > 0) this.congestion.onDelivered(delivery.bytes);
    let progress = delivery.bytes > 0 || dataAcked > this.acked;
    this.acked = Math.max(this.acked, dataAcked);
    this.queue.release(this.acked);
    if (this.finSent && !this.finAcked && cumulative === (this.final ?? -1) + 1) {
      this.finAcked = true;
      progress = true;
    }
    return progress;
  }

  /**
   * The retransmission timer fired: everything unacknowledged is deemed lost. Returns whether
   * bytes were in flight (a congestion signal; a window probe or a lost FIN is not).
   */
  onTimeout(): boolean {
    let hadFlight = false;
    for (let i = this.head; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      if (segment.state !== 'flight') continue;
      segment.state = 'lost';
      this.lostCount++;
      this.congestion.inFlight -= segment.length;
      hadFlight = true;
    }
    if (this.finSent && !this.finAcked) this.finSent = false;
    if (this.windowShut()) this.probeDue = true;
    return hadFlight;
  }

  /** Deems the last segment in flight lost, so that it goes again; false if none is in flight. */
  probeTail(): boolean {
    for (let i = this.segments.length - 1; i >= this.head; i--) {
      const segment = this.segments[i]!;
      if (segment.state !== 'flight') continue;
      segment.state = 'lost';
      this.lostCount++;
      this.congestion.inFlight -= segment.length;
      return true;
    }
    return false;
  }

  /** The stream is gone: its bytes in flight no longer count against the congestion window. */
  abandon(): void {
    for (let i = this.head; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      if (segment.state === 'flight') this.congestion.inFlight -= segment.length;
    }
    this.segments.length = 0;
    this.head = 0;
    this.lostCount = 0;
  }

  private windowShut(): boolean {
    return this.head === this.segments.length && this.queue.end > this.next && this.next >= this.peerLimit;
  }

  private delivered(segment: Segment, delivery: { bytes: number; sampleSentAt: number }): void {
    if (segment.state === 'flight') this.congestion.inFlight -= segment.length;
    else if (segment.state === 'lost') this.lostCount--;
    segment.state = 'sacked';
    delivery.bytes += segment.length;
    this.highestAckedTransmission = Math.max(this.highestAckedTransmission, segment.transmission);
    if (!segment.retransmitted) delivery.sampleSentAt = Math.max(delivery.sampleSentAt, segment.sentAt);
  }

  private markSacked(ranges: readonly ByteRange[], delivery: { bytes: number; sampleSentAt: number }): void {
    let r = 0;
    for (let i = this.head; i < this.segments.length && r < ranges.length; i++) {
      const segment = this.segments[i]!;
      const end = segment.offset + segment.length;
      while (r < ranges.length && ranges[r]!.end < end) r++;
      const range = ranges[r];
      if (range !== undefined && range.start <= segment.offset && segment.state !== 'sacked') this.delivered(segment, delivery);
    }
  }

  private detectLosses(now: number): void {
    let unacked = 0;
    for (let i = this.head; i < this.segments.length; i++) if (this.segments[i]!.state !== 'sacked') unacked++;
    // Early retransmit (RFC 5827): with few segments out, three later ones may never come.
    const threshold = Math.max(1, Math.min(REORDER_THRESHOLD, unacked - 1));
    let lost = false;
    for (let i = this.head; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      if (segment.state !== 'flight' || segment.transmission + threshold > this.highestAckedTransmission) continue;
      segment.state = 'lost';
      this.lostCount++;
      this.congestion.inFlight -= segment.length;
      lost = true;
    }
    if (lost) this.congestion.onLoss(now, this.rtt.smoothed ?? this.rtt.rto());
  }

  private firstLost(): Segment {
    let i = this.head;
    while (this.segments[i]!.state !== 'lost') i++;
    return this.segments[i]!;
  }

  /** Drops acknowledged segments from the front now and then rather than shift on each ACK. */
  private compact(): void {
    if (this.head > 256 && this.head * 2 > this.segments.length) {
      this.segments.splice(0, this.head);
      this.head = 0;
    }
  }
}
