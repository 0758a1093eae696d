import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { sha1 } from '../../firmware/native.js';
import { StoreError } from '../../firmware/store/errors.js';
import { hashObject, type ObjectId } from '../../firmware/store/objects.js';
import { encodeEntryHeader, encodeOffsetDistance, encodePackHeader, OFS_DELTA, PACK_TYPE_CODES } from '../../firmware/store/pack/format.js';
import { encodePackIndex } from '../../firmware/store/pack/idx.js';
import { applyDelta, createDelta, indexPack, PackReader } from '../../firmware/store/pack/index.js';
import { copyPack, git, makeHistoryRepo, onlyPack, random, tempDir } from './store-pack-fixtures.js';

type SynthEntry = { blob: Buffer } | { deltaOf: number; delta: Buffer; id?: ObjectId };

/**
 * A pack (and .idx) built by hand: whole blobs and OFS_DELTAs on earlier entries, with
 * deltas that may be invalid. A delta's id is the hash of its result, or the one given.
 */
function synthPack(entries: SynthEntry[]): { packFile: string; ids: ObjectId[] } {
  const dir = tempDir('synth');
  const parts: Buffer[] = [encodePackHeader(entries.length)];
  const offsets: number[] = [];
  const contents: (Buffer | undefined)[] = [];
  const index = entries.map((entry) => {
    const offset = parts.reduce((sum, part) => sum + part.length, 0);
    offsets.push(offset);
    let bytes: Buffer;
    let id: ObjectId;
    if ('blob' in entry) {
      bytes = Buffer.concat([encodeEntryHeader(PACK_TYPE_CODES.blob, entry.blob.length), zlib.deflateSync(entry.blob)]);
      contents.push(entry.blob);
      id = hashObject('blob', entry.blob);
    } else {
      const base = contents[entry.deltaOf];
      let result: Buffer | undefined;
      try {
        result = base === undefined ? undefined : applyDelta(base, entry.delta);
      } catch {
        result = undefined;
      }
      contents.push(result);
      id = entry.id ?? hashObject('blob', result!);
      bytes = Buffer.concat([
        encodeEntryHeader(OFS_DELTA, entry.delta.length),
        encodeOffsetDistance(offset - offsets[entry.deltaOf]!),
        zlib.deflateSync(entry.delta),
      ]);
    }
    parts.push(bytes);
    return { id, offset, crc32: zlib.crc32(bytes) };
  });
  const body = Buffer.concat(parts);
  const checksum = sha1.sha1(body);
  const packFile = path.join(dir, `pack-${checksum.toString('hex')}.pack`);
  fs.writeFileSync(packFile, Buffer.concat([body, checksum]));
  fs.writeFileSync(packFile.replace(/\.pack$/, '.idx'), encodePackIndex(index, checksum));
  return { packFile, ids: index.map((entry) => entry.id) };
}

function corruptError(fragments: string[]): (error: unknown) => boolean {
  return (error: unknown) => {
    const ok = error instanceof StoreError && error.code === 'ECORRUPT' && fragments.every((f) => error.message.includes(f));
    if (!ok) console.error('unexpected error:', error);
    return ok;
  };
}

const baseText = Buffer.from('line of base text number one\n'.repeat(40));
/** base size 1160 as a delta varint, then result size 4: the start of a hand-made delta. */
const deltaHead = [0x88, 0x09, 4];

let smallPack: string | undefined;
/** A small git-made pack with deltas (30 commits, gc'd), shared by the tests below. */
function gitSmallPack(): string {
  if (smallPack === undefined) {
    const repo = makeHistoryRepo(tempDir('small'), 30, 5);
    git(repo, ['gc', '-q', '--prune=now']);
    smallPack = onlyPack(repo);
  }
  return smallPack;
}

