import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { sha1 } from '../../firmware/native.js';
import { StoreError } from '../../firmware/store/errors.js';
import { hashObject, type ObjectId, type RawObject } from '../../firmware/store/objects.js';
import { encodeEntryHeader, encodePackHeader, OFS_DELTA, PACK_TYPE_CODES, REF_DELTA } from '../../firmware/store/pack/format.js';
import { createDelta, encodePackIndex, PackReader, repack, writePack, type RepackOptions } from '../../firmware/store/pack/index.js';
import { catAllObjects, git, gitStatus, onlyPack, random, sharedHistoryRepo, tempDir } from './store-pack-fixtures.js';

const noLoose = { listLoose: () => [], readLoose: () => undefined, durable: false } satisfies Partial<RepackOptions>;

function packsIn(objectsDir: string): string[] {
  return fs
    .readdirSync(path.join(objectsDir, 'pack'))
    .filter((name) => name.endsWith('.pack'))
    .map((name) => path.join(objectsDir, 'pack', name));
}

function fileDigests(objectsDir: string): Map<string, string> {
  const packDir = path.join(objectsDir, 'pack');
  return new Map(fs.readdirSync(packDir).map((name) => [name, sha1.sha1(fs.readFileSync(path.join(packDir, name))).toString('hex')]));
}

function bareRepo(prefix: string): string {
  const bare = path.join(tempDir(prefix), 'repo.git');
  git(path.dirname(bare), ['init', '-q', '--bare', bare]);
  return bare;
}

/** Every object of some packs, as PackReader reads them, and how each is stored. */
function readAll(packFiles: readonly string[]): { objects: Map<ObjectId, RawObject>; data: Map<ObjectId, Buffer>; deltas: number } {
  const readers = packFiles.map((file) => PackReader.open(file));
  const objects = new Map<ObjectId, RawObject>();
  const data = new Map<ObjectId, Buffer>();
  let deltas = 0;
  const external = (id: ObjectId) => readers.find((reader) => reader.has(id))?.read(id);
  for (const reader of readers) {
    for (const id of reader.ids()) {
      if (objects.has(id)) continue;
      const stored = reader.storedEntry(id)!;
      objects.set(id, { ...reader.read(id, external)! });
      data.set(id, Buffer.from(stored.bytes.subarray(stored.dataStart)));
      if (stored.baseId !== undefined) deltas++;
    }
  }
  for (const reader of readers) reader.close();
  return { objects, data, deltas };
}

function sameObjects(actual: Map<string, RawObject>, expected: Map<string, RawObject>): void {
  assert.equal(new Set(actual.keys()), new Set(expected.keys()));
  for (const [id, object] of expected) {
    assert.is(actual.get(id)!.type, object.type, id);
    assert.ok(actual.get(id)!.content.equals(object.content), id);
  }
}

/** `git verify-pack -v`'s histogram: how many objects sit at each delta chain length. */
function chainLengths(idxFile: string): Map<number, number> {
  const output = git(path.dirname(idxFile), ['verify-pack', '-v', idxFile]).toString();
  const lengths = new Map<number, number>();
  for (const match of output.matchAll(/^non delta: (\d+) objects?$/gm)) lengths.set(0, Number(match[1]));
  for (const match of output.matchAll(/^chain length = (\d+): (\d+) objects?$/gm)) lengths.set(Number(match[1]), Number(match[2]));
  return lengths;
}

/** What git makes of a pack: verify-pack -v, index-pack --strict into a fresh repository, fsck --strict there. */
function gitAccepts(packFile: string, objects: Map<ObjectId, RawObject>): void {
  const verify = gitStatus(path.dirname(packFile), ['verify-pack', '-v', packFile.replace(/\.pack$/, '.idx')]);
  assert.is(verify.status, 0, verify.output);
  const bare = bareRepo('received');
  const received = gitStatus(bare, ['index-pack', '--stdin', '--strict'], fs.readFileSync(packFile));
  assert.is(received.status, 0, received.output);
  const fsck = gitStatus(bare, ['fsck', '--strict', '--no-dangling']);
  assert.is(fsck.status, 0, fsck.output);
  sameObjects(catAllObjects(bare), objects);
}

/**
 * An object store like the store's after a day of commits: git's own gc'd pack (deltas, chains
 * up to 50) and two dozen tiny packs written the way the store writes them (no deltas, zlib
 * level 1), the last one repeating an object of git's pack and one of another tiny pack.
 */
