/**
 * git's pkt-line framing (gitprotocol-common): four hex digits of length (counting
 * themselves) then the payload; 0000 flush, 0001 delimiter, 0002 response end. Lines are
 * at most 65520 bytes. Also the side-band multiplexing a pack is sent in.
 */
import { GitRequestError } from './errors.js';

/** Largest pkt-line, length prefix included (LARGE_PACKET_MAX). */
export const MAX_PKT_LINE_BYTES = 65520;
export const MAX_PKT_PAYLOAD_BYTES = MAX_PKT_LINE_BYTES - 4;
export const FLUSH_PKT = Buffer.from('0000', 'latin1');
export const DELIM_PKT = Buffer.from('0001', 'latin1');

/** Side-band channels: pack data, progress text, a fatal error just before the stream ends. */
export const BAND_DATA = 1;
export const BAND_PROGRESS = 2;
export const BAND_ERROR = 3;

export function pktLine(payload: string | Buffer): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  if (data.length > MAX_PKT_PAYLOAD_BYTES) throw new RangeError(`pkt-line payload of ${data.length} bytes is too long`);
  const packet = Buffer.allocUnsafe(data.length + 4);
  packet.write((data.length + 4).toString(16).padStart(4, '0'), 0, 'latin1');
  data.copy(packet, 4);
  return packet;
}

/** Text lines, each as one pkt-line with its LF, then a flush. */
export function pktLines(lines: readonly string[], end: Buffer = FLUSH_PKT): Buffer {
  return Buffer.concat([...lines.map((line) => pktLine(`${line}\n`)), end]);
}

/** Where pkt-lines are read from: exact reads, undefined at a clean end of input. */
export interface ByteSource {
  readExact(length: number): Promise<Buffer | undefined>;
}

export type Packet =
  | { kind: 'data'; data: Buffer }
  | { kind: 'flush' }
  | { kind: 'delim' }
  | { kind: 'response-end' }
  /** The input ended between packets. */
  | { kind: 'end' };

const HEX_LENGTH = /^[0-9a-f]{4}$/;

export class PktLineReader {
  constructor(private readonly source: ByteSource) {}

  async next(): Promise<Packet> {
    const prefix = await this.source.readExact(4);
    if (prefix === undefined) return { kind: 'end' };
    const hex = prefix.toString('latin1');
    if (!HEX_LENGTH.test(hex)) throw new GitRequestError('EBADPKT', `bad pkt-line length '${printable(hex)}'`);
    const length = parseInt(hex, 16);
    if (length === 0) return { kind: 'flush' };
    if (length === 1) return { kind: 'delim' };
    if (length === 2) return { kind: 'response-end' };
    if (length < 4 || length > MAX_PKT_LINE_BYTES) throw new GitRequestError('EBADPKT', `bad pkt-line length ${length}`);
    const data = await this.source.readExact(length - 4);
    if (data === undefined) throw new GitRequestError('EBADPKT', 'request ends inside a pkt-line');
    return { kind: 'data', data };
  }

  /** The next packet as a text line without its LF, or the kind of special packet it was. */
  async line(): Promise<string | Exclude<Packet['kind'], 'data'>> {
    const packet = await this.next();
    if (packet.kind !== 'data') return packet.kind;
    const text = packet.data.toString('utf8');
    return text.endsWith('\n') ? text.slice(0, -1) : text;
  }
}

/** A line as safe, bounded text for an error message. */
export function printable(text: string, max = 80): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/**
 * Frames bytes for side-band: `maxPacket` is 1000 for side-band, 65520 for side-band-64k
 * (the channel byte and the length included).
 */
export function sideBand(channel: number, data: Buffer, maxPacket: number): Buffer[] {
  const room = maxPacket - 5;
  const packets: Buffer[] = [];
  for (let at = 0; at < data.length; at += room) {
    const part = data.subarray(at, Math.min(data.length, at + room));
    const packet = Buffer.allocUnsafe(part.length + 5);
    packet.write((part.length + 5).toString(16).padStart(4, '0'), 0, 'latin1');
    packet[4] = channel;
    part.copy(packet, 5);
    packets.push(packet);
  }
  return packets;
}
