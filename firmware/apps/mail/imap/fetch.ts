/**
 * One message's FETCH response: each requested item rendered from the mailbox state (flags,
 * dates, sizes, modseq) or from the message and its cached parse (envelope, structure,
 * sections). Message bytes go out as Buffers sliced from the stored message, never copied.
 */
import { bodyStructure, binarySize, envelope, fetchBinary, fetchSection, isUnknownCte, type ImapValue } from '../message/index.js';
import type { MessageRecord } from '../store/index.js';
import { binaryString, dateTime, flagList, literal, string, type Wire } from './encode.js';
import type { LoadedMessage } from './messages.js';
import type { FetchItem, Partial } from './parser.js';
import { Refusal } from './session.js';

export interface FetchOptions {
  utf8: boolean;
  /** MODSEQ is added to every FETCH response once CONDSTORE is on. */
  condstore: boolean;
  /** UID is added to every response of UID FETCH. */
  uid: boolean;
}

/** Whether an item needs the message itself (not just the state). */
export function needsMessage(item: FetchItem): boolean {
  return item.kind !== 'attribute' || item.name === 'ENVELOPE' || item.name === 'BODY' || item.name === 'BODYSTRUCTURE';
}

/** Whether fetching the item sets \Seen (a body section or BINARY without PEEK). */
export function setsSeen(item: FetchItem): boolean {
  return (item.kind === 'section' || item.kind === 'binary') && !item.peek;
}

export function fetchResponse(msn: number, record: MessageRecord, items: readonly FetchItem[], message: LoadedMessage | undefined, options: FetchOptions): Wire {
  const out: Wire = [`* ${msn} FETCH (`];
  const parts: Wire[] = [];
  const names = new Set<string>();
  const add = (name: string, value: Wire) => {
    if (names.has(name)) return;
    names.add(name);
    parts.push([`${name} `, ...value]);
  };
  if (options.uid) add('UID', [String(record.uid)]);
  for (const item of items) add(item.label, renderItem(item, record, message, options));
  if (options.condstore) add('MODSEQ', [`(${record.modseq})`]);
  parts.forEach((part, i) => {
    if (i > 0) out.push(' ');
    out.push(...part);
  });
  out.push(')\r\n');
  return out;
}

function renderItem(item: FetchItem, record: MessageRecord, message: LoadedMessage | undefined, options: FetchOptions): Wire {
  if (item.kind === 'attribute') {
    switch (item.name) {
      case 'UID':
        return [String(record.uid)];
      case 'FLAGS':
        return [flagList(record.flags)];
      case 'INTERNALDATE':
        return [dateTime(record.internalDate, -new Date(record.internalDate).getTimezoneOffset())];
      case 'RFC822.SIZE':
        return [String(record.size)];
      case 'MODSEQ':
        return [`(${record.modseq})`];
      case 'ENVELOPE':
        return rendered(loaded(message), 'ENVELOPE', options, (parsed) => envelope(parsed));
      case 'BODY':
        return rendered(loaded(message), 'BODY', options, (parsed) => bodyStructure(parsed, false));
      case 'BODYSTRUCTURE':
        return rendered(loaded(message), 'BODYSTRUCTURE', options, (parsed) => bodyStructure(parsed, true));
    }
  }
  const { raw, parsed } = loaded(message);
  if (item.kind === 'section') {
    const bytes = fetchSection(raw, parsed, { path: item.section.part, ...(item.section.text === undefined ? {} : { specifier: item.section.text }), ...(item.section.fields === undefined ? {} : { fields: item.section.fields }) }, partial(item.partial));
    return bytes === null ? ['NIL'] : literal(bytes);
  }
  if (item.kind === 'binary') {
    const bytes = fetchBinary(raw, parsed, item.part, partial(item.partial));
    if (isUnknownCte(bytes)) throw new Refusal('UNKNOWN-CTE', `cannot decode the content transfer encoding ${bytes.unknownCte.slice(0, 40)}`);
    return bytes === null ? ['NIL'] : binaryString(bytes);
  }
  const size = binarySize(raw, parsed, item.part);
  if (isUnknownCte(size)) throw new Refusal('UNKNOWN-CTE', `cannot decode the content transfer encoding ${size.unknownCte.slice(0, 40)}`);
  return [String(size ?? 0)];
}

/**
 * An item computed from the parse alone, rendered once per message and kept with its parse
 * (a client syncing a mailbox asks for every ENVELOPE and BODYSTRUCTURE, again and again).
 */
function rendered(message: LoadedMessage, item: string, options: FetchOptions, compute: (parsed: LoadedMessage['parsed']) => ImapValue): Wire {
  const key = options.utf8 ? `${item} utf8` : item;
  const known = message.rendered.get(key);
  if (known !== undefined) return [known];
  const wire = value(compute(message.parsed), options);
  // Text only: a value holding a literal (8-bit text without UTF-8 enabled) is rendered each time.
  if (wire.every((chunk) => typeof chunk === 'string')) message.rendered.set(key, wire.join(''));
  return wire;
}

function loaded(message: LoadedMessage | undefined): LoadedMessage {
  if (message === undefined) throw new Error('message not loaded for FETCH');
  return message;
}

function partial(range: Partial | undefined): { origin: number; count: number } | undefined {
  return range === undefined ? undefined : { origin: range.offset, count: range.length };
}

/**
 * An ENVELOPE or BODYSTRUCTURE value in wire form. A list's leading run of lists is written
 * without spaces: a multipart's parts (`1*body`) and an address list (`1*address`).
 */
function value(v: ImapValue, options: FetchOptions): Wire {
  if (v === null) return ['NIL'];
  if (typeof v === 'number') return [String(v)];
  if (typeof v === 'string' || Buffer.isBuffer(v)) return string(v, { utf8: options.utf8 });
  const out: Wire = ['('];
  let leadingLists = true;
  v.forEach((item, i) => {
    leadingLists &&= Array.isArray(item);
    if (i > 0 && !leadingLists) out.push(' ');
    out.push(...value(item, options));
  });
  out.push(')');
  return out;
}
