/**
 * What SEARCH needs from a message (RFC 9051 §6.4.4): decoded header values for FROM, TO, CC,
 * BCC, SUBJECT and HEADER, the decoded text of the body for BODY and TEXT, and the
 * case-insensitive substring match IMAP asks for.
 *
 * Body text is every text/* part (embedded messages' too, with their headers), transfer-
 * decoded, converted from its charset, HTML reduced to its text; the work is bounded: at most
 * MAX_PART_BYTES of each part's encoded body and MAX_TEXT_CHARS in all.
 */
import { bytesToText, decodeCharset, decodeEncodedWords, decodeHeaderValue, decodeTransfer, paramValue, unfold } from './decode.js';
import { fieldName, scanHeader, type MimePart, type ParsedMessage } from './parse.js';

/** Encoded bytes of one part looked at. */
export const MAX_PART_BYTES = 1024 * 1024;
/** Characters of body text in all. */
export const MAX_TEXT_CHARS = 8 * 1024 * 1024;

/** The values of the entity's header fields named `name` (any case), unfolded and RFC 2047-decoded. */
export function entityHeaderValues(raw: Buffer, entity: MimePart, name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const field of scanHeader(raw, entity.headerStart, entity.headerEnd)) {
    if (field.nameEnd - field.start !== wanted.length) continue;
    if (fieldName(raw, field) !== wanted) continue;
    values.push(decodeHeaderValue(raw.subarray(field.valueStart, field.end)));
  }
  return values;
}

/** The decoded values of the top-level header fields named `name` (SEARCH FROM/TO/CC/BCC/SUBJECT/HEADER). */
export function headerValues(raw: Buffer, parsed: ParsedMessage, name: string): string[] {
  return entityHeaderValues(raw, parsed.root, name);
}

/** An entity's whole header as decoded text, one `Name: value` line per field. */
export function entityHeaderText(raw: Buffer, entity: MimePart): string {
  let out = '';
  for (const field of scanHeader(raw, entity.headerStart, entity.headerEnd)) {
    if (field.nameEnd < 0) {
      out += `${unfold(bytesToText(raw.subarray(field.start, field.end))).trim()}\n`;
    } else {
      const name = raw.toString('latin1', field.start, field.nameEnd);
      out += `${name}: ${decodeHeaderValue(raw.subarray(field.valueStart, field.end))}\n`;
    }
  }
  return out;
}

/** The top-level header as decoded text (with bodyText, what SEARCH TEXT looks at). */
export function headerText(raw: Buffer, parsed: ParsedMessage): string {
  return entityHeaderText(raw, parsed.root);
}

// ---------------------------------------------------------------------------------------------
// HTML to text, crudely

const BLOCK = new Set(['br', 'p', 'div', 'tr', 'li', 'ul', 'ol', 'table', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'hr', 'td', 'th', 'title', 'dd', 'dt']);

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  copy: '©',
  reg: '®',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  euro: '€',
  laquo: '«',
  raquo: '»',
  middot: '·',
  bull: '•',
  zwnj: '',
  shy: '',
};

function decodeEntities(s: string): string {
  let amp = s.indexOf('&');
  if (amp === -1) return s;
  let out = '';
  let from = 0;
  while (amp !== -1) {
    let semi = -1;
    for (let k = amp + 1; k < s.length && k <= amp + 10; k++) {
      if (s.charCodeAt(k) === 59) {
        semi = k;
        break;
      }
    }
    if (semi === -1) {
      amp = s.indexOf('&', amp + 1);
      continue;
    }
    const name = s.slice(amp + 1, semi);
    let value: string | undefined;
    if (name.charCodeAt(0) === 35) {
      const code = name.charCodeAt(1) === 120 || name.charCodeAt(1) === 88 ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      if (Number.isInteger(code) && code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff)) value = String.fromCodePoint(code);
    } else {
      value = ENTITIES[name] ?? ENTITIES[name.toLowerCase()];
    }
    if (value !== undefined) {
      out += s.slice(from, amp) + value;
      from = semi + 1;
    }
    amp = s.indexOf('&', semi + 1);
  }
  return out + s.slice(from);
}

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

