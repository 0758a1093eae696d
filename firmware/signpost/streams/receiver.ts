/**
 * One stream's receiving half: bytes that arrive in order go straight to the reader, bytes
 * that arrive early wait (copied, never a view of the datagram) until the gap before them is
 * filled; the SACK ranges and the cumulative point an ACK reports come from here. Nothing
 * past the advertised limit is kept, so what waits is bounded by the window.
 */
import { INITIAL_WINDOW, MAX_SACK_RANGES, type ByteRange } from './wire.js';

/** Pieces waiting for a gap to fill; past this a frame is dropped and sent again later. */
const MAX_WAITING_PIECES = 1024;

export type Arrival = 'delivered' | 'waiting' | 'duplicate' | 'dropped' | 'invalid';

interface Piece {
  offset: number;
  bytes: Buffer;
}

export class StreamReceiver {
  /** Every byte below this has arrived and gone to the reader. */
  next = 0;
  /** The offset the sender may send up to; never moves back. */
  limit = INITIAL_WINDOW;
  final: number | undefined;
  ended = false;
  /** Bytes waiting beyond a gap. */
  waitingBytes = 0;
  private readonly waiting: Piece[] = [];

  constructor(
    private readonly deliver: (bytes: Buffer) => void,
    private readonly onEnd: () => void,
  ) {}

  /** The cumulative point for ACKs: the FIN counts as one byte once everything before it came. */
  cumulative(): number {
    return this.ended ? this.next + 1 : this.next;
  }

  onData(offset: number, bytes: Buffer): Arrival {
    let end = offset + bytes.length;
    if (this.final !== undefined && end > this.final) return 'invalid';
    if (end > this.limit) {
      if (offset >= this.limit) return 'dropped';
      end = this.limit;
    }
    if (end <= this.next) return 'duplicate';
    const start = Math.max(offset, this.next);
    const piece = keepable(bytes.subarray(start - offset, end - offset));
    if (start > this.next) return this.wait(start, piece);
    this.next = end;
    this.deliver(piece);
    this.drainWaiting();
    this.endIfComplete();
    return 'delivered';
  }

  /** Returns false if the FIN contradicts what came before (another final offset, bytes past it). */
  onFin(final: number): boolean {
    if (this.final !== undefined) return this.final === final;
    const highest = this.waiting.length === 0 ? this.next : this.waiting[this.waiting.length - 1]!.offset + this.waiting[this.waiting.length - 1]!.bytes.length;
    if (final < highest) return false;
    this.final = final;
    this.endIfComplete();
    return true;
  }

  /** Ranges that arrived beyond the gap, merged, lowest first. */
  ranges(): ByteRange[] {
    const ranges: ByteRange[] = [];
    for (const piece of this.waiting) {
      const last = ranges[ranges.length - 1];
      const end = piece.offset + piece.bytes.length;
      if (last !== undefined && last.end === piece.offset) last.end = end;
      else if (ranges.length === MAX_SACK_RANGES) break;
      else ranges.push({ start: piece.offset, end });
    }
    return ranges;
  }

  private wait(offset: number, bytes: Buffer): Arrival {
    const last = this.waiting[this.waiting.length - 1];
    if (last === undefined || offset >= last.offset + last.bytes.length) {
      if (this.waiting.length >= MAX_WAITING_PIECES) return 'dropped';
      this.waiting.push({ offset, bytes });
      this.waitingBytes += bytes.length;
      return 'waiting';
    }
    // Early bytes that overlap what already waits: keep only the parts not yet held.
    const end = offset + bytes.length;
    const added: Piece[] = [];
    let cursor = offset;
    for (const piece of this.waiting) {
      const pieceEnd = piece.offset + piece.bytes.length;
      if (pieceEnd <= cursor) continue;
      if (piece.offset >= end) break;
      if (piece.offset > cursor) added.push({ offset: cursor, bytes: bytes.subarray(cursor - offset, piece.offset - offset) });
      cursor = pieceEnd;
    }
    if (cursor < end) added.push({ offset: cursor, bytes: bytes.subarray(cursor - offset) });
    if (added.length === 0) return 'duplicate';
    if (this.waiting.length + added.length > MAX_WAITING_PIECES) return 'dropped';
    for (const piece of added) this.waitingBytes += piece.bytes.length;
    this.waiting.push(...added);
    this.waiting.sort((a, b) => a.offset - b.offset);
    return 'waiting';
  }

  private drainWaiting(): void {
    while (this.waiting.length > 0 && this.waiting[0]!.offset <= this.next) {
      const piece = this.waiting.shift()!;
      this.waitingBytes -= piece.bytes.length;
      const end = piece.offset + piece.bytes.length;
      if (end <= this.next) continue;
      this.deliver(piece.bytes.subarray(this.next - piece.offset));
      this.next = end;
    }
  }

  private endIfComplete(): void {
    if (this.ended || this.final !== this.next) return;
    this.ended = true;
    this.onEnd();
  }
}

/**
 * The piece as it may be kept: a view when it is most of the datagram it came in (a bulk
 * transfer's DATA frame; copying 64 KiB per datagram costs as much as opening it), else a copy,
 * so a small piece never holds a whole datagram's memory that the window does not count.
 */
function keepable(piece: Buffer): Buffer {
  return piece.length * 2 >= piece.buffer.byteLength ? piece : Buffer.from(piece);
}
