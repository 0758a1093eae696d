/**
 * JS twin of the dnswire addon: the same decode and encode, the same checks in the same order,
 * so the same bytes, the same error codes and the same messages. dnswire_core.c is the same
 * algorithm in C; keep the two in step. Used when the addon is missing (or NYMOTE_NATIVE=js)
 * and as the reference in tests.
 */
import { types as utilTypes } from 'node:util';

import type { DnsMessage, DnsQuestion, DnsRecord, DnswireBinding, DnswireErrorCode } from './binding.js';
import { nameFromWire, nameToWire } from './names.js';

const HEADER_BYTES = 12;
const MAX_MESSAGE = 65535;
const MAX_NAME = 255;
/** Pointers are 14 bits: only suffixes written below this offset can be pointed at. */
const POINTER_LIMIT = 0x4000;
const SECTIONS = ['questions', 'answers', 'authorities', 'additionals'] as const;

function rangeError(code: DnswireErrorCode, message: string): RangeError {
  return Object.assign(new RangeError(message), { code });
}

function typeError(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_DNS_VALUE' });
}

/** What napi_is_array accepts: a real array, not a Proxy over one. */
function isPlainArray(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && !utilTypes.isProxy(value);
}

// ---- RDATA layouts ---------------------------------------------------------------------------

/** A field of RDATA: a number of fixed bytes, a domain name, or a character-string. */
type RdataField = number | 'name' | 'string';

const LAYOUT_NAME: readonly RdataField[] = ['name'];
const LAYOUT_TWO_NAMES: readonly RdataField[] = ['name', 'name'];
const LAYOUT_SOA: readonly RdataField[] = ['name', 'name', 20];
const LAYOUT_U16_NAME: readonly RdataField[] = [2, 'name'];

/** What decode checks (and expands the names of): the types binding.ts lists, plus A and AAAA. */
const DECODE_LAYOUTS = new Map<number, readonly RdataField[]>([
  [1, [4]], // A
  [28, [16]], // AAAA
  ...[2, 3, 4, 5, 7, 8, 9, 12, 39].map((type): [number, readonly RdataField[]] => [type, LAYOUT_NAME]), // NS MD MF CNAME MB MG MR PTR DNAME
  [14, LAYOUT_TWO_NAMES], // MINFO
  [17, LAYOUT_TWO_NAMES], // RP
  [6, LAYOUT_SOA],
  ...[15, 18, 21, 36].map((type): [number, readonly RdataField[]] => [type, LAYOUT_U16_NAME]), // MX AFSDB RT KX
  [26, [2, 'name', 'name']], // PX
  [33, [6, 'name']], // SRV
  [35, [4, 'string', 'string', 'string', 'name']], // NAPTR
]);

/** Types whose RDATA names encode compresses (RFC 1035's own; RFC 3597 forbids more). */
const ENCODE_LAYOUTS = new Map<number, readonly RdataField[]>([
  [2, LAYOUT_NAME], // NS
  [5, LAYOUT_NAME], // CNAME
  [12, LAYOUT_NAME], // PTR
  [15, LAYOUT_U16_NAME], // MX
  [6, LAYOUT_SOA],
]);

// ---- decode -------------------------------------------------------------------------------

/** One uncompressed name at a time; its text is made from here. */
const nameScratch = new Uint8Array(MAX_NAME);
/** Expanded RDATA of the message being decoded, copied out once at the end. */
let rdataScratch = new Uint8Array(4096);
let rdataLength = 0;
/** read_name's second result: where the name ends before its first pointer. */
let nameNext = 0;

function appendRdata(bytes: Uint8Array): void {
  if (rdataLength + bytes.length > rdataScratch.length) {
    let size = rdataScratch.length * 2;
    while (size < rdataLength + bytes.length) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(rdataScratch.subarray(0, rdataLength));
    rdataScratch = grown;
  }
  rdataScratch.set(bytes, rdataLength);
  rdataLength += bytes.length;
}

/**
 * Reads the possibly compressed name at `at` into nameScratch and returns its length; sets
 * nameNext. Until the first pointer the name must end before `bound` (else `overrun`); each
 * pointer must point strictly before where the labels leading to it began, and not into the
 * header. As read_name in dnswire_core.c.
 */
