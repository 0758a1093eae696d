/**
 * A pack made of the store's own entries, the way git sends a clone: the walked objects in
 * the order of the store's packs, each entry copied as it is stored. Runs of consecutive
 * entries go out as one slice of a large read; only what cannot be copied is touched:
 *
 * - a delta on a base that goes along is copied behind a new header when its OFS_DELTA
 *   distance changed (entries between them were left out), or as a REF_DELTA when its base
 *   comes later or the client cannot read OFS_DELTA;
 * - a delta on a base the client has (a thin pack, when it asked for one) becomes a REF_DELTA;
 * - a delta on any other base is resolved and sent whole.
 *
 * Every copied entry is checked against the CRC32 the index recorded, as git does before it
 * reuses one. Entries larger than a block are copied a block at a time: memory stays bounded
 * whatever the size of an object.
 */
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';

import { StoreError } from '../store/index.js';
import {
  MAX_ENTRY_HEADER_BYTES,
  OFS_DELTA,
  REF_DELTA,
  encodeEntryHeader,
  encodeOffsetDistance,
  encodePackHeader,
  parseEntryHeader,
} from '../store/pack/format.js';
import type { PackReader } from '../store/pack/index.js';
import { ADDED, UNINTERESTING, type PackWalk } from './pack-walk.js';

export interface ReuseOptions {
  /** The client reads OFS_DELTA (else deltas go out as REF_DELTA). */
  ofsDelta: boolean;
  /** The client takes deltas on objects it has (thin-pack). */
  thin: boolean;
}

export interface ReuseStats {
  objects: number;
  deltas: number;
  bytes: number;
}

/** Bytes read from a pack at once; entries bigger than this are copied in pieces. */
const BLOCK_BYTES = 1024 * 1024;
/** A gap between wanted entries up to this size is read through rather than skipped. */
const GAP_BYTES = 64 * 1024;
/** Emitted bytes (or entries) between the steps an async caller waits at. */
const STEP_BYTES = 256 * 1024;
const STEP_ENTRIES = 512;

function corrupt(message: string): StoreError {
  return new StoreError('ECORRUPT', message);
}

/**
 * Encodes the walk's objects as a pack, handing bytes to `sink` in order. Yields now and then
 * so an async caller can wait for the socket and let other requests run.
 */
