/**
 * NTP packets as an SNTP client sees them (RFC 4330, RFC 5905 §7.3): the 48-byte header we
 * send in client mode, and the checks a server's answer must pass before its timestamps are
 * believed. Parsing is bounded: anything shorter than the header or longer than a header
 * plus extension fields and a MAC could be is rejected with ENTPPARSE.
 */
import { randomBytes } from 'node:crypto';
import { NymoteError } from '../../firmware/runtime/errors.js';

export const NTP_PORT = 123;
export const NTP_HEADER_BYTES = 48;
/** Header, a few extension fields and a MAC; real replies to a plain request are 48 bytes. */
export const MAX_NTP_PACKET_BYTES = 1024;
/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_TO_UNIX_SECONDS = 2_208_988_800;
const TWO_TO_32 = 0x1_0000_0000;
const MODE_CLIENT = 3;
const MODE_SERVER = 4;
/** Root delay/2 + root dispersion beyond this means the server's own time is worthless. */
const MAX_ROOT_DISTANCE_MS = 16_000;

/** A 64-bit NTP timestamp: seconds since 1900 (mod 2^32) and a 32-bit binary fraction. */
export interface NtpTimestamp {
  seconds: number;
  fraction: number;
}

export interface NtpPacket {
  leap: number;
  version: number;
  mode: number;
  stratum: number;
  poll: number;
  precision: number;
  rootDelayMs: number;
  rootDispersionMs: number;
  /** Four ASCII characters for stratum 0–1 (a kiss code or a reference clock), else an IPv4 address or hash. */
  referenceId: string;
  referenceTime: NtpTimestamp;
  originTime: NtpTimestamp;
  receiveTime: NtpTimestamp;
  transmitTime: NtpTimestamp;
}

/** A server's kiss-o'-death (stratum 0): `kissCode` is e.g. DENY, RSTR or RATE. */
export class KissOfDeath extends NymoteError {
  constructor(readonly kissCode: string, server: string) {
    super('ENTPKOD', `NTP server ${server} sent kiss-o'-death ${kissCode}`);
    this.name = 'KissOfDeath';
  }
}

/**
 * RFC 4330 §3: a timestamp with the top bit set is in 1968–2036 (era 0), one without it in
 * 2036–2104 (era 1). Good until 2104, which is later than these boards will run.
 */
export function ntpToUnixMs(timestamp: NtpTimestamp): number {
  const eraSeconds = timestamp.seconds >= 0x8000_0000 ? timestamp.seconds : timestamp.seconds + TWO_TO_32;
  return (eraSeconds - NTP_TO_UNIX_SECONDS) * 1000 + (timestamp.fraction / TWO_TO_32) * 1000;
}

export function unixMsToNtp(unixMs: number): NtpTimestamp {
  const wholeSeconds = Math.floor(unixMs / 1000);
  const fraction = Math.min(TWO_TO_32 - 1, Math.round(((unixMs - wholeSeconds * 1000) / 1000) * TWO_TO_32));
  return { seconds: (wholeSeconds + NTP_TO_UNIX_SECONDS) % TWO_TO_32, fraction };
}

export function sameTimestamp(a: NtpTimestamp, b: NtpTimestamp): boolean {
  return a.seconds === b.seconds && a.fraction === b.fraction;
}

function isZero(timestamp: NtpTimestamp): boolean {
  return timestamp.seconds === 0 && timestamp.fraction === 0;
}

function readTimestamp(packet: Buffer, offset: number): NtpTimestamp {
  return { seconds: packet.readUInt32BE(offset), fraction: packet.readUInt32BE(offset + 4) };
}

/**
 * The transmit timestamp of our request: now, with the bits below our clock's millisecond
 * resolution random, so that an off-path attacker cannot guess the origin timestamp a reply
 * must echo (RFC 5905 §9 recommends the same). `unixMs` is what the offset is computed from.
 */
export function requestTimestamp(unixMs: number): NtpTimestamp {
  const exact = unixMsToNtp(Math.floor(unixMs));
  // 2^32 / 1000 ≈ 2^22: the low 22 bits of the fraction are below one millisecond.
  const noise = randomBytes(4).readUInt32BE(0) & 0x3f_ffff;
  return { seconds: exact.seconds, fraction: ((exact.fraction & ~0x3f_ffff) | noise) >>> 0 };
}

