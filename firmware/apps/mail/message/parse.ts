/**
 * The MIME tree of a message with byte offsets (RFC 2045/2046, read leniently the way Dovecot's
 * message parser does), parsed once when a message arrives and cached as JSON next to it.
 *
 * `ParsedMessage` is plain data: every part's header and body ranges in the raw bytes and its
 * Content-* fields, the top-level envelope headers kept as written, and the sent date. It
 * answers BODY/BODYSTRUCTURE, ENVELOPE, BODY[section], BINARY and SEARCH without a second parse
 * (structure.ts, envelope.ts, section.ts, search-text.ts); decoded bodies are never stored.
 *
 * How malformed mail is read (Dovecot's rules):
 * - lines end at LF, with or without CR; the header ends at the first empty line (or at the end
 *   of the message, or at a boundary line of an enclosing multipart);
 * - a boundary line is `--` + boundary at the start of a line, anything may follow it; when
 *   several open boundaries match, the longest (then the innermost) wins, and a boundary of an
 *   enclosing multipart ends every part inside it; the [CR]LF before a boundary line belongs to
 *   the boundary, not to the part before it;
 * - Content-* headers count in a multipart's parts, and elsewhere only with MIME-Version or a
 *   Content-Type; the first of each header counts; no Content-Type means text/plain, or
 *   message/rfc822 inside multipart/digest;
 * - a multipart with no part at all (no boundary parameter, no boundary line) gets one
 *   header-less text/plain part spanning its body, as IMAP needs at least one;
 * - message/rfc822 and message/global parts hold an embedded message, parsed the same way;
 * - nesting deeper than MAX_DEPTH, or parts beyond MAX_PARTS, are not descended into: such a
 *   multipart or message part is kept as a leaf (BODYSTRUCTURE calls it
 *   application/octet-stream) and `capped` is set.
 * Sizes are raw byte counts of the stored message, so they agree with what BODY[…] returns;
 * the store should keep messages with CRLF line ends, as IMAP counts them.
 */
import { byteStringToText, parseParams, readToken, skipCfws, unfold, type MimeParam } from './decode.js';
import { parseDate } from './envelope.js';

/** Multipart or message/rfc822 levels descended into, the top level being 0. */
export const MAX_DEPTH = 32;
/** Parts in one message, embedded messages' parts included. */
export const MAX_PARTS = 2000;

/** The top-level header fields ENVELOPE and THREAD need, unfolded, otherwise as written (encoded-words kept). */
export interface EnvelopeHeaders {
  date?: string;
  subject?: string;
  from?: string;
  sender?: string;
  replyTo?: string;
  to?: string;
  cc?: string;
  bcc?: string;
  inReplyTo?: string;
  messageId?: string;
  references?: string;
}

export interface Disposition {
  /** As written: `attachment`, `inline`… */
  type: string;
  params: MimeParam[];
}

/**
 * One MIME entity. The header is raw[headerStart, headerEnd) and, with the empty line that
 * ends it, raw[headerStart, bodyStart); the body is raw[bodyStart, bodyEnd). Strings are text
 * (UTF-8 when the bytes were UTF-8, else Latin-1), values as written, unfolded.
 */
export interface MimePart {
  headerStart: number;
  headerEnd: number;
  bodyStart: number;
  bodyEnd: number;
  /** Media type and subtype as written (`text`, `plain` when there is no Content-Type). */
  type: string;
  subtype: string;
  /** Content-Type parameters in order, RFC 2231 continuations merged (decode.ts). */
  params: MimeParam[];
  /** Content-Transfer-Encoding when present and a valid token (absent: 7bit). */
  encoding?: string;
  id?: string;
  description?: string;
  md5?: string;
  location?: string;
  disposition?: Disposition;
  language?: string[];
  /** Lines (LFs) in the body: text/* and embedded messages only. */
  lines?: number;
  /** A multipart's parts (at least one). */
  parts?: MimePart[];
  /** A message/rfc822 or message/global part's message. */
  message?: EmbeddedMessage;
}

export interface EmbeddedMessage {
  headers: EnvelopeHeaders;
  /** The embedded message as an entity: its header and body, which end where the part's body ends. */
  root: MimePart;
}

