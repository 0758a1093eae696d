/**
 * Decoders of the message model: transfer encodings (quoted-printable, base64), charsets,
 * RFC 2047 encoded-words in headers and RFC 2045/2231 MIME parameters.
 *
 * Everything is lenient, the way Dovecot reads mail: bad escapes are kept as written, base64
 * skips what is not base64, an unknown charset falls back to UTF-8 when the bytes are UTF-8
 * and to Windows-1252 (Latin-1) otherwise; nothing here throws on any input. Header text is handled as
 * "byte strings" (one char per byte, Latin-1) until a value is final, so byte offsets and
 * boundaries stay exact; `byteStringToText` turns such a string into the text it spells.
 */
import { isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';

// ---------------------------------------------------------------------------------------------
// Bytes and text

function hasHighBytes(buf: Uint8Array): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i]! >= 0x80) return true;
  return false;
}

/** Bytes as text: UTF-8 when they are valid UTF-8 (ASCII included), else one char per byte. */
export function bytesToText(buf: Buffer): string {
  if (!hasHighBytes(buf)) return buf.toString('latin1');
  return isUtf8(buf) ? buf.toString('utf8') : buf.toString('latin1');
}

/** A byte string (one char per byte) as the text it spells: UTF-8 when valid, else Latin-1. */
export function byteStringToText(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) return bytesToText(Buffer.from(s, 'latin1'));
  }
  return s;
}

/** Drops the line breaks of folded header lines (RFC 5322 §2.2.3), keeping the white space. */
export function unfold(s: string): string {
  if (s.indexOf('\n') === -1 && s.indexOf('\r') === -1) return s;
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10 || c === 13) {
      out += s.slice(from, i);
      from = i + 1;
    }
  }
  return out + s.slice(from);
}

// ---------------------------------------------------------------------------------------------
// Charsets

const decoders = new Map<string, TextDecoder | null>();

// Node 20's TextDecoder decodes windows-1252 (and so ISO-8859-1 and US-ASCII, which WHATWG
// maps to it) as plain Latin-1; 0x80-0x9F are done here.
const CP1252 = '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

function decodeWindows1252(bytes: Buffer): string {
  const s = bytes.toString('latin1');
  return /[\x80-\x9f]/.test(s) ? s.replace(/[\x80-\x9f]/g, (c) => CP1252[c.charCodeAt(0) - 0x80]!) : s;
}

function decoderFor(label: string): TextDecoder | null {
  let decoder = decoders.get(label);
  if (decoder === undefined) {
    try {
      decoder = new TextDecoder(label, { fatal: false });
    } catch {
      decoder = null;
    }
    if (decoders.size < 256) decoders.set(label, decoder);
  }
  return decoder;
}

/** Undeclared or unknown charset: UTF-8 when valid, else Windows-1252 (Latin-1's superset). */
function decodeGuess(bytes: Buffer): string {
  if (!hasHighBytes(bytes)) return bytes.toString('latin1');
  if (isUtf8(bytes)) return bytes.toString('utf8');
  return decodeWindows1252(bytes);
}

/**
 * Text of bytes in a MIME charset (`new TextDecoder(label)`, Node's full ICU: ISO-8859-*,
 * Windows-*, KOI8, Shift_JIS, ISO-2022-JP, GBK, Big5, EUC-KR…). No charset, US-ASCII that is
 * not ASCII, or a charset TextDecoder does not know: UTF-8 when valid, else Windows-1252
 * (Latin-1 with 0x80-0x9F printable). Invalid sequences become U+FFFD; nothing throws.
 */
export function decodeCharset(bytes: Buffer, charset?: string): string {
  let label = (charset ?? '').trim().toLowerCase();
  if (label.startsWith('"') && label.endsWith('"') && label.length >= 2) label = label.slice(1, -1).trim();
  if (label === '' || label === 'us-ascii' || label === 'ascii' || label === 'unknown-8bit' || label === 'x-unknown') {
    return decodeGuess(bytes);
  }
  if (label === 'utf-8' || label === 'utf8') return bytes.toString('utf8');
  const decoder = decoderFor(label);
  if (decoder === null) return decodeGuess(bytes);
  if (decoder.encoding === 'windows-1252') return decodeWindows1252(bytes);
  return decoder.decode(bytes);
}

