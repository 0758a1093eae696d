/**
 * The lexical layer of the IMAP command parser: a cursor over a framed command (its lines and
 * the literals between them) with the RFC 9051 tokens — atoms, quoted strings, literals,
 * numbers, sequence sets, flags, dates. Byte-oriented and single-pass: every read moves
 * forward, so parsing costs O(command size).
 */
import type { CommandFrame, Literal } from './reader.js';
import { parseSequenceSet, SequenceError, type SequenceSet } from './sequence.js';

/** Why a command was refused; the server answers `<tag> BAD <message>` (or `* BAD` without a tag). */
export class ParseError extends Error {
  override name = 'ParseError';
  constructor(
    message: string,
    readonly tag?: string,
    /** BADCHARSET: answer `<tag> NO [BADCHARSET (UTF-8 US-ASCII)] …` instead of BAD. */
    readonly code?: 'BADCHARSET',
  ) {
    super(printable(message));
  }
}

/** Keeps error text on one line of printable ASCII, whatever the client sent. */
function printable(text: string): string {
  let out = '';
  for (let i = 0; i < text.length && out.length < 200; i++) {
    const c = text.charCodeAt(i);
    out += c >= 0x20 && c < 0x7f ? text[i] : '?';
  }
  return out;
}

export const SP = 0x20;
export const DQUOTE = 0x22;
export const LPAREN = 0x28;
export const RPAREN = 0x29;
export const BACKSLASH = 0x5c;
export const LBRACKET = 0x5b;
export const RBRACKET = 0x5d;

/** peek() at the end of a line that a literal follows. */
export const AT_LITERAL = -2;
/** peek() at the end of the command. */
export const AT_END = -1;

const ATOM = 1;
const ASTRING = 2;
const LIST = 4;
const CHAR_CLASS = new Uint8Array(256);
for (let b = 0x21; b < 0x7f; b++) {
  const ch = String.fromCharCode(b);
  if (!'(){%*"\\]'.includes(ch)) CHAR_CLASS[b] = ATOM | ASTRING | LIST;
  else if (ch === ']') CHAR_CLASS[b] = ASTRING | LIST;
  else if (ch === '%' || ch === '*') CHAR_CLASS[b] = LIST;
}

export const isAtomByte = (b: number) => (CHAR_CLASS[b]! & ATOM) !== 0;
export const isAstringByte = (b: number) => (CHAR_CLASS[b]! & ASTRING) !== 0;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isSequenceByte = (b: number) => isDigit(b) || b === 0x3a || b === 0x2c || b === 0x2a || b === 0x24;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export const MAX_MODSEQ = (1n << 63n) - 1n;

export class Cursor {
  tag: string | undefined;
  private part = 0;
  private pos = 0;
  private line: Buffer;

  constructor(private readonly frame: CommandFrame) {
    this.line = frame.lines[0] ?? Buffer.alloc(0);
  }

  fail(message: string): never {
    throw new ParseError(message, this.tag);
  }

  /** The byte at the cursor, AT_LITERAL or AT_END. */
  peek(): number {
    if (this.pos < this.line.length) return this.line[this.pos]!;
    return this.part < this.frame.literals.length ? AT_LITERAL : AT_END;
  }

  peekIs(byte: number): boolean {
    return this.peek() === byte;
  }

  atEnd(): boolean {
    return this.peek() === AT_END;
  }

  advance(): void {
    this.pos++;
  }

  expect(byte: number, what: string): void {
    if (this.peek() !== byte) this.fail(`expected ${what}`);
    this.pos++;
  }

  sp(): void {
    if (this.peek() !== SP) this.fail(this.atEnd() ? 'missing arguments' : 'expected a space');
    this.pos++;
  }

  /** An optional SP; true when there was one. */
  spIf(): boolean {
    if (this.peek() !== SP) return false;
    this.pos++;
    return true;
  }

  end(): void {
    if (!this.atEnd()) this.fail(this.peek() === AT_LITERAL ? 'unexpected literal' : 'unexpected characters at the end of the command');
  }

  private run(test: (b: number) => boolean): string {
    const start = this.pos;
    while (this.pos < this.line.length && test(this.line[this.pos]!)) this.pos++;
    return this.line.toString('latin1', start, this.pos);
  }

  /** Reads the command tag (first thing on the line). */
  readTag(): string {
    const tag = this.run((b) => isAstringByte(b) && b !== 0x2b);
    if (tag === '' || (this.peek() !== SP && !this.atEnd())) this.fail('missing or invalid tag');
    this.tag = tag;
    return tag;
  }

  atom(what: string): string {
    const text = this.run(isAtomByte);
    if (text === '') this.fail(`expected ${what}`);
    return text;
  }

  /** An atom compared case-insensitively (ASCII only: atoms hold no 8-bit bytes). */
  keyword(what: string): string {
    return this.atom(what).toUpperCase();
  }

  /** The next atom in upper case, without consuming it ('' when the next token is no atom). */
  peekKeyword(): string {
    const start = this.pos;
    const text = this.run(isAtomByte);
    this.pos = start;
    return text.toUpperCase();
  }

