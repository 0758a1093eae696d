/**
 * Reads objects out of a packfile through its v2 index. The index stays in memory; pack
 * bytes are read at offsets on a kept descriptor. Each entry's compressed extent is known
 * from the sorted offsets, so inflation is bounded both ways, and every object returned is
 * hashed against the id asked for: a damaged pack yields ECORRUPT, never wrong data.
 * storedEntry() and storedEntries() hand out entries as stored, for copying into another pack.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { StoreError, corrupt } from '../errors.js';
import { hashObject, isObjectId, type ObjectId, type ObjectType, type RawObject } from '../objects.js';
import { DeltaBaseCache, DEFAULT_DELTA_BASE_CACHE_BYTES } from './cache.js';
import { applyDelta, parseDeltaHeader } from './delta.js';
import {
  MAX_ENTRY_HEADER_BYTES,
  OFS_DELTA,
  PACK_TYPE_CODES,
  PACK_HEADER_BYTES,
  PACK_TRAILER_BYTES,
  REF_DELTA,
  compressedBound,
  inflateExact,
  objectTypeOfCode,
  parseEntryHeader,
  parsePackHeader,
  type EntryHeader,
} from './format.js';
import { PackIndex } from './idx.js';

/** Looks up a REF_DELTA base that is not in this pack (in the rest of the object database). */
export type ResolveExternal = (id: ObjectId) => RawObject | undefined;

export const DEFAULT_MAX_DELTA_DEPTH = 4096;

export interface PackReaderOptions {
  /** Budget of the delta base cache in bytes (16 MiB by default). */
  deltaBaseCacheBytes?: number;
  /** Longest delta chain followed before the pack is called corrupt. */
  maxDeltaDepth?: number;
}

export interface ObjectInfo {
  type: ObjectType;
  size: number;
}

/** An entry's header as stored: what a writer must know before it copies the entry. */
export interface StoredHeader {
  /** Pack type code: 1-4 for a whole object, OFS_DELTA or REF_DELTA for a delta. */
  typeCode: number;
  /** The object's size, or for a delta the size of the delta data. */
  size: number;
  /** A delta's base (an OFS_DELTA's offset looked up in the index). */
  baseId?: ObjectId;
}

/** An entry exactly as stored, checked against its CRC32 in the index. */
export interface StoredEntry extends StoredHeader {
  /** The entry header, then the zlib data from `dataStart` on. */
  bytes: Buffer;
  dataStart: number;
  /** CRC32 of `bytes`, as the index records it. */
  crc32: number;
}

/** An entry met by a scan: its id and header now, its bytes when read() is called. */
export interface StoredRef extends StoredHeader {
  id: ObjectId;
  read(): StoredEntry;
}

/** An object read by rank (see PackReader.readRank). */
export interface RankedObject extends RawObject {
  /** The delta data it was built from, when it is stored as a delta and was resolved now. */
  delta?: Buffer;
  /** That delta's base, when it is in the same pack. */
  baseRank?: number;
}

interface TopDelta {
  keep: boolean;
  delta?: Buffer;
  baseRank?: number;
  /** The object came from the cache, with the delta it was built from. */
  cached?: CachedObject;
}

/** What the delta base cache holds: an object, and the delta it was built from if it was. */
interface CachedObject extends RawObject {
  delta?: Buffer;
  baseOffset?: number;
}

/** Blocks read ahead for readRank: how big, how many kept. */
const BULK_BLOCK_BYTES = 128 * 1024;
const BULK_BLOCKS = 8;

/** Entries up to this size are read with their header in one system call. */
const ONE_READ_BYTES = 64 * 1024;
/** What info() reads of an entry: its header and enough zlib data for a delta's sizes. */
const PEEK_BYTES = MAX_ENTRY_HEADER_BYTES + 512;
const VERIFY_CHUNK_BYTES = 1024 * 1024;
const READ_AHEAD_BYTES = 256 * 1024;

interface Entry {
  header: EntryHeader;
  /** The compressed data (possibly a bounded prefix of it when the extent is huge). */
  compressed: Buffer;
  /** Whether `compressed` is the whole extent up to the next entry. */
  whole: boolean;
  end: number;
}