// ---------------------------------------------------------------------------------------------
// Transfer encodings

const B64 = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

function isBase64Tail(buf: Uint8Array, from: number): boolean {
  for (let i = from; i < buf.length; i++) {
    const c = buf[i]!;
    if (c !== 61 && c !== 13 && c !== 10 && c !== 32 && c !== 9) return false;
  }
  return true;
}

/**
 * Base64 (RFC 2045 §6.8), lenient: characters outside the alphabet are skipped, and padding in
 * the middle (concatenated encodings) ends one run and starts the next, instead of ending all.
 */
export function decodeBase64(input: Buffer): Buffer {
  const pad = input.indexOf(61); // '='
  if (pad === -1 || isBase64Tail(input, pad)) return Buffer.from(input.toString('latin1'), 'base64');
  const out = Buffer.allocUnsafe(Math.ceil((input.length * 3) / 4));
  let n = 0;
  let bits = 0;
  let count = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    const v = B64[c]!;
    if (v >= 0) {
      bits = (bits << 6) | v;
      if (++count === 4) {
        out[n++] = bits >> 16;
        out[n++] = (bits >> 8) & 0xff;
        out[n++] = bits & 0xff;
        bits = 0;
        count = 0;
      }
    } else if (c === 61 && count > 0) {
      // Padding ends this run: flush what the partial quantum holds.
      if (count === 2) out[n++] = (bits >> 4) & 0xff;
      else if (count === 3) {
        out[n++] = (bits >> 10) & 0xff;
        out[n++] = (bits >> 2) & 0xff;
      }
      bits = 0;
      count = 0;
    }
  }
  if (count === 2) out[n++] = (bits >> 4) & 0xff;
  else if (count === 3) {
    out[n++] = (bits >> 10) & 0xff;
    out[n++] = (bits >> 2) & 0xff;
  }
  return out.subarray(0, n);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Quoted-printable (RFC 2045 §6.7), lenient like Dovecot: `=XX` in either case, soft line
 * breaks `=` CRLF or `=` LF (white space allowed before the break), white space at the end
 * of a line dropped, an `=` that starts no valid escape kept as it is. With `underscoreSpace`
 * it is RFC 2047's Q encoding, where `_` is a space.
 */
export function decodeQuotedPrintable(input: Uint8Array, underscoreSpace = false): Buffer {
  const out = Buffer.allocUnsafe(input.length);
  let n = 0;
  const len = input.length;
  let i = 0;
  while (i < len) {
    const c = input[i]!;
    if (c === 61) {
      // '='
      const h1 = i + 1 < len ? hexValue(input[i + 1]!) : -1;
      const h2 = i + 2 < len ? hexValue(input[i + 2]!) : -1;
      if (h1 >= 0 && h2 >= 0) {
        out[n++] = (h1 << 4) | h2;
        i += 3;
        continue;
      }
      // A soft line break: '=' [white space] [CR] LF, or '=' at the very end.
      let j = i + 1;
      while (j < len && (input[j] === 32 || input[j] === 9)) j++;
      if (j >= len) {
        i = len;
        continue;
      }
      if (input[j] === 10) {
        i = j + 1;
        continue;
      }
      if (input[j] === 13 && (j + 1 >= len || input[j + 1] === 10)) {
        i = j + 2;
        continue;
      }
      out[n++] = c;
      i++;
      continue;
    }
    if (c === 32 || c === 9) {
      // Trailing white space before a line break is transport padding.
      let j = i + 1;
      while (j < len && (input[j] === 32 || input[j] === 9)) j++;
      if (j >= len || input[j] === 10 || (input[j] === 13 && j + 1 < len && input[j + 1] === 10)) {
        i = j;
        continue;
      }
      while (i < j) out[n++] = input[i++]!;
      continue;
    }
    out[n++] = underscoreSpace && c === 95 ? 32 : c;
    i++;
  }
  return out.subarray(0, n);
}

/** Whether `decodeTransfer` can undo this Content-Transfer-Encoding (absent means 7bit). */
export function isKnownTransferEncoding(encoding: string | undefined): boolean {
  const e = (encoding ?? '7bit').toLowerCase();
  return e === '7bit' || e === '8bit' || e === 'binary' || e === 'base64' || e === 'quoted-printable';
}