/** A client-mode (3), version-4 request carrying `transmit`; everything else zero (RFC 4330 §5). */
export function encodeNtpRequest(transmit: NtpTimestamp): Buffer {
  const packet = Buffer.alloc(NTP_HEADER_BYTES);
  packet[0] = (0 << 6) | (4 << 3) | MODE_CLIENT;
  packet.writeUInt32BE(transmit.seconds >>> 0, 40);
  packet.writeUInt32BE(transmit.fraction >>> 0, 44);
  return packet;
}

function referenceIdOf(packet: Buffer, stratum: number): string {
  const bytes = packet.subarray(12, 16);
  if (stratum <= 1) return bytes.toString('latin1').replace(/[^\x20-\x7e]/g, '').trim();
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/** Reads the header of any NTP packet; throws NymoteError ENTPPARSE on a wrong size. */
export function parseNtpPacket(packet: Uint8Array): NtpPacket {
  const bytes = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (bytes.length < NTP_HEADER_BYTES) {
    throw new NymoteError('ENTPPARSE', `NTP packet of ${bytes.length} bytes is shorter than the 48-byte header`);
  }
  if (bytes.length > MAX_NTP_PACKET_BYTES) {
    throw new NymoteError('ENTPPARSE', `NTP packet of ${bytes.length} bytes is over the ${MAX_NTP_PACKET_BYTES}-byte limit`);
  }
  const first = bytes[0] as number;
  const stratum = bytes[1] as number;
  return {
    leap: first >> 6,
    version: (first >> 3) & 7,
    mode: first & 7,
    stratum,
    poll: bytes.readInt8(2),
    precision: bytes.readInt8(3),
    // 16.16 fixed point seconds.
    rootDelayMs: (bytes.readInt32BE(4) / 65536) * 1000,
    rootDispersionMs: (bytes.readUInt32BE(8) / 65536) * 1000,
    referenceId: referenceIdOf(bytes, stratum),
    referenceTime: readTimestamp(bytes, 16),
    originTime: readTimestamp(bytes, 24),
    receiveTime: readTimestamp(bytes, 32),
    transmitTime: readTimestamp(bytes, 40),
  };
}

/**
 * The sanity checks of RFC 4330 §5 and RFC 5905 §8 on a reply to the request we sent with
 * `sent` as its transmit timestamp. Throws KissOfDeath for stratum 0, NymoteError otherwise.
 */
export function checkServerReply(reply: NtpPacket, sent: NtpTimestamp, server: string): void {
  const reject = (code: string, why: string): NymoteError => new NymoteError(code, `NTP reply from ${server} rejected: ${why}`);
  // The origin check comes first: a packet that does not echo our request says nothing at all.
  if (!sameTimestamp(reply.originTime, sent)) throw reject('ENTPORIGIN', 'origin timestamp is not the one we sent');
  if (reply.mode !== MODE_SERVER) throw reject('ENTPMODE', `mode ${reply.mode}, not 4 (server)`);
  if (reply.version < 1 || reply.version > 4) throw reject('ENTPVERSION', `version ${reply.version}`);
  if (reply.stratum === 0) throw new KissOfDeath(reply.referenceId || '????', server);
  if (reply.stratum > 15) throw reject('ENTPUNSYNC', `stratum ${reply.stratum} (unsynchronized)`);
  if (reply.leap === 3) throw reject('ENTPUNSYNC', 'leap indicator says the server clock is not synchronized');
  if (isZero(reply.transmitTime)) throw reject('ENTPZERO', 'transmit timestamp is zero');
  if (isZero(reply.receiveTime)) throw reject('ENTPZERO', 'receive timestamp is zero');
  if (reply.rootDelayMs < 0 || reply.rootDelayMs / 2 + reply.rootDispersionMs > MAX_ROOT_DISTANCE_MS) {
    throw reject('ENTPDIST', `root distance ${(reply.rootDelayMs / 2 + reply.rootDispersionMs).toFixed(0)} ms`);
  }
}

/**
 * Clock offset and round-trip delay from the four timestamps (RFC 5905 §8), all in Unix ms:
 * t1 we sent, t2 the server received, t3 the server sent, t4 we received.
 */
export function offsetAndDelay(t1: number, t2: number, t3: number, t4: number): { offsetMs: number; delayMs: number } {
  return { offsetMs: (t2 - t1 + (t3 - t4)) / 2, delayMs: Math.max(0, t4 - t1 - (t3 - t2)) };
}
