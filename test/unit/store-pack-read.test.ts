import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { sha1 } from '../../firmware/native.js';
import { StoreError } from '../../firmware/store/errors.js';
import { hashObject, type ObjectId, type RawObject } from '../../firmware/store/objects.js';
import { encodeEntryHeader, encodeOffsetDistance, encodePackHeader, OFS_DELTA, PACK_TYPE_CODES, REF_DELTA } from '../../firmware/store/pack/format.js';
import { encodePackIndex } from '../../firmware/store/pack/idx.js';
import { createDelta, indexPack, PackReader } from '../../firmware/store/pack/index.js';
import { catAllObjects, copyPack, git, onlyPack, sharedHistoryRepo, tempDir } from './store-pack-fixtures.js';

function assertSameObjects(reader: PackReader, truth: Map<ObjectId, RawObject>): void {
  assert.is(reader.objectCount, truth.size);
  assert.equal(new Set(reader.ids()), new Set(truth.keys()));
  for (const [id, expected] of truth) {
    const object = reader.read(id);
    assert.ok(object !== undefined, `missing ${id}`);
    assert.is(object.type, expected.type, `type of ${id}`);
    assert.ok(object.content.equals(expected.content), `content of ${id}`);
    assert.equal(reader.info(id), { type: expected.type, size: expected.content.length }, `info of ${id}`);
  }
}

/** The type code of each entry, straight from the first byte at its offset. */
function entryTypeCodes(reader: PackReader): number[] {
  const fd = fs.openSync(reader.packFile, 'r');
  const byte = Buffer.alloc(1);
  const codes = [...reader.ids()].map((id) => {
    fs.readSync(fd, byte, 0, 1, reader.offsetOf(id)!);
    return (byte[0]! >> 4) & 7;
  });
  fs.closeSync(fd);
  return codes;
}

function isStoreError(error: unknown, code: string, fragment: string): boolean {
  return error instanceof StoreError && error.code === code && error.message.includes(fragment);
}

test('reads every object of a pack made by git gc --aggressive, byte for byte', () => {
  const repo = sharedHistoryRepo();
  const truth = catAllObjects(repo);
  const packFile = onlyPack(repo);
  const reader = PackReader.open(packFile);
  try {
    assert.is(path.basename(packFile), `pack-${reader.checksum}.pack`);
    assert.ok(entryTypeCodes(reader).filter((code) => code === OFS_DELTA).length > truth.size / 3, 'git made plenty of deltas');
    assertSameObjects(reader, truth);
    const types = new Set([...truth.values()].map((o) => o.type));
    assert.equal([...types].sort(), ['blob', 'commit', 'tag', 'tree']);
    assert.not.ok(reader.has('0'.repeat(40)));
    assert.is(reader.read('f'.repeat(40)), undefined);
    assert.is(reader.offsetOf('not an id'), undefined);
    reader.verify();
  } finally {
    reader.close();
  }
});

test('offsets agree with git show-index', () => {
  const packFile = onlyPack(sharedHistoryRepo());
  const listing = git(path.dirname(packFile), ['show-index'], fs.readFileSync(packFile.replace(/\.pack$/, '.idx'))).toString();
  const reader = PackReader.open(packFile);
  let lines = 0;
  for (const line of listing.trim().split('\n')) {
    const [offset, id] = line.split(' ');
    assert.is(reader.offsetOf(id!), Number(offset));
    lines++;
  }
  assert.is(lines, reader.objectCount);
  reader.close();
});

test('resolves REF_DELTA packs (repack.useDeltaBaseOffset=false)', () => {
  const source = sharedHistoryRepo();
  const repo = path.join(tempDir('refdelta'), 'repo.git');
  fs.cpSync(source, repo, { recursive: true });
  git(repo, ['-c', 'repack.useDeltaBaseOffset=false', 'repack', '-adfq']);
  const reader = PackReader.open(onlyPack(repo));
  const codes = entryTypeCodes(reader);
  assert.ok(codes.filter((code) => code === REF_DELTA).length > 100, 'the pack uses ref deltas');
  assert.not.ok(codes.includes(OFS_DELTA));
  assertSameObjects(reader, catAllObjects(repo));
  reader.verify();
  reader.close();
});