function storeLikeObjects(): string {
  const objectsDir = path.join(tempDir('store-like'), 'objects');
  const history = onlyPack(sharedHistoryRepo());
  fs.mkdirSync(path.join(objectsDir, 'pack'), { recursive: true });
  for (const suffix of ['.pack', '.idx']) {
    fs.copyFileSync(history.replace(/\.pack$/, suffix), path.join(objectsDir, 'pack', path.basename(history).replace(/\.pack$/, suffix)));
  }
  const next = random(11);
  const blob = (i: number) => Buffer.from(`setting ${i} = ${Math.floor(next() * 1e9)}\n`.repeat(1 + (i % 5)));
  for (let p = 0; p < 24; p++) {
    const objects = [0, 1, 2].map((k) => ({ type: 'blob' as const, content: blob(p * 3 + k) }));
    writePack(path.join(objectsDir, 'pack'), objects, { deltas: false, compressionLevel: 1, durable: false });
  }
  const repeated = [
    catAllObjects(sharedHistoryRepo()).values().next().value!,
    readAll([packsIn(objectsDir).find((file) => file !== path.join(objectsDir, 'pack', path.basename(history)))!]).objects.values().next().value!,
  ];
  writePack(path.join(objectsDir, 'pack'), repeated, { deltas: false, compressionLevel: 1, durable: false });
  return objectsDir;
}

test('a roll-up without deltas copies every entry as stored, deltas too; git accepts the pack', async () => {
  const objectsDir = storeLikeObjects();
  const sources = packsIn(objectsDir);
  assert.is(sources.length, 26);
  const before = readAll(sources);

  const stats = await repack(objectsDir, { ...noLoose, packFiles: sources, deltas: false, compressionLevel: 1 });
  assert.is(stats.objects, before.objects.size);
  assert.is(stats.removedPacks, 26);
  assert.is(stats.deltas, before.deltas, 'every stored delta is reused (all their bases are in the pack)');
  assert.equal(packsIn(objectsDir), [stats.packFile!]);
  assert.equal(fs.readdirSync(path.join(objectsDir, 'pack')).length, 2, 'the pack and its idx, no temp files');

  const after = readAll([stats.packFile!]);
  sameObjects(after.objects, before.objects);
  for (const [id, data] of before.data) assert.ok(after.data.get(id)!.equals(data), `${id} is copied, not recompressed`);
  const reader = PackReader.open(stats.packFile!);
  reader.verify();
  reader.close();
  gitAccepts(stats.packFile!, before.objects);
});

test('gc (deltas on) reuses stored deltas and stored whole entries, and still finds new deltas', async () => {
  const objectsDir = storeLikeObjects();
  const before = readAll(packsIn(objectsDir));
  const stats = await repack(objectsDir, noLoose);
  assert.ok(stats.deltas > before.deltas, `deltas: ${stats.deltas}, ${before.deltas} stored before`);
  const after = readAll([stats.packFile!]);
  sameObjects(after.objects, before.objects);
  const copied = [...before.data].filter(([id, data]) => after.data.get(id)!.equals(data)).length;
  assert.ok(copied > before.objects.size * 0.9, `${copied} of ${before.objects.size} entries copied as stored`);
  gitAccepts(stats.packFile!, before.objects);
});

test('a depth limit cuts reused delta chains', async () => {
  const objectsDir = storeLikeObjects();
  const before = readAll(packsIn(objectsDir));
  const stats = await repack(objectsDir, { ...noLoose, deltas: false, depth: 3 });
  assert.ok(stats.deltas > 0 && stats.deltas < before.deltas, `deltas: ${stats.deltas} of ${before.deltas}`);
  assert.ok(Math.max(...chainLengths(stats.packFile!.replace(/\.pack$/, '.idx')).keys()) <= 3);
  gitAccepts(stats.packFile!, before.objects);
});

type SynthEntry = { whole: Buffer } | { refDelta: Buffer; on: Buffer };

/** A pack (and .idx) built by hand from whole blobs and REF_DELTAs on blobs anywhere. */
function synthPack(packDir: string, entries: SynthEntry[]): string {
  const parts: Buffer[] = [encodePackHeader(entries.length)];
  let offset = parts[0]!.length;
  const index = entries.map((entry) => {
    const content = 'whole' in entry ? entry.whole : entry.refDelta;
    const bytes =
      'whole' in entry
        ? Buffer.concat([encodeEntryHeader(PACK_TYPE_CODES.blob, content.length), zlib.deflateSync(content)])
        : (() => {
            const delta = createDelta(entry.on, entry.refDelta)!;
            const baseId = Buffer.from(hashObject('blob', entry.on), 'hex');
            return Buffer.concat([encodeEntryHeader(REF_DELTA, delta.length), baseId, zlib.deflateSync(delta)]);
          })();
    parts.push(bytes);
    const indexed = { id: hashObject('blob', content), offset, crc32: zlib.crc32(bytes) };
    offset += bytes.length;
    return indexed;
  });
  const body = Buffer.concat(parts);
  const checksum = sha1.sha1(body);
  const packFile = path.join(packDir, `pack-${checksum.toString('hex')}.pack`);
  fs.writeFileSync(packFile, Buffer.concat([body, checksum]));
  fs.writeFileSync(packFile.replace(/\.pack$/, '.idx'), encodePackIndex(index, checksum));
  return packFile;
}

