/**
 * Pack index version 2 (`.idx`): magic, version, 256-entry fanout, sorted ids, CRC32s,
 * 31-bit offsets (high bit = index into the 64-bit large-offset table), large offsets,
 * the pack's checksum, and the SHA-1 of everything before it.
 */
import { sha1 } from '../../native.js';
import type { ObjectId } from '../objects.js';
import { corrupt } from '../errors.js';
import { PACK_HEADER_BYTES } from './format.js';

const IDX_MAGIC = Buffer.from([0xff, 0x74, 0x4f, 0x63]);
const FANOUT_AT = 8;
const IDS_AT = FANOUT_AT + 256 * 4;
const LARGE_OFFSET_FLAG = 0x80000000;
/** git puts offsets past 2^31 - 1 in the large table. */
const MAX_SMALL_OFFSET = 0x7fffffff;

export interface PackIndexEntry {
  id: ObjectId;
  offset: number;
  crc32: number;
}

export function encodePackIndex(entries: readonly PackIndexEntry[], packChecksum: Buffer): Buffer {
  const sorted = [...entries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const count = sorted.length;
  const largeCount = sorted.filter((entry) => entry.offset > MAX_SMALL_OFFSET).length;
  const crcsAt = IDS_AT + count * 20;
  const offsetsAt = crcsAt + count * 4;
  const largeAt = offsetsAt + count * 4;
  const checksumAt = largeAt + largeCount * 8;
  const idx = Buffer.alloc(checksumAt + 40);
  IDX_MAGIC.copy(idx, 0);
  idx.writeUInt32BE(2, 4);
  let large = 0;
  let fanoutByte = 0;
  sorted.forEach((entry, position) => {
    const firstByte = parseInt(entry.id.slice(0, 2), 16);
    // fanout[b] = number of ids whose first byte is <= b.
    for (; fanoutByte < firstByte; fanoutByte++) idx.writeUInt32BE(position, FANOUT_AT + fanoutByte * 4);
    idx.write(entry.id, IDS_AT + position * 20, 'hex');
    idx.writeUInt32BE(entry.crc32 >>> 0, crcsAt + position * 4);
    if (entry.offset > MAX_SMALL_OFFSET) {
      idx.writeUInt32BE((LARGE_OFFSET_FLAG | large) >>> 0, offsetsAt + position * 4);
      idx.writeBigUInt64BE(BigInt(entry.offset), largeAt + large * 8);
      large++;
    } else {
      idx.writeUInt32BE(entry.offset, offsetsAt + position * 4);
    }
  });
  for (; fanoutByte < 256; fanoutByte++) idx.writeUInt32BE(count, FANOUT_AT + fanoutByte * 4);
  packChecksum.copy(idx, checksumAt);
  sha1.sha1(idx.subarray(0, checksumAt + 20)).copy(idx, checksumAt + 20);
  return idx;
}

/** A parsed, validated .idx held in memory: lookups are binary searches over its bytes. */
export class PackIndex {
  readonly objectCount: number;
  readonly packChecksum: Buffer;
  /** Offsets in pack order, and for each the id position it belongs to. */
  readonly sortedOffsets: Float64Array;
  readonly positionsByOffset: Uint32Array;
  private readonly crcsAt: number;
  private readonly offsetsAt: number;
  private readonly largeAt: number;
  private readonly fanout = new Uint32Array(256);
  /** The inverse of positionsByOffset, made when first asked for. */
  private ranks: Uint32Array | undefined;

  /**
   * Checks everything that can be checked without inflating: magic, version, fanout, sizes,
   * checksum, and that every offset is a distinct position inside the pack's entry area.
   */
  constructor(
    private readonly idx: Buffer,
    readonly file: string,
    packDataEnd: number,
  ) {
    if (idx.length < IDS_AT + 40) throw corrupt(`${file} is too short to be a pack index`);
    if (!idx.subarray(0, 4).equals(IDX_MAGIC)) {
      throw corrupt(`${file} is a version 1 pack index (or not an index); only version 2 is supported`);
    }
    const version = idx.readUInt32BE(4);
    if (version !== 2) throw corrupt(`${file} has unsupported pack index version ${version}`);
    let previous = 0;
    for (let b = 0; b < 256; b++) {
      const value = idx.readUInt32BE(FANOUT_AT + b * 4);
      if (value < previous) throw corrupt(`${file} has a fanout table that decreases at byte ${b}`);
      this.fanout[b] = value;
      previous = value;
    }
    const count = previous;
    this.objectCount = count;
    this.crcsAt = IDS_AT + count * 20;
    this.offsetsAt = this.crcsAt + count * 4;
    this.largeAt = this.offsetsAt + count * 4;
    if (this.largeAt + 40 > idx.length) throw corrupt(`${file} claims ${count} objects but is too short for them`);
    let largeCount = 0;
    for (let i = 0; i < count; i++) if (idx.readUInt32BE(this.offsetsAt + i * 4) & LARGE_OFFSET_FLAG) largeCount++;
    const checksumAt = this.largeAt + largeCount * 8;
    if (idx.length !== checksumAt + 40) {
      throw corrupt(`${file} is ${idx.length} bytes, expected ${checksumAt + 40} for ${count} objects`);
    }
    if (!sha1.sha1(idx.subarray(0, checksumAt + 20)).equals(idx.subarray(checksumAt + 20))) {
      throw corrupt(`${file} does not match its own checksum`);
    }
    this.packChecksum = Buffer.from(idx.subarray(checksumAt, checksumAt + 20));

    const order = new Uint32Array(count);
    const offsets = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const small = idx.readUInt32BE(this.offsetsAt + i * 4);
      if (small & LARGE_OFFSET_FLAG && (small & MAX_SMALL_OFFSET) >= largeCount) {
        throw corrupt(`${file}: object ${this.idAt(i)} points past the large offset table`);
      }
      const offset = this.offsetAt(i);
      if (offset < PACK_HEADER_BYTES || offset >= packDataEnd) {
        throw corrupt(`${file}: object ${this.idAt(i)} has offset ${offset} outside the pack`);
      }
      order[i] = i;
      offsets[i] = offset;
    }
    order.sort((a, b) => offsets[a]! - offsets[b]!);
    this.positionsByOffset = order;
    this.sortedOffsets = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      this.sortedOffsets[i] = offsets[order[i]!]!;
      if (i > 0 && this.sortedOffsets[i] === this.sortedOffsets[i - 1]) {
        throw corrupt(`${file}: two objects claim offset ${this.sortedOffsets[i]}`);
      }
    }
  }

  /** The position of `id` (20 raw bytes) in the sorted id table, or -1. */
  find(id: Buffer): number {
    const first = id[0]!;
    let low = first === 0 ? 0 : this.idx.readUInt32BE(FANOUT_AT + (first - 1) * 4);
    let high = this.idx.readUInt32BE(FANOUT_AT + first * 4);
    while (low < high) {
      const middle = (low + high) >>> 1;
      const at = IDS_AT + middle * 20;
      const order = this.idx.compare(id, 0, 20, at, at + 20);
      if (order === 0) return middle;
      // compare() ranks the idx slice against `id`: > 0 means the slice sorts after it.
      if (order > 0) high = middle;
      else low = middle + 1;
    }
    return -1;
  }

  /**
   * find() for the 20 raw bytes at `bytes[at]`, compared in place: no Buffer per lookup, no
   * native call per step. The hot path of a walk over tree entries.
   */
  findAt(bytes: Uint8Array, at: number): number {
    const idx = this.idx;
    const first = bytes[at]!;
    let low = first === 0 ? 0 : this.fanout[first - 1]!;
    let high = this.fanout[first]!;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const base = IDS_AT + middle * 20;
      let difference = 0;
      for (let k = 0; k < 20; k++) {
        difference = idx[base + k]! - bytes[at + k]!;
        if (difference !== 0) break;
      }
      if (difference === 0) return middle;
      if (difference > 0) high = middle;
      else low = middle + 1;
    }
    return -1;
  }

  /** The rank (index into sortedOffsets) of the object at `position`. */
  rankOfPosition(position: number): number {
    let ranks = this.ranks;
    if (ranks === undefined) {
      ranks = new Uint32Array(this.objectCount);
      for (let rank = 0; rank < this.objectCount; rank++) ranks[this.positionsByOffset[rank]!] = rank;
      this.ranks = ranks;
    }
    return ranks[position]!;
  }

  /** The raw id at `position`, a view into the index (do not modify). */
  idBytesAt(position: number): Buffer {
    return this.idx.subarray(IDS_AT + position * 20, IDS_AT + position * 20 + 20);
  }

  idAt(position: number): ObjectId {
    return this.idx.toString('hex', IDS_AT + position * 20, IDS_AT + position * 20 + 20);
  }

  crc32At(position: number): number {
    return this.idx.readUInt32BE(this.crcsAt + position * 4);
  }

  offsetAt(position: number): number {
    const small = this.idx.readUInt32BE(this.offsetsAt + position * 4);
    if (!(small & LARGE_OFFSET_FLAG)) return small;
    const large = this.idx.readBigUInt64BE(this.largeAt + (small & MAX_SMALL_OFFSET) * 8);
    // Offsets past 2^53 cannot be a real file; keep them out of number arithmetic.
    return large > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(large);
  }

  /** The index into sortedOffsets of the entry starting at `offset`, or -1. */
  rankOfOffset(offset: number): number {
    let low = 0;
    let high = this.sortedOffsets.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const value = this.sortedOffsets[middle]!;
      if (value === offset) return middle;
      if (value < offset) low = middle + 1;
      else high = middle;
    }
    return -1;
  }

  /** Checks that ids are strictly increasing and agree with the fanout (verify-time only). */
  checkIdOrder(): void {
    for (let i = 1; i < this.objectCount; i++) {
      const at = IDS_AT + i * 20;
      // Compares id i (source) with id i - 1 (target): it must sort strictly after.
      if (this.idx.compare(this.idx, at - 20, at, at, at + 20) <= 0) {
        throw corrupt(`${this.file}: ids are not strictly sorted at ${this.idAt(i)}`);
      }
    }
    let position = 0;
    for (let b = 0; b < 256; b++) {
      const end = this.idx.readUInt32BE(FANOUT_AT + b * 4);
      for (; position < end; position++) {
        if (this.idx[IDS_AT + position * 20] !== b) throw corrupt(`${this.file}: fanout disagrees with id ${this.idAt(position)}`);
      }
    }
  }
}
