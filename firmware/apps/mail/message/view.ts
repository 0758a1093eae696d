/**
 * A message as a person reads it (the web UI's reader): its header decoded (RFC 2047), the
 * readable text of its body and the list of its attachments. The text is plain text only:
 * text/plain parts, or, where a message has none, its HTML reduced to text; markup never
 * comes through, so a page can show it as text without any sanitizing.
 *
 * Which parts are the body: text/plain and text/html parts not marked as attachments (no
 * `Content-Disposition: attachment`, no file name); of a multipart/alternative, only the
 * alternative holding text/plain (else the one holding HTML). Every other leaf (images,
 * documents, embedded messages, other text types) is listed as an attachment.
 *
 * Bounded: at most MAX_VIEW_TEXT_CHARS of text (and `truncated` set when more was cut), text
 * parts are read up to MAX_TEXT_PART_BYTES each, header values cut at MAX_HEADER_CHARS.
 */
import { decodeCharset, decodeTransfer, paramValue } from './decode.js';
import { parseMessage, type MimePart } from './parse.js';
import { headerValues, htmlToText } from './search-text.js';

/** Characters of body text a view holds. */
export const MAX_VIEW_TEXT_CHARS = 1024 * 1024;
/** Encoded bytes of one text part read: more than MAX_VIEW_TEXT_CHARS characters in any encoding. */
const MAX_TEXT_PART_BYTES = 4 * MAX_VIEW_TEXT_CHARS;
const MAX_HEADER_CHARS = 16 * 1024;
const MAX_FILENAME_CHARS = 255;

export interface MessageAttachment {
  /** From Content-Disposition's filename or Content-Type's name; '' when it has none. */
  filename: string;
  /** `type/subtype`, lower case. */
  type: string;
  /** Bytes once the transfer encoding is undone. */
  size: number;
}

export interface MessageView {
  subject: string;
  /** The header fields' decoded values (several fields joined by ', '). */
  from: string;
  to: string;
  cc: string;
  /** The Date header as ISO 8601 (UTC); null when absent or unreadable. */
  date: string | null;
  /** The readable body, plain text with '\n' line ends. */
  text: string;
  /** The text was longer than MAX_VIEW_TEXT_CHARS and was cut. */
  truncated: boolean;
  attachments: MessageAttachment[];
}

/** The reader's view of a raw message; never throws, whatever the bytes. */
export function messageView(raw: Buffer): MessageView {
  const parsed = parseMessage(raw);
  const header = (name: string, only = false) => {
    const values = headerValues(raw, parsed, name);
    return capped(only ? (values[0] ?? '') : values.join(', '), MAX_HEADER_CHARS);
  };
  const body: BodyParts = { texts: [], chars: 0, truncated: false, attachments: [] };
  collect(raw, parsed.root, body);
  const text = body.texts.join('\n\n');
  return {
    subject: header('subject', true),
    from: header('from'),
    to: header('to'),
    cc: header('cc'),
    date: isoDate(parsed.sentDate),
    text: capped(text, MAX_VIEW_TEXT_CHARS),
    truncated: body.truncated || text.length > MAX_VIEW_TEXT_CHARS,
    attachments: body.attachments,
  };
}

interface BodyParts {
  texts: string[];
  /** Characters in `texts`: once past the bound, further text parts are not decoded. */
  chars: number;
  truncated: boolean;
  attachments: MessageAttachment[];
}

/** Walks the parts a reader sees, sorting them into body text and attachments. */
function collect(raw: Buffer, part: MimePart, body: BodyParts): void {
  if (part.parts !== undefined) {
    const alternative = part.type.toLowerCase() === 'multipart' && part.subtype.toLowerCase() === 'alternative';
    for (const child of alternative ? [preferredAlternative(part.parts)] : part.parts) collect(raw, child, body);
  } else if (isBodyText(part)) {
    if (body.chars >= MAX_VIEW_TEXT_CHARS) {
      body.truncated = true;
    } else if (part.bodyEnd > part.bodyStart) {
      const text = partText(raw, part, body);
      body.texts.push(text);
      body.chars += text.length;
    }
  } else {
    body.attachments.push(attachmentOf(raw, part));
  }
}

/** The alternative holding plain text, else the one holding HTML, else the last (the sender's favourite). */
function preferredAlternative(parts: readonly MimePart[]): MimePart {
  return parts.findLast((p) => holdsText(p, 'plain')) ?? parts.findLast((p) => holdsText(p, 'html')) ?? parts.at(-1)!;
}

function holdsText(part: MimePart, subtype: 'plain' | 'html'): boolean {
  if (part.parts !== undefined) return part.parts.some((child) => holdsText(child, subtype));
  return isBodyText(part) && part.subtype.toLowerCase() === subtype;
}

function isBodyText(part: MimePart): boolean {
  const subtype = part.subtype.toLowerCase();
  return part.type.toLowerCase() === 'text' && (subtype === 'plain' || subtype === 'html') && part.disposition?.type.toLowerCase() !== 'attachment' && filenameOf(part) === undefined;
}

/** A text part's content as text: transfer encoding undone, charset decoded, HTML reduced to text. */
function partText(raw: Buffer, part: MimePart, body: BodyParts): string {
  let end = part.bodyEnd;
  if (end - part.bodyStart > MAX_TEXT_PART_BYTES) {
    end = part.bodyStart + MAX_TEXT_PART_BYTES;
    body.truncated = true;
  }
  const text = decodeCharset(decodedBody(raw.subarray(part.bodyStart, end), part), paramValue(part.params, 'charset'));
  return part.subtype.toLowerCase() === 'html' ? htmlToText(text) : text.replace(/\r\n?/g, '\n');
}

function attachmentOf(raw: Buffer, part: MimePart): MessageAttachment {
  return {
    filename: capped(filenameOf(part) ?? '', MAX_FILENAME_CHARS),
    type: `${part.type}/${part.subtype}`.toLowerCase(),
    size: decodedBody(raw.subarray(part.bodyStart, part.bodyEnd), part).length,
  };
}

function filenameOf(part: MimePart): string | undefined {
  return (part.disposition === undefined ? undefined : paramValue(part.disposition.params, 'filename')) ?? paramValue(part.params, 'name');
}

/** The content without its transfer encoding (as it is, for an encoding nobody knows). */
function decodedBody(body: Buffer, part: MimePart): Buffer {
  return decodeTransfer(body, part.encoding) ?? body;
}

function capped(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}

/** ms since the epoch as ISO 8601; null when absent or beyond what a Date holds. */
function isoDate(time: number | null): string | null {
  if (time === null) return null;
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
