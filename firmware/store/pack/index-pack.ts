/**
 * Builds the .idx of a bare .pack, as `git index-pack` does: one sequential walk finds each
 * entry's extent (where its zlib stream ends), CRC32 and header; then every delta is
 * resolved from its base outwards (a depth-first walk of the delta tree, so each base is
 * inflated once) and every object hashed. Any damage fails the whole run and no .idx is
 * written.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { sha1 } from '../../native.js';
import { StoreError, corrupt } from '../errors.js';
import { hashObject, type ObjectId, type ObjectType, type RawObject } from '../objects.js';
import { applyDelta } from './delta.js';
import {
  MAX_ENTRY_HEADER_BYTES,
  OFS_DELTA,
  PACK_HEADER_BYTES,
  PACK_TRAILER_BYTES,
  REF_DELTA,
  compressedBound,
  inflateExact,
  objectTypeOfCode,
  parseEntryHeader,
  parsePackHeader,
} from './format.js';
import { encodePackIndex, type PackIndexEntry } from './idx.js';
import { DEFAULT_MAX_DELTA_DEPTH, type ResolveExternal } from './reader.js';
import { installFile } from './writer.js';

export interface IndexPackOptions {
  /** fsync the .idx and the directory (default true). */
  durable?: boolean;
  maxDeltaDepth?: number;
}

export interface IndexedPack {
  idxFile: string;
  checksum: string;
  objectCount: number;
}

interface ScannedEntry {
  offset: number;
  typeCode: number;
  dataOffset: number;
  end: number;
  size: number;
  crc32: number;
  baseOffset?: number;
  baseId?: ObjectId;
}

const HASH_CHUNK_BYTES = 1024 * 1024;
const HASH_BATCH_BYTES = 8 * 1024 * 1024;
const HASH_BATCH_OBJECTS = 4096;

