/**
 * git's delta format: base size and result size as little-endian varints, then ops.
 * An op byte with the high bit set copies from the base (bits 0-3 say which offset bytes
 * follow, bits 4-6 which size bytes; size 0 means 0x10000); 1..127 inserts that many literal
 * bytes; 0 is reserved. applyDelta checks every bound; createDelta is a compact encoder in
 * the spirit of git's diff-delta.c (16-byte blocks of the base in a hash table, matches
 * extended both ways).
 */
import { StoreError, corrupt } from '../errors.js';
import { MAX_OBJECT_BYTES } from './format.js';

/** Reads a delta header varint at `at`: [value, next position], or undefined if it runs off the end. */
function readSize(delta: Uint8Array, at: number, what: string): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (at >= delta.length) return undefined;
    const byte = delta[at++]!;
    value += (byte & 0x7f) * scale;
    if (!(byte & 0x80)) return [value, at];
    scale *= 128;
    if (scale > 2 ** 53) throw corrupt(`${what}: delta header size is too large`);
  }
}

export interface DeltaHeader {
  baseSize: number;
  resultSize: number;
  /** Where the ops start. */
  opsOffset: number;
}

/** The two sizes a delta starts with; undefined when `delta` is too short to hold them (a prefix). */
export function parseDeltaHeader(delta: Uint8Array, what = 'delta'): DeltaHeader | undefined {
  const base = readSize(delta, 0, what);
  const result = base && readSize(delta, base[1], what);
  return result && { baseSize: base![0], resultSize: result[0], opsOffset: result[1] };
}

/** The copy op readCopyOp read last (one shared record: no allocation per op on the hot path). */
const copyOp = { offset: 0, size: 0 };

/**
 * Reads the operands of copy op `op` from `at` into `copyOp`; returns where the next op
 * starts. Offset bytes (bits 0-3), then size bytes (bits 4-6), each little-endian.
 */
function readCopyOp(delta: Uint8Array, at: number, op: number, what: string): number {
  let offset = 0;
  let size = 0;
  for (let bit = 0; bit < 7; bit++) {
    if (!(op & (1 << bit))) continue;
    if (at >= delta.length) throw corrupt(`${what}: delta copy op is truncated`);
    const byte = delta[at++]!;
    if (bit < 4) offset += byte * 2 ** (8 * bit);
    else size += byte * 2 ** (8 * (bit - 4));
  }
  copyOp.offset = offset;
  copyOp.size = size === 0 ? 0x10000 : size;
  return at;
}

/** The result of applying `delta` to `base`; ECORRUPT naming `what` on any out-of-range op. */
export function applyDelta(base: Uint8Array, delta: Uint8Array, what = 'delta'): Buffer {
  const header = parseDeltaHeader(delta, what);
  if (header === undefined) throw corrupt(`${what}: delta header is truncated`);
  const { baseSize, resultSize, opsOffset: opsStart } = header;
  if (baseSize !== base.length) throw corrupt(`${what}: delta expects a base of ${baseSize} bytes, base has ${base.length}`);
  if (resultSize > MAX_OBJECT_BYTES) throw new StoreError('ETOOBIG', `${what}: delta result of ${resultSize} bytes is too large`);
  const result = Buffer.allocUnsafe(resultSize);
  let out = 0;
  let at = opsStart;
  while (at < delta.length) {
    const op = delta[at++]!;
    if (op & 0x80) {
      at = readCopyOp(delta, at, op, what);
      const { offset, size } = copyOp;
      if (offset + size > base.length) throw corrupt(`${what}: delta copies past the end of its base`);
      if (out + size > resultSize) throw corrupt(`${what}: delta writes past its declared result size`);
      result.set(base.subarray(offset, offset + size), out);
      out += size;
    } else if (op !== 0) {
      if (at + op > delta.length) throw corrupt(`${what}: delta insert op is truncated`);
      if (out + op > resultSize) throw corrupt(`${what}: delta writes past its declared result size`);
      result.set(delta.subarray(at, at + op), out);
      at += op;
      out += op;
    } else {
      throw corrupt(`${what}: delta uses reserved op 0`);
    }
  }
  if (out !== resultSize) throw corrupt(`${what}: delta yields ${out} bytes, declares ${resultSize}`);
  return result;
}