export function* reusePackSteps(walk: PackWalk, options: ReuseOptions, sink: (chunk: Buffer) => void): Generator<void, ReuseStats> {
  const { objects, marks } = walk;
  const handles = Uint32Array.from(walk.order).sort();
  const count = handles.length;
  // Where each handle went in this pack (-1: not yet).
  const written = new Float64Array(objects.total).fill(-1);
  const trailer = createHash('sha1');
  let packBytes = 0;
  let deltas = 0;
  let sinceStep = 0;

  // Bytes go out in runs: a run is a slice of one block, extended while entries follow on.
  let runBlock: Buffer | undefined;
  let runStart = 0;
  let runEnd = 0;
  const emit = (chunk: Buffer): void => {
    trailer.update(chunk);
    sink(chunk);
    sinceStep += chunk.length;
  };
  const flushRun = (): void => {
    if (runBlock === undefined) return;
    emit(runBlock.subarray(runStart, runEnd));
    runBlock = undefined;
  };
  const copy = (block: Buffer, start: number, end: number): void => {
    if (block !== runBlock || start !== runEnd) {
      flushRun();
      runBlock = block;
      runStart = start;
    }
    runEnd = end;
    packBytes += end - start;
  };
  const put = (chunk: Buffer): void => {
    flushRun();
    emit(chunk);
    packBytes += chunk.length;
  };

  const header = encodePackHeader(count);
  put(header);

  // The block being copied from: pack `blockPack`, bytes from `blockOffset` on.
  let block: Buffer = Buffer.alloc(0);
  let blockPack = -1;
  let blockOffset = 0;

  for (let i = 0; i < count; i++) {
    const handle = handles[i]!;
    const { reader, pack, rank } = objects.locate(handle);
    const start = reader.offsetOfRank(rank);
    const end = reader.endOfRank(rank);
    const length = end - start;
    written[handle] = packBytes;
    const where = `${reader.packFile}: object at offset ${start}`;

    if (length > BLOCK_BYTES) {
      deltas += copyLarge(reader, rank, handle, pack, start, end, where);
    } else {
      if (pack !== blockPack || start < blockOffset || end > blockOffset + block.length) {
        // Read ahead over the entries that follow closely in the same pack.
        let spanEnd = end;
        for (let j = i + 1; j < count; j++) {
          const next = objects.locate(handles[j]!);
          if (next.pack !== pack) break;
          const nextStart = reader.offsetOfRank(next.rank);
          const nextEnd = reader.endOfRank(next.rank);
          if (nextStart - spanEnd > GAP_BYTES || nextEnd - start > BLOCK_BYTES) break;
          spanEnd = nextEnd;
        }
        block = reader.readRange(start, spanEnd - start);
        blockPack = pack;
        blockOffset = start;
      }
      const at = start - blockOffset;
      const entry = block.subarray(at, at + length);
      if (zlib.crc32(entry) !== reader.crc32OfRank(rank)) throw corrupt(`${reader.packFile}: object ${reader.idOfRank(rank)} fails its CRC32 check`);
      const parsed = parseEntryHeader(entry, start, where);
      if (parsed.typeCode !== OFS_DELTA && parsed.typeCode !== REF_DELTA) {
        copy(block, at, at + length);
      } else {
        const plan = deltaPlan(reader, pack, handle, parsed, start, where);
        if (plan.kind === 'whole') {
          sendWhole(reader, rank);
        } else {
          deltas++;
          if (plan.kind === 'as-is') copy(block, at, at + length);
          else {
            put(plan.header);
            copy(block, at + (parsed.dataOffset - start), at + length);
          }
        }
      }
    }
    if (sinceStep >= STEP_BYTES || i % STEP_ENTRIES === STEP_ENTRIES - 1) {
      flushRun();
      sinceStep = 0;
      yield;
    }
  }
  flushRun();
  const checksum = trailer.digest();
  sink(checksum);
  return { objects: count, deltas, bytes: packBytes + checksum.length };

  /** What to do with a stored delta: copy it as it is, behind a new header, or send the object whole. */
  function deltaPlan(
    reader: PackReader,
    pack: number,
    handle: number,
    parsed: ReturnType<typeof parseEntryHeader>,
    start: number,
    where: string,
  ): { kind: 'as-is' } | { kind: 'header'; header: Buffer } | { kind: 'whole' } {
    let base: number;
    if (parsed.typeCode === OFS_DELTA) {
      const baseRank = reader.rankAtOffset(parsed.baseOffset!);
      if (baseRank < 0) throw corrupt(`${where}: delta base offset ${parsed.baseOffset} is not an object`);
      base = objects.canonical(pack, baseRank);
    } else {
      base = objects.find(Buffer.from(parsed.baseId!, 'hex'));
    }
    if (base < 0 || base === handle) return { kind: 'whole' };
    if (marks[base]! & ADDED) {
      const baseAt = written[base]!;
      if (options.ofsDelta && baseAt >= 0) {
        const distance = packBytes - baseAt;
        if (parsed.typeCode === OFS_DELTA && start - parsed.baseOffset! === distance) return { kind: 'as-is' };
        return { kind: 'header', header: Buffer.concat([encodeEntryHeader(OFS_DELTA, parsed.size), encodeOffsetDistance(distance)]) };
      }
    } else if (!(options.thin && marks[base]! & UNINTERESTING)) {
      return { kind: 'whole' };
    }
    // A REF_DELTA: on a base later in this pack, or (thin) on one the client has.
    if (parsed.typeCode === REF_DELTA) return { kind: 'as-is' };
    return { kind: 'header', header: Buffer.concat([encodeEntryHeader(REF_DELTA, parsed.size), objects.idBytesOf(base)]) };
  }

  /** The object resolved and compressed anew: its delta's base does not go along. */
  function sendWhole(reader: PackReader, rank: number): void {
    const object = reader.readRank(rank, { verify: true });
    put(encodeEntryHeader(TYPE_CODE[object.type], object.content.length));
    put(zlib.deflateSync(object.content));
  }

  /** An entry bigger than a block, copied a block at a time; its CRC32 is checked as it goes. */
  function copyLarge(reader: PackReader, rank: number, handle: number, pack: number, start: number, end: number, where: string): number {
    const head = reader.readRange(start, MAX_ENTRY_HEADER_BYTES);
    const parsed = parseEntryHeader(head, start, where);
    let from = start;
    let isDelta = 0;
    if (parsed.typeCode === OFS_DELTA || parsed.typeCode === REF_DELTA) {
      const plan = deltaPlan(reader, pack, handle, parsed, start, where);
      if (plan.kind === 'whole') {
        sendWhole(reader, rank);
        return 0;
      }
      isDelta = 1;
      if (plan.kind === 'header') {
        put(plan.header);
        from = parsed.dataOffset;
      }
    }
    flushRun();
    let crc = 0;
    for (let at = start; at < end; at += BLOCK_BYTES) {
      const piece = reader.readRange(at, Math.min(BLOCK_BYTES, end - at));
      crc = zlib.crc32(piece, crc);
      const keepFrom = Math.max(0, from - at);
      if (keepFrom < piece.length) {
        emit(piece.subarray(keepFrom));
        packBytes += piece.length - keepFrom;
      }
    }
    if (crc !== reader.crc32OfRank(rank)) throw corrupt(`${reader.packFile}: object ${reader.idOfRank(rank)} fails its CRC32 check`);
    return isDelta;
  }
}

const TYPE_CODE: Readonly<Record<string, number>> = { commit: 1, tree: 2, blob: 3, tag: 4 };