function readName(wire: Uint8Array, at: number, bound: number, overrun: 'ERR_DNS_SHORT' | 'ERR_DNS_RDATA'): number {
  const start = at;
  let limit = at;
  let written = 0;
  let jumped = false;
  for (;;) {
    if (at >= bound) throw overrunError(overrun, start);
    const length = wire[at]!;
    if ((length & 0xc0) === 0xc0) {
      if (at + 1 >= bound) throw overrunError(overrun, start);
      const target = ((length & 0x3f) << 8) | wire[at + 1]!;
      if (target >= limit || target < HEADER_BYTES) {
        throw rangeError('ERR_DNS_POINTER', `name at offset ${start} has a compression pointer that does not point back`);
      }
      if (!jumped) {
        nameNext = at + 2;
        jumped = true;
        bound = wire.length;
        overrun = 'ERR_DNS_SHORT';
      }
      limit = target;
      at = target;
      continue;
    }
    if ((length & 0xc0) !== 0) throw rangeError('ERR_DNS_LABEL', `name at offset ${start} has a reserved label type`);
    if (length === 0) {
      nameScratch[written++] = 0;
      if (!jumped) nameNext = at + 1;
      return written;
    }
    if (bound - at - 1 < length) throw overrunError(overrun, start);
    if (written + 1 + length + 1 > MAX_NAME) throw rangeError('ERR_DNS_NAME_LENGTH', `name at offset ${start} is over 255 bytes`);
    nameScratch.set(wire.subarray(at, at + 1 + length), written);
    written += 1 + length;
    at += 1 + length;
  }
}

function overrunError(code: 'ERR_DNS_SHORT' | 'ERR_DNS_RDATA', start: number): RangeError {
  const where = code === 'ERR_DNS_RDATA' ? 'its RDATA' : 'the end of the message';
  return rangeError(code, `name at offset ${start} runs past ${where}`);
}

/** Appends the RDATA at [at, end) to rdataScratch, names uncompressed, checking its layout. */
function readRdata(wire: Uint8Array, type: number, record: number, at: number, end: number): void {
  const layout = DECODE_LAYOUTS.get(type);
  if (layout === undefined) {
    appendRdata(wire.subarray(at, end));
    return;
  }
  let complete = true;
  for (const field of layout) {
    if (field === 'name') {
      const length = readName(wire, at, end, 'ERR_DNS_RDATA');
      at = nameNext;
      appendRdata(nameScratch.subarray(0, length));
      continue;
    }
    const bytes = field === 'string' ? (at < end ? 1 + wire[at]! : 1) : field;
    if (end - at < bytes) {
      complete = false;
      break;
    }
    appendRdata(wire.subarray(at, at + bytes));
    at += bytes;
  }
  if (!complete || at !== end) throw rangeError('ERR_DNS_RDATA', `RDATA of the record at offset ${record} does not match its type`);
}

const EMPTY = new Uint8Array(0);