test('a flipped byte in an entry zlib stream: ECORRUPT naming the pack and the object', () => {
  const copy = copyPack(gitSmallPack(), 'flip');
  const reader = PackReader.open(copy);
  // The largest whole entry: flip a byte in the middle of its compressed data.
  const ids = [...reader.ids()];
  const sizes = ids.map((id) => reader.info(id)!.size);
  const id = ids[sizes.indexOf(Math.max(...sizes))]!;
  const offset = reader.offsetOf(id)!;
  reader.close();
  const bytes = fs.readFileSync(copy);
  bytes[offset + 40]! ^= 0x55;
  fs.writeFileSync(copy, bytes);
  const damaged = PackReader.open(copy);
  assert.throws(() => damaged.read(id), corruptError([path.basename(copy), id]));
  assert.throws(() => damaged.verify(), corruptError([path.basename(copy)]));
  damaged.close();
  fs.rmSync(copy.replace(/\.pack$/, '.idx'));
  assert.throws(() => indexPack(copy), corruptError([path.basename(copy)]));
  assert.not.ok(fs.existsSync(copy.replace(/\.pack$/, '.idx')), 'no .idx left behind');
});

test('a truncated pack: open fails naming the file, and so does indexPack', () => {
  const copy = copyPack(gitSmallPack(), 'trunc');
  const bytes = fs.readFileSync(copy);
  fs.writeFileSync(copy, bytes.subarray(0, bytes.length - 100));
  assert.throws(() => PackReader.open(copy), corruptError([path.basename(copy)]));
  fs.writeFileSync(copy, bytes.subarray(0, 20));
  assert.throws(() => PackReader.open(copy), corruptError([path.basename(copy), 'truncated']));
  fs.rmSync(copy.replace(/\.pack$/, '.idx'));
  assert.throws(() => indexPack(copy), corruptError([path.basename(copy)]));
  assert.not.ok(fs.existsSync(copy.replace(/\.pack$/, '.idx')));
});

test('a wrong checksum in the idx: its own trailer, or the pack checksum it records', () => {
  const copy = copyPack(gitSmallPack(), 'idxsum');
  const idxFile = copy.replace(/\.pack$/, '.idx');
  const idx = fs.readFileSync(idxFile);
  const selfDamaged = Buffer.from(idx);
  selfDamaged[idx.length - 1]! ^= 1;
  fs.writeFileSync(idxFile, selfDamaged);
  assert.throws(() => PackReader.open(copy), corruptError([path.basename(idxFile), 'own checksum']));
  // Change the recorded pack checksum and re-seal the idx: the pair no longer matches.
  const packSumDamaged = Buffer.from(idx);
  packSumDamaged[idx.length - 40]! ^= 1;
  sha1.sha1(packSumDamaged.subarray(0, idx.length - 20)).copy(packSumDamaged, idx.length - 20);
  fs.writeFileSync(idxFile, packSumDamaged);
  assert.throws(() => PackReader.open(copy), corruptError([path.basename(idxFile), 'does not belong']));
});

test('an idx claiming more (or fewer) objects than there are', () => {
  const copy = copyPack(gitSmallPack(), 'count');
  const idxFile = copy.replace(/\.pack$/, '.idx');
  const idx = fs.readFileSync(idxFile);
  const reseal = (bytes: Buffer) => sha1.sha1(bytes.subarray(0, bytes.length - 20)).copy(bytes, bytes.length - 20);
  const more = Buffer.from(idx);
  more.writeUInt32BE(more.readUInt32BE(8 + 255 * 4) + 1, 8 + 255 * 4);
  reseal(more);
  fs.writeFileSync(idxFile, more);
  assert.throws(() => PackReader.open(copy), corruptError([path.basename(idxFile), 'objects']));
  const huge = Buffer.from(idx);
  huge.writeUInt32BE(0xfffffff0, 8 + 255 * 4);
  reseal(huge);
  fs.writeFileSync(idxFile, huge);
  assert.throws(() => PackReader.open(copy), corruptError([path.basename(idxFile), 'too short']));
  const decreasing = Buffer.from(idx);
  decreasing.writeUInt32BE(0xffff, 8);
  reseal(decreasing);
  fs.writeFileSync(idxFile, decreasing);
  assert.throws(() => PackReader.open(copy), corruptError([path.basename(idxFile), 'fanout']));
  // A valid idx of a one-object pack beside a pack that declares many.
  const count = fs.readFileSync(copy).readUInt32BE(8);
  const other = synthPack([{ blob: baseText }]);
  const otherIdx = fs.readFileSync(other.packFile.replace(/\.pack$/, '.idx'));
  fs.writeFileSync(idxFile, otherIdx);
  assert.throws(() => PackReader.open(copy), corruptError([`lists 1 objects`, `declares ${count}`]));
});