/** A body's content without its Content-Transfer-Encoding; null for an encoding it does not know. */
export function decodeTransfer(body: Buffer, encoding: string | undefined): Buffer | null {
  const e = (encoding ?? '7bit').toLowerCase();
  if (e === '7bit' || e === '8bit' || e === 'binary') return body;
  if (e === 'base64') return decodeBase64(body);
  if (e === 'quoted-printable') return decodeQuotedPrintable(body);
  return null;
}

// ---------------------------------------------------------------------------------------------
// RFC 2047 encoded-words

interface EncodedWord {
  end: number;
  charset: string;
  bytes: Buffer;
}

function isWsp(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

const MAX_ENCODED_WORD = 4096;

/** Finds encoded-words in one string; positions only move forward, so the searches are memoised and the whole scan stays linear. */
class EncodedWordScanner {
  #close = -2;
  #space = -2;
  constructor(readonly s: string) {}

  #nextClose(from: number): number {
    if (this.#close === -2 || (this.#close !== -1 && this.#close < from)) this.#close = this.s.indexOf('?=', from);
    return this.#close;
  }

  #nextSpace(from: number): number {
    if (this.#space === -2 || (this.#space !== -1 && this.#space < from)) {
      const s = this.s;
      let i = from;
      while (i < s.length && !isWsp(s.charCodeAt(i))) i++;
      this.#space = i < s.length ? i : -1;
    }
    return this.#space;
  }

  /** The encoded-word `=?charset?B|Q?text?=` at `at` (where `=?` is), or null. */
  read(at: number): EncodedWord | null {
    const s = this.s;
    let q1 = -1;
    for (let i = at + 2; i < s.length && i < at + 80; i++) {
      const c = s.charCodeAt(i);
      if (c === 63) {
        q1 = i;
        break;
      }
      if (isWsp(c)) return null;
    }
    if (q1 === -1 || q1 === at + 2) return null;
    if (q1 + 2 >= s.length || s.charCodeAt(q1 + 2) !== 63) return null; // '?'
    const enc = s.charCodeAt(q1 + 1) | 0x20;
    if (enc !== 98 && enc !== 113) return null; // b, q
    // The text runs to '?=', without white space; words longer than any mailer writes are not words.
    const textStart = q1 + 3;
    const close = this.#nextClose(textStart);
    if (close === -1 || close - textStart > MAX_ENCODED_WORD) return null;
    const space = this.#nextSpace(textStart);
    if (space !== -1 && space < close) return null;
    let charset = s.slice(at + 2, q1);
    const star = charset.indexOf('*'); // RFC 2231 §5: charset*language
    if (star !== -1) charset = charset.slice(0, star);
    const text = Buffer.from(s.slice(textStart, close), 'latin1');
    const bytes = enc === 98 ? decodeBase64(text) : decodeQuotedPrintable(text, true);
    return { end: close + 2, charset: charset.toLowerCase(), bytes };
  }
}

/**
 * Decodes the RFC 2047 encoded-words in a header value (text, not bytes). White space between
 * two encoded-words is dropped (§6.2), and adjacent words in one charset are decoded together
 * so a character split across them survives. Leniently, encoded-words inside a word and in
 * quoted strings are decoded too, as mail clients do.
 */
export function decodeEncodedWords(value: string): string {
  let at = value.indexOf('=?');
  if (at === -1) return value;
  let out = '';
  let from = 0;
  let pending: Buffer[] = [];
  let pendingCharset = '';
  const flush = (): void => {
    if (pending.length > 0) {
      out += decodeCharset(pending.length === 1 ? pending[0]! : Buffer.concat(pending), pendingCharset);
      pending = [];
    }
  };
  const scanner = new EncodedWordScanner(value);
  while (at !== -1) {
    const word = scanner.read(at);
    if (word === null) {
      at = value.indexOf('=?', at + 2);
      continue;
    }
    const between = value.slice(from, at);
    let onlySpace = pending.length > 0;
    if (onlySpace) for (let i = 0; i < between.length && onlySpace; i++) onlySpace = isWsp(between.charCodeAt(i));
    if (!onlySpace) {
      flush();
      out += between;
    }
    if (pending.length > 0 && word.charset !== pendingCharset) flush();
    pending.push(word.bytes);
    pendingCharset = word.charset;
    from = word.end;
    at = value.indexOf('=?', from);
  }
  flush();
  return out + value.slice(from);
}