/** The text of an HTML document, crudely: tags dropped (block tags as line breaks), script and style dropped, entities decoded, white space collapsed. */
export function htmlToText(html: string): string {
  let out = '';
  let i = 0;
  const len = html.length;
  while (i < len) {
    const lt = html.indexOf('<', i);
    if (lt === -1) {
      out += html.slice(i);
      break;
    }
    out += html.slice(i, lt);
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      i = end === -1 ? len : end + 3;
      continue;
    }
    let j = lt + 1;
    const closing = html.charCodeAt(j) === 47;
    if (closing) j++;
    const nameStart = j;
    while (j < len && (isLetter(html.charCodeAt(j)) || (j > nameStart && html.charCodeAt(j) >= 48 && html.charCodeAt(j) <= 57))) j++;
    if (j === nameStart && html.charCodeAt(j) !== 33 && html.charCodeAt(j) !== 63) {
      // Not a tag: a literal '<'.
      out += '<';
      i = lt + 1;
      continue;
    }
    const name = html.slice(nameStart, j).toLowerCase();
    const gt = html.indexOf('>', j);
    if (gt === -1) {
      out += html.slice(lt);
      break;
    }
    i = gt + 1;
    if (!closing && (name === 'script' || name === 'style')) {
      // Skip to the matching end tag, whatever its case.
      let k = i;
      for (;;) {
        const end = html.indexOf('</', k);
        if (end === -1) {
          i = len;
          break;
        }
        if (html.slice(end + 2, end + 2 + name.length).toLowerCase() === name) {
          const close = html.indexOf('>', end);
          i = close === -1 ? len : close + 1;
          break;
        }
        k = end + 2;
      }
      continue;
    }
    if (BLOCK.has(name)) out += '\n';
  }
  return decodeEntities(out)
    .replace(/[ \t\r\f\v\u00a0]+/g, ' ')
    .replace(/ ?\n[\s]*/g, '\n')
    .trim();
}

// ---------------------------------------------------------------------------------------------
// Body text

function partText(raw: Buffer, part: MimePart): string {
  let end = part.bodyEnd;
  if (end - part.bodyStart > MAX_PART_BYTES) end = part.bodyStart + MAX_PART_BYTES;
  const body = raw.subarray(part.bodyStart, end);
  const content = decodeTransfer(body, part.encoding) ?? body;
  const text = decodeCharset(content, paramValue(part.params, 'charset'));
  return part.subtype.toLowerCase() === 'html' ? htmlToText(text) : text;
}

/**
 * The decoded text of the body for SEARCH BODY (and, with headerText, TEXT): each text/* part,
 * and each embedded message's header and text, separated by line breaks.
 */
export function bodyText(raw: Buffer, parsed: ParsedMessage): string {
  const chunks: string[] = [];
  let total = 0;
  const walk = (part: MimePart): void => {
    if (total >= MAX_TEXT_CHARS) return;
    if (part.parts !== undefined) {
      for (const child of part.parts) walk(child);
    } else if (part.message !== undefined) {
      const header = entityHeaderText(raw, part.message.root);
      chunks.push(header);
      total += header.length;
      walk(part.message.root);
    } else if (part.type.toLowerCase() === 'text' && part.bodyEnd > part.bodyStart) {
      let text = partText(raw, part);
      if (total + text.length > MAX_TEXT_CHARS) text = text.slice(0, MAX_TEXT_CHARS - total);
      chunks.push(text);
      total += text.length;
    }
  };
  walk(parsed.root);
  return chunks.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Matching

/** Case folding for matching (an approximation of i;unicode-casemap: lower case, NFC). */
export function foldCase(s: string): string {
  return s.normalize('NFC').toLowerCase();
}

/**
 * IMAP's substring match: whether `needle` occurs in `haystack`, ignoring case. An empty
 * needle matches. Fold a needle (and cached text) once with foldCase and use
 * `folded.includes(needle)` directly when searching many messages.
 */
export function containsFolded(haystack: string, needle: string): boolean {
  if (needle === '') return true;
  const folded = foldCase(needle);
  // An ASCII needle (the usual search word) is matched without folding a copy of the whole
  // text: a case-insensitive pattern, compiled once per needle, scans it in place.
  if (/^[\x20-\x7e]*$/.test(folded)) return asciiPattern(folded).test(haystack);
  return foldCase(haystack).includes(folded);
}

let lastPattern: { needle: string; pattern: RegExp } | undefined;

function asciiPattern(needle: string): RegExp {
  if (lastPattern?.needle !== needle) lastPattern = { needle, pattern: new RegExp(needle.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'), 'i') };
  return lastPattern.pattern;
}

/** A cached header value (ParsedMessage.headers, as written) as text: unfolded, RFC 2047-decoded, trimmed. */
export function decodeCachedHeader(value: string): string {
  return decodeEncodedWords(unfold(value)).trim();
}