test('REF_DELTAs: across packs they become OFS_DELTAs, a loop is broken, an unpacked base means a whole entry', async () => {
  const objectsDir = path.join(tempDir('ref-deltas'), 'objects');
  const packDir = path.join(objectsDir, 'pack');
  fs.mkdirSync(packDir, { recursive: true });
  const text = (name: string) => Buffer.from(`${name}\n${'a line shared by every version of this text\n'.repeat(30)}`);
  const [x, y, p, q, loose, z] = ['x', 'y', 'p', 'q', 'loose', 'z'].map(text) as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
  // P in the first pack is a delta on Q, Q in the second a delta on P: reusing both would loop.
  const first = synthPack(packDir, [{ whole: x }, { refDelta: p, on: q }]);
  const second = synthPack(packDir, [{ refDelta: y, on: x }, { whole: p }, { refDelta: q, on: p }, { refDelta: z, on: loose }]);
  const looseObject = { type: 'blob' as const, content: loose };

  const stats = await repack(objectsDir, {
    ...noLoose,
    packFiles: [first, second],
    readLoose: (id) => (id === hashObject('blob', loose) ? looseObject : undefined),
    deltas: false,
  });
  assert.is(stats.objects, 5);
  assert.is(stats.deltas, 2, 'Y on X, and one of P and Q on the other');
  const reader = PackReader.open(stats.packFile!);
  const y2 = reader.storedEntry(hashObject('blob', y))!;
  assert.is(y2.typeCode, OFS_DELTA);
  assert.is(y2.baseId, hashObject('blob', x));
  assert.is(reader.storedEntry(hashObject('blob', z))!.typeCode, PACK_TYPE_CODES.blob, 'its base is not in the pack');
  const loops = [p, q].map((content) => reader.storedEntry(hashObject('blob', content))!.typeCode).sort();
  assert.equal(loops, [PACK_TYPE_CODES.blob, OFS_DELTA]);
  reader.verify();
  reader.close();
  gitAccepts(stats.packFile!, new Map([x, y, p, q, z].map((content) => [hashObject('blob', content), { type: 'blob' as const, content }])));
});

test('a damaged entry fails the roll-up with ECORRUPT naming the object, and every source pack stays', async () => {
  for (const kind of ['whole', 'delta'] as const) {
    const objectsDir = storeLikeObjects();
    const sources = packsIn(objectsDir);
    // The victim: a tiny pack's blob, or one of git's deltas; a byte in the middle of its zlib data.
    const gitPack = path.join(objectsDir, 'pack', path.basename(onlyPack(sharedHistoryRepo())));
    const victimPack = kind === 'delta' ? gitPack : sources.find((file) => file !== gitPack)!;
    const reader = PackReader.open(victimPack);
    const victim = [...reader.ids()].find((id) => {
      const stored = reader.storedEntry(id)!;
      return (stored.baseId !== undefined) === (kind === 'delta') && stored.bytes.length - stored.dataStart > 8;
    })!;
    const stored = reader.storedEntry(victim)!;
    const at = reader.offsetOf(victim)! + stored.dataStart + Math.floor((stored.bytes.length - stored.dataStart) / 2);
    reader.close();
    const bytes = fs.readFileSync(victimPack);
    bytes[at]! ^= 0x40;
    fs.chmodSync(victimPack, 0o644);
    fs.writeFileSync(victimPack, bytes);
    const listing = fs.readdirSync(path.join(objectsDir, 'pack')).sort();

    const before = fileDigests(objectsDir);
    const failure = await repack(objectsDir, { ...noLoose, packFiles: sources, deltas: false }).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.instance(failure, StoreError);
    assert.is((failure as StoreError).code, 'ECORRUPT');
    assert.match((failure as StoreError).message, victim);
    assert.equal(fs.readdirSync(path.join(objectsDir, 'pack')).sort(), listing, `${kind}: no pack removed, no temp file left`);
    assert.equal(fileDigests(objectsDir), before, `${kind}: every source pack and idx is untouched`);
    const damaged = PackReader.open(victimPack);
    assert.throws(() => damaged.read(victim), (error: unknown) => error instanceof StoreError && error.code === 'ECORRUPT');
    damaged.close();
  }
});

test('storedEntries in pack order and storedEntry by id: the exact bytes of each entry', () => {
  const packFile = onlyPack(sharedHistoryRepo());
  const bytes = fs.readFileSync(packFile);
  const reader = PackReader.open(packFile);
  const refs = [...reader.storedEntries()];
  assert.is(refs.length, reader.objectCount);
  const offsets = refs.map((ref) => reader.offsetOf(ref.id)!);
  assert.equal(offsets, [...offsets].sort((a, b) => a - b));
  const ends = [...offsets.slice(1), bytes.length - 20];
  refs.forEach((ref, rank) => {
    const stored = ref.read();
    assert.ok(stored.bytes.equals(bytes.subarray(offsets[rank], ends[rank])), ref.id);
    assert.is(stored.crc32, zlib.crc32(stored.bytes));
    assert.equal([stored.typeCode, stored.size, stored.baseId], [ref.typeCode, ref.size, ref.baseId]);
  });
  // Out of pack order (no read-ahead), by id: the same bytes.
  const byId = PackReader.open(packFile);
  for (const ref of [...refs].reverse()) assert.ok(byId.storedEntry(ref.id)!.bytes.equals(ref.read().bytes), ref.id);
  assert.is(byId.storedEntry('0'.repeat(40)), undefined);
  reader.close();
  byId.close();
});

test.run();