function decode(wire: Uint8Array): DnsMessage {
  if (!utilTypes.isUint8Array(wire)) throw typeError('wire must be a Uint8Array');
  const length = wire.length;
  if (length > MAX_MESSAGE) throw rangeError('ERR_DNS_TOO_LARGE', 'message over 65535 bytes');
  if (length < HEADER_BYTES) throw rangeError('ERR_DNS_SHORT', 'message shorter than its 12-byte header');
  const counts = [0, 1, 2, 3].map((section) => (wire[4 + 2 * section]! << 8) | wire[5 + 2 * section]!);
  const [questionCount, ...recordCounts] = counts as [number, number, number, number];
  // A question takes at least 5 bytes (root name, type, class), a record 11.
  const least = questionCount * 5 + (recordCounts[0] + recordCounts[1] + recordCounts[2]) * 11;
  if (least > length - HEADER_BYTES) throw rangeError('ERR_DNS_SHORT', 'section counts need more bytes than the message has');

  rdataLength = 0;
  let at = HEADER_BYTES;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < questionCount; i++) {
    const start = at;
    readName(wire, at, length, 'ERR_DNS_SHORT');
    const name = nameFromWire(nameScratch);
    at = nameNext;
    if (length - at < 4) throw rangeError('ERR_DNS_SHORT', `question at offset ${start} is cut short`);
    questions.push({ name, type: (wire[at]! << 8) | wire[at + 1]!, class: (wire[at + 2]! << 8) | wire[at + 3]! });
    at += 4;
  }
  // Record data offsets into rdataScratch, in record order: the views are made at the end.
  const dataStarts: number[] = [];
  const sections = recordCounts.map((count) => {
    const records: DnsRecord[] = [];
    for (let i = 0; i < count; i++) {
      const start = at;
      readName(wire, at, length, 'ERR_DNS_SHORT');
      const name = nameFromWire(nameScratch);
      at = nameNext;
      if (length - at < 10) throw rangeError('ERR_DNS_SHORT', `record at offset ${start} is cut short`);
      const type = (wire[at]! << 8) | wire[at + 1]!;
      const klass = (wire[at + 2]! << 8) | wire[at + 3]!;
      const ttl = ((wire[at + 4]! << 24) | (wire[at + 5]! << 16) | (wire[at + 6]! << 8) | wire[at + 7]!) >>> 0;
      const rdlength = (wire[at + 8]! << 8) | wire[at + 9]!;
      at += 10;
      if (length - at < rdlength) throw rangeError('ERR_DNS_SHORT', `RDATA of the record at offset ${start} runs past the end of the message`);
      dataStarts.push(rdataLength);
      readRdata(wire, type, start, at, at + rdlength);
      at += rdlength;
      records.push({ name, type, class: klass, ttl, data: EMPTY });
    }
    return records;
  });
  if (at !== length) throw rangeError('ERR_DNS_TRAILING', `${length - at} bytes after the last record`);

  // One ArrayBuffer for all the RDATA of the message, as the addon does; each record a view.
  const store = rdataScratch.slice(0, rdataLength).buffer;
  let index = 0;
  for (const records of sections) {
    for (const record of records) {
      const dataStart = dataStarts[index]!;
      const dataEnd = index + 1 < dataStarts.length ? dataStarts[index + 1]! : rdataLength;
      record.data = new Uint8Array(store, dataStart, dataEnd - dataStart);
      index++;
    }
  }
  return {
    id: (wire[0]! << 8) | wire[1]!,
    flags: (wire[2]! << 8) | wire[3]!,
    questions,
    answers: sections[0]!,
    authorities: sections[1]!,
    additionals: sections[2]!,
  };
}

// ---- encode -------------------------------------------------------------------------------

/** An encode in progress; one is kept for reuse (see acquireWriter). */
class Writer {
  /** Output room: the largest message plus one whole entry written before the size check. */
  readonly out = Buffer.alloc(MAX_MESSAGE + 1024);
  length = 0;
  /** Compression memory: lower-cased wire suffix (latin1) → offset where it was written. */
  readonly suffixes = new Map<string, number>();

  start(id: number, flags: number, counts: readonly number[]): void {
    this.length = 0;
    this.suffixes.clear();
    this.u16(id);
    this.u16(flags);
    for (const count of counts) this.u16(count);
  }

  u16(value: number): void {
    this.out[this.length] = value >>> 8;
    this.out[this.length + 1] = value & 0xff;
    this.length += 2;
  }

  bytes(data: Uint8Array): void {
    this.out.set(data, this.length);
    this.length += data.length;
  }

  /** Writes a well-formed uncompressed name, compressed as binding.ts describes. */
  name(name: Uint8Array): void {
    const key = Buffer.from(name.buffer, name.byteOffset, name.length)
      .toString('latin1')
      .replace(/[A-Z]/g, (c) => c.toLowerCase());
    for (let at = 0; name[at] !== 0; at += 1 + name[at]!) {
      const suffix = key.slice(at);
      const target = this.suffixes.get(suffix);
      if (target !== undefined) {
        this.u16(0xc000 | target);
        return;
      }
      const offset = this.length;
      this.bytes(name.subarray(at, at + 1 + name[at]!));
      if (offset < POINTER_LIMIT) this.suffixes.set(suffix, offset);
    }
    this.out[this.length++] = 0;
  }
}

let idleWriter: Writer | undefined = new Writer();

/** The kept writer, or a new one when a getter calls encode while the kept one is busy. */
function acquireWriter(): Writer {
  const writer = idleWriter ?? new Writer();
  idleWriter = undefined;
  return writer;
}

