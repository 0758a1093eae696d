/**
 * Response encoding: the wire form of strings (atom, quoted or literal), lists, flags, dates,
 * mailbox names and status responses. Values are Wire — arrays of strings (ASCII or, where
 * the client enabled it, UTF-8 text) and Buffers (literal bytes, sent untouched) — so large
 * message bodies are never copied or decoded on the way out.
 */
import { encodeMailboxUtf7 } from './utf7.js';

export type WireChunk = string | Buffer;
export type Wire = WireChunk[];

export interface StringOptions {
  /** UTF-8 may appear in quoted strings (IMAP4rev2 or UTF8=ACCEPT enabled). */
  utf8?: boolean;
  /** Longer values go as literals, which are cheaper to parse for the client. */
  maxQuoted?: number;
}

const DEFAULT_MAX_QUOTED = 1024;

/** ASTRING-CHAR: printable ASCII except `(){ %*"\`; `]` is allowed. */
function isAstringChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && c !== 0x28 && c !== 0x29 && c !== 0x7b && c !== 0x25 && c !== 0x2a && c !== 0x22 && c !== 0x5c;
}

/** Whether `text` can be sent as a bare astring atom (and would not read as NIL). */
export function isAtomSafe(text: string): boolean {
  if (text.length === 0 || text.length > DEFAULT_MAX_QUOTED) return false;
  for (let i = 0; i < text.length; i++) if (!isAstringChar(text.charCodeAt(i))) return false;
  return text.toUpperCase() !== 'NIL';
}

/** Whether `value` can go in a quoted string: no CR, LF or NUL, and 7-bit unless `utf8`. */
function quotable(value: string | Buffer, options: StringOptions): boolean {
  const max = options.maxQuoted ?? DEFAULT_MAX_QUOTED;
  if (value.length > max) return false;
  for (let i = 0; i < value.length; i++) {
    const c = typeof value === 'string' ? value.charCodeAt(i) : value[i]!;
    if (c === 0 || c === 0x0a || c === 0x0d) return false;
    if (c >= 0x80 && !options.utf8) return false;
  }
  // A Buffer holding 8-bit bytes may only be quoted when they are UTF-8 (we cannot tell cheaply).
  if (typeof value !== 'string' && options.utf8) return !hasHighBytes(value) || isValidUtf8(value);
  return true;
}

function hasHighBytes(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i]! >= 0x80) return true;
  return false;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
function isValidUtf8(buf: Buffer): boolean {
  try {
    strictUtf8.decode(buf);
    return true;
  } catch {
    return false;
  }
}

/** A quoted string; throws when the value cannot be quoted (use string() to choose). */
export function quoted(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d) throw new Error('CR, LF or NUL cannot be quoted');
  }
  let out = '"';
  for (const ch of value) out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
  return `${out}"`;
}

/** `{n}` CRLF and the bytes. */
export function literal(value: string | Buffer): Wire {
  const data = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return [`{${data.length}}\r\n`, data];
}

/** `~{n}` CRLF and the bytes (RFC 3516: for content that may hold NUL). */
export function literal8(data: Buffer): Wire {
  return [`~{${data.length}}\r\n`, data];
}

/** BINARY[] content: a literal8 only when it holds NUL (a plain literal otherwise). */
export function binaryString(data: Buffer): Wire {
  return data.includes(0) ? literal8(data) : literal(data);
}

/** string: quoted when safe, else a literal. */
export function string(value: string | Buffer, options: StringOptions = {}): Wire {
  if (!quotable(value, options)) return literal(value);
  return [quoted(typeof value === 'string' ? value : value.toString(options.utf8 ? 'utf8' : 'latin1'))];
}

/** astring: a bare atom when it can be, else string(). */
export function astring(value: string, options: StringOptions = {}): Wire {
  return isAtomSafe(value) ? [value] : string(value, options);
}

/** nstring: NIL for null/undefined. */
export function nstring(value: string | Buffer | null | undefined, options: StringOptions = {}): Wire {
  return value === null || value === undefined ? ['NIL'] : string(value, options);
}

/** Items joined by SP. */
export function join(items: readonly (Wire | WireChunk)[], separator = ' '): Wire {
  const out: Wire = [];
  items.forEach((item, i) => {
    if (i > 0) out.push(separator);
    if (Array.isArray(item)) out.push(...item);
    else out.push(item as WireChunk);
  });
  return out;
}

/** "(" items joined by SP ")". */
export function list(items: readonly (Wire | WireChunk)[]): Wire {
  return ['(', ...join(items), ')'];
}

const SYSTEM_FLAGS = new Map(['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft', '\\Recent', '\\*'].map((f) => [f.toUpperCase(), f]));

