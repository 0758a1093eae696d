/**
 * BODY and BODYSTRUCTURE (RFC 9051 §7.5.2, RFC 3501 §7.4.2) from a parsed message, written the
 * way Dovecot writes them:
 * - basic: type subtype (params) id description encoding size, text/* adds lines, and
 *   message/rfc822 (or message/global) adds envelope, body and lines;
 * - multipart: the parts then the subtype;
 * - BODYSTRUCTURE adds extension data: md5 disposition language location for a single part,
 *   params disposition language location for a multipart;
 * - a text part without a charset gets ("charset" "us-ascii"); no parameters at all is NIL;
 *   no Content-Transfer-Encoding is "7bit"; values are as written (case kept, undecoded, RFC
 *   2231 continuations merged but `charset''%XX` values left encoded, as Dovecot sends them);
 * - a multipart or message part the parser did not descend into (too deep, too many parts,
 *   or `multipart` without a subtype) is written as a basic application/octet-stream with
 *   its parameters, since those forms need parts or an envelope.
 */
import { envelope, type ImapValue } from './envelope.js';
import type { MimeParam } from './decode.js';
import type { MimePart, ParsedMessage } from './parse.js';

function paramList(params: readonly MimeParam[], defaultCharset: boolean): ImapValue {
  const out: ImapValue[] = [];
  let charset = false;
  for (const [name, value] of params) {
    if (defaultCharset && !charset && name.toLowerCase() === 'charset') charset = true;
    out.push(name, value);
  }
  if (defaultCharset && !charset) out.push('charset', 'us-ascii');
  return out.length > 0 ? out : null;
}

function extension(part: MimePart): ImapValue[] {
  const disposition = part.disposition === undefined ? null : [part.disposition.type, paramList(part.disposition.params, false)];
  return [disposition, part.language ?? null, part.location ?? null];
}

function structure(part: MimePart, extended: boolean): ImapValue[] {
  if (part.parts !== undefined) {
    const out: ImapValue[] = part.parts.map((child) => structure(child, extended));
    out.push(part.subtype);
    if (extended) out.push(paramList(part.params, false), ...extension(part));
    return out;
  }
  let type = part.type;
  let subtype = part.subtype;
  const lower = type.toLowerCase();
  if (part.message === undefined && (lower === 'multipart' || (lower === 'message' && /^(rfc822|global)$/i.test(subtype)))) {
    type = 'application';
    subtype = 'octet-stream';
  }
  const text = lower === 'text';
  const out: ImapValue[] = [
    type,
    subtype,
    paramList(part.params, text),
    part.id ?? null,
    part.description ?? null,
    part.encoding ?? '7bit',
    part.bodyEnd - part.bodyStart,
  ];
  if (part.message !== undefined) {
    out.push(envelope(part.message.headers), structure(part.message.root, extended), part.lines ?? 0);
  } else if (text) {
    out.push(part.lines ?? 0);
  }
  if (extended) out.push(part.md5 ?? null, ...extension(part));
  return out;
}

/** FETCH BODY (`extended` false) or BODYSTRUCTURE (`extended` true) of a message. */
export function bodyStructure(parsed: ParsedMessage, extended: boolean): ImapValue {
  return structure(parsed.root, extended);
}

/** The same for one part (e.g. of an embedded message). */
export function partStructure(part: MimePart, extended: boolean): ImapValue {
  return structure(part, extended);
}