export interface ParsedMessage {
  /** Format of this record; a cache holding another version should parse again. */
  version: 1;
  /** Bytes in the raw message. */
  size: number;
  headers: EnvelopeHeaders;
  /** The Date header as ms since the epoch, or null when absent or unreadable. */
  sentDate: number | null;
  /** The Date header's zone in minutes east of UTC (for SENTON and friends), or null. */
  sentZone: number | null;
  /** The message as an entity (header [0, bodyStart), body to the end). */
  root: MimePart;
  /** Set when MAX_DEPTH or MAX_PARTS stopped the parse from descending somewhere. */
  capped?: true;
}

/** Bumped when ParsedMessage changes shape or meaning. */
export const PARSED_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Header lines

/**
 * A header field in the raw bytes: the line(s) are raw[start, end) (line ends included), the
 * name raw[start, nameEnd) (nameEnd -1 for a line without a colon), the value from valueStart.
 */
export interface HeaderField {
  start: number;
  nameEnd: number;
  valueStart: number;
  end: number;
}

function newField(raw: Buffer, pos: number, lineEnd: number): HeaderField {
  for (let j = pos; j < lineEnd; j++) {
    const c = raw[j]!;
    if (c === 58) {
      let nameEnd = j;
      while (nameEnd > pos && (raw[nameEnd - 1] === 32 || raw[nameEnd - 1] === 9)) nameEnd--;
      return { start: pos, nameEnd, valueStart: j + 1, end: lineEnd };
    }
    if (c === 10) break;
  }
  return { start: pos, nameEnd: -1, valueStart: lineEnd, end: lineEnd };
}

/** The fields of a header already delimited (raw[start, end), e.g. a part's headerStart…headerEnd). */
export function scanHeader(raw: Buffer, start: number, end: number): HeaderField[] {
  const fields: HeaderField[] = [];
  let cur: HeaderField | undefined;
  let pos = start;
  while (pos < end) {
    const nl = raw.indexOf(10, pos);
    const lineEnd = nl === -1 || nl >= end ? end : nl + 1;
    const c = raw[pos];
    if ((c === 32 || c === 9) && cur !== undefined) {
      cur.end = lineEnd;
    } else {
      cur = newField(raw, pos, lineEnd);
      fields.push(cur);
    }
    pos = lineEnd;
  }
  return fields;
}

/** The field's name, lower-cased ('' for a line without a colon). */
export function fieldName(raw: Buffer, field: HeaderField): string {
  return field.nameEnd < 0 ? '' : raw.toString('latin1', field.start, field.nameEnd).toLowerCase();
}

