/**
 * RDATA of the record types a zone may hold, between master-file text (RFC 1035 section 5)
 * and wire form with uncompressed names (what dnswire's encode takes). Types outside this
 * table can still be written in the generic form of RFC 3597 (`TYPE65534 \# 2 abcd`).
 */
import { isIP } from 'node:net';

import { DNS_TYPE, nameFromWire, nameToWire, wireNameLength } from '../../native.js';

export class ZoneSyntaxError extends Error {}

interface RdataCodec {
  /** Text tokens (quotes already removed from strings, names made absolute) → wire RDATA. */
  parse(tokens: readonly Token[]): Buffer;
  format(data: Uint8Array): string;
}

/** A master-file token; `quoted` tells a character-string from a bare word. */
export interface Token {
  text: string;
  quoted: boolean;
}

export type NameResolver = (text: string) => string;

const TYPE_NAMES = new Map<number, string>(Object.entries(DNS_TYPE).map(([name, code]): [number, string] => [code, name]));

export function typeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

export function typeCode(text: string): number | undefined {
  const upper = text.toUpperCase();
  const known = (DNS_TYPE as Record<string, number>)[upper];
  if (known !== undefined) return known;
  const generic = /^TYPE(\d{1,5})$/.exec(upper);
  return generic !== null && Number(generic[1]) <= 65535 ? Number(generic[1]) : undefined;
}

function uint(token: Token | undefined, bits: 8 | 16 | 32, what: string): number {
  if (token === undefined || !/^\d+$/.test(token.text)) throw new ZoneSyntaxError(`expected ${what} (a number)`);
  const value = Number(token.text);
  if (value >= 2 ** bits) throw new ZoneSyntaxError(`${what} ${token.text} is out of range`);
  return value;
}

function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

function expectCount(tokens: readonly Token[], count: number, type: string): void {
  if (tokens.length !== count) throw new ZoneSyntaxError(`${type} takes ${count} field${count === 1 ? '' : 's'}, got ${tokens.length}`);
}

/** A character-string (RFC 1035 <character-string>): ≤ 255 bytes with its length byte. */
function characterString(text: string): Buffer {
  const bytes = unescapeText(text);
  if (bytes.length > 255) throw new ZoneSyntaxError('a character-string is over 255 bytes');
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/** Backslash escapes of master files: \X and \DDD. */
function unescapeText(text: string): Buffer {
  const out: number[] = [];
  const utf8 = Buffer.from(text, 'utf8');
  for (let i = 0; i < utf8.length; i++) {
    if (utf8[i] !== 0x5c) {
      out.push(utf8[i]!);
      continue;
    }
    const digits = utf8.subarray(i + 1, i + 4).toString('latin1');
    if (/^\d{3}$/.test(digits) && Number(digits) <= 255) {
      out.push(Number(digits));
      i += 3;
    } else if (i + 1 < utf8.length) {
      out.push(utf8[++i]!);
    } else {
      throw new ZoneSyntaxError('a backslash ends the text');
    }
  }
  return Buffer.from(out);
}

function quoteText(bytes: Uint8Array): string {
  let text = '"';
  for (const byte of bytes) {
    if (byte === 0x22 || byte === 0x5c) text += '\\' + String.fromCharCode(byte);
    else if (byte >= 0x20 && byte <= 0x7e) text += String.fromCharCode(byte);
    else text += '\\' + String(byte).padStart(3, '0');
  }
  return text + '"';
}

function characterStrings(data: Uint8Array, from = 0): string[] {
  const strings: string[] = [];
  for (let at = from; at < data.length; at += data[at]! + 1) strings.push(quoteText(data.subarray(at + 1, at + 1 + data[at]!)));
  return strings;
}

function address(token: Token | undefined, family: 4 | 6): Buffer {
  if (token === undefined || isIP(token.text) !== family) throw new ZoneSyntaxError(`expected an IPv${family} address`);
  return addressBytes(token.text)!;
}

/**
 * The 4 or 16 bytes of an IP literal (an IPv6 zone such as "%eth0" is dropped), or undefined
 * when it is not one. Shared by the zone and the mDNS responder.
 */
export function addressBytes(literal: string): Buffer | undefined {
  const text = literal.split('%')[0]!;
  if (isIP(text) === 4) return Buffer.from(text.split('.').map(Number));
  if (isIP(text) !== 6) return undefined;
  const words = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((piece) => {
          if (!piece.includes('.')) return [parseInt(piece, 16)];
          const v4 = addressBytes(piece)!; // an embedded IPv4 tail (::ffff:192.0.2.1) is two words
          return [v4.readUInt16BE(0), v4.readUInt16BE(2)];
        });
  const gap = text.indexOf('::');
  const first = words(gap < 0 ? text : text.slice(0, gap));
  const last = gap < 0 ? [] : words(text.slice(gap + 2));
  const out = Buffer.alloc(16);
  first.forEach((word, i) => out.writeUInt16BE(word, i * 2));
  last.forEach((word, i) => out.writeUInt16BE(word, 16 - (last.length - i) * 2));
  return out;
}

/** SRV RDATA (RFC 2782): priority, weight, port, target. */
export function srvRdata(priority: number, weight: number, port: number, target: string): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt16BE(priority, 0);
  head.writeUInt16BE(weight, 2);
  head.writeUInt16BE(port, 4);
  return Buffer.concat([head, nameToWire(target)]);
}