function fsError(error: unknown, file: string): unknown {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new StoreError('ENOTFOUND', `${file} does not exist`, { cause: error });
  return error;
}

export class PackReader {
  readonly packFile: string;
  readonly idxFile: string;
  readonly objectCount: number;
  /** The pack's trailing SHA-1, hex: its name in `pack-<checksum>.pack`. */
  readonly checksum: string;
  private fd: number;
  private readonly packSize: number;
  private readonly index: PackIndex;
  private readonly cache: DeltaBaseCache;
  private readonly maxDeltaDepth: number;
  private readonly name: string;
  /** Type code of the object each entry resolves to, by offset rank (0: not known yet). */
  private readonly resolvedTypes: Uint8Array;
  /** The block read ahead for stored reads, and the rank of the last entry they read. */
  private readAhead: { offset: number; bytes: Buffer } | undefined;
  private lastStoredRank = -1;
  /** Blocks read for readRank (most recent first): a walk reads nearby entries one after another. */
  private blocks: { offset: number; bytes: Buffer }[] = [];
  private bulk = false;

  private constructor(packFile: string, fd: number, packSize: number, index: PackIndex, options: PackReaderOptions) {
    this.packFile = packFile;
    this.idxFile = index.file;
    this.fd = fd;
    this.packSize = packSize;
    this.index = index;
    this.objectCount = index.objectCount;
    this.checksum = index.packChecksum.toString('hex');
    this.cache = new DeltaBaseCache(options.deltaBaseCacheBytes ?? DEFAULT_DELTA_BASE_CACHE_BYTES);
    this.maxDeltaDepth = options.maxDeltaDepth ?? DEFAULT_MAX_DELTA_DEPTH;
    this.name = path.basename(packFile);
    this.resolvedTypes = new Uint8Array(index.objectCount);
  }