function trimWsp(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isWspCode(s.charCodeAt(a))) a++;
  while (b > a && isWspCode(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function isWspCode(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/** The field's value as a byte string (one char per byte), unfolded and trimmed. */
function fieldBytes(raw: Buffer, field: HeaderField, limit: number): string {
  const end = field.end < limit ? field.end : limit;
  if (field.valueStart >= end) return '';
  return trimWsp(unfold(raw.toString('latin1', field.valueStart, end)));
}

// ---------------------------------------------------------------------------------------------
// The parser

interface Stop {
  /** Where the boundary line starts. */
  at: number;
  /** Where the part before it ends (the [CR]LF before the line belongs to the boundary). */
  end: number;
  /** After the boundary line. */
  next: number;
  /** Which open boundary (index into Ctx.bounds). */
  index: number;
  closing: boolean;
}

interface Ctx {
  raw: Buffer;
  len: number;
  bounds: Buffer[];
  parts: number;
  capped: boolean;
}

const DASHES = Buffer.from('--');

/** The boundary line at `at` (which starts a line and `--`), if it is one of the open boundaries. */
function matchBoundary(ctx: Ctx, at: number, from: number): Stop | null {
  const { raw, bounds, len } = ctx;
  let best = -1;
  let bestLen = -1;
  for (let k = bounds.length - 1; k >= 0; k--) {
    const b = bounds[k]!;
    if (b.length <= bestLen || at + 2 + b.length > len) continue;
    let j = 0;
    while (j < b.length && raw[at + 2 + j] === b[j]) j++;
    if (j === b.length) {
      best = k;
      bestLen = b.length;
    }
  }
  if (best < 0) return null;
  const after = at + 2 + bestLen;
  const closing = after + 1 < len && raw[after] === 45 && raw[after + 1] === 45;
  const nl = raw.indexOf(10, after);
  const end = at === from ? at : at - 2 >= from && raw[at - 2] === 13 ? at - 2 : at - 1;
  return { at, end, next: nl === -1 ? len : nl + 1, index: best, closing };
}

/** The next boundary line from `from` (a line start), or null for none before the end. */
function findBoundary(ctx: Ctx, from: number): Stop | null {
  if (ctx.bounds.length === 0) return null;
  const { raw } = ctx;
  let pos = from;
  for (;;) {
    const i = raw.indexOf(DASHES, pos);
    if (i === -1) return null;
    if (i === from || raw[i - 1] === 10) {
      const stop = matchBoundary(ctx, i, from);
      if (stop !== null) return stop;
    }
    pos = i + 1;
  }
}

interface Header {
  fields: HeaderField[];
  headerEnd: number;
  bodyStart: number;
  /** A boundary line that cut the header short (the part then has an empty body). */
  stop?: Stop;
}

function readHeader(ctx: Ctx, start: number): Header {
  const { raw, len } = ctx;
  const checkBounds = ctx.bounds.length > 0;
  const fields: HeaderField[] = [];
  let cur: HeaderField | undefined;
  let pos = start;
  while (pos < len) {
    const c = raw[pos];
    if (c === 10) return { fields, headerEnd: pos, bodyStart: pos + 1 };
    if (c === 13 && raw[pos + 1] === 10) return { fields, headerEnd: pos, bodyStart: pos + 2 };
    if (checkBounds && c === 45 && raw[pos + 1] === 45) {
      const stop = matchBoundary(ctx, pos, start);
      if (stop !== null) {
        if (cur !== undefined && cur.end > stop.end) cur.end = stop.end;
        return { fields, headerEnd: stop.end, bodyStart: stop.end, stop };
      }
    }
    const nl = raw.indexOf(10, pos);
    const lineEnd = nl === -1 ? len : nl + 1;
    if ((c === 32 || c === 9) && cur !== undefined) {
      cur.end = lineEnd;
    } else {
      cur = newField(raw, pos, lineEnd);
      fields.push(cur);
    }
    pos = lineEnd;
  }
  return { fields, headerEnd: len, bodyStart: len };
}

function countLines(raw: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) if (raw[i] === 10) n++;
  return n;
}

const ATEXT = new Uint8Array(128);
for (const c of "!#$%&'*+-/=?^_`{|}~") ATEXT[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) ATEXT[c] = 1;
for (let c = 65; c <= 90; c++) ATEXT[c] = 1;
for (let c = 97; c <= 122; c++) ATEXT[c] = 1;

/** Content-Language: a comma-separated list of atoms (RFC 3282), as Dovecot reads it. */
function parseLanguage(s: string): string[] | undefined {
  const langs: string[] = [];
  let i = skipCfws(s, 0);
  while (i < s.length && langs.length < 64) {
    const start = i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c < 128 ? ATEXT[c] !== 1 : c > 0xff) break;
      i++;
    }
    if (i === start) break;
    langs.push(byteStringToText(s.slice(start, i)));
    i = skipCfws(s, i);
    if (i >= s.length || s.charCodeAt(i) !== 44) break;
    i = skipCfws(s, i + 1);
  }
  return langs.length > 0 ? langs : undefined;
}

function textParams(params: MimeParam[]): MimeParam[] {
  return params.map(([name, value]) => [byteStringToText(name), byteStringToText(value)]);
}

const ENVELOPE_FIELDS: Record<string, keyof EnvelopeHeaders> = {
  date: 'date',
  subject: 'subject',
  from: 'from',
  sender: 'sender',
  'reply-to': 'replyTo',
  to: 'to',
  cc: 'cc',
  bcc: 'bcc',
  'in-reply-to': 'inReplyTo',
  'message-id': 'messageId',
  references: 'references',
};

const enum Kind {
  /** The top-level message or an embedded one: Content-* need MIME-Version or Content-Type. */
  Message,
  /** A part of a multipart. */
  Child,
  /** A part of a multipart/digest: message/rfc822 by default. */
  DigestChild,
}

interface Parsed {
  part: MimePart;
  stop: Stop | null;
  headers?: EnvelopeHeaders;
}

/** A header-less text/plain part over raw[start, end). */
function syntheticPart(ctx: Ctx, start: number, end: number): MimePart {
  ctx.parts++;
  return {
    headerStart: start,
    headerEnd: start,
    bodyStart: start,
    bodyEnd: end,
    type: 'text',
    subtype: 'plain',
    params: [],
    lines: countLines(ctx.raw, start, end),
  };
}