  /** Consumes `word` (case-insensitive) when it is the next whole atom. */
  acceptKeyword(word: string): boolean {
    if (this.peekKeyword() !== word) return false;
    this.pos += word.length;
    return true;
  }

  /** 1*DIGIT as a number no larger than `max`. */
  number(what: string, max = 4294967295): number {
    const digits = this.run(isDigit);
    if (digits === '') this.fail(`expected ${what}`);
    const value = digits.length > 16 ? Infinity : Number(digits);
    if (value > max) this.fail(`${what} too large`);
    return value;
  }

  nzNumber(what: string, max = 4294967295): number {
    const value = this.number(what, max);
    if (value === 0) this.fail(`${what} must not be 0`);
    return value;
  }

  /** mod-sequence-value (63-bit, RFC 7162); `allowZero` for mod-sequence-valzer. */
  modseq(what: string, allowZero: boolean): bigint {
    const digits = this.run(isDigit);
    if (digits === '') this.fail(`expected ${what}`);
    if (digits.length > 19) this.fail(`${what} too large`);
    const value = BigInt(digits);
    if (value > MAX_MODSEQ) this.fail(`${what} too large`);
    if (value === 0n && !allowZero) this.fail(`${what} must not be 0`);
    return value;
  }

  sequenceSet(what = 'a sequence set'): SequenceSet {
    const text = this.run(isSequenceByte);
    if (text === '') this.fail(`expected ${what}`);
    try {
      return parseSequenceSet(text);
    } catch (err) {
      if (err instanceof SequenceError) this.fail(err.message);
      throw err;
    }
  }

  /** The literal that follows the current line; literal8 only where `binaryAllowed`. */
  literal(binaryAllowed: boolean): Literal {
    if (this.peek() !== AT_LITERAL) this.fail('expected a literal');
    const literal = this.frame.literals[this.part]!;
    if (literal.binary && !binaryAllowed) this.fail('literal8 is not allowed here');
    this.part++;
    this.line = this.frame.lines[this.part]!;
    this.pos = 0;
    return literal;
  }

  /** quoted: DQUOTE *QUOTED-CHAR DQUOTE, with UTF-8 allowed (RFC 9051, RFC 6855). */
  quoted(): Buffer {
    this.expect(DQUOTE, 'a quoted string');
    const line = this.line;
    let start = this.pos;
    const pieces: Buffer[] = [];
    for (;;) {
      if (this.pos >= line.length) this.fail('unterminated quoted string');
      const b = line[this.pos]!;
      if (b === DQUOTE) break;
      if (b === 0 || b === 0x0d || b === 0x0a) this.fail('invalid character in quoted string');
      if (b === BACKSLASH) {
        const next = line[this.pos + 1];
        if (next !== DQUOTE && next !== BACKSLASH) this.fail('invalid escape in quoted string');
        pieces.push(line.subarray(start, this.pos));
        pieces.push(Buffer.from([next]));
        this.pos += 2;
        start = this.pos;
        continue;
      }
      this.pos++;
    }
    pieces.push(line.subarray(start, this.pos));
    this.pos++; // closing quote
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }

  /** string: quoted or literal, as bytes. */
  stringBytes(what: string, binaryAllowed = false): Buffer {
    const b = this.peek();
    if (b === DQUOTE) return this.quoted();
    if (b === AT_LITERAL) return this.literal(binaryAllowed).data;
    return this.fail(`expected ${what}`);
  }

  /** astring (or list-mailbox when `listChars`) as bytes. */
  astringBytes(what: string, listChars = false): Buffer {
    const b = this.peek();
    if (b === DQUOTE || b === AT_LITERAL) return this.stringBytes(what);
    const start = this.pos;
    const mask = listChars ? LIST : ASTRING;
    while (this.pos < this.line.length && (CHAR_CLASS[this.line[this.pos]!]! & mask) !== 0) this.pos++;
    if (this.pos === start) this.fail(`expected ${what}`);
    return this.line.subarray(start, this.pos);
  }

  astring(what: string): string {
    return this.text(this.astringBytes(what), what);
  }

  string(what: string): string {
    return this.text(this.stringBytes(what), what);
  }

  /** nstring: NIL or a string. */
  nstring(what: string): string | null {
    if (this.peek() !== DQUOTE && this.peek() !== AT_LITERAL) {
      if (this.keyword(what) !== 'NIL') this.fail(`expected ${what}`);
      return null;
    }
    return this.string(what);
  }

