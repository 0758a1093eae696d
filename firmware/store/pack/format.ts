/**
 * The byte layout of a git packfile (version 2): the 12-byte header, each entry's type+size
 * header, the OFS_DELTA base distance, and exact-size inflation of an entry's zlib data.
 * Shared by the reader, the writer and index-pack so the three agree on every bit.
 */
import { constants as bufferConstants } from 'node:buffer';
import zlib from 'node:zlib';

import type { ObjectType } from '../objects.js';
import { StoreError, corrupt } from '../errors.js';

export const PACK_SIGNATURE = Buffer.from('PACK', 'latin1');
export const PACK_HEADER_BYTES = 12;
export const PACK_TRAILER_BYTES = 20;

/** Entry type codes as git numbers them (0 and 5 are invalid). */
export const PACK_TYPE_CODES: Readonly<Record<ObjectType, number>> = { commit: 1, tree: 2, blob: 3, tag: 4 };
export const OFS_DELTA = 6;
export const REF_DELTA = 7;
const TYPES_BY_CODE: readonly (ObjectType | undefined)[] = [undefined, 'commit', 'tree', 'blob', 'tag'];

export function objectTypeOfCode(code: number): ObjectType | undefined {
  return TYPES_BY_CODE[code];
}

/** The largest object this process can hold in one Buffer. */
export const MAX_OBJECT_BYTES = bufferConstants.MAX_LENGTH;

export function encodePackHeader(objectCount: number): Buffer {
  const header = Buffer.alloc(PACK_HEADER_BYTES);
  PACK_SIGNATURE.copy(header, 0);
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(objectCount, 8);
  return header;
}

/** Checks the 12-byte header and returns the object count it declares. */
export function parsePackHeader(header: Buffer, file: string): number {
  if (header.length < PACK_HEADER_BYTES || !header.subarray(0, 4).equals(PACK_SIGNATURE)) {
    throw corrupt(`${file} is not a packfile (bad signature)`);
  }
  const version = header.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw corrupt(`${file} has unsupported pack version ${version}`);
  return header.readUInt32BE(8);
}

/** `(type << 4 | size & 15)` then the rest of the size, 7 bits a byte, low bits first. */
export function encodeEntryHeader(typeCode: number, size: number): Buffer {
  const bytes: number[] = [];
  let rest = Math.floor(size / 16);
  let byte = (typeCode << 4) | (size % 16);
  while (rest > 0) {
    bytes.push(byte | 0x80);
    byte = rest % 128;
    rest = Math.floor(rest / 128);
  }
  bytes.push(byte);
  return Buffer.from(bytes);
}

/** The OFS_DELTA distance: big-endian 7-bit groups, each continuation adding one (git's "offset encoding"). */
export function encodeOffsetDistance(distance: number): Buffer {
  const bytes = [distance % 128];
  let rest = Math.floor(distance / 128);
  while (rest > 0) {
    rest -= 1;
    bytes.unshift(0x80 | rest % 128);
    rest = Math.floor(rest / 128);
  }
  return Buffer.from(bytes);
}

export interface EntryHeader {
  typeCode: number;
  /** Inflated size of the entry's data (for deltas, the size of the delta itself). */
  size: number;
  /** OFS_DELTA: absolute offset of the base entry. */
  baseOffset?: number;
  /** REF_DELTA: the base's object id. */
  baseId?: string;
  /** Offset (in the pack) where the zlib data starts. */
  dataOffset: number;
}

/** Enough bytes to hold any valid entry header: 10 size bytes + 20 for a REF_DELTA base. */
export const MAX_ENTRY_HEADER_BYTES = 32;

/**
 * Parses the entry header in `bytes`, which hold the pack from `offset` on. Throws ECORRUPT
 * (naming `where`) on anything git would not have written.
 */
export function parseEntryHeader(bytes: Buffer, offset: number, where: string): EntryHeader {
  // Byte by byte without a helper closure: this runs once per entry of every pack scanned.
  if (bytes.length === 0) throw truncatedHeader(where);
  let at = 0;
  let byte = bytes[at++]!;
  const typeCode = (byte >> 4) & 7;
  let size = byte & 15;
  let scale = 16;
  while (byte & 0x80) {
    if (at >= bytes.length) throw truncatedHeader(where);
    byte = bytes[at++]!;
    size += (byte & 0x7f) * scale;
    scale *= 128;
    if (scale > 2 ** 53) throw corrupt(`${where}: entry size is too large`);
  }
  if (typeCode === OFS_DELTA) {
    if (at >= bytes.length) throw truncatedHeader(where);
    byte = bytes[at++]!;
    let distance = byte & 0x7f;
    while (byte & 0x80) {
      if (at >= bytes.length) throw truncatedHeader(where);
      byte = bytes[at++]!;
      distance = (distance + 1) * 128 + (byte & 0x7f);
      if (distance > offset) throw corrupt(`${where}: delta base offset is out of the pack`);
    }
    if (distance === 0 || distance > offset - PACK_HEADER_BYTES) {
      throw corrupt(`${where}: delta base offset is out of the pack`);
    }
    return { typeCode, size, baseOffset: offset - distance, dataOffset: offset + at };
  }
  if (typeCode === REF_DELTA) {
    if (at + 20 > bytes.length) throw truncatedHeader(where);
    const baseId = bytes.toString('hex', at, at + 20);
    return { typeCode, size, baseId, dataOffset: offset + at + 20 };
  }
  if (objectTypeOfCode(typeCode) === undefined) throw corrupt(`${where}: invalid entry type ${typeCode}`);
  return { typeCode, size, dataOffset: offset + at };
}

function truncatedHeader(where: string): StoreError {
  return corrupt(`${where}: entry header is truncated`);
}

/** zlib's deflateBound: the most a zlib encoder produces for `size` bytes, plus slack. */
export function compressedBound(size: number): number {
  return size + Math.floor(size / 4096) + Math.floor(size / 16384) + Math.floor(size / 33554432) + 64;
}

export interface Inflated {
  data: Buffer;
  /** How many input bytes the zlib stream took. */
  consumed: number;
}

/**
 * Inflates one zlib stream that must produce exactly `size` bytes, refusing more (no zip
 * bombs). Every failure is ECORRUPT naming `where`; `truncated` reports a stream that ran out
 * of input, so a caller that read a prefix can retry with more.
 */
export function inflateExact(compressed: Buffer, size: number, where: string): Inflated | 'truncated' {
  if (size > MAX_OBJECT_BYTES) throw new StoreError('ETOOBIG', `${where}: object of ${size} bytes is too large to hold`);
  let result: { buffer: Buffer; engine: zlib.Inflate };
  try {
    // maxOutputLength must be at least 1; an empty object still inflates to 0 bytes.
    // One output chunk about the size of the object: zlib's default 16 KiB per small object is
    // most of what a walk over many commits and trees allocates.
    const chunkSize = Math.min(Math.max(size + 64, 64), 256 * 1024);
    result = zlib.inflateSync(compressed, { info: true, maxOutputLength: Math.max(1, size), chunkSize }) as unknown as {
      buffer: Buffer;
      engine: zlib.Inflate;
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'Z_BUF_ERROR') return 'truncated';
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw corrupt(`${where}: data inflates past its declared size ${size}`, error);
    }
    throw corrupt(`${where}: bad zlib data (${(error as Error).message})`, error);
  }
  if (result.buffer.length !== size) {
    throw corrupt(`${where}: data inflates to ${result.buffer.length} bytes, header says ${size}`);
  }
  return { data: result.buffer, consumed: result.engine.bytesWritten };
}