/** TXT RDATA from UTF-8 strings (each cut to 255 bytes); none is one empty string (RFC 6763 6.1). */
export function txtRdata(strings: readonly string[]): Buffer {
  const parts = strings.map((text) => Buffer.from(text, 'utf8').subarray(0, 255)).filter((bytes) => bytes.length > 0);
  if (parts.length === 0) return Buffer.from([0]);
  return Buffer.concat(parts.flatMap((bytes) => [Buffer.from([bytes.length]), bytes]));
}

function formatIpv6(data: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((data[i * 2]! << 8) | data[i * 2 + 1]!).toString(16));
  // The longest run of two or more zero groups becomes "::" (RFC 5952).
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.length).join(':')}`;
}

function name(token: Token | undefined, resolve: NameResolver): Buffer {
  if (token === undefined) throw new ZoneSyntaxError('expected a domain name');
  try {
    return nameToWire(resolve(token.text));
  } catch (error) {
    throw new ZoneSyntaxError((error as Error).message);
  }
}

function base64(tokens: readonly Token[]): Buffer {
  const text = tokens.map((t) => t.text).join('');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new ZoneSyntaxError('expected base64');
  return Buffer.from(text, 'base64');
}

/** The codecs, by type; names inside RDATA are made absolute by `resolve` at parse time. */
function codecs(resolve: NameResolver): Map<number, RdataCodec> {
  const nameOnly: RdataCodec = {
    parse: (t) => (expectCount(t, 1, 'this type'), name(t[0], resolve)),
    format: (d) => nameFromWire(d),
  };
  return new Map<number, RdataCodec>([
    [DNS_TYPE.A, { parse: (t) => (expectCount(t, 1, 'A'), address(t[0], 4)), format: (d) => Array.from(d).join('.') }],
    [DNS_TYPE.AAAA, { parse: (t) => (expectCount(t, 1, 'AAAA'), address(t[0], 6)), format: formatIpv6 }],
    [DNS_TYPE.NS, nameOnly],
    [DNS_TYPE.CNAME, nameOnly],
    [DNS_TYPE.PTR, nameOnly],
    [
      DNS_TYPE.MX,
      {
        parse: (t) => (expectCount(t, 2, 'MX'), Buffer.concat([u16(uint(t[0], 16, 'preference')), name(t[1], resolve)])),
        format: (d) => `${(d[0]! << 8) | d[1]!} ${nameFromWire(d, 2)}`,
      },
    ],
    [
      DNS_TYPE.TXT,
      {
        parse: (t) => {
          if (t.length === 0) throw new ZoneSyntaxError('TXT needs at least one string');
          return Buffer.concat(t.map((token) => characterString(token.text)));
        },
        format: (d) => characterStrings(d).join(' '),
      },
    ],
    [
      DNS_TYPE.SRV,
      {
        parse: (t) => {
          expectCount(t, 4, 'SRV');
          const numbers = [uint(t[0], 16, 'priority'), uint(t[1], 16, 'weight'), uint(t[2], 16, 'port')];
          return Buffer.concat([...numbers.map(u16), name(t[3], resolve)]);
        },
        format: (d) => {
          const view = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
          return `${view.readUInt16BE(0)} ${view.readUInt16BE(2)} ${view.readUInt16BE(4)} ${nameFromWire(d, 6)}`;
        },
      },
    ],
    [
      DNS_TYPE.SOA,
      {
        parse: (t) => {
          expectCount(t, 7, 'SOA');
          const names = [name(t[0], resolve), name(t[1], resolve)];
          const numbers = ['serial', 'refresh', 'retry', 'expire', 'minimum'].map((what, i) => u32(uint(t[i + 2], 32, what)));
          return Buffer.concat([...names, ...numbers]);
        },
        format: (d) => {
          const mname = wireNameLength(d);
          const rname = wireNameLength(d, mname);
          const view = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
          const numbers = [0, 1, 2, 3, 4].map((i) => view.readUInt32BE(mname + rname + i * 4));
          return `${nameFromWire(d)} ${nameFromWire(d, mname)} ${numbers.join(' ')}`;
        },
      },
    ],
    [
      DNS_TYPE.CAA,
      {
        parse: (t) => {
          expectCount(t, 3, 'CAA');
          const tag = Buffer.from(t[1]!.text, 'latin1');
          if (!/^[a-zA-Z0-9]{1,15}$/.test(t[1]!.text)) throw new ZoneSyntaxError('CAA tag must be 1-15 letters or digits');
          return Buffer.concat([Buffer.from([uint(t[0], 8, 'flags'), tag.length]), tag, unescapeText(t[2]!.text)]);
        },
        format: (d) => `${d[0]} ${Buffer.from(d.subarray(2, 2 + d[1]!)).toString('latin1')} ${quoteText(d.subarray(2 + d[1]!))}`,
      },
    ],
    [
      DNS_TYPE.DNSKEY,
      {
        parse: (t) => {
          if (t.length < 4) throw new ZoneSyntaxError('DNSKEY takes flags, protocol, algorithm and a base64 key');
          return Buffer.concat([u16(uint(t[0], 16, 'flags')), Buffer.from([uint(t[1], 8, 'protocol'), uint(t[2], 8, 'algorithm')]), base64(t.slice(3))]);
        },
        format: (d) => `${(d[0]! << 8) | d[1]!} ${d[2]} ${d[3]} ${Buffer.from(d.subarray(4)).toString('base64')}`,
      },
    ],
    [
      DNS_TYPE.DS,
      {
        parse: (t) => {
          if (t.length < 4) throw new ZoneSyntaxError('DS takes key tag, algorithm, digest type and a hex digest');
          const digest = t.slice(3).map((x) => x.text).join('');
          if (!/^([0-9a-fA-F]{2})+$/.test(digest)) throw new ZoneSyntaxError('expected a hex digest');
          return Buffer.concat([u16(uint(t[0], 16, 'key tag')), Buffer.from([uint(t[1], 8, 'algorithm'), uint(t[2], 8, 'digest type')]), Buffer.from(digest, 'hex')]);
        },
        format: (d) => `${(d[0]! << 8) | d[1]!} ${d[2]} ${d[3]} ${Buffer.from(d.subarray(4)).toString('hex').toUpperCase()}`,
      },
    ],
  ]);
}

/** Parses the RDATA fields of one record; RFC 3597's `\# LENGTH HEX` works for any type. */
export function parseRdata(type: number, tokens: readonly Token[], resolve: NameResolver): Buffer {
  if (tokens[0]?.text === '\\#' && !tokens[0].quoted) {
    const length = uint(tokens[1], 16, 'RDATA length');
    const hex = tokens.slice(2).map((t) => t.text).join('');
    if (!/^([0-9a-fA-F]{2})*$/.test(hex) || hex.length / 2 !== length) throw new ZoneSyntaxError(`expected ${length} bytes of hex`);
    return Buffer.from(hex, 'hex');
  }
  const codec = codecs(resolve).get(type);
  if (codec === undefined) throw new ZoneSyntaxError(`type ${typeName(type)} must be written as \\# LENGTH HEX`);
  return codec.parse(tokens);
}

const FORMATTERS = codecs((text) => text);

/** RDATA in master-file form (generic form for types without a codec, such as RRSIG here). */
export function formatRdata(type: number, data: Uint8Array): string {
  const codec = FORMATTERS.get(type);
  if (codec !== undefined) return codec.format(data);
  return `\\# ${data.length}${data.length > 0 ? ' ' + Buffer.from(data).toString('hex') : ''}`;
}