function parsePart(ctx: Ctx, start: number, depth: number, kind: Kind): Parsed {
  const { raw } = ctx;
  const header = readHeader(ctx, start);
  ctx.parts++;
  const part: MimePart = {
    headerStart: start,
    headerEnd: header.headerEnd,
    bodyStart: header.bodyStart,
    bodyEnd: header.bodyStart,
    type: 'text',
    subtype: 'plain',
    params: [],
  };

  let contentType: string | undefined;
  let encoding: string | undefined;
  let id: string | undefined;
  let description: string | undefined;
  let md5: string | undefined;
  let location: string | undefined;
  let disposition: string | undefined;
  let language: string | undefined;
  let mime = kind !== Kind.Message;
  let headers: EnvelopeHeaders | undefined;
  if (kind === Kind.Message) headers = {};
  const limit = header.headerEnd;
  for (const field of header.fields) {
    const nameLength = field.nameEnd - field.start;
    if (nameLength < 2 || nameLength > 25) continue;
    const first = raw[field.start]! | 0x20;
    if (first !== 99 && first !== 109 && (headers === undefined || ENVELOPE_FIRST[first] !== true)) continue; // c, m
    const name = fieldName(raw, field);
    if (name.startsWith('content-')) {
      switch (name) {
        case 'content-type':
          mime = true;
          contentType ??= fieldBytes(raw, field, limit);
          break;
        case 'content-transfer-encoding':
          encoding ??= fieldBytes(raw, field, limit);
          break;
        case 'content-id':
          id ??= fieldBytes(raw, field, limit);
          break;
        case 'content-description':
          description ??= fieldBytes(raw, field, limit);
          break;
        case 'content-md5':
          md5 ??= fieldBytes(raw, field, limit);
          break;
        case 'content-location':
          location ??= fieldBytes(raw, field, limit);
          break;
        case 'content-disposition':
          disposition ??= fieldBytes(raw, field, limit);
          break;
        case 'content-language':
          language ??= fieldBytes(raw, field, limit);
          break;
      }
    } else if (name === 'mime-version') {
      mime = true;
    } else if (headers !== undefined) {
      const key = ENVELOPE_FIELDS[name];
      if (key !== undefined && headers[key] === undefined) headers[key] = byteStringToText(fieldBytes(raw, field, limit));
    }
  }

  let boundary: Buffer | undefined;
  let hasType = false;
  let hasSubtype = false;
  if (mime) {
    if (contentType !== undefined) {
      let i = skipCfws(contentType, 0);
      let type: string;
      [type, i] = readToken(contentType, i);
      if (type !== '') {
        hasType = true;
        i = skipCfws(contentType, i);
        let subtype = '';
        if (i < contentType.length && contentType.charCodeAt(i) === 47) {
          [subtype, i] = readToken(contentType, skipCfws(contentType, i + 1));
        }
        part.type = byteStringToText(type);
        if (subtype !== '') {
          hasSubtype = true;
          part.subtype = byteStringToText(subtype);
          const params = parseParams(contentType, i);
          if (params.length > 0) {
            if (type.toLowerCase() === 'multipart') {
              const b = params.find(([name]) => name.toLowerCase() === 'boundary');
              if (b !== undefined && b[1] !== '') boundary = Buffer.from(b[1], 'latin1');
            }
            part.params = textParams(params);
          }
        } else {
          part.subtype = type.toLowerCase() === 'text' ? 'plain' : 'unknown';
        }
      }
    }
    if (encoding !== undefined) {
      const [token, end] = readToken(encoding, 0);
      if (token !== '' && skipCfws(encoding, end) >= encoding.length) part.encoding = byteStringToText(token);
    }
    if (id !== undefined) part.id = byteStringToText(id);
    if (description !== undefined) part.description = byteStringToText(description);
    if (md5 !== undefined) part.md5 = byteStringToText(md5);
    if (disposition !== undefined) {
      const [token, end] = readToken(disposition, skipCfws(disposition, 0));
      if (token !== '') part.disposition = { type: byteStringToText(token), params: textParams(parseParams(disposition, end)) };
    }
    if (language !== undefined) {
      const langs = parseLanguage(language);
      if (langs !== undefined) part.language = langs;
    }
    if (location !== undefined) part.location = byteStringToText(location);
  }
  if (!hasType && kind === Kind.DigestChild) {
    part.type = 'message';
    part.subtype = 'rfc822';
  }

  const type = part.type.toLowerCase();
  const subtype = part.subtype.toLowerCase();
  const multipart = type === 'multipart' && hasSubtype;
  const message = type === 'message' && (subtype === 'rfc822' || subtype === 'global');
  const descend = (multipart || message) && depth < MAX_DEPTH && ctx.parts < MAX_PARTS;
  if ((multipart || message) && !descend) ctx.capped = true;

  let stop: Stop | null;
  if (header.stop !== undefined) {
    // A boundary line ended the header: no body.
    stop = header.stop;
    if (descend && multipart) {
      part.parts = [syntheticPart(ctx, part.bodyStart, part.bodyStart)];
    } else if (descend && message) {
      part.message = { headers: {}, root: syntheticPart(ctx, part.bodyStart, part.bodyStart) };
    }
  } else if (descend && multipart && boundary !== undefined) {
    stop = parseMultipart(ctx, part, boundary, depth, subtype === 'digest');
  } else if (descend && message) {
    const inner = parsePart(ctx, part.bodyStart, depth + 1, Kind.Message);
    part.message = { headers: inner.headers ?? {}, root: inner.part };
    part.bodyEnd = inner.part.bodyEnd;
    stop = inner.stop;
  } else {
    stop = findBoundary(ctx, part.bodyStart);
    part.bodyEnd = stop === null ? ctx.len : stop.end;
    if (descend && multipart) part.parts = [syntheticPart(ctx, part.bodyStart, part.bodyEnd)];
  }
  if (type === 'text' || part.message !== undefined) part.lines = countLines(raw, part.bodyStart, part.bodyEnd);
  return headers === undefined ? { part, stop } : { part, stop, headers };
}