  /**
   * Opens `<x>.pack` with `<x>.idx` and checks that the two belong together; `idxBytes` is
   * the index's content when the caller has it at hand (it just wrote it).
   */
  static open(packFile: string, options: PackReaderOptions = {}, idxBytes?: Buffer): PackReader {
    if (!packFile.endsWith('.pack')) throw new StoreError('EINVAL', `${packFile} is not a .pack file`);
    const idxFile = `${packFile.slice(0, -'.pack'.length)}.idx`;
    let fd: number;
    try {
      fd = fs.openSync(packFile, 'r');
    } catch (error) {
      throw fsError(error, packFile);
    }
    try {
      const packSize = fs.fstatSync(fd).size;
      if (packSize < PACK_HEADER_BYTES + PACK_TRAILER_BYTES) throw corrupt(`${packFile} is truncated (${packSize} bytes)`);
      const declaredCount = parsePackHeader(readAt(fd, 0, PACK_HEADER_BYTES, packFile), packFile);
      const trailer = readAt(fd, packSize - PACK_TRAILER_BYTES, PACK_TRAILER_BYTES, packFile);
      try {
        idxBytes ??= fs.readFileSync(idxFile);
      } catch (error) {
        throw fsError(error, idxFile);
      }
      const index = new PackIndex(idxBytes, idxFile, packSize - PACK_TRAILER_BYTES);
      if (index.objectCount !== declaredCount) {
        throw corrupt(`${idxFile} lists ${index.objectCount} objects but ${packFile} declares ${declaredCount}`);
      }
      if (!index.packChecksum.equals(trailer)) throw corrupt(`${idxFile} does not belong to ${packFile} (pack checksum differs)`);
      return new PackReader(packFile, fd, packSize, index, options);
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  }

  has(id: ObjectId): boolean {
    return this.positionOf(id) >= 0;
  }

  /** Where the entry of `id` starts in the pack, or undefined when the pack lacks it. */
  offsetOf(id: ObjectId): number | undefined {
    const position = this.positionOf(id);
    return position < 0 ? undefined : this.index.offsetAt(position);
  }

  /** All ids in the pack, in index (sorted) order. */
  *ids(): IterableIterator<ObjectId> {
    for (let position = 0; position < this.objectCount; position++) yield this.index.idAt(position);
  }

  /**
   * The object, resolved through its delta chain and checked against `id`; undefined if
   * absent. The content may be shared with the delta base cache: treat it as read-only.
   */
  read(id: ObjectId, resolveExternal?: ResolveExternal): RawObject | undefined {
    const offset = this.offsetOf(id);
    if (offset === undefined) return undefined;
    const object = this.resolve(offset, id, resolveExternal);
    const actual = hashObject(object.type, object.content);
    if (actual !== id) throw corrupt(`${this.name}: object ${id} hashes to ${actual}`);
    return object;
  }

  /**
   * Type and size without inflating the object: the size comes from the entry header, or
   * for a delta from the delta's own header; the type from the base at the end of the chain.
   * Headers only: unlike read(), nothing is hashed, so a damaged pack can give a wrong answer.
   */
  info(id: ObjectId, resolveExternal?: ResolveExternal): ObjectInfo | undefined {
    let offset = this.offsetOf(id);
    if (offset === undefined) return undefined;
    let size: number | undefined;
    for (let depth = 0; ; depth++) {
      if (depth > this.maxDeltaDepth) throw corrupt(`${this.name}: delta chain too deep at ${id}`);
      const where = this.where(offset, id);
      const rank = this.rankOf(offset, where);
      const knownType = objectTypeOfCode(this.resolvedTypes[rank]!);
      if (knownType !== undefined && size !== undefined) return { type: knownType, size };
      const end = this.extentEnd(rank);
      const peek = this.readBytes(offset, Math.min(PEEK_BYTES, end - offset));
      const header = parseEntryHeader(peek, offset, where);
      const type = objectTypeOfCode(header.typeCode);
      if (type !== undefined) return { type, size: size ?? header.size };
      size ??= this.deltaResultSize(offset, header, peek.subarray(header.dataOffset - offset), end, where);
      if (knownType !== undefined) return { type: knownType, size };
      const baseOffset = this.baseOffsetOf(header, where);
      if (baseOffset === undefined) {
        const base = this.external(header.baseId!, id, resolveExternal);
        return { type: base.type, size };
      }
      offset = baseOffset;
    }
  }

  /** The entry header of `id` as stored, read without inflating anything; undefined if absent. */
  storedHeader(id: ObjectId): StoredHeader | undefined {
    const offset = this.offsetOf(id);
    if (offset === undefined) return undefined;
    const where = this.where(offset, id);
    return this.storedHeaderAt(this.rankOf(offset, where), where);
  }

  /**
   * The entry of `id` byte for byte, for copying into another pack without inflating it (git's
   * pack reuse); undefined if absent. Like git before it reuses an entry, checks the CRC32 the
   * index recorded when the entry was written: a damaged entry is ECORRUPT naming `id`.
   */
  storedEntry(id: ObjectId): StoredEntry | undefined {
    const position = this.positionOf(id);
    if (position < 0) return undefined;
    const offset = this.index.offsetAt(position);
    return this.storedEntryAt(position, this.rankOf(offset, this.where(offset, id)), id);
  }

  /**
   * Every entry in pack order, with its header as stored and its bytes (storedEntry) read when
   * asked for: how repack copies packs. Scanned in this order, a pack is read a block at a time.
   */
  *storedEntries(): IterableIterator<StoredRef> {
    for (let rank = 0; rank < this.objectCount; rank++) {
      const position = this.index.positionsByOffset[rank]!;
      const id = this.index.idAt(position);
      const { typeCode, size, baseId } = this.storedHeaderAt(rank, this.where(this.index.sortedOffsets[rank]!, id));
      yield { id, typeCode, size, baseId, read: () => this.storedEntryAt(position, rank, id) };
    }
  }

  /**
   * Reads and checks everything: the pack checksum, the id order, every entry's CRC32
   * against the index, every object's inflation and hash.
   */
  verify(resolveExternal?: ResolveExternal): void {
    this.index.checkIdOrder();
    const hash = createHash('sha1');
    const dataEnd = this.packSize - PACK_TRAILER_BYTES;
    for (let at = 0; at < dataEnd; at += VERIFY_CHUNK_BYTES) {
      hash.update(this.readBytes(at, Math.min(VERIFY_CHUNK_BYTES, dataEnd - at)));
    }
    if (!hash.digest().equals(this.index.packChecksum)) throw corrupt(`${this.packFile} does not match its checksum`);
    const offsets = this.index.sortedOffsets;
    if (this.objectCount > 0 && offsets[0] !== PACK_HEADER_BYTES) throw corrupt(`${this.packFile}: the first entry is not indexed`);
    for (let rank = 0; rank < this.objectCount; rank++) {
      const position = this.index.positionsByOffset[rank]!;
      const id = this.index.idAt(position);
      const start = offsets[rank]!;
      const end = this.extentEnd(rank);
      let crc = 0;
      for (let at = start; at < end; at += VERIFY_CHUNK_BYTES) {
        crc = zlib.crc32(this.readBytes(at, Math.min(VERIFY_CHUNK_BYTES, end - at)), crc);
      }
      if (crc !== this.index.crc32At(position)) throw corrupt(`${this.name}: object ${id} fails its CRC32 check`);
      this.read(id, resolveExternal);
    }
  }

  // ---- pack order, for bulk readers (a server's object walk and its pack reuse) ----------

  /** The rank (place in pack order, 0 the first entry) of the raw id at `bytes[at]`, or -1. */
  rankOfId(bytes: Uint8Array, at = 0): number {
    const position = this.index.findAt(bytes, at);
    return position < 0 ? -1 : this.index.rankOfPosition(position);
  }

  idOfRank(rank: number): ObjectId {
    return this.index.idAt(this.index.positionsByOffset[rank]!);
  }

  /** The raw id of the entry at `rank`: a view of the index, not to be modified. */
  idBytesOfRank(rank: number): Buffer {
    return this.index.idBytesAt(this.index.positionsByOffset[rank]!);
  }

  /** Where the entry at `rank` starts and ends (the next entry, or the trailer). */
  offsetOfRank(rank: number): number {
    return this.index.sortedOffsets[rank]!;
  }

  endOfRank(rank: number): number {
    return this.extentEnd(rank);
  }

  /** The rank of the entry starting at `offset`, or -1 when none does. */
  rankAtOffset(offset: number): number {
    return this.index.rankOfOffset(offset);
  }

  /** The CRC32 the index records for the entry at `rank`. */
  crc32OfRank(rank: number): number {
    return this.index.crc32At(this.index.positionsByOffset[rank]!);
  }

  /** Raw pack bytes, for copying runs of entries as they are stored. */
  readRange(offset: number, length: number): Buffer {
    if (offset < 0 || offset + length > this.packSize) throw new StoreError('EINVAL', `${this.name}: range ${offset}+${length} is outside the pack`);
    return this.readBytes(offset, length);
  }

  /**
   * The object at `rank`, resolved; with `delta` (and `baseRank` when the base is in this pack)
   * when it was built from a delta read just now, so a caller can tell what the delta kept of
   * its base. `verify: false` skips hashing the result: zlib's own checksum then guards the data
   * (for walks that read every tree of a history, where hashing would cost more than the rest).
   * `keep` caches the result as a delta base (a walk reads a chain from its base outwards);
   * `delta` asks for the delta even when the object came from that cache.
   */
  readRank(rank: number, options: { verify?: boolean; keep?: boolean; delta?: boolean; resolveExternal?: ResolveExternal } = {}): RankedObject {
    const offset = this.index.sortedOffsets[rank]!;
    const id = this.idOfRank(rank);
    const top: TopDelta = { keep: options.keep ?? false };
    let object: RawObject;
    this.bulk = true;
    try {
      object = this.resolve(offset, id, options.resolveExternal, top);
      if (options.delta === true && top.delta === undefined && top.cached === undefined) {
        // Taken whole from the cache: read the delta itself, if it is one.
        const where = this.where(offset, id);
        const entry = this.readEntry(offset, this.extentEnd(rank), where);
        if (objectTypeOfCode(entry.header.typeCode) === undefined) {
          top.delta = this.inflateEntry(entry, where);
          const baseOffset = this.baseOffsetOf(entry.header, where);
          if (baseOffset !== undefined) top.baseRank = this.index.rankOfOffset(baseOffset);
        }
      }
    } finally {
      this.bulk = false;
    }
    if (top.cached !== undefined) {
      top.delta = top.cached.delta;
      if (top.cached.baseOffset !== undefined) top.baseRank = this.index.rankOfOffset(top.cached.baseOffset);
    }
    if (options.verify ?? true) {
      const actual = hashObject(object.type, object.content);
      if (actual !== id) throw corrupt(`${this.name}: object ${id} hashes to ${actual}`);
    }
    const ranked: RankedObject = { type: object.type, content: object.content };
    if (top.delta !== undefined) ranked.delta = top.delta;
    if (top.baseRank !== undefined && top.baseRank >= 0) ranked.baseRank = top.baseRank;
    return ranked;
  }

  /** Lets go of cached bases and read-ahead blocks (the reader stays open). */
  trim(): void {
    this.cache.clear();
    this.readAhead = undefined;
    this.blocks = [];
  }

  close(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
    this.trim();
  }

  // ---- internals -------------------------------------------------------------------------

  private positionOf(id: ObjectId): number {
    return isObjectId(id) ? this.index.find(Buffer.from(id, 'hex')) : -1;
  }

  private where(offset: number, id: ObjectId): string {
    return `${this.name}: object at offset ${offset} (reading ${id})`;
  }

  /** Follows the chain down to a full object (or cached base), then applies deltas back up. */
  private resolve(offset: number, id: ObjectId, resolveExternal: ResolveExternal | undefined, top?: TopDelta): RawObject {
    const deltas: { offset: number; rank: number; delta: Buffer; baseOffset: number | undefined }[] = [];
    const visited = new Set<number>();
    let base: CachedObject | undefined;
    let at = offset;
    while (base === undefined) {
      base = this.cache.get(at);
      if (base !== undefined) {
        if (at === offset) {
          // The object itself was cached (as a base): hand out a copy without what the cache keeps with it.
          if (top !== undefined && base.delta !== undefined) top.cached = base;
          return { type: base.type, content: base.content };
        }
        break;
      }
      if (deltas.length > this.maxDeltaDepth) throw corrupt(`${this.name}: delta chain too deep at ${id}`);
      if (visited.has(at)) throw corrupt(`${this.name}: delta chain of ${id} loops at offset ${at}`);
      visited.add(at);
      const where = this.where(at, id);
      const rank = this.rankOf(at, where);
      const entry = this.readEntry(at, this.extentEnd(rank), where);
      const data = this.inflateEntry(entry, where);
      const type = objectTypeOfCode(entry.header.typeCode);
      if (type !== undefined) {
        base = { type, content: data };
        if (deltas.length > 0) this.cache.set(at, base);
        break;
      }
      const baseOffset = this.baseOffsetOf(entry.header, where);
      deltas.push({ offset: at, rank, delta: data, baseOffset });
      if (baseOffset === undefined) base = this.external(entry.header.baseId!, id, resolveExternal);
      else at = baseOffset;
    }
    for (let i = deltas.length - 1; i >= 0; i--) {
      const { offset: deltaOffset, rank, delta, baseOffset } = deltas[i]!;
      const content = applyDelta(base.content, delta, this.where(deltaOffset, id));
      this.resolvedTypes[rank] = PACK_TYPE_CODES[base.type];
      // A cached base keeps its delta: a walk that meets it later asks what the delta kept.
      if (i > 0 || top?.keep === true) {
        base = baseOffset === undefined ? { type: base.type, content, delta } : { type: base.type, content, delta, baseOffset };
        this.cache.set(deltaOffset, base);
      } else {
        base = { type: base.type, content };
      }
    }
    const first = deltas[0];
    if (top !== undefined && first !== undefined && first.offset === offset) {
      top.delta = first.delta;
      if (first.baseOffset !== undefined) top.baseRank = this.index.rankOfOffset(first.baseOffset);
    }
    return base.delta === undefined ? base : { type: base.type, content: base.content };
  }

  private storedHeaderAt(rank: number, where: string): StoredHeader {
    const offset = this.index.sortedOffsets[rank]!;
    const head = this.readStored(offset, Math.min(MAX_ENTRY_HEADER_BYTES, this.extentEnd(rank) - offset), rank);
    const header = parseEntryHeader(head, offset, where);
    const stored: StoredHeader = { typeCode: header.typeCode, size: header.size };
    const baseId = this.storedBaseOf(header, where);
    if (baseId !== undefined) stored.baseId = baseId;
    return stored;
  }

  private storedEntryAt(position: number, rank: number, id: ObjectId): StoredEntry {
    const offset = this.index.sortedOffsets[rank]!;
    const where = this.where(offset, id);
    const length = this.extentEnd(rank) - offset;
    const head = this.readStored(offset, length <= ONE_READ_BYTES ? length : MAX_ENTRY_HEADER_BYTES, rank);
    const header = parseEntryHeader(head, offset, where);
    const dataStart = header.dataOffset - offset;
    // No zlib stream is longer than this: a longer extent is damage, not gigabytes to read.
    if (length - dataStart > compressedBound(header.size)) throw corrupt(`${where}: entry is longer than its data can be`);
    const bytes = head.length === length ? head : this.readStored(offset, length, rank);
    const crc32 = zlib.crc32(bytes);
    if (crc32 !== this.index.crc32At(position)) throw corrupt(`${this.name}: object ${id} fails its CRC32 check`);
    const entry: StoredEntry = { typeCode: header.typeCode, size: header.size, bytes, dataStart, crc32 };
    const baseId = this.storedBaseOf(header, where);
    if (baseId !== undefined) entry.baseId = baseId;
    return entry;
  }

  /** A delta's base by id, an OFS_DELTA's looked up by offset in the index. */
  private storedBaseOf(header: EntryHeader, where: string): ObjectId | undefined {
    if (header.typeCode === REF_DELTA) return header.baseId!;
    if (header.typeCode !== OFS_DELTA) return undefined;
    const rank = this.index.rankOfOffset(header.baseOffset!);
    if (rank < 0) throw corrupt(`${where}: delta base offset ${header.baseOffset} is not an object`);
    return this.index.idAt(this.index.positionsByOffset[rank]!);
  }

  private external(baseId: ObjectId, id: ObjectId, resolveExternal: ResolveExternal | undefined): RawObject {
    const base = resolveExternal?.(baseId);
    if (base === undefined) throw corrupt(`${this.name}: delta base ${baseId} of ${id} is not in the pack or the store`);
    return base;
  }

  /** The base's offset for OFS_DELTA and for a REF_DELTA whose base is in this pack. */
  private baseOffsetOf(header: EntryHeader, where: string): number | undefined {
    if (header.typeCode === OFS_DELTA) {
      const baseOffset = header.baseOffset!;
      if (this.index.rankOfOffset(baseOffset) < 0) throw corrupt(`${where}: delta base offset ${baseOffset} is not an object`);
      return baseOffset;
    }
    if (header.typeCode !== REF_DELTA) return undefined;
    const position = this.index.find(Buffer.from(header.baseId!, 'hex'));
    return position < 0 ? undefined : this.index.offsetAt(position);
  }

  private extentEnd(rank: number): number {
    return rank + 1 < this.objectCount ? this.index.sortedOffsets[rank + 1]! : this.packSize - PACK_TRAILER_BYTES;
  }

  private rankOf(offset: number, where: string): number {
    const rank = this.index.rankOfOffset(offset);
    if (rank < 0) throw corrupt(`${where}: no object starts there`);
    return rank;
  }

  private readEntry(offset: number, end: number, where: string): Entry {
    if (end - offset <= ONE_READ_BYTES) {
      const bytes = this.bulk ? this.readBlocked(offset, end - offset) : this.readBytes(offset, end - offset);
      const header = parseEntryHeader(bytes, offset, where);
      return { header, compressed: bytes.subarray(header.dataOffset - offset), whole: true, end };
    }
    const header = parseEntryHeader(this.readBytes(offset, MAX_ENTRY_HEADER_BYTES), offset, where);
    // A gap after the entry (only in a damaged or odd pack) must not make us read gigabytes.
    const length = Math.min(end - header.dataOffset, compressedBound(header.size));
    return { header, compressed: this.readBytes(header.dataOffset, length), whole: header.dataOffset + length === end, end };
  }

  private inflateEntry(entry: Entry, where: string): Buffer {
    let inflated = inflateExact(entry.compressed, entry.header.size, where);
    if (inflated === 'truncated' && !entry.whole) {
      const whole = this.readBytes(entry.header.dataOffset, entry.end - entry.header.dataOffset);
      entry = { ...entry, compressed: whole, whole: true };
      inflated = inflateExact(whole, entry.header.size, where);
    }
    if (inflated === 'truncated') throw corrupt(`${where}: zlib data is truncated`);
    if (entry.whole && inflated.consumed !== entry.compressed.length) {
      throw corrupt(`${where}: zlib data ends ${entry.compressed.length - inflated.consumed} bytes before the next object`);
    }
    return inflated.data;
  }

  /** A delta's result size, from the first bytes of its data (`start`), else from all of it. */
  private deltaResultSize(offset: number, header: EntryHeader, start: Buffer, end: number, where: string): number {
    let head: Buffer;
    try {
      // The sizes are in the first few bytes: small output chunks, not zlib's 16 KiB each.
      head = zlib.inflateSync(start, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: Math.max(1, header.size), chunkSize: 64 });
    } catch (error) {
      throw corrupt(`${where}: bad zlib data (${(error as Error).message})`, error);
    }
    const sizes = parseDeltaHeader(head, where) ?? parseDeltaHeader(this.inflateEntry(this.readEntry(offset, end, where), where), where);
    if (sizes === undefined) throw corrupt(`${where}: delta header is truncated`);
    return sizes.resultSize;
  }