/**
 * The copy ops of `delta`, as flat triples: where in the result each copy lands, where in the
 * base it comes from, and its length; in result order. The delta must be one applyDelta took.
 */
export function deltaCopies(delta: Uint8Array, what = 'delta'): number[] {
  const header = parseDeltaHeader(delta, what);
  if (header === undefined) throw corrupt(`${what}: delta header is truncated`);
  const copies: number[] = [];
  let out = 0;
  let at = header.opsOffset;
  while (at < delta.length) {
    const op = delta[at++]!;
    if (op & 0x80) {
      at = readCopyOp(delta, at, op, what);
      copies.push(out, copyOp.offset, copyOp.size);
      out += copyOp.size;
    } else if (op !== 0) {
      at += op;
      out += op;
    } else {
      throw corrupt(`${what}: delta uses reserved op 0`);
    }
  }
  return copies;
}

// ---- encoder -------------------------------------------------------------------------------

const BLOCK = 16;
/** Candidates tried per hash bucket: bounds the work on very repetitive bases. */
const MAX_CANDIDATES = 64;
/** git emits copies of at most 64 KiB (the size that encodes as 0), for old readers. */
const MAX_COPY = 0x10000;
const MAX_INSERT = 127;
const HASH_MULTIPLIER = 0x01000193;
/** Spreads hashes over the buckets (the golden ratio, as an int32 so V8 keeps it small). */
const GOLDEN = -1640531535;
/** HASH_MULTIPLIER ** 15 (mod 2^32): the weight of the byte leaving the rolling window. */
const OUTGOING_WEIGHT = (() => {
  let weight = 1;
  for (let i = 0; i < BLOCK - 1; i++) weight = Math.imul(weight, HASH_MULTIPLIER);
  return weight;
})();

function blockHash(data: Uint8Array, at: number): number {
  let hash = 0;
  for (let i = 0; i < BLOCK; i++) hash = (Math.imul(hash, HASH_MULTIPLIER) + data[at + i]!) | 0;
  return hash;
}

/** A base prepared for many createDelta calls (the writer's window reuses it). */
export class DeltaIndex {
  readonly base: Buffer;
  /** First block of each hash bucket (-1: empty), and the next block in the same bucket. */
  readonly heads: Int32Array;
  readonly nextInBucket: Int32Array;
  readonly shift: number;

  constructor(base: Buffer) {
    this.base = base;
    // Offsets in copy ops are 32-bit: index no block past 4 GiB.
    const blockCount = Math.floor(Math.min(base.length, 2 ** 32 - 1) / BLOCK);
    let bits = 4;
    while (1 << bits < blockCount * 2 && bits < 24) bits++;
    this.shift = 32 - bits;
    this.heads = new Int32Array(1 << bits).fill(-1);
    this.nextInBucket = new Int32Array(blockCount);
    for (let block = 0; block < blockCount; block++) {
      const bucket = Math.imul(blockHash(base, block * BLOCK), GOLDEN) >>> this.shift;
      this.nextInBucket[block] = this.heads[bucket]!;
      this.heads[bucket] = block;
    }
  }
}

/** An output buffer that gives up once it would exceed `limit` bytes. */
class DeltaOutput {
  private bytes: Buffer;
  length = 0;
  constructor(private readonly limit: number) {
    this.bytes = Buffer.allocUnsafe(Math.min(limit, 4096) + 32);
  }

  /** False when `count` more bytes would pass the limit. */
  reserve(count: number): boolean {
    if (this.length + count > this.limit) return false;
    if (this.length + count > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.length + count));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    return true;
  }

  push(byte: number): void {
    this.bytes[this.length++] = byte;
  }

  pushBytes(data: Uint8Array, start: number, end: number): void {
    this.bytes.set(data.subarray(start, end), this.length);
    this.length += end - start;
  }

  /** Rewrites the op byte at `at` once its operand bytes are known. */
  setOp(at: number, op: number): void {
    this.bytes[at] = op;
  }

  pushSize(size: number): void {
    let rest = size;
    while (rest >= 0x80) {
      this.push(0x80 | (rest % 128));
      rest = Math.floor(rest / 128);
    }
    this.push(rest);
  }

  result(): Buffer {
    return Buffer.from(this.bytes.subarray(0, this.length));
  }
}