const ENVELOPE_FIRST: Record<number, true> = {};
for (const name of Object.keys(ENVELOPE_FIELDS)) ENVELOPE_FIRST[name.charCodeAt(0)] = true;

/** A multipart's body: preamble, parts, epilogue. Returns what ended it (a boundary of an enclosing multipart, or null for the end). */
function parseMultipart(ctx: Ctx, part: MimePart, boundary: Buffer, depth: number, digest: boolean): Stop | null {
  ctx.bounds.push(boundary);
  const mine = ctx.bounds.length - 1;
  const children: MimePart[] = [];
  let stop = findBoundary(ctx, part.bodyStart);
  let preambleEnd = stop === null ? ctx.len : stop.end;
  for (;;) {
    if (stop === null) {
      part.bodyEnd = ctx.len;
      break;
    }
    if (stop.index !== mine) {
      // An enclosing multipart's boundary ends this one too.
      part.bodyEnd = stop.end;
      break;
    }
    if (stop.closing) {
      ctx.bounds.length = mine;
      const after = findBoundary(ctx, stop.next);
      part.bodyEnd = after === null ? ctx.len : after.end;
      stop = after;
      break;
    }
    if (ctx.parts >= MAX_PARTS) {
      ctx.capped = true;
      stop = findBoundary(ctx, stop.next);
      continue;
    }
    const child = parsePart(ctx, stop.next, depth + 1, digest ? Kind.DigestChild : Kind.Child);
    children.push(child.part);
    stop = child.stop;
  }
  ctx.bounds.length = mine;
  if (preambleEnd > part.bodyEnd) preambleEnd = part.bodyEnd;
  part.parts = children.length > 0 ? children : [syntheticPart(ctx, part.bodyStart, preambleEnd)];
  return stop;
}

/** Parses a message; never throws, whatever the bytes. */
export function parseMessage(raw: Buffer): ParsedMessage {
  const ctx: Ctx = { raw, len: raw.length, bounds: [], parts: 0, capped: false };
  const { part, headers = {} } = parsePart(ctx, 0, 0, Kind.Message);
  const date = headers.date === undefined ? null : parseDate(headers.date);
  const parsed: ParsedMessage = {
    version: PARSED_VERSION,
    size: raw.length,
    headers,
    sentDate: date === null ? null : date.time,
    sentZone: date === null ? null : date.zone,
    root: part,
  };
  if (ctx.capped) parsed.capped = true;
  return parsed;
}