  /**
   * Bytes of the entry at `rank` for the stored reads. Asked for in pack order, they are
   * read a block at a time (a repack copies whole packs; one system call per small entry would
   * cost more than the copy); asked for out of order, exactly what is asked, and the block is
   * let go (a long-lived reader read at random holds none).
   */
  private readStored(offset: number, length: number, rank: number): Buffer {
    const inOrder = rank === this.lastStoredRank || rank === this.lastStoredRank + 1;
    this.lastStoredRank = rank;
    const ahead = this.readAhead;
    if (ahead !== undefined && offset >= ahead.offset && offset + length <= ahead.offset + ahead.bytes.length) {
      return ahead.bytes.subarray(offset - ahead.offset, offset - ahead.offset + length);
    }
    this.readAhead = undefined;
    if (!inOrder || length >= READ_AHEAD_BYTES) return this.readBytes(offset, length);
    const block = this.readBytes(offset, Math.min(READ_AHEAD_BYTES, this.packSize - PACK_TRAILER_BYTES - offset));
    this.readAhead = { offset, bytes: block };
    return block.subarray(0, length);
  }

  /** Bytes through the blocks of bulk reads: a block from `offset` on is read when none holds them. */
  private readBlocked(offset: number, length: number): Buffer {
    const blocks = this.blocks;
    for (const block of blocks) {
      const at = offset - block.offset;
      if (at >= 0 && at + length <= block.bytes.length) return block.bytes.subarray(at, at + length);
    }
    if (length > BULK_BLOCK_BYTES / 2) return this.readBytes(offset, length);
    const bytes = this.readBytes(offset, Math.max(length, Math.min(BULK_BLOCK_BYTES, this.packSize - PACK_TRAILER_BYTES - offset)));
    blocks.unshift({ offset, bytes });
    if (blocks.length > BULK_BLOCKS) blocks.pop();
    return bytes.subarray(0, length);
  }

  private readBytes(offset: number, length: number): Buffer {
    if (this.fd < 0) throw new StoreError('EINVAL', `${this.packFile} is closed`);
    return readAt(this.fd, offset, length, this.packFile);
  }
}

function readAt(fd: number, offset: number, length: number, file: string): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const count = fs.readSync(fd, buffer, done, length - done, offset + done);
    if (count === 0) throw corrupt(`${file} is truncated at ${offset + done}`);
    done += count;
  }
  return buffer;
}
