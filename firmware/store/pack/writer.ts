/**
 * Writes packfiles git accepts: objects sorted the way git's delta search sorts them (type,
 * name hash, size descending, then input order — give objects newest first, as rev-list
 * does), each tried as a delta against the previous `window` objects of its type, stored as
 * OFS_DELTA when that is clearly smaller; entries stored in other packs are copied as they
 * are wherever the writer keeps their stored form. Output streams to a temp
 * file; the pack and then its .idx are renamed into place (a reader that finds the .idx
 * always finds the pack).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { sha1 } from '../../native.js';
import { fsyncDirectory } from '../../runtime/durable.js';
import { StoreError } from '../errors.js';
import type { ObjectId, ObjectType, RawObject } from '../objects.js';
import { DeltaIndex, createDeltaFrom, defaultMaxDeltaSize } from './delta.js';
import { OFS_DELTA, PACK_TYPE_CODES, encodeEntryHeader, encodeOffsetDistance, encodePackHeader } from './format.js';
import { encodePackIndex, type PackIndexEntry } from './idx.js';
import type { StoredEntry } from './reader.js';
import { temporaryName } from './temporaries.js';

export interface PackInput extends RawObject {
  /** Trusted when given (saves hashing); computed with the sha1 engine otherwise. */
  id?: ObjectId;
  /** A path or file name the object was seen under; groups likely delta pairs like git does. */
  nameHint?: string;
}

/** One object to pack whose content is loaded only when the writer reaches it. */
export interface PackSourceEntry {
  id: ObjectId;
  type: ObjectType;
  size: number;
  nameHint?: string;
  load(): Buffer;
  /** How the object is stored in an existing pack, so the writer can copy it as it is. */
  stored?: StoredSource;
}

/** A source's entry in an existing pack (see PackReader.storedHeader, storedEntry, storedEntries). */
export interface StoredSource {
  /** The base, when stored as a delta; the delta is reused only if its base is packed too. */
  deltaBase?: ObjectId;
  /** The entry's bytes, checked against their CRC32; called only when the writer copies them. */
  read(): StoredEntry;
}

export interface WritePackOptions {
  /** Try deltas between objects (default true). */
  deltas?: boolean;
  /** How many preceding objects of the same type to try as bases (default 10). */
  window?: number;
  /** Longest delta chain written (default 50). */
  depth?: number;
  /** fsync the files and the directory (default true). */
  durable?: boolean;
  /** zlib level, -1 (zlib's default) to 9. */
  compressionLevel?: number;
}

export interface WrittenPack {
  packFile: string;
  idxFile: string;
  /** Hex SHA-1 trailer of the pack, also in its name. */
  checksum: string;
  objectCount: number;
  deltaCount: number;
  packBytes: number;
}

export interface EncodedPack {
  checksum: Buffer;
  entries: PackIndexEntry[];
  deltaCount: number;
  packBytes: number;
}

const DEFAULT_WINDOW = 10;
const DEFAULT_DEPTH = 50;
/** git does not try to delta objects this small. */
const MIN_DELTA_SIZE = 50;
/** Nor objects this big (git's core.bigFileThreshold, smaller here: a board has little memory). */
const MAX_DELTA_SIZE = 64 * 1024 * 1024;
const HASH_BATCH_BYTES = 8 * 1024 * 1024;
const HASH_BATCH_OBJECTS = 4096;
const WRITE_BUFFER_BYTES = 1024 * 1024;
const TYPE_RANK: Readonly<Record<ObjectType, number>> = { tag: 0, blob: 1, tree: 2, commit: 3 };

/** git's pack_name_hash: the last 16 non-blank characters, the last ones weighing most. */
export function packNameHash(name: string | undefined): number {
  if (name === undefined) return 0;
  let hash = 0;
  for (const byte of Buffer.from(name, 'utf8')) {
    if (byte === 0x20 || (byte >= 0x09 && byte <= 0x0d)) continue;
    hash = ((hash >>> 2) + (byte << 24)) >>> 0;
  }
  return hash;
}

interface WindowSlot {
  content: Buffer;
  offset: number;
  depth: number;
  index?: DeltaIndex;
}

/**
 * Encodes entries as a pack, handing the bytes to `sink` in order (a file here; a socket for
 * a future upload-pack). Holds only the current object and the delta window in memory.
 */
export function encodePack(sources: readonly PackSourceEntry[], options: WritePackOptions, sink: (chunk: Buffer) => void): EncodedPack {
  return runSync(encodePackSteps(sources, options, sink));
}

