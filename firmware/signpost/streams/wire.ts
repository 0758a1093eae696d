/**
 * The streams' wire format. A datagram is a version byte and then frames back to back, each a
 * type byte and fixed-width big-endian fields:
 *
 *   datagram   version u8 (= 1) · frame*
 *   OPEN  0x01 id u32 · length u8 · service (1..64 bytes of a-z 0-9 -)
 *   DATA  0x02 id u32 · offset u48 · length u16 (≥ 1) · bytes
 *   ACK   0x03 id u32 · cumulative u48 · limit u48 · count u8 (≤ 16) · (start u48 · end u48)*count
 *   FIN   0x04 id u32 · final u48
 *   RESET 0x05 id u32 · code u8
 *
 * Offsets count a stream's bytes from 0 in each direction. An ACK says that every byte below
 * `cumulative` arrived (the FIN counts as one more byte at the final offset, so a FIN is
 * acknowledged by final + 1), which ranges [start, end) arrived beyond it (SACK, ascending,
 * disjoint), and `limit`: the offset the receiver takes bytes up to (flow control; it never
 * moves back). Stream ids are odd for streams the channel's initiator opens and even for the
 * responder's, so both sides open streams without asking each other; 0 is never used.
 * There is no PING: the channel below knows when the peer is gone and says so with
 * StreamMux.close, and idle streams are timed out on each side.
 */
export const WIRE_VERSION = 1;

const FRAME = { open: 0x01, data: 0x02, ack: 0x03, fin: 0x04, reset: 0x05 } as const;

/** Why a stream was reset; carried by RESET frames. */
export const RESET_CODE = {
  /** Nobody listens for the service the OPEN named. */
  noService: 1,
  /** The other side destroyed the stream before it had ended both ways. */
  cancelled: 2,
  /** The receiver has as many streams open as it allows. */
  refused: 3,
  /** Nothing happened on the stream for the idle timeout, or the peer stopped answering. */
  timedOut: 4,
  /** A frame for a stream the receiver no longer knows. */
  gone: 5,
  /** The stream broke a protocol rule (data past its final offset). */
  protocol: 6,
} as const;

export const SERVICE_NAME = /^[a-z0-9-]{1,64}$/;
export const MAX_SACK_RANGES = 16;
/** Offsets are 48-bit: 256 TiB per stream direction. */
const MAX_OFFSET = 2 ** 48 - 1;
export const MAX_STREAM_ID = 2 ** 32 - 1;
const MAX_DATA_BYTES = 0xffff;
/** What every receiver takes on a new stream before its first ACK says more. */
export const INITIAL_WINDOW = 64 * 1024;

const DATAGRAM_HEADER_BYTES = 1;
export const DATA_HEADER_BYTES = 1 + 4 + 6 + 2;
const OPEN_HEADER_BYTES = 1 + 4 + 1;
const ACK_HEADER_BYTES = 1 + 4 + 6 + 6 + 1;
const ACK_RANGE_BYTES = 12;
const FIN_BYTES = 1 + 4 + 6;
const RESET_BYTES = 1 + 4 + 1;

export interface ByteRange {
  start: number;
  end: number;
}

export type Frame =
  | { type: 'open'; id: number; service: string }
  | { type: 'data'; id: number; offset: number; bytes: Buffer }
  | { type: 'ack'; id: number; cumulative: number; limit: number; ranges: ByteRange[] }
  | { type: 'fin'; id: number; final: number }
  | { type: 'reset'; id: number; code: number };

export interface ParsedDatagram {
  frames: Frame[];
  /** A frame could not be read: it and whatever followed it were dropped. */
  malformed: boolean;
}

class Truncated extends Error {}

/** Reads a datagram's frames; never throws. Frames before a malformed one are kept. */
export function parseDatagram(datagram: Buffer): ParsedDatagram {
  const frames: Frame[] = [];
  if (datagram.length < DATAGRAM_HEADER_BYTES || datagram[0] !== WIRE_VERSION) return { frames, malformed: true };
  let at = DATAGRAM_HEADER_BYTES;
  const need = (bytes: number) => {
    if (at + bytes > datagram.length) throw new Truncated();
  };
  try {
    while (at < datagram.length) {
      const type = datagram[at]!;
      need(5);
      const id = datagram.readUInt32BE(at + 1);
      if (id === 0) return { frames, malformed: true };
      const body = at + 5;
      switch (type) {
        case FRAME.open: {
          need(OPEN_HEADER_BYTES);
          const length = datagram[body]!;
          need(OPEN_HEADER_BYTES + length);
          const service = datagram.toString('latin1', body + 1, body + 1 + length);
          if (!SERVICE_NAME.test(service)) return { frames, malformed: true };
          frames.push({ type: 'open', id, service });
          at += OPEN_HEADER_BYTES + length;
          break;
        }
        case FRAME.data: {
          need(DATA_HEADER_BYTES);
          const offset = datagram.readUIntBE(body, 6);
          const length = datagram.readUInt16BE(body + 6);
          need(DATA_HEADER_BYTES + length);
          if (length === 0 || offset + length > MAX_OFFSET) return { frames, malformed: true };
          frames.push({ type: 'data', id, offset, bytes: datagram.subarray(body + 8, body + 8 + length) });
          at += DATA_HEADER_BYTES + length;
          break;
        }
        case FRAME.ack: {
          need(ACK_HEADER_BYTES);
          const cumulative = datagram.readUIntBE(body, 6);
          const limit = datagram.readUIntBE(body + 6, 6);
          const count = datagram[body + 12]!;
          if (count > MAX_SACK_RANGES) return { frames, malformed: true };
          need(ACK_HEADER_BYTES + count * ACK_RANGE_BYTES);
          const ranges: ByteRange[] = [];
          let floor = cumulative;
          for (let i = 0; i < count; i++) {
            const start = datagram.readUIntBE(body + 13 + i * ACK_RANGE_BYTES, 6);
            const end = datagram.readUIntBE(body + 19 + i * ACK_RANGE_BYTES, 6);
            // Ranges lie beyond the cumulative point, ascending, with a gap before each.
            if (start <= floor || end <= start) return { frames, malformed: true };
            ranges.push({ start, end });
            floor = end;
          }
          frames.push({ type: 'ack', id, cumulative, limit, ranges });
          at += ACK_HEADER_BYTES + count * ACK_RANGE_BYTES;
          break;
        }
        case FRAME.fin:
          need(FIN_BYTES);
          frames.push({ type: 'fin', id, final: datagram.readUIntBE(body, 6) });
          at += FIN_BYTES;
          break;
        case FRAME.reset:
          need(RESET_BYTES);
          frames.push({ type: 'reset', id, code: datagram[body]! });
          at += RESET_BYTES;
          break;
        default:
          return { frames, malformed: true };
      }
    }
  } catch (error) {
    if (error instanceof Truncated) return { frames, malformed: true };
    throw error;
  }
  return { frames, malformed: false };
}