test('a delta copying out of its base, or using op 0: ECORRUPT naming the object', () => {
  const inRange = Buffer.from([...deltaHead, 0x91, 0xff, 4]); // copy 4 bytes at offset 255
  const outOfRange = Buffer.from([...deltaHead, 0xb3, 0x00, 0x10, 4, 0]); // copy at offset 4096 of 1160
  const opZero = Buffer.from([...deltaHead, 0]);
  const { packFile, ids } = synthPack([
    { blob: baseText },
    { deltaOf: 0, delta: inRange },
    { deltaOf: 0, delta: outOfRange, id: 'a'.repeat(40) },
    { deltaOf: 0, delta: opZero, id: 'b'.repeat(40) },
  ]);
  const reader = PackReader.open(packFile);
  assert.is(reader.read(ids[1]!)!.content.toString(), baseText.subarray(255, 259).toString());
  assert.throws(() => reader.read('a'.repeat(40)), corruptError(['a'.repeat(40), path.basename(packFile), 'past the end of its base']));
  assert.throws(() => reader.read('b'.repeat(40)), corruptError(['b'.repeat(40), 'reserved op 0']));
  assert.throws(() => reader.verify(), corruptError([path.basename(packFile)]));
  reader.close();
  fs.rmSync(packFile.replace(/\.pack$/, '.idx'));
  assert.throws(() => indexPack(packFile), corruptError([path.basename(packFile), 'offset']));
  assert.not.ok(fs.existsSync(packFile.replace(/\.pack$/, '.idx')));
});

test('a delta chain deeper than the limit: "delta chain too deep at <id>"', () => {
  const entries: SynthEntry[] = [{ blob: baseText }];
  let previous = baseText;
  for (let i = 1; i <= 12; i++) {
    const next = Buffer.concat([previous, Buffer.from(`appended line ${i}\n`)]);
    entries.push({ deltaOf: i - 1, delta: createDelta(previous, next)! });
    previous = next;
  }
  const { packFile, ids } = synthPack(entries);
  const limited = PackReader.open(packFile, { maxDeltaDepth: 5, deltaBaseCacheBytes: 0 });
  assert.ok(limited.read(ids[5]!)!.content.length > baseText.length, 'a chain of 5 is within the limit');
  assert.throws(() => limited.read(ids[12]!), corruptError([`delta chain too deep at ${ids[12]}`]));
  assert.throws(() => limited.info(ids[12]!), corruptError([`delta chain too deep at ${ids[12]}`]));
  limited.close();
  const unlimited = PackReader.open(packFile);
  assert.ok(unlimited.read(ids[12]!)!.content.equals(previous));
  unlimited.verify();
  unlimited.close();
  const idxFile = packFile.replace(/\.pack$/, '.idx');
  const ours = fs.readFileSync(idxFile);
  fs.rmSync(idxFile);
  assert.throws(() => indexPack(packFile, undefined, { maxDeltaDepth: 5 }), corruptError(['delta chain too deep']));
  assert.not.ok(fs.existsSync(idxFile));
  indexPack(packFile);
  assert.ok(fs.readFileSync(idxFile).equals(ours));
});