/**
 * encodePack as steps: it yields after each object so an async caller can let others run.
 *
 * Stored entries are reused like git's pack-objects reuses them: a stored delta whose base is
 * in this pack too is copied (its base written first, at any point of the order), and a
 * stored whole object that gets no new delta is copied rather than recompressed.
 */
/**
 * The smallest zlib window that covers `size` bytes: zlib sets up (and clears) the whole
 * window for every stream, which for small objects costs more than compressing them.
 */
function windowBitsFor(size: number): number {
  return Math.min(15, Math.max(9, Math.ceil(Math.log2(size + 262))));
}

export function* encodePackSteps(
  sources: readonly PackSourceEntry[],
  options: WritePackOptions,
  sink: (chunk: Buffer) => void,
): Generator<void, EncodedPack> {
  const useDeltas = options.deltas ?? true;
  const windowSize = Math.max(0, options.window ?? DEFAULT_WINDOW);
  const maxDepth = Math.max(0, options.depth ?? DEFAULT_DEPTH);
  const level = options.compressionLevel ?? zlib.constants.Z_DEFAULT_COMPRESSION;
  // The delta search's order; without one, the caller's (a repack's is pack order, the fastest to copy in).
  const order = useDeltas ? deltaSearchOrder(sources) : sources.map((_, i) => i);

  const trailer = createHash('sha1');
  let packBytes = 0;
  const emit = (chunk: Buffer): void => {
    trailer.update(chunk);
    sink(chunk);
    packBytes += chunk.length;
  };
  emit(encodePackHeader(sources.length));

  const positions = new Map<ObjectId, number>();
  sources.forEach((source, i) => positions.set(source.id, i));
  // Per source: where it was written (-1: not yet), its delta depth, and the source its stored
  // delta can be reused against (-1: none, or not in this pack).
  const offsets = new Float64Array(sources.length).fill(-1);
  const depths = new Uint32Array(sources.length);
  const reuseBases = Int32Array.from(sources, (source) => {
    const baseId = source.stored?.deltaBase;
    return baseId === undefined ? -1 : (positions.get(baseId) ?? -1);
  });
  const inChain = new Uint8Array(sources.length);

  /** `i` after the unwritten bases its reusable delta chain needs, outermost base first. */
  const basesFirst = (i: number): number[] => {
    const chain = [i];
    inChain[i] = 1;
    for (let j = i; reuseBases[j]! >= 0 && offsets[reuseBases[j]!]! < 0; ) {
      const base = reuseBases[j]!;
      if (inChain[base]) {
        // Deltas from different packs can form a loop: write this one whole.
        reuseBases[j] = -1;
        break;
      }
      inChain[base] = 1;
      chain.push(base);
      j = base;
    }
    for (const j of chain) inChain[j] = 0;
    return chain.reverse();
  };

  const entries: PackIndexEntry[] = [];
  let deltaCount = 0;
  let window: WindowSlot[] = [];
  let windowType: ObjectType | undefined;
  const writeOne = (i: number, searchable: boolean): void => {
    const source = sources[i]!;
    const offset = packBytes;
    offsets[i] = offset;
    const base = reuseBases[i]!;
    if (base >= 0 && depths[base]! < maxDepth) {
      copyDelta(source, offsets[base]!);
      depths[i] = depths[base]! + 1;
      return;
    }
    const storedWhole = source.stored?.deltaBase === undefined ? source.stored : undefined;
    const deltable = searchable && useDeltas && source.size >= MIN_DELTA_SIZE && source.size <= MAX_DELTA_SIZE;
    if (storedWhole !== undefined && !deltable) {
      copyWhole(source);
      return;
    }
    const content = source.load();
    if (content.length !== source.size) {
      throw new StoreError('EINVAL', `object ${source.id} loaded ${content.length} bytes, expected ${source.size}`);
    }
    if (searchable && source.type !== windowType) {
      window = [];
      windowType = source.type;
    }
    const best = deltable ? bestDelta(window, content, maxDepth) : undefined;
    if (deltable && windowSize > 0) {
      window.push({ content, offset, depth: best ? best.base.depth + 1 : 0 });
      if (window.length > windowSize) window.shift();
    }
    if (best === undefined && storedWhole !== undefined) {
      copyWhole(source);
      return;
    }
    const header = best
      ? ofsDeltaHeader(best.delta.length, offset - best.base.offset)
      : encodeEntryHeader(PACK_TYPE_CODES[source.type], content.length);
    const data = best ? best.delta : content;
    const compressed = zlib.deflateSync(data, { level, windowBits: windowBitsFor(data.length) });
    emit(header);
    emit(compressed);
    entries.push({ id: source.id, offset, crc32: zlib.crc32(compressed, zlib.crc32(header)) });
    if (best) {
      depths[i] = best.base.depth + 1;
      deltaCount++;
    }
  };
  const copyWhole = (source: PackSourceEntry): void => {
    const stored = readStored(source);
    entries.push({ id: source.id, offset: packBytes, crc32: stored.crc32 });
    emit(stored.bytes);
  };
  // The stored delta data as it is, behind a new header: an OFS_DELTA on the base's new place.
  const copyDelta = (source: PackSourceEntry, baseOffset: number): void => {
    const stored = readStored(source);
    const header = ofsDeltaHeader(stored.size, packBytes - baseOffset);
    const data = stored.bytes.subarray(stored.dataStart);
    entries.push({ id: source.id, offset: packBytes, crc32: zlib.crc32(data, zlib.crc32(header)) });
    emit(header);
    emit(data);
    deltaCount++;
  };

  for (const i of order) {
    if (offsets[i]! >= 0) continue;
    // Bases pulled forward skip the delta search: they are out of the window's order.
    for (const j of basesFirst(i)) {
      writeOne(j, j === i);
      yield;
    }
  }
  const checksum = trailer.digest();
  sink(checksum);
  packBytes += checksum.length;
  return { checksum, entries, deltaCount, packBytes };
}