/**
 * Packs frames into datagrams of at most `maxPayload` bytes: a frame that does not fit in the
 * datagram being filled sends it and starts the next. `flush` sends the last one.
 */
export class DatagramWriter {
  private scratch: Buffer;
  private length = DATAGRAM_HEADER_BYTES;

  constructor(
    readonly maxPayload: number,
    private readonly send: (datagram: Buffer) => void,
    private readonly counters: { datagramsSent: number; framesSent: number },
  ) {
    this.scratch = Buffer.allocUnsafe(maxPayload);
    this.scratch[0] = WIRE_VERSION;
  }

  /** Bytes still free in the datagram being filled. */
  room(): number {
    return this.maxPayload - this.length;
  }

  /** The most stream bytes one DATA frame in an empty datagram carries. */
  maxSegment(): number {
    return Math.min(MAX_DATA_BYTES, this.maxPayload - DATAGRAM_HEADER_BYTES - DATA_HEADER_BYTES);
  }

  open(id: number, service: string): void {
    const at = this.reserve(OPEN_HEADER_BYTES + service.length);
    this.scratch[at] = FRAME.open;
    this.scratch.writeUInt32BE(id, at + 1);
    this.scratch[at + 5] = service.length;
    this.scratch.write(service, at + 6, 'latin1');
  }

  /** A DATA frame whose `length` bytes `fill` copies into the datagram at the given index. */
  data(id: number, offset: number, length: number, fill: (target: Buffer, targetStart: number) => void): void {
    const at = this.reserve(DATA_HEADER_BYTES + length);
    this.scratch[at] = FRAME.data;
    this.scratch.writeUInt32BE(id, at + 1);
    this.scratch.writeUIntBE(offset, at + 5, 6);
    this.scratch.writeUInt16BE(length, at + 11);
    fill(this.scratch, at + DATA_HEADER_BYTES);
  }

  ack(id: number, cumulative: number, limit: number, ranges: readonly ByteRange[]): void {
    const at = this.reserve(ACK_HEADER_BYTES + ranges.length * ACK_RANGE_BYTES);
    this.scratch[at] = FRAME.ack;
    this.scratch.writeUInt32BE(id, at + 1);
    this.scratch.writeUIntBE(cumulative, at + 5, 6);
    this.scratch.writeUIntBE(limit, at + 11, 6);
    this.scratch[at + 17] = ranges.length;
    ranges.forEach((range, i) => {
      this.scratch.writeUIntBE(range.start, at + 18 + i * ACK_RANGE_BYTES, 6);
      this.scratch.writeUIntBE(range.end, at + 24 + i * ACK_RANGE_BYTES, 6);
    });
  }

  fin(id: number, final: number): void {
    const at = this.reserve(FIN_BYTES);
    this.scratch[at] = FRAME.fin;
    this.scratch.writeUInt32BE(id, at + 1);
    this.scratch.writeUIntBE(final, at + 5, 6);
  }

  reset(id: number, code: number): void {
    const at = this.reserve(RESET_BYTES);
    this.scratch[at] = FRAME.reset;
    this.scratch.writeUInt32BE(id, at + 1);
    this.scratch[at + 5] = code;
  }

  flush(): void {
    if (this.length === DATAGRAM_HEADER_BYTES) return;
    // The link may keep the datagram, so the next one is filled in a new buffer: for a full
    // datagram that is cheaper than a copy; a small one (an ACK) is copied out instead.
    let datagram: Buffer;
    if (this.length * 2 >= this.maxPayload) {
      datagram = this.scratch.subarray(0, this.length);
      this.scratch = Buffer.allocUnsafe(this.maxPayload);
      this.scratch[0] = WIRE_VERSION;
    } else {
      datagram = Buffer.from(this.scratch.subarray(0, this.length));
    }
    this.length = DATAGRAM_HEADER_BYTES;
    this.counters.datagramsSent++;
    this.send(datagram);
  }

  private reserve(bytes: number): number {
    if (this.length + bytes > this.maxPayload) this.flush();
    const at = this.length;
    this.length += bytes;
    this.counters.framesSent++;
    return at;
  }
}