  /** Decodes client text: UTF-8 only (US-ASCII is a subset), no NUL. */
  text(bytes: Buffer, what: string): string {
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (b === 0) this.fail(`NUL in ${what}`);
      if (b >= 0x80) ascii = false;
    }
    if (ascii) return bytes.toString('latin1');
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      return this.fail(`${what} is not valid UTF-8`);
    }
  }

  /** A mailbox name: astring, control characters refused, INBOX in any case is "INBOX". */
  mailbox(what = 'a mailbox name'): string {
    const name = this.astring(what);
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c < 0x20 || c === 0x7f) this.fail(`control character in ${what}`);
    }
    return normalizeInbox(name);
  }

  /** flag: `\System` (canonical case), `\Extension`, or a keyword atom. */
  flag(): string {
    if (this.peek() !== BACKSLASH) return this.atom('a flag');
    this.pos++;
    return canonicalFlag(`\\${this.atom('a flag name')}`);
  }

  /** flag-list: "(" [flag *(SP flag)] ")". */
  flagList(): string[] {
    this.expect(LPAREN, '(');
    const flags: string[] = [];
    while (!this.peekIs(RPAREN)) {
      if (this.atEnd()) this.fail('unterminated flag list');
      if (flags.length > 0) this.sp();
      flags.push(this.flag());
    }
    this.pos++;
    return flags;
  }

  /** "(" item *(SP item) ")" — `allowEmpty` for the lists RFC 4466 lets be empty. */
  parenList<T>(item: () => T, allowEmpty: boolean, what: string): T[] {
    this.expect(LPAREN, `( before ${what}`);
    const items: T[] = [];
    while (!this.peekIs(RPAREN)) {
      if (this.atEnd()) this.fail(`unterminated ${what}`);
      if (items.length > 0) this.sp();
      items.push(item());
    }
    this.pos++;
    if (items.length === 0 && !allowEmpty) this.fail(`empty ${what}`);
    return items;
  }
}

/** Atom text that needs no quoting in a response (header field names in BODY[HEADER.FIELDS …]). */
export function isAtomText(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) if (!isAstringByte(text.charCodeAt(i))) return false;
  return true;
}

export function normalizeInbox(name: string): string {
  return name.length === 5 && asciiUpper(name) === 'INBOX' ? 'INBOX' : name;
}

/** Upper-cases a-z only, so no Unicode case mapping (`ı` → `I`) can make a name equal INBOX. */
export function asciiUpper(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out += c >= 0x61 && c <= 0x7a ? String.fromCharCode(c - 32) : text[i];
  }
  return out;
}

const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft', '\\Recent'];
const SYSTEM_FLAG_BY_UPPER = new Map(SYSTEM_FLAGS.map((f) => [f.toUpperCase(), f]));

/** `\seen` → `\Seen`; other flags unchanged (keywords keep the client's spelling). */
export function canonicalFlag(flag: string): string {
  return SYSTEM_FLAG_BY_UPPER.get(flag.toUpperCase()) ?? flag;
}

export interface ImapDate {
  year: number;
  /** 1–12. */
  month: number;
  day: number;
}

export interface ImapDateTime extends ImapDate {
  hour: number;
  minute: number;
  second: number;
  /** Offset from UTC in minutes (`-0700` → -420). */
  zoneMinutes: number;
}

export const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH_BY_UPPER = new Map(MONTHS.map((m, i) => [m.toUpperCase(), i + 1]));

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function digitsAt(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const c = text.charCodeAt(i);
    if (!(c >= 0x30 && c <= 0x39)) return -1;
    value = value * 10 + (c - 0x30);
  }
  return value;
}

/** `d-Mon-yyyy` / `dd-Mon-yyyy` (RFC 9051 date-text), or undefined. */
export function parseDate(text: string): ImapDate | undefined {
  const dash = text.indexOf('-');
  if (dash < 1 || dash > 2 || text.length !== dash + 9 || text[dash + 4] !== '-') return undefined;
  const day = digitsAt(text, 0, dash);
  const month = MONTH_BY_UPPER.get(text.slice(dash + 1, dash + 4).toUpperCase());
  const year = digitsAt(text, dash + 5, 4);
  if (day < 1 || month === undefined || year < 0) return undefined;
  if (day > daysInMonth(year, month)) return undefined;
  return { year, month, day };
}

/** `dd-Mon-yyyy hh:mm:ss +zzzz` (the day may be ` d` or `d`), or undefined. */
export function parseDateTime(text: string): ImapDateTime | undefined {
  const trimmed = text.charCodeAt(0) === SP ? text.slice(1) : text;
  const space = trimmed.indexOf(' ');
  if (space < 0 || trimmed.length !== space + 15) return undefined;
  const date = parseDate(trimmed.slice(0, space));
  if (date === undefined) return undefined;
  const t = trimmed.slice(space + 1);
  if (t[2] !== ':' || t[5] !== ':' || t[8] !== ' ') return undefined;
  const hour = digitsAt(t, 0, 2);
  const minute = digitsAt(t, 3, 2);
  const second = digitsAt(t, 6, 2);
  const sign = t[9];
  const zoneHours = digitsAt(t, 10, 2);
  const zoneMins = digitsAt(t, 12, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return undefined;
  if ((sign !== '+' && sign !== '-') || zoneHours < 0 || zoneMins < 0 || zoneMins > 59) return undefined;
  const zoneMinutes = (zoneHours * 60 + zoneMins) * (sign === '-' ? -1 : 1);
  return { ...date, hour, minute, second, zoneMinutes };
}

/** The instant a date-time names, in milliseconds since the epoch. */
export function dateTimeToMillis(dt: ImapDateTime): number {
  return Date.UTC(dt.year, dt.month - 1, dt.day, dt.hour, dt.minute, dt.second) - dt.zoneMinutes * 60_000;
}