function ofsDeltaHeader(deltaSize: number, distance: number): Buffer {
  return Buffer.concat([encodeEntryHeader(OFS_DELTA, deltaSize), encodeOffsetDistance(distance)]);
}

/** git's: by type, then name hash, then size descending, then input order. */
function deltaSearchOrder(sources: readonly PackSourceEntry[]): number[] {
  const hashes = sources.map((source) => packNameHash(source.nameHint));
  const order = sources.map((_, i) => i);
  return order.sort((a, b) => {
    const x = sources[a]!;
    const y = sources[b]!;
    return TYPE_RANK[x.type] - TYPE_RANK[y.type] || hashes[b]! - hashes[a]! || y.size - x.size || a - b;
  });
}

/** The stored entry of `source`, which must be the object the source describes. */
function readStored(source: PackSourceEntry): StoredEntry {
  const stored = source.stored!.read();
  const matches =
    stored.baseId === source.stored!.deltaBase &&
    (stored.baseId !== undefined || (stored.typeCode === PACK_TYPE_CODES[source.type] && stored.size === source.size));
  if (!matches) throw new StoreError('EINVAL', `the stored entry of ${source.id} does not match its source`);
  return stored;
}

/** The smallest acceptable delta against the window, newest candidates first (like git). */
function bestDelta(window: WindowSlot[], target: Buffer, maxDepth: number): { delta: Buffer; base: WindowSlot } | undefined {
  const baseLimit = defaultMaxDeltaSize(target.length);
  let best: { delta: Buffer; base: WindowSlot } | undefined;
  for (let i = window.length - 1; i >= 0; i--) {
    const base = window[i]!;
    if (base.depth >= maxDepth) continue;
    // Deeper bases must earn their place with a smaller delta (git's depth scaling).
    let limit = Math.floor((baseLimit * (maxDepth - base.depth)) / maxDepth);
    if (best !== undefined) limit = Math.min(limit, best.delta.length - 1);
    const sizeGrowth = target.length - base.content.length;
    if (sizeGrowth >= limit || target.length < base.content.length / 32) continue;
    base.index ??= new DeltaIndex(base.content);
    const delta = createDeltaFrom(base.index, target, limit);
    if (delta !== undefined) best = { delta, base };
  }
  return best;
}

