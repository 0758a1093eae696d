/**
 * FETCH BODY[section]<partial> (RFC 9051 §6.4.5) and BINARY[section] / BINARY.SIZE (RFC 3516,
 * RFC 9051) from the raw message and its parse.
 *
 * Part numbers: in a multipart, n is its n-th part; a message that is not multipart has one
 * part, 1, itself; a message/rfc822 part's numbers go on into its embedded message
 * (2.1 is that message's first part). HEADER, HEADER.FIELDS(.NOT) and TEXT apply to the top
 * message (empty path) or to a message/rfc822 part; MIME to any part (a part's own header).
 * A section that does not exist gives null.
 */
import { decodeTransfer } from './decode.js';
import { fieldName, scanHeader, type MimePart, type ParsedMessage } from './parse.js';

export type SectionSpecifier = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

export interface Section {
  /** Part numbers, 1-based; empty for the whole message. */
  path: number[];
  specifier?: SectionSpecifier;
  /** Field names for HEADER.FIELDS and HEADER.FIELDS.NOT (any case). */
  fields?: string[];
}

/** `<origin.count>`: count absent means to the end. */
export interface PartialRange {
  origin: number;
  count?: number;
}

/** BINARY of a part whose Content-Transfer-Encoding is unknown: the server answers NO [UNKNOWN-CTE]. */
export interface UnknownCte {
  unknownCte: string;
}

export function isUnknownCte(value: unknown): value is UnknownCte {
  return typeof value === 'object' && value !== null && !Buffer.isBuffer(value) && 'unknownCte' in value;
}

/** The part a path names, or null. The empty path is the message itself (its root entity). */
export function resolvePart(parsed: ParsedMessage, path: readonly number[]): MimePart | null {
  let part = parsed.root;
  for (let k = 0; k < path.length; k++) {
    const n = path[k]!;
    if (!Number.isInteger(n) || n < 1) return null;
    let container = part;
    if (k > 0) {
      if (part.message !== undefined) container = part.message.root;
      else if (part.parts === undefined) return null;
    }
    if (container.parts !== undefined) {
      const child = container.parts[n - 1];
      if (child === undefined) return null;
      part = child;
    } else if (n === 1) {
      part = container;
    } else {
      return null;
    }
  }
  return part;
}

function slice(buf: Buffer, partial: PartialRange | undefined): Buffer {
  if (partial === undefined) return buf;
  const start = Math.min(Math.max(0, partial.origin), buf.length);
  const end = partial.count === undefined ? buf.length : Math.min(buf.length, start + Math.max(0, partial.count));
  return buf.subarray(start, end);
}

const CRLF = Buffer.from('\r\n');

/** The header fields of an entity named (or, with `not`, not named) in `names`, then the empty line. */
export function headerFields(raw: Buffer, entity: MimePart, names: readonly string[], not: boolean): Buffer {
  const wanted = new Set(names.map((name) => name.toLowerCase()));
  const lengths = new Set([...wanted].map((name) => name.length));
  const chunks: Buffer[] = [];
  for (const field of scanHeader(raw, entity.headerStart, entity.headerEnd)) {
    const named = field.nameEnd >= 0 && lengths.has(field.nameEnd - field.start) && wanted.has(fieldName(raw, field));
    if (named === not) continue;
    chunks.push(raw.subarray(field.start, field.end));
    if (raw[field.end - 1] !== 10) chunks.push(CRLF);
  }
  chunks.push(CRLF);
  return Buffer.concat(chunks);
}

/**
 * BODY[section]<partial> (also BODY.PEEK and RFC822.* through their sections): the bytes as
 * stored, a view of `raw` where it can be. Null when the section does not exist.
 */
export function fetchSection(raw: Buffer, parsed: ParsedMessage, section: Section, partial?: PartialRange): Buffer | null {
  const { path, specifier } = section;
  if (specifier === undefined) {
    if (path.length === 0) return slice(raw, partial);
    const part = resolvePart(parsed, path);
    return part === null ? null : slice(raw.subarray(part.bodyStart, part.bodyEnd), partial);
  }
  if (specifier === 'MIME') {
    if (path.length === 0) return null;
    const part = resolvePart(parsed, path);
    return part === null ? null : slice(raw.subarray(part.headerStart, part.bodyStart), partial);
  }
  let entity: MimePart;
  if (path.length === 0) {
    entity = parsed.root;
  } else {
    const part = resolvePart(parsed, path);
    if (part === null || part.message === undefined) return null;
    entity = part.message.root;
  }
  switch (specifier) {
    case 'HEADER':
      return slice(raw.subarray(entity.headerStart, entity.bodyStart), partial);
    case 'TEXT':
      return slice(raw.subarray(entity.bodyStart, entity.bodyEnd), partial);
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT':
      return slice(headerFields(raw, entity, section.fields ?? [], specifier === 'HEADER.FIELDS.NOT'), partial);
    default:
      return null;
  }
}

function decodedPart(raw: Buffer, parsed: ParsedMessage, path: readonly number[]): Buffer | UnknownCte | null {
  if (path.length === 0) return raw;
  const part = resolvePart(parsed, path);
  if (part === null) return null;
  const body = raw.subarray(part.bodyStart, part.bodyEnd);
  if (part.parts !== undefined || part.message !== undefined) return body;
  const decoded = decodeTransfer(body, part.encoding);
  return decoded ?? { unknownCte: part.encoding ?? '' };
}

/**
 * BINARY[path]<partial>: the part's content with its Content-Transfer-Encoding undone (a
 * multipart, an embedded message or the whole message as stored). Null when there is no such
 * part; UnknownCte when the encoding is not one this server can decode.
 */
export function fetchBinary(raw: Buffer, parsed: ParsedMessage, path: readonly number[], partial?: PartialRange): Buffer | UnknownCte | null {
  const content = decodedPart(raw, parsed, path);
  return content === null || isUnknownCte(content) ? content : slice(content, partial);
}

/** BINARY.SIZE[path]: the size of what BINARY[path] returns. */
export function binarySize(raw: Buffer, parsed: ParsedMessage, path: readonly number[]): number | UnknownCte | null {
  const content = decodedPart(raw, parsed, path);
  return content === null || isUnknownCte(content) ? content : content.length;
}
