/**
 * `git index-pack --fix-thin`: a pushed pack may hold deltas against objects it does not
 * contain (the receiver has them). Such a pack is indexed with the store resolving those
 * bases; then every base it needed from outside is appended to it as a whole object, its
 * object count and checksum are rewritten and its index extended, so that the installed pack
 * stands on its own, as git requires of every pack.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import zlib from 'node:zlib';

import { StoreError } from '../errors.js';
import type { ObjectId } from '../objects.js';
import { PACK_HEADER_BYTES, PACK_TRAILER_BYTES, PACK_TYPE_CODES, encodeEntryHeader } from './format.js';
import { PackIndex, encodePackIndex, type PackIndexEntry } from './idx.js';
import { indexPack, type IndexPackOptions, type IndexedPack } from './index-pack.js';
import type { ResolveExternal } from './reader.js';
import { installFile } from './writer.js';

export interface CompletedPack extends IndexedPack {
  /** Bases appended from outside (0 for a pack that was not thin). */
  appendedBases: number;
}

const HASH_CHUNK_BYTES = 1024 * 1024;

/**
 * Indexes `packFile` (see indexPack) and completes it if it is thin. `resolveExternal` looks
 * bases up in the receiving repository; a base found nowhere fails the pack as indexPack does.
 */
export function indexPackFixingThin(packFile: string, resolveExternal: ResolveExternal, options: IndexPackOptions = {}): CompletedPack {
  const usedBases = new Set<ObjectId>();
  const indexed = indexPack(
    packFile,
    (id) => {
      const base = resolveExternal(id);
      if (base !== undefined) usedBases.add(id);
      return base;
    },
    options,
  );
  if (usedBases.size === 0) return { ...indexed, appendedBases: 0 };
  const packSize = fs.statSync(packFile).size;
  const index = new PackIndex(fs.readFileSync(indexed.idxFile), indexed.idxFile, packSize - PACK_TRAILER_BYTES);
  // A base the pack holds as a delta of its own may have been resolved from the store first.
  const missing = [...usedBases].filter((id) => index.find(Buffer.from(id, 'hex')) < 0);
  if (missing.length === 0) return { ...indexed, appendedBases: 0 };

  const entries: PackIndexEntry[] = [];
  for (let position = 0; position < index.objectCount; position++) {
    entries.push({ id: index.idAt(position), offset: index.offsetAt(position), crc32: index.crc32At(position) });
  }
  const durable = options.durable ?? true;
  const fd = fs.openSync(packFile, 'r+');
  let checksum: Buffer;
  try {
    let offset = packSize - PACK_TRAILER_BYTES;
    for (const id of missing) {
      const base = resolveExternal(id);
      if (base === undefined) throw new StoreError('ENOTFOUND', `delta base ${id} vanished while completing the pack`);
      const header = encodeEntryHeader(PACK_TYPE_CODES[base.type], base.content.length);
      const data = zlib.deflateSync(base.content);
      writeAll(fd, header, offset);
      writeAll(fd, data, offset + header.length);
      entries.push({ id, offset, crc32: zlib.crc32(data, zlib.crc32(header)) });
      offset += header.length + data.length;
    }
    const count = Buffer.alloc(4);
    count.writeUInt32BE(index.objectCount + missing.length);
    writeAll(fd, count, 8);
    checksum = hashPack(fd, offset);
    writeAll(fd, checksum, offset);
    fs.ftruncateSync(fd, offset + PACK_TRAILER_BYTES);
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.rmSync(indexed.idxFile, { force: true });
  installFile(indexed.idxFile, encodePackIndex(entries, checksum), durable);
  return { idxFile: indexed.idxFile, checksum: checksum.toString('hex'), objectCount: entries.length, appendedBases: missing.length };
}

function writeAll(fd: number, data: Buffer, position: number): void {
  for (let done = 0; done < data.length; ) done += fs.writeSync(fd, data, done, data.length - done, position + done);
}

/** SHA-1 of the pack's first `end` bytes (its header with the new count, and every entry). */
function hashPack(fd: number, end: number): Buffer {
  const hash = createHash('sha1');
  const buffer = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
  for (let at = 0; at < end; ) {
    const count = fs.readSync(fd, buffer, 0, Math.min(HASH_CHUNK_BYTES, end - at), at);
    if (count === 0) throw new StoreError('ECORRUPT', 'pack shrank while it was being completed');
    hash.update(buffer.subarray(0, count));
    at += count;
  }
  if (end < PACK_HEADER_BYTES) throw new StoreError('ECORRUPT', 'pack is too short to complete');
  return hash.digest();
}