/** Ids for inputs that lack one, hashed in batches by the sha1 engine. */
function withIds(objects: Iterable<PackInput>): PackSourceEntry[] {
  const sources: PackSourceEntry[] = [];
  let pending: { source: PackSourceEntry; content: Buffer }[] = [];
  let pendingBytes = 0;
  const flush = (): void => {
    if (pending.length === 0) return;
    const ids = sha1.hashObjects(
      pending.map((p) => p.source.type),
      pending.map((p) => p.content),
    );
    pending.forEach((p, i) => (p.source.id = ids.toString('hex', i * 20, i * 20 + 20)));
    pending = [];
    pendingBytes = 0;
  };
  for (const object of objects) {
    const content = object.content;
    const source: PackSourceEntry = { id: object.id ?? '', type: object.type, size: content.length, load: () => content };
    if (object.nameHint !== undefined) source.nameHint = object.nameHint;
    sources.push(source);
    if (object.id === undefined) {
      pending.push({ source, content });
      pendingBytes += content.length;
      if (pendingBytes >= HASH_BATCH_BYTES || pending.length >= HASH_BATCH_OBJECTS) flush();
    }
  }
  flush();
  // A pack (and git's index-pack) must not hold one object twice.
  const seen = new Set<ObjectId>();
  return sources.filter((source) => !seen.has(source.id) && seen.add(source.id));
}

/** Packs in-memory objects into `dir` (see writePackFrom). */
export function writePack(dir: string, objects: Iterable<PackInput>, options: WritePackOptions = {}): WrittenPack {
  return writePackFrom(dir, withIds(objects), options);
}

/** Writes `pack-<checksum>.pack` and `.idx` into `dir` from entries loaded one at a time. */
export function writePackFrom(dir: string, sources: readonly PackSourceEntry[], options: WritePackOptions = {}): WrittenPack {
  return runSync(writePackSteps(dir, sources, options));
}

/** writePackFrom, yielding to the event loop now and then (for gc in a running server). */
export function writePackFromAsync(dir: string, sources: readonly PackSourceEntry[], options: WritePackOptions = {}): Promise<WrittenPack> {
  return runAsync(writePackSteps(dir, sources, options));
}

function* writePackSteps(dir: string, sources: readonly PackSourceEntry[], options: WritePackOptions): Generator<void, WrittenPack> {
  const durable = options.durable ?? true;
  const tempPack = path.join(dir, temporaryName('pack'));
  const fd = fs.openSync(tempPack, 'wx', 0o444);
  let encoded: EncodedPack;
  try {
    try {
      let buffered: Buffer[] = [];
      let bufferedBytes = 0;
      const flush = (): void => {
        const data = Buffer.concat(buffered, bufferedBytes);
        for (let done = 0; done < data.length; ) done += fs.writeSync(fd, data, done);
        buffered = [];
        bufferedBytes = 0;
      };
      encoded = yield* encodePackSteps(sources, options, (chunk) => {
        buffered.push(chunk);
        bufferedBytes += chunk.length;
        if (bufferedBytes >= WRITE_BUFFER_BYTES) flush();
      });
      flush();
      if (durable) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    fs.rmSync(tempPack, { force: true });
    throw error;
  }
  const checksum = encoded.checksum.toString('hex');
  const packFile = path.join(dir, `pack-${checksum}.pack`);
  const idxFile = path.join(dir, `pack-${checksum}.idx`);
  try {
    fs.renameSync(tempPack, packFile);
  } catch (error) {
    fs.rmSync(tempPack, { force: true });
    throw error;
  }
  if (durable) fsyncDirectory(dir);
  installFile(idxFile, encodePackIndex(encoded.entries, encoded.checksum), durable);
  return { packFile, idxFile, checksum, objectCount: sources.length, deltaCount: encoded.deltaCount, packBytes: encoded.packBytes };
}

/** Writes `file` through a temp file and a rename, read-only like git's pack files. */
export function installFile(file: string, data: Buffer, durable: boolean): void {
  const dir = path.dirname(file);
  const temp = path.join(dir, temporaryName('idx'));
  const fd = fs.openSync(temp, 'wx', 0o444);
  try {
    try {
      for (let done = 0; done < data.length; ) done += fs.writeSync(fd, data, done);
      if (durable) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
  if (durable) fsyncDirectory(dir);
}

function runSync<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * A function that, once a slice of work has taken `sliceMs`, returns a promise that gives the
 * event loop a turn; before that, undefined. Loops that do little per object await it only
 * when it is due: an await per object costs more than copying a small one.
 */
export function pacer(sliceMs = 10): () => Promise<void> | undefined {
  let sliceStart = Date.now();
  return () => {
    if (Date.now() - sliceStart < sliceMs) return undefined;
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      sliceStart = Date.now();
    });
  };
}

/** Runs steps, letting other work run between them now and then. */
async function runAsync<T>(steps: Generator<void, T>): Promise<T> {
  const pause = pacer();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    const turn = pause();
    if (turn) await turn;
  }
}