/** Length of the uncompressed name at `at` if it lies within `data` and is well formed, else 0. */
function plainNameLength(data: Uint8Array, at: number): number {
  const start = at;
  for (;;) {
    if (at >= data.length || at - start >= MAX_NAME) return 0;
    const label = data[at]!;
    if ((label & 0xc0) !== 0) return 0;
    at += 1 + label;
    if (label === 0) return at - start;
  }
}

function fitsLayout(layout: readonly RdataField[], data: Uint8Array): boolean {
  let at = 0;
  for (const field of layout) {
    const bytes = field === 'name' ? plainNameLength(data, at) : (field as number);
    if (bytes === 0 || data.length - at < bytes) return false;
    at += bytes;
  }
  return at === data.length;
}

function tooLarge(): RangeError {
  return rangeError('ERR_DNS_TOO_LARGE', 'message over 65535 bytes');
}

function writeRecord(writer: Writer, path: string, name: Uint8Array, type: number, klass: number, ttl: number, data: Uint8Array): void {
  const layout = ENCODE_LAYOUTS.get(type);
  if (layout !== undefined && !fitsLayout(layout, data)) {
    throw rangeError('ERR_DNS_RDATA', `${path}.data is not type ${type} RDATA with uncompressed names`);
  }
  writer.name(name);
  writer.u16(type);
  writer.u16(klass);
  writer.u16(ttl >>> 16);
  writer.u16(ttl & 0xffff);
  const rdlengthAt = writer.length;
  writer.length += 2;
  if (layout === undefined) {
    if (data.length > MAX_MESSAGE - writer.length) throw tooLarge();
    writer.bytes(data);
  } else {
    let at = 0;
    for (const field of layout) {
      const length = field === 'name' ? plainNameLength(data, at) : (field as number);
      if (field === 'name') writer.name(data.subarray(at, at + length));
      else writer.bytes(data.subarray(at, at + length));
      at += length;
    }
  }
  if (writer.length > MAX_MESSAGE) throw tooLarge();
  writer.out.writeUInt16BE(writer.length - rdlengthAt - 2, rdlengthAt);
}

function checkInteger(value: unknown, path: string, max: number): number {
  if (typeof value !== 'number') throw typeError(`${path} must be a number`);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw rangeError('ERR_DNS_VALUE', `${path} must be an integer from 0 to ${max}`);
  }
  return value;
}

function checkEntry(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) throw typeError(`${path} must be an object`);
  return value as Record<string, unknown>;
}

function writeSection(writer: Writer, list: readonly unknown[], section: number): void {
  const count = list.length;
  for (let i = 0; i < count; i++) {
    const path = `${SECTIONS[section]}[${i}]`;
    const entry = checkEntry(list[i], path);
    const name = nameToWire(entry.name as string);
    const type = checkInteger(entry.type, `${path}.type`, 0xffff);
    const klass = checkInteger(entry.class, `${path}.class`, 0xffff);
    if (section === 0) {
      writer.name(name);
      writer.u16(type);
      writer.u16(klass);
      if (writer.length > MAX_MESSAGE) throw tooLarge();
      continue;
    }
    const ttl = checkInteger(entry.ttl, `${path}.ttl`, 0xffffffff);
    const data = entry.data;
    if (!utilTypes.isUint8Array(data)) throw typeError(`${path}.data must be a Uint8Array`);
    writeRecord(writer, path, name, type, klass, ttl, data);
  }
}

function encode(message: DnsMessage): Buffer {
  const fields = checkEntry(message, 'message');
  const id = checkInteger(fields.id, 'message.id', 0xffff);
  const flags = checkInteger(fields.flags, 'message.flags', 0xffff);
  const lists = SECTIONS.map((section) => {
    const list = fields[section];
    if (!isPlainArray(list)) throw typeError(`message.${section} must be an array`);
    if (list.length > 0xffff) throw rangeError('ERR_DNS_TOO_LARGE', `message.${section} has over 65535 entries`);
    return list;
  });
  const writer = acquireWriter();
  try {
    writer.start(id, flags, lists.map((list) => list.length));
    lists.forEach((list, section) => writeSection(writer, list, section));
    return Buffer.from(writer.out.subarray(0, writer.length));
  } finally {
    idleWriter = writer;
  }
}

export const dnswireTwin: DnswireBinding = { decode, encode };
