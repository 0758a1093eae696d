import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { hashObject, type RawObject } from '../../firmware/store/objects.js';
import { PackReader, writePack } from '../../firmware/store/pack/index.js';
import { catAllObjects, git, gitStatus, random, sharedHistoryRepo, tempDir } from './store-pack-fixtures.js';

/** `git verify-pack -v`'s histogram: how many objects sit at each delta chain length. */
function chainLengths(idxFile: string): Map<number, number> {
  const output = git(path.dirname(idxFile), ['verify-pack', '-v', idxFile]).toString();
  const lengths = new Map<number, number>();
  for (const match of output.matchAll(/^non delta: (\d+) objects?$/gm)) lengths.set(0, Number(match[1]));
  for (const match of output.matchAll(/^chain length = (\d+): (\d+) objects?$/gm)) lengths.set(Number(match[1]), Number(match[2]));
  return lengths;
}

function sameObjects(actual: Map<string, RawObject>, expected: Map<string, RawObject>): void {
  assert.equal(new Set(actual.keys()), new Set(expected.keys()));
  for (const [id, object] of expected) {
    assert.is(actual.get(id)!.type, object.type, id);
    assert.ok(actual.get(id)!.content.equals(object.content), id);
  }
}

test('a pack written with deltas is accepted by git verify-pack, index-pack --strict and fsck --strict', () => {
  const truth = catAllObjects(sharedHistoryRepo());
  const dir = tempDir('write');
  const written = writePack(dir, [...truth.values()]);
  assert.is(written.objectCount, truth.size);
  assert.ok(written.deltaCount > truth.size / 3, `deltas: ${written.deltaCount} of ${truth.size}`);
  assert.equal(fs.readdirSync(dir).sort(), [path.basename(written.idxFile), path.basename(written.packFile)].sort(), 'only the pack and its idx');
  assert.is(fs.statSync(written.packFile).size, written.packBytes);

  const lengths = chainLengths(written.idxFile);
  assert.ok(lengths.size > 3, 'git sees delta chains');
  assert.ok(Math.max(...lengths.keys()) <= 50, 'no chain longer than the default depth');

  // Our .idx is exactly what git index-pack makes of the same pack.
  const gitIdx = path.join(dir, 'by-git.idx');
  git(dir, ['index-pack', '-o', gitIdx, written.packFile]);
  assert.ok(fs.readFileSync(gitIdx).equals(fs.readFileSync(written.idxFile)), 'byte-identical .idx');

  const bare = path.join(tempDir('bare'), 'repo.git');
  git(path.dirname(bare), ['init', '-q', '--bare', bare]);
  const received = gitStatus(bare, ['index-pack', '--stdin', '--strict'], fs.readFileSync(written.packFile));
  assert.is(received.status, 0, received.output);
  assert.is(received.output.trim(), `pack\t${written.checksum}`);
  const fsck = gitStatus(bare, ['fsck', '--strict', '--no-dangling']);
  assert.is(fsck.status, 0, fsck.output);
  sameObjects(catAllObjects(bare), truth);

  const reader = PackReader.open(written.packFile);
  sameObjects(new Map([...reader.ids()].map((id) => [id, reader.read(id)!])), truth);
  reader.verify();
  reader.close();
});

test('git reads a written pack dropped into its objects/pack, with our .idx', () => {
  const truth = catAllObjects(sharedHistoryRepo());
  const bare = path.join(tempDir('drop'), 'repo.git');
  git(path.dirname(bare), ['init', '-q', '--bare', bare]);
  writePack(path.join(bare, 'objects', 'pack'), [...truth.values()], { window: 4, depth: 8 });
  sameObjects(catAllObjects(bare), truth);
  assert.is(gitStatus(bare, ['fsck', '--strict', '--no-dangling']).status, 0);
});

test('options: no deltas, a depth limit, given ids, duplicates, empty and large objects', () => {
  const truth = catAllObjects(sharedHistoryRepo());
  const objects = [...truth.values()];

  const plain = writePack(tempDir('plain'), objects, { deltas: false, durable: false });
  assert.is(plain.deltaCount, 0);
  assert.equal([...chainLengths(plain.idxFile).entries()], [[0, truth.size]]);

  const shallow = writePack(tempDir('shallow'), objects, { depth: 3 });
  assert.ok(Math.max(...chainLengths(shallow.idxFile).keys()) <= 3);
  assert.ok(shallow.deltaCount > 0);

  // Ids given are used; duplicates are written once; an empty blob and a 3 MB one are fine.
  const next = random(7);
  const bigBlob = Buffer.from(Array.from({ length: 3_000_000 }, () => Math.floor(next() * 256)));
  const bigEdit = Buffer.concat([bigBlob.subarray(0, 1_000_000), Buffer.from('inserted'), bigBlob.subarray(1_000_000)]);
  const inputs = [
    { type: 'blob' as const, content: Buffer.alloc(0) },
    { type: 'blob' as const, content: bigBlob, id: hashObject('blob', bigBlob) },
    { type: 'blob' as const, content: bigEdit },
    { type: 'blob' as const, content: bigBlob },
  ];
  const dir = tempDir('odd');
  const written = writePack(dir, inputs);
  assert.is(written.objectCount, 3);
  assert.is(written.deltaCount, 1);
  assert.ok(written.packBytes < 3_100_000, 'the edited copy is a delta');
  const reader = PackReader.open(written.packFile);
  assert.ok(reader.read(hashObject('blob', bigEdit))!.content.equals(bigEdit));
  assert.is(reader.read(hashObject('blob', Buffer.alloc(0)))!.content.length, 0);
  reader.verify();
  reader.close();
  assert.is(gitStatus(dir, ['verify-pack', written.idxFile]).status, 0);

  const empty = writePack(tempDir('empty'), []);
  assert.is(empty.objectCount, 0);
  assert.is(gitStatus(path.dirname(empty.packFile), ['verify-pack', empty.idxFile]).status, 0);
  const emptyReader = PackReader.open(empty.packFile);
  assert.is(emptyReader.objectCount, 0);
  emptyReader.verify();
  emptyReader.close();
});

test.run();