/** A raw header field value (bytes after the colon): unfolded, as text, encoded-words decoded, trimmed. */
export function decodeHeaderValue(bytes: Buffer): string {
  return decodeEncodedWords(unfold(bytesToText(bytes))).trim();
}

// ---------------------------------------------------------------------------------------------
// MIME parameters (RFC 2045 §5.1, RFC 2231)

/** A parameter as [name, value]; the name as written, the value unquoted. */
export type MimeParam = [name: string, value: string];

const TSPECIAL = new Uint8Array(128);
for (const c of '()<>@,;:\\"/[]?=') TSPECIAL[c.charCodeAt(0)] = 1;

/** Whether the char (of a byte string) may be in an RFC 2045 token; 8-bit bytes are allowed. */
export function isTokenChar(c: number): boolean {
  if (c >= 128) return c <= 0xff;
  return c > 32 && c !== 127 && TSPECIAL[c] === 0;
}

/** Skips white space and (nested) comments from `i`; returns the next position. */
export function skipCfws(s: string, i: number): number {
  const len = s.length;
  while (i < len) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
    } else if (c === 40) {
      let depth = 0;
      while (i < len) {
        const d = s.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 40) depth++;
        else if (d === 41 && --depth === 0) break;
        i++;
      }
      i++;
    } else {
      break;
    }
  }
  return i > len ? len : i;
}

/** The token at `i` (possibly empty) and where it ends. */
export function readToken(s: string, i: number): [token: string, end: number] {
  let j = i;
  while (j < s.length && isTokenChar(s.charCodeAt(j))) j++;
  return [s.slice(i, j), j];
}

/** The quoted string whose opening quote is at `i`, unescaped, and where it ends (lenient: to the end). */
export function readQuoted(s: string, i: number): [value: string, end: number] {
  let out = '';
  let from = i + 1;
  let j = from;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 92 && j + 1 < s.length) {
      out += s.slice(from, j);
      from = j + 1;
      j += 2;
    } else if (c === 34) {
      return [out + s.slice(from, j), j + 1];
    } else {
      j++;
    }
  }
  return [out + s.slice(from), s.length];
}

/**
 * The `; name=value` parameters from position `i` of a header value (a byte string), with
 * RFC 2231 continuations merged. Lenient: a broken parameter is skipped up to the next `;`,
 * and an unquoted value with spaces (`name=a b.pdf`) is read up to the next `;`.
 */
export function parseParams(s: string, i: number): MimeParam[] {
  const raw: MimeParam[] = [];
  const len = s.length;
  while (i < len && raw.length < 256) {
    i = skipCfws(s, i);
    if (i >= len) break;
    if (s.charCodeAt(i) !== 59) {
      // Not ';': skip to the next one.
      const next = s.indexOf(';', i);
      if (next === -1) break;
      i = next;
      continue;
    }
    i = skipCfws(s, i + 1);
    const [name, afterName] = readToken(s, i);
    if (name === '') continue;
    i = skipCfws(s, afterName);
    if (i >= len || s.charCodeAt(i) !== 61) continue; // '='
    i = skipCfws(s, i + 1);
    let value: string;
    if (i < len && s.charCodeAt(i) === 34) {
      [value, i] = readQuoted(s, i);
    } else {
      const start = i;
      let end: number;
      [value, end] = readToken(s, i);
      i = skipCfws(s, end);
      if (i < len && s.charCodeAt(i) !== 59) {
        // Unquoted value with spaces or specials: up to the next ';'.
        const semi = s.indexOf(';', i);
        i = semi === -1 ? len : semi;
        value = s.slice(start, i).trimEnd();
      }
    }
    raw.push([name, value]);
  }
  return mergeRfc2231(raw);
}

interface Section2231 {
  base: string;
  index: number;
  extended: boolean;
  value: string;
}