test('a tiny or disabled delta base cache changes nothing but speed', () => {
  const repo = sharedHistoryRepo();
  const truth = catAllObjects(repo);
  for (const deltaBaseCacheBytes of [0, 4096]) {
    const reader = PackReader.open(onlyPack(repo), { deltaBaseCacheBytes });
    assertSameObjects(reader, truth);
    reader.close();
  }
});

test('indexPack writes the same .idx as git, for OFS and REF delta packs', () => {
  const source = sharedHistoryRepo();
  const refRepo = path.join(tempDir('refdelta'), 'repo.git');
  fs.cpSync(source, refRepo, { recursive: true });
  git(refRepo, ['-c', 'repack.useDeltaBaseOffset=false', 'repack', '-adfq']);
  for (const packFile of [onlyPack(source), onlyPack(refRepo)]) {
    const copy = copyPack(packFile, 'index');
    const idxFile = copy.replace(/\.pack$/, '.idx');
    const gitIdx = fs.readFileSync(idxFile);
    fs.rmSync(idxFile);
    const indexed = indexPack(copy);
    assert.is(indexed.idxFile, idxFile);
    assert.is(indexed.checksum, path.basename(copy).slice(5, 45));
    assert.ok(fs.readFileSync(idxFile).equals(gitIdx), `idx of ${path.basename(packFile)} is byte-identical to git's`);
    assert.equal(fs.readdirSync(path.dirname(copy)).sort(), [path.basename(idxFile), path.basename(copy)].sort(), 'no temp files left');
  }
});

test('indexPack resolves a thin pack through resolveExternal', () => {
  const dir = tempDir('thin');
  const base = { type: 'blob' as const, content: Buffer.from('the base text that lives outside the pack, '.repeat(20)) };
  const baseId = hashObject(base.type, base.content);
  const target = Buffer.concat([base.content, Buffer.from('and one more line\n')]);
  const delta = createDelta(base.content, target)!;
  const compressed = zlib.deflateSync(delta);
  const entry = Buffer.concat([encodeEntryHeader(REF_DELTA, delta.length), Buffer.from(baseId, 'hex'), compressed]);
  const body = Buffer.concat([encodePackHeader(1), entry]);
  const packFile = path.join(dir, 'thin.pack');
  fs.writeFileSync(packFile, Buffer.concat([body, sha1.sha1(body)]));
  assert.throws(() => indexPack(packFile), (e: unknown) => isStoreError(e, 'ECORRUPT', 'has no base'));
  assert.not.ok(fs.existsSync(path.join(dir, 'thin.idx')));
  const indexed = indexPack(packFile, (id) => (id === baseId ? base : undefined));
  assert.is(indexed.objectCount, 1);
  const reader = PackReader.open(packFile);
  const targetId = hashObject('blob', target);
  assert.ok(reader.read(targetId, (id) => (id === baseId ? base : undefined))!.content.equals(target));
  assert.throws(() => reader.read(targetId), (e: unknown) => isStoreError(e, 'ECORRUPT', `delta base ${baseId} of ${targetId}`));
  reader.close();
});

test('an index of version 1 is refused with a clear error', () => {
  const copy = copyPack(onlyPack(sharedHistoryRepo()), 'v1');
  const idxFile = copy.replace(/\.pack$/, '.idx');
  fs.rmSync(idxFile);
  git(path.dirname(copy), ['index-pack', '--index-version=1', '-o', idxFile, copy]);
  assert.throws(() => PackReader.open(copy), (e: unknown) => isStoreError(e, 'ECORRUPT', 'version 1 pack index'));
});