function emitInserts(out: DeltaOutput, target: Uint8Array, start: number, end: number): boolean {
  for (let at = start; at < end; at += MAX_INSERT) {
    const count = Math.min(MAX_INSERT, end - at);
    if (!out.reserve(count + 1)) return false;
    out.push(count);
    out.pushBytes(target, at, at + count);
  }
  return true;
}

function emitCopies(out: DeltaOutput, offset: number, size: number): boolean {
  for (let done = 0; done < size; done += MAX_COPY) {
    const chunk = Math.min(MAX_COPY, size - done);
    const from = offset + done;
    if (!out.reserve(8)) return false;
    const opAt = out.length;
    out.push(0x80);
    let op = 0x80;
    for (let i = 0; i < 4; i++) {
      const byte = Math.floor(from / 2 ** (8 * i)) & 0xff;
      if (byte !== 0) {
        op |= 1 << i;
        out.push(byte);
      }
    }
    // A 0x10000 copy is encoded with no size bytes at all.
    if (chunk !== MAX_COPY) {
      for (let i = 0; i < 3; i++) {
        const byte = (chunk >> (8 * i)) & 0xff;
        if (byte !== 0) {
          op |= 0x10 << i;
          out.push(byte);
        }
      }
    }
    out.setOp(opAt, op);
  }
  return true;
}

/**
 * A delta turning the indexed base into `target`, or undefined when it would exceed
 * `maxSize` bytes (by default about half the target: not worth storing otherwise).
 */
export function createDeltaFrom(index: DeltaIndex, target: Buffer, maxSize = defaultMaxDeltaSize(target.length)): Buffer | undefined {
  const { base, heads, nextInBucket, shift } = index;
  const out = new DeltaOutput(maxSize);
  if (!out.reserve(20)) return undefined;
  out.pushSize(base.length);
  out.pushSize(target.length);
  let insertFrom = 0;
  let at = 0;
  let hash = target.length >= BLOCK ? blockHash(target, 0) : 0;
  while (at + BLOCK <= target.length) {
    let bestLength = 0;
    let bestOffset = 0;
    let tried = 0;
    for (let block = heads[Math.imul(hash, GOLDEN) >>> shift]!; block >= 0 && tried < MAX_CANDIDATES; block = nextInBucket[block]!) {
      tried++;
      const from = block * BLOCK;
      const limit = Math.min(base.length - from, target.length - at);
      let length = 0;
      while (length < limit && base[from + length] === target[at + length]) length++;
      if (length > bestLength) {
        bestLength = length;
        bestOffset = from;
        if (length === limit) break;
      }
    }
    if (bestLength < BLOCK) {
      if (at + BLOCK < target.length) {
        hash = (Math.imul((hash - Math.imul(target[at]!, OUTGOING_WEIGHT)) | 0, HASH_MULTIPLIER) + target[at + BLOCK]!) | 0;
      }
      at++;
      continue;
    }
    // Grow the match backwards over bytes we were about to insert literally.
    while (at > insertFrom && bestOffset > 0 && base[bestOffset - 1] === target[at - 1]) {
      at--;
      bestOffset--;
      bestLength++;
    }
    if (!emitInserts(out, target, insertFrom, at) || !emitCopies(out, bestOffset, bestLength)) return undefined;
    at += bestLength;
    insertFrom = at;
    if (at + BLOCK <= target.length) hash = blockHash(target, at);
  }
  if (!emitInserts(out, target, insertFrom, target.length)) return undefined;
  return out.result();
}

/** git's bound: a delta must save at least half the target, less the 20 bytes of a base id. */
export function defaultMaxDeltaSize(targetSize: number): number {
  return Math.floor(targetSize / 2) - 20;
}

export function createDelta(base: Buffer, target: Buffer, maxSize?: number): Buffer | undefined {
  return createDeltaFrom(new DeltaIndex(base), target, maxSize);
}