/**
 * Merges RFC 2231 continuations (`name*0`, `name*1*`, …) the way Dovecot does for
 * BODYSTRUCTURE: one `name` parameter (or `name*` when any section is extended, with the
 * unextended sections' `%` escaped and a leading `''` when the first is unextended). The
 * value keeps its `charset'language'%XX` form: `decodeRfc2231Value` decodes it. Sections
 * with a missing index are left as they are. Plain parameters come first, in order.
 */
export function mergeRfc2231(params: readonly MimeParam[]): MimeParam[] {
  let sections: Section2231[] | undefined;
  const plain: MimeParam[] = [];
  for (const [name, value] of params) {
    const star = name.indexOf('*');
    if (star <= 0) {
      plain.push([name, value]);
      continue;
    }
    let p = star + 1;
    let index = 0;
    let digits = 0;
    while (p < name.length && name.charCodeAt(p) >= 48 && name.charCodeAt(p) <= 57 && digits < 6) {
      index = index * 10 + name.charCodeAt(p) - 48;
      p++;
      digits++;
    }
    // `name*` (one extended value) or `name*N` / `name*N*` (sections).
    let extended = digits === 0;
    if (digits > 0 && p < name.length && name.charCodeAt(p) === 42) {
      extended = true;
      p++;
    }
    if (p !== name.length) {
      plain.push([name, value]);
      continue;
    }
    (sections ??= []).push({ base: name.slice(0, star), index, extended, value });
  }
  if (sections === undefined) return plain;
  sections.sort((a, b) => {
    const x = a.base.toLowerCase();
    const y = b.base.toLowerCase();
    return x < y ? -1 : x > y ? 1 : a.index - b.index;
  });
  for (let i = 0; i < sections.length; ) {
    const key = sections[i]!.base.toLowerCase();
    let j = i;
    let ok = true;
    let extended = false;
    while (j < sections.length && sections[j]!.base.toLowerCase() === key) {
      if (sections[j]!.index !== j - i) ok = false;
      if (sections[j]!.extended) extended = true;
      j++;
    }
    if (!ok) {
      for (let k = i; k < j; k++) {
        const s = sections[k]!;
        plain.push([`${s.base}*${s.index}${s.extended ? '*' : ''}`, s.value]);
      }
    } else {
      let value = !sections[i]!.extended && extended ? "''" : '';
      for (let k = i; k < j; k++) {
        const s = sections[k]!;
        value += !s.extended && extended ? s.value.replace(/%/g, '%25') : s.value;
      }
      plain.push([extended ? `${sections[i]!.base}*` : sections[i]!.base, value]);
    }
    i = j;
  }
  return plain;
}

function percentDecode(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 37 && i + 2 < bytes.length) {
      const h1 = hexValue(bytes[i + 1]!);
      const h2 = hexValue(bytes[i + 2]!);
      if (h1 >= 0 && h2 >= 0) {
        out[n++] = (h1 << 4) | h2;
        i += 2;
        continue;
      }
    }
    out[n++] = c;
  }
  return out.subarray(0, n);
}

/** An RFC 2231 extended value `charset'language'%XX…` as text. */
export function decodeRfc2231Value(value: string): string {
  const q1 = value.indexOf("'");
  const q2 = q1 === -1 ? -1 : value.indexOf("'", q1 + 1);
  if (q2 === -1) return decodeCharset(percentDecode(value));
  return decodeCharset(percentDecode(value.slice(q2 + 1)), value.slice(0, q1) || undefined);
}

/**
 * The text of parameter `name` (case-insensitive): the RFC 2231 `name*` form decoded, else
 * the plain value as text with any RFC 2047 encoded-words in it decoded (many mailers write
 * `filename="=?UTF-8?B?…?="`). Undefined when absent.
 */
export function paramValue(params: readonly MimeParam[], name: string): string | undefined {
  const lower = name.toLowerCase();
  const extended = `${lower}*`;
  let plain: string | undefined;
  for (const [key, value] of params) {
    const k = key.toLowerCase();
    if (k === extended) return decodeRfc2231Value(value);
    if (k === lower && plain === undefined) plain = value;
  }
  return plain === undefined ? undefined : decodeEncodedWords(plain);
}