test('offsets past 2 GiB: large offset table, read through a sparse pack, agreed by git show-index', () => {
  const dir = tempDir('large');
  const packFile = path.join(dir, 'pack-large.pack');
  const small = { type: 'blob' as const, content: Buffer.from('an object at the start of the pack\n'.repeat(10)) };
  const far = { type: 'blob' as const, content: Buffer.from('an object past two gibibytes\n'.repeat(10)) };
  const farDelta = createDelta(small.content, Buffer.concat([small.content, Buffer.from('tail\n')]))!;
  const deltaTarget = Buffer.concat([small.content, Buffer.from('tail\n')]);
  const offsets = [12, 2 ** 31 + 100, 2 ** 32 + 1000];
  const entries = [
    Buffer.concat([encodeEntryHeader(PACK_TYPE_CODES.blob, small.content.length), zlib.deflateSync(small.content)]),
    Buffer.concat([encodeEntryHeader(PACK_TYPE_CODES.blob, far.content.length), zlib.deflateSync(far.content)]),
    // An OFS_DELTA reaching back more than 4 GiB to the first object.
    Buffer.concat([encodeEntryHeader(OFS_DELTA, farDelta.length), encodeOffsetDistance(offsets[2]! - 12), zlib.deflateSync(farDelta)]),
  ];
  const trailer = sha1.sha1(Buffer.from('stands in for the checksum of 4 GiB of pack'));
  const fd = fs.openSync(packFile, 'w');
  fs.writeSync(fd, encodePackHeader(3), 0, 12, 0);
  entries.forEach((entry, i) => fs.writeSync(fd, entry, 0, entry.length, offsets[i]!));
  const end = offsets[2]! + entries[2]!.length;
  fs.writeSync(fd, trailer, 0, 20, end);
  fs.closeSync(fd);
  const ids = [hashObject('blob', small.content), hashObject('blob', far.content), hashObject('blob', deltaTarget)];
  const idx = encodePackIndex(
    ids.map((id, i) => ({ id, offset: offsets[i]!, crc32: zlib.crc32(entries[i]!) })),
    trailer,
  );
  assert.is(idx.length, 8 + 1024 + 3 * 28 + 2 * 8 + 40, 'two offsets went to the large table');
  fs.writeFileSync(packFile.replace(/\.pack$/, '.idx'), idx);

  const listing = git(dir, ['show-index'], idx).toString().trim().split('\n');
  assert.equal(new Set(listing.map((line) => line.split(' ').slice(0, 2).join(' '))), new Set(ids.map((id, i) => `${offsets[i]} ${id}`)));

  const reader = PackReader.open(packFile);
  ids.forEach((id, i) => assert.is(reader.offsetOf(id), offsets[i]));
  assert.ok(reader.read(ids[0]!)!.content.equals(small.content));
  assert.ok(reader.read(ids[1]!)!.content.equals(far.content));
  assert.ok(reader.read(ids[2]!)!.content.equals(deltaTarget));
  reader.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('missing files, closed readers and bad names are StoreErrors', () => {
  const dir = tempDir('missing');
  assert.throws(() => PackReader.open(path.join(dir, 'pack-x.pack')), (e: unknown) => isStoreError(e, 'ENOTFOUND', 'pack-x.pack'));
  assert.throws(() => PackReader.open(path.join(dir, 'pack-x.idx')), (e: unknown) => isStoreError(e, 'EINVAL', 'not a .pack'));
  const copy = copyPack(onlyPack(sharedHistoryRepo()), 'closed');
  fs.rmSync(copy.replace(/\.pack$/, '.idx'));
  assert.throws(() => PackReader.open(copy), (e: unknown) => isStoreError(e, 'ENOTFOUND', '.idx'));
  const reader = PackReader.open(onlyPack(sharedHistoryRepo()));
  const id = reader.ids().next().value as string;
  reader.close();
  assert.throws(() => reader.read(id), (e: unknown) => isStoreError(e, 'EINVAL', 'closed'));
});

test.run();
