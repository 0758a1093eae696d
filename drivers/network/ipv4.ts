/**
 * Dotted-quad IPv4 addresses as strings at the edges, four bytes on the wire. Every parser
 * here rejects what is not exactly a.b.c.d with 0–255 parts, so nothing malformed reaches
 * an `ip` command line.
 */
import { NymoteError } from '../../firmware/runtime/errors.js';

const DOTTED_QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(text: string): boolean {
  return DOTTED_QUAD.test(text);
}

export function ipv4ToBytes(text: string): Buffer {
  if (!isIpv4(text)) throw new NymoteError('EBADADDR', `not an IPv4 address: ${JSON.stringify(text)}`);
  return Buffer.from(text.split('.').map(Number));
}

export function bytesToIpv4(bytes: Uint8Array, offset = 0): string {
  if (offset < 0 || offset + 4 > bytes.length) throw new NymoteError('EBADADDR', 'IPv4 address runs past the end of its field');
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

export function ipv4ToNumber(text: string): number {
  return ipv4ToBytes(text).readUInt32BE(0);
}

/** The prefix length of a netmask such as 255.255.255.0, or undefined when its ones are not contiguous. */
export function prefixFromMask(mask: string): number | undefined {
  const bits = ipv4ToNumber(mask);
  const inverted = ~bits >>> 0;
  // A contiguous mask inverted is 2^k − 1: adding one leaves a single bit (or zero).
  if ((inverted & (inverted + 1)) !== 0) return undefined;
  return 32 - Math.log2(inverted + 1);
}

export function maskFromPrefix(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(bits, 0);
  return bytesToIpv4(bytes);
}

export function isValidPrefix(prefix: number): boolean {
  return Number.isInteger(prefix) && prefix >= 0 && prefix <= 32;
}