test('content that inflates fine but is not the object asked for: ECORRUPT, never the wrong data', () => {
  const other = Buffer.from('another blob, of a different length\n');
  const { packFile, ids } = synthPack([{ blob: baseText }, { blob: other }]);
  const idxFile = packFile.replace(/\.pack$/, '.idx');
  // The idx swaps the two offsets (and is re-sealed): each id now leads to the other object.
  const reader = PackReader.open(packFile);
  const offsets = ids.map((id) => reader.offsetOf(id)!);
  reader.close();
  fs.writeFileSync(idxFile, encodePackIndex(ids.map((id, i) => ({ id, offset: offsets[1 - i]!, crc32: 0 })), fs.readFileSync(packFile).subarray(-20)));
  const swapped = PackReader.open(packFile);
  for (const id of ids) assert.throws(() => swapped.read(id), corruptError([path.basename(packFile), `object ${id} hashes to`]));
  swapped.close();
  // The first entry's type turned from blob (3) to tree (2), pack re-sealed, idx rebuilt to match.
  const bytes = fs.readFileSync(packFile);
  bytes[offsets[0]!] = (bytes[offsets[0]!]! & 0x8f) | (2 << 4);
  sha1.sha1(bytes.subarray(0, bytes.length - 20)).copy(bytes, bytes.length - 20);
  fs.writeFileSync(packFile, bytes);
  fs.writeFileSync(idxFile, encodePackIndex(ids.map((id, i) => ({ id, offset: offsets[i]!, crc32: 0 })), bytes.subarray(-20)));
  const retyped = PackReader.open(packFile);
  assert.throws(() => retyped.read(ids[0]!), corruptError([`object ${ids[0]} hashes to ${hashObject('tree', baseText)}`]));
  assert.ok(retyped.read(ids[1]!)!.content.equals(other));
  retyped.close();
});

test('500 random byte flips: only StoreErrors, never content that does not hash to its id', () => {
  const original = gitSmallPack();
  const packBytes = fs.readFileSync(original);
  const idxBytes = fs.readFileSync(original.replace(/\.pack$/, '.idx'));
  const dir = tempDir('fuzz');
  const packFile = path.join(dir, path.basename(original));
  const idxFile = packFile.replace(/\.pack$/, '.idx');
  const next = random(99);
  const seen = { opened: 0, reads: 0, readErrors: 0, indexRejected: 0, indexAccepted: 0 };
  for (let round = 0; round < 500; round++) {
    const pack = Buffer.from(packBytes);
    const idx = Buffer.from(idxBytes);
    // Mostly the pack's entries; sometimes its header, trailer or the idx.
    const target = next() < 0.85 ? pack : idx;
    target[Math.floor(next() * target.length)]! ^= 1 + Math.floor(next() * 255);
    fs.writeFileSync(packFile, pack);
    fs.writeFileSync(idxFile, idx);
    try {
      const reader = PackReader.open(packFile, { deltaBaseCacheBytes: round % 4 === 0 ? 0 : 1 << 20 });
      seen.opened++;
      try {
        for (const id of reader.ids()) {
          try {
            reader.info(id);
            const object = reader.read(id);
            if (object === undefined) continue;
            seen.reads++;
            assert.is(hashObject(object.type, object.content), id, `round ${round}: wrong data for ${id}`);
          } catch (error) {
            if (!(error instanceof StoreError)) throw error;
            seen.readErrors++;
          }
        }
        assert.throws(() => reader.verify(), (e: unknown) => e instanceof StoreError, `round ${round}: verify must notice`);
      } finally {
        reader.close();
      }
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
    }
    if (target !== pack) continue;
    // Re-seal the trailer so index-pack has to find the damage in the entries themselves.
    sha1.sha1(pack.subarray(0, pack.length - 20)).copy(pack, pack.length - 20);
    fs.writeFileSync(packFile, pack);
    fs.rmSync(idxFile);
    try {
      indexPack(packFile, undefined, { durable: false });
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      assert.not.ok(fs.existsSync(idxFile), 'no .idx after a failed index-pack');
      seen.indexRejected++;
      continue;
    }
    // Still a valid pack (say a blob turned into a tree): then the index must be right too.
    seen.indexAccepted++;
    const reader = PackReader.open(packFile);
    try {
      reader.verify();
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      // Content that is valid bytes for its new type only fails hashing if ids collide: never.
      assert.unreachable(`round ${round}: indexPack accepted a pack its reader rejects: ${(error as Error).message}`);
    } finally {
      reader.close();
    }
  }
  assert.ok(seen.opened > 100 && seen.reads > 1000 && seen.readErrors > 100, JSON.stringify(seen));
  assert.ok(seen.indexRejected > 300, JSON.stringify(seen));
});

test.run();