export function indexPack(packFile: string, resolveExternal?: ResolveExternal, options: IndexPackOptions = {}): IndexedPack {
  if (!packFile.endsWith('.pack')) throw new StoreError('EINVAL', `${packFile} is not a .pack file`);
  const idxFile = `${packFile.slice(0, -'.pack'.length)}.idx`;
  let fd: number;
  try {
    fd = fs.openSync(packFile, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new StoreError('ENOTFOUND', `${packFile} does not exist`);
    throw error;
  }
  try {
    const indexer = new PackIndexer(fd, packFile, options.maxDeltaDepth ?? DEFAULT_MAX_DELTA_DEPTH);
    const entries = indexer.run(resolveExternal);
    installFile(idxFile, encodePackIndex(entries, indexer.trailer), options.durable ?? true);
    return { idxFile, checksum: indexer.trailer.toString('hex'), objectCount: entries.length };
  } finally {
    fs.closeSync(fd);
  }
}

class PackIndexer {
  readonly trailer: Buffer;
  private readonly name: string;
  private readonly dataEnd: number;
  private readonly scanned: ScannedEntry[] = [];
  private readonly ids: (ObjectId | undefined)[] = [];
  /** Deltas waiting for their base, by the base's offset or id. */
  private readonly ofsChildren = new Map<number, number[]>();
  private readonly refChildren = new Map<ObjectId, number[]>();

  constructor(
    private readonly fd: number,
    private readonly file: string,
    private readonly maxDeltaDepth: number,
  ) {
    this.name = path.basename(file);
    const size = fs.fstatSync(fd).size;
    if (size < PACK_HEADER_BYTES + PACK_TRAILER_BYTES) throw corrupt(`${file} is truncated (${size} bytes)`);
    this.dataEnd = size - PACK_TRAILER_BYTES;
    this.trailer = this.read(this.dataEnd, PACK_TRAILER_BYTES);
  }

  run(resolveExternal: ResolveExternal | undefined): PackIndexEntry[] {
    this.checkTrailer();
    const count = parsePackHeader(this.read(0, PACK_HEADER_BYTES), this.file);
    this.scan(count);
    this.resolveDeltas(resolveExternal);
    const entries: PackIndexEntry[] = [];
    const seen = new Set<ObjectId>();
    this.scanned.forEach((entry, i) => {
      const id = this.ids[i];
      if (id === undefined) {
        const base = entry.baseId ?? `offset ${entry.baseOffset}`;
        throw corrupt(`${this.name}: delta at offset ${entry.offset} has no base (${base})`);
      }
      if (seen.has(id)) throw corrupt(`${this.name}: object ${id} appears twice`);
      seen.add(id);
      entries.push({ id, offset: entry.offset, crc32: entry.crc32 });
    });
    return entries;
  }

  private checkTrailer(): void {
    const hash = createHash('sha1');
    for (let at = 0; at < this.dataEnd; at += HASH_CHUNK_BYTES) {
      hash.update(this.read(at, Math.min(HASH_CHUNK_BYTES, this.dataEnd - at)));
    }
    if (!hash.digest().equals(this.trailer)) throw corrupt(`${this.file} does not match its checksum (damaged or truncated)`);
  }

  /** Pass 1: walk the entries in order; hash the whole objects in batches as they go by. */
  private scan(count: number): void {
    let batch: { index: number; type: ObjectType; content: Buffer }[] = [];
    let batchBytes = 0;
    const flush = (): void => {
      if (batch.length === 0) return;
      const ids = sha1.hashObjects(
        batch.map((b) => b.type),
        batch.map((b) => b.content),
      );
      batch.forEach((b, i) => (this.ids[b.index] = ids.toString('hex', i * 20, i * 20 + 20)));
      batch = [];
      batchBytes = 0;
    };
    let offset = PACK_HEADER_BYTES;
    for (let index = 0; index < count; index++) {
      if (offset >= this.dataEnd) throw corrupt(`${this.name}: pack ends after ${index} of ${count} objects`);
      const where = `${this.name}: object at offset ${offset}`;
      const headerBytes = this.read(offset, Math.min(MAX_ENTRY_HEADER_BYTES, this.dataEnd - offset));
      const header = parseEntryHeader(headerBytes, offset, where);
      const { data, consumed, compressed } = this.inflateAt(header.dataOffset, header.size, where);
      const end = header.dataOffset + consumed;
      const crc32 = zlib.crc32(compressed.subarray(0, consumed), zlib.crc32(headerBytes.subarray(0, header.dataOffset - offset)));
      const entry: ScannedEntry = { offset, typeCode: header.typeCode, dataOffset: header.dataOffset, end, size: header.size, crc32 };
      if (header.typeCode === OFS_DELTA) entry.baseOffset = header.baseOffset!;
      if (header.typeCode === REF_DELTA) entry.baseId = header.baseId!;
      this.scanned.push(entry);
      this.ids.push(undefined);
      const type = objectTypeOfCode(header.typeCode);
      if (type !== undefined) {
        batch.push({ index, type, content: data });
        batchBytes += data.length;
        if (batchBytes >= HASH_BATCH_BYTES || batch.length >= HASH_BATCH_OBJECTS) flush();
      }
      offset = end;
    }
    flush();
    if (offset !== this.dataEnd) throw corrupt(`${this.name}: ${this.dataEnd - offset} stray bytes after the last object`);
  }

  /** Inflates the zlib stream at `dataOffset` without knowing where it ends. */
  private inflateAt(dataOffset: number, size: number, where: string): { data: Buffer; consumed: number; compressed: Buffer } {
    let length = Math.min(this.dataEnd - dataOffset, compressedBound(size));
    for (;;) {
      const compressed = this.read(dataOffset, length);
      const inflated = inflateExact(compressed, size, where);
      if (inflated !== 'truncated') return { ...inflated, compressed };
      if (dataOffset + length >= this.dataEnd) throw corrupt(`${where}: zlib data is truncated`);
      length = Math.min(this.dataEnd - dataOffset, length * 2);
    }
  }

  /** Pass 2: from every whole object (and then every outside base), resolve its delta tree. */
  private resolveDeltas(resolveExternal: ResolveExternal | undefined): void {
    const indexByOffset = new Map<number, number>();
    this.scanned.forEach((entry, i) => indexByOffset.set(entry.offset, i));
    this.scanned.forEach((entry, i) => {
      if (entry.baseOffset !== undefined) {
        if (!indexByOffset.has(entry.baseOffset)) throw corrupt(`${this.name}: delta at offset ${entry.offset} has a base offset that is not an object`);
        push(this.ofsChildren, entry.baseOffset, i);
      } else if (entry.baseId !== undefined) {
        push(this.refChildren, entry.baseId, i);
      }
    });
    this.scanned.forEach((entry, i) => {
      const type = objectTypeOfCode(entry.typeCode);
      if (type === undefined) return;
      const id = this.ids[i]!;
      const children = this.takeChildren(entry.offset, id);
      if (children.length > 0) this.resolveTree({ type, content: this.inflateEntry(i) }, children);
    });
    // Bases outside the pack (a thin pack). A key that is itself a delta in this pack may get
    // resolved by an earlier subtree here; one the store lacks may be resolved that way too.
    for (const baseId of [...this.refChildren.keys()]) {
      if (!this.refChildren.has(baseId)) continue;
      const base = resolveExternal?.(baseId);
      if (base === undefined) continue;
      this.resolveTree(base, this.takeChildren(undefined, baseId));
    }
  }

  /** The deltas built on the object at `offset` with `id`; ref children are handed out once. */
  private takeChildren(offset: number | undefined, id: ObjectId): number[] {
    const byRef = this.refChildren.get(id);
    this.refChildren.delete(id);
    const byOffset = offset === undefined ? undefined : this.ofsChildren.get(offset);
    return [...(byOffset ?? []), ...(byRef ?? [])];
  }

  /** Depth-first over the deltas built on `root`, holding one object per level. */
  private resolveTree(root: RawObject, rootChildren: number[]): void {
    const stack = [{ object: root, children: rootChildren, next: 0 }];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      if (frame.next >= frame.children.length) {
        stack.pop();
        continue;
      }
      const child = frame.children[frame.next++]!;
      const entry = this.scanned[child]!;
      if (stack.length > this.maxDeltaDepth) throw corrupt(`${this.name}: delta chain too deep at offset ${entry.offset}`);
      const where = `${this.name}: object at offset ${entry.offset}`;
      const content = applyDelta(frame.object.content, this.inflateEntry(child), where);
      const object = { type: frame.object.type, content };
      const id = hashObject(object.type, content);
      this.ids[child] = id;
      stack.push({ object, children: this.takeChildren(entry.offset, id), next: 0 });
    }
  }

  private inflateEntry(index: number): Buffer {
    const entry = this.scanned[index]!;
    const inflated = inflateExact(this.read(entry.dataOffset, entry.end - entry.dataOffset), entry.size, `${this.name}: object at offset ${entry.offset}`);
    if (inflated === 'truncated') throw corrupt(`${this.name}: object at offset ${entry.offset} changed while indexing`);
    return inflated.data;
  }

  private read(offset: number, length: number): Buffer {
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const count = fs.readSync(this.fd, buffer, done, length - done, offset + done);
      if (count === 0) throw corrupt(`${this.file} is truncated at ${offset + done}`);
      done += count;
    }
    return buffer;
  }
}

function push<K>(map: Map<K, number[]>, key: K, value: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