/** `(\Seen $Forwarded)`: system flags in canonical case; anything unsendable as an atom is dropped. */
export function flagList(flags: Iterable<string>): string {
  const out: string[] = [];
  for (const flag of flags) {
    const system = SYSTEM_FLAGS.get(flag.toUpperCase());
    if (system !== undefined) out.push(system);
    else if (flag.startsWith('\\') ? isFlagAtom(flag.slice(1)) : isFlagAtom(flag)) out.push(flag);
  }
  return `(${out.join(' ')})`;
}

/** ATOM-CHAR (astring chars without `]`), so a stored keyword can never break the response. */
function isFlagAtom(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!isAstringChar(c) || c === 0x5d) return false;
  }
  return true;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `dd-Mon-yyyy hh:mm:ss +zzzz` (unquoted) for `date` seen at UTC offset `zoneMinutes`. */
export function formatDateTime(date: Date | number, zoneMinutes = 0): string {
  const local = new Date((typeof date === 'number' ? date : date.getTime()) + zoneMinutes * 60_000);
  const sign = zoneMinutes < 0 ? '-' : '+';
  const zone = Math.abs(zoneMinutes);
  return (
    `${pad(local.getUTCDate())}-${MONTHS[local.getUTCMonth()]}-${pad(local.getUTCFullYear(), 4)} ` +
    `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())} ` +
    `${sign}${pad(Math.floor(zone / 60))}${pad(zone % 60)}`
  );
}

/** INTERNALDATE value: the date-time quoted. */
export function dateTime(date: Date | number, zoneMinutes = 0): string {
  return `"${formatDateTime(date, zoneMinutes)}"`;
}

/**
 * A mailbox name for LIST/STATUS/… responses: modified UTF-7 unless the client enabled
 * UTF8=ACCEPT (then UTF-8 in a quoted string).
 */
export function mailboxName(name: string, options: { utf8: boolean }): Wire {
  if (name === 'INBOX') return ['INBOX'];
  if (options.utf8) return astring(name, { utf8: true });
  return astring(encodeMailboxUtf7(name));
}

/** A hierarchy delimiter (or NIL) as LIST sends it. */
export function delimiter(char: string | null): string {
  return char === null ? 'NIL' : quoted(char);
}

/** Response text: one line, no CR/LF/NUL, no `[` at the start that would read as a code. */
export function responseText(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out += c < 0x20 || c === 0x7f ? ' ' : text[i];
  }
  if (out.startsWith('[')) out = ` ${out}`;
  return out.length === 0 ? 'done' : out;
}

/** `[CODE]` or `[CODE args]` (args already in wire form: `UIDNEXT 42`, `BADCHARSET (UTF-8 US-ASCII)`). */
export function responseCode(code: string, args?: string): string {
  return args === undefined || args === '' ? `[${code}]` : `[${code} ${args}]`;
}

export type Status = 'OK' | 'NO' | 'BAD';

/** `<tag> OK [code] text` CRLF. */
export function tagged(tag: string, status: Status, text: string, code?: string): string {
  return `${tag} ${status} ${code === undefined ? '' : `${code} `}${responseText(text)}\r\n`;
}

/** `* OK|NO|BAD|BYE|PREAUTH [code] text` CRLF. */
export function untaggedStatus(status: Status | 'BYE' | 'PREAUTH', text: string, code?: string): string {
  return `* ${status} ${code === undefined ? '' : `${code} `}${responseText(text)}\r\n`;
}

/** `* ` data CRLF (data already in wire form, e.g. `['3 EXISTS']` or a FETCH). */
export function untagged(data: Wire | WireChunk): Wire {
  return ['* ', ...(Array.isArray(data) ? data : [data]), '\r\n'];
}

/** `+ text` CRLF: the continuation request for a literal, IDLE, or an AUTHENTICATE challenge. */
export function continuation(text = 'Ready'): string {
  return `+ ${responseText(text)}\r\n`;
}

/** `+ base64` CRLF for an AUTHENTICATE challenge (empty challenge: `+ `). */
export function saslChallenge(data: Buffer): string {
  return `+ ${data.toString('base64')}\r\n`;
}

/** Total bytes of a Wire (strings as UTF-8). */
export function wireLength(wire: Wire): number {
  let n = 0;
  for (const chunk of wire) n += typeof chunk === 'string' ? Buffer.byteLength(chunk, 'utf8') : chunk.length;
  return n;
}

/** One Buffer for a Wire (strings as UTF-8, Buffers verbatim). */
export function wireToBuffer(wire: Wire): Buffer {
  return Buffer.concat(wire.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk)));
}
