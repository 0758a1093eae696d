import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { listLoose, readLoose } from '../../firmware/store/loose.js';
import type { ObjectId, RawObject } from '../../firmware/store/objects.js';
import { PackReader, repack } from '../../firmware/store/pack/index.js';
import { catAllObjects, git, gitStatus, makeHistoryRepo, tempDir } from './store-pack-fixtures.js';

function packFiles(repo: string): string[] {
  return fs.readdirSync(path.join(repo, 'objects', 'pack')).sort();
}

function sameObjects(actual: Map<string, RawObject>, expected: Map<string, RawObject>): void {
  assert.equal(new Set(actual.keys()), new Set(expected.keys()));
  for (const [id, object] of expected) {
    assert.is(actual.get(id)!.type, object.type, id);
    assert.ok(actual.get(id)!.content.equals(object.content), id);
  }
}

/**
 * A repository with two packs and loose objects, some of which are also in the second pack:
 * history from fast-import repacked into one pack, then a commit of new files written loose,
 * then some of those loose objects packed again (and left loose too).
 */
function repoWithPacksAndLoose(): { repo: string; looseIds: ObjectId[] } {
  const repo = makeHistoryRepo(tempDir('repack'), 60, 3);
  git(repo, ['repack', '-adq']);
  const blobIds: ObjectId[] = [];
  for (let i = 0; i < 20; i++) {
    const text = `loose file ${i}\n${'some shared text that repeats across these files\n'.repeat(5 + i)}`;
    blobIds.push(git(repo, ['hash-object', '-w', '--stdin'], text).toString().trim());
  }
  const treeInput = blobIds.map((id, i) => `100644 blob ${id}\tloose-${i}.txt\n`).join('');
  const tree = git(repo, ['mktree'], treeInput).toString().trim();
  const parent = git(repo, ['rev-parse', 'main']).toString().trim();
  const commit = git(repo, ['commit-tree', tree, '-p', parent, '-m', 'loose commit']).toString().trim();
  git(repo, ['update-ref', 'refs/heads/main', commit]);
  // A second pack holding half the new blobs; pack-objects leaves the loose copies in place.
  git(repo, ['pack-objects', '-q', path.join(repo, 'objects', 'pack', 'pack')], blobIds.slice(0, 10).join('\n') + '\n');
  const looseIds = [...listLoose(path.join(repo, 'objects'))];
  return { repo, looseIds };
}

test('repack: two packs and loose objects become one pack; every object kept; git fsck --strict clean', async () => {
  const { repo, looseIds } = repoWithPacksAndLoose();
  const objectsDir = path.join(repo, 'objects');
  assert.is(packFiles(repo).filter((name) => name.endsWith('.pack')).length, 2);
  assert.is(looseIds.length, 22, '20 blobs, a tree and a commit are loose');
  const truth = catAllObjects(repo);

  const stats = await repack(objectsDir, {
    listLoose: () => listLoose(objectsDir),
    readLoose: (id) => readLoose(objectsDir, id),
  });
  assert.is(stats.objects, truth.size);
  assert.is(stats.removedPacks, 2);
  assert.is(stats.removedLoose, 22);
  assert.ok(stats.deltas > truth.size / 4, `deltas: ${stats.deltas}`);

  const files = packFiles(repo);
  assert.equal(files, [path.basename(stats.packFile!), path.basename(stats.packFile!).replace(/\.pack$/, '.idx')].sort());
  assert.is(fs.statSync(stats.packFile!).size, stats.packBytes);
  assert.equal([...listLoose(objectsDir)], [], 'no loose objects left');

  sameObjects(catAllObjects(repo), truth);
  const reader = PackReader.open(stats.packFile!);
  sameObjects(new Map([...reader.ids()].map((id) => [id, reader.read(id)!])), truth);
  reader.verify();
  reader.close();
  const fsck = gitStatus(repo, ['fsck', '--strict', '--no-dangling']);
  assert.is(fsck.status, 0, fsck.output);
  assert.is(git(repo, ['rev-list', '--count', 'main']).toString().trim(), '61', 'all history is still there');

  // A second repack of the result is a no-op in content: the same objects, one pack.
  const again = await repack(objectsDir, { listLoose: () => listLoose(objectsDir), readLoose: (id) => readLoose(objectsDir, id) });
  assert.is(again.objects, truth.size);
  assert.is(again.removedLoose, 0);
  assert.is(packFiles(repo).filter((name) => name.endsWith('.pack')).length, 1);
  sameObjects(catAllObjects(repo), truth);
});

test('repack keeps an object written during it, and leaves .keep packs alone', async () => {
  const { repo } = repoWithPacksAndLoose();
  const objectsDir = path.join(repo, 'objects');
  const keptPack = packFiles(repo).find((name) => name.endsWith('.pack'))!;
  fs.writeFileSync(path.join(objectsDir, 'pack', keptPack.replace(/\.pack$/, '.keep')), '');
  let lateId: ObjectId | undefined;
  const stats = await repack(objectsDir, {
    listLoose: () => listLoose(objectsDir),
    readLoose: (id) => {
      // Another writer makes a loose object after the snapshot was taken.
      lateId ??= git(repo, ['hash-object', '-w', '--stdin'], 'written while gc ran\n').toString().trim();
      return readLoose(objectsDir, id);
    },
  });
  assert.ok(lateId !== undefined);
  assert.ok(readLoose(objectsDir, lateId) !== undefined, 'the late object is still there, loose');
  assert.ok(fs.existsSync(path.join(objectsDir, 'pack', keptPack)), 'the .keep pack is untouched');
  assert.is(stats.removedPacks, 1);
  assert.equal([...listLoose(objectsDir)], [lateId]);
  assert.is(gitStatus(repo, ['fsck', '--strict', '--no-dangling']).status, 0);
});

test('repack of an empty object directory does nothing', async () => {
  const dir = tempDir('empty-objects');
  const stats = await repack(dir, { listLoose: () => [], readLoose: () => undefined });
  assert.equal(stats, { objects: 0, packBytes: 0, deltas: 0, removedLoose: 0, removedPacks: 0 });
  assert.equal(fs.readdirSync(path.join(dir, 'pack')), []);
});

test.run();
