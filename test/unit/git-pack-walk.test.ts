/**
 * The walk by handle over the packs (pack-walk.ts) against the walk by name (object-walk.ts)
 * and against `git rev-list --objects`: the same objects for clones, fetches with haves,
 * shallow boundaries, include-tag, trees stored as deltas either way, several packs, and
 * the closure a clone leaves for the next.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { planPack } from '../../firmware/git/object-walk.js';
import { PackConnectivity, PackObjects, walkPacks, type PackWalk, type PackWalkRequest } from '../../firmware/git/pack-walk.js';
import { reusePackSteps } from '../../firmware/git/pack-reuse.js';
import { Store } from '../../firmware/store/index.js';
import { PackReader } from '../../firmware/store/pack/index.js';
import { git } from '../_lib/git.js';
import { tempDir } from '../_lib/tmp.js';

/**
 * `count` commits on `ref` by fast-import: a growing directory, nested trees, deletions; the
 * first commit on `from` (and merging `merge`) when given.
 */
function history(gitDir: string, count: number, seed: number, options: { ref?: string; from?: string; merge?: string } = {}): void {
  let stream = '';
  for (let i = 0; i < count; i++) {
    const n = seed + i;
    stream += `commit ${options.ref ?? 'refs/heads/main'}\ncommitter T <t@x> ${1_700_000_000 + n} +0000\ndata 6\nc${String(n).padStart(4, '0')}\n`;
    if (i === 0 && options.from !== undefined) stream += `from ${options.from}\n`;
    if (i === 0 && options.merge !== undefined) stream += `merge ${options.merge}\n`;
    stream += `M 100644 inline dir/f${n % 37}.txt\ndata ${String(n).length + 6}\nfile ${n}\n\n`;
    stream += `M 100644 inline dir/sub${n % 5}/deep/g${n % 11}.txt\ndata ${String(n * 7).length + 1}\n${n * 7}\n`;
    if (n % 9 === 0) stream += `M 100644 inline top${n % 4}.md\ndata 3\nx${n % 2}\n`;
    if (n % 13 === 0) stream += `D dir/f${(n + 3) % 37}.txt\n`;
  }
  git(gitDir, ['fast-import', '--quiet'], stream);
}

function init(gitDir: string): void {
  const result = spawnSync('git', ['init', '-q', '--bare', '-b', 'main', gitDir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git init: ${result.stderr}`);
}

function ids(list: Iterable<string>): string[] {
  return [...list].sort();
}

function packWalk(gitDir: string, request: PackWalkRequest, store: Store, closure?: PackWalk['closure']): { walk: PackWalk; ids: string[] } {
  const dir = path.join(gitDir, 'objects', 'pack');
  const readers = fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.pack'))
    .sort()
    .map((name) => PackReader.open(path.join(dir, name)));
  const walk = walkPacks(new PackObjects(readers, (id) => store.odb.read(id)), request, closure);
  assert.ok(walk, 'every object is in a pack');
  return { walk, ids: ids(walk.order.map((handle) => walk.objects.idOf(handle))) };
}

function nameWalk(store: Store, request: PackWalkRequest): string[] {
  return ids(planPack(store.odb, request).objects.map((object) => object.id));
}

function revList(gitDir: string, args: string[]): string[] {
  return ids(
    git(gitDir, ['rev-list', '--objects', ...args])
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.slice(0, 40)),
  );
}

const request = (wants: string[], haves: string[] = [], boundary: string[] = []): PackWalkRequest => ({ wants, haves, boundary: new Set(boundary) });

let gitDir: string;
let store: Store;
let tip: string;
let old: string;

test.before(() => {
  try {
    setUp();
  } catch (error) {
    console.error(error);
    throw error;
  }
});

function setUp(): void {
  gitDir = path.join(tempDir('pw'), 'repo.git');
  init(gitDir);
  history(gitDir, 120, 0);
  old = git(gitDir, ['rev-parse', 'main']).trim();
  // A side branch, merged back into main: a commit with two parents.
  history(gitDir, 30, 1000, { ref: 'refs/heads/side', from: `${old}~40` });
  history(gitDir, 20, 2000, { from: 'refs/heads/main^0', merge: 'refs/heads/side^0' });
  tip = git(gitDir, ['rev-parse', 'main']).trim();
  git(gitDir, ['tag', '-a', '-m', 'annotated', 'v1', `${old}~10`]);
  // Deep chains of tree deltas, as git packs them.
  git(gitDir, ['repack', '-adq', '--depth=50', '--window=50']);
  store = Store.open(gitDir, { durability: 'none' });
}

test.after(async () => {
  await store.close();
});

test('clone: the pack walk, the name walk and rev-list agree', () => {
  const expected = revList(gitDir, ['main', 'side']);
  const { walk, ids: got } = packWalk(gitDir, request([tip, git(gitDir, ['rev-parse', 'side']).trim()]), store);
  assert.equal(got, expected);
  assert.equal(nameWalk(store, request([tip, git(gitDir, ['rev-parse', 'side']).trim()])), expected);
  assert.is(walk.commits, 170);
});

test('fetch with haves: only what the haves do not reach', () => {
  const have = git(gitDir, ['rev-parse', `${old}~5`]).trim();
  const expected = revList(gitDir, ['main', '--not', have]);
  assert.equal(packWalk(gitDir, request([tip], [have]), store).ids, expected);
  assert.equal(nameWalk(store, request([tip], [have])), expected);
});

test('shallow boundary: parents of boundary commits are not followed', () => {
  const boundary = git(gitDir, ['rev-parse', `${tip}~3`]).trim();
  const got = packWalk(gitDir, request([tip], [], [boundary]), store).ids;
  assert.equal(got, nameWalk(store, request([tip], [], [boundary])));
  assert.ok(got.length < revList(gitDir, ['main']).length);
});

test('include-tag: the annotated tag goes along with its target', () => {
  const tagId = git(gitDir, ['rev-parse', 'v1']).trim();
  const peeled = git(gitDir, ['rev-parse', 'v1^{}']).trim();
  const tags = [{ name: 'refs/tags/v1', id: tagId, peeled }];
  const got = packWalk(gitDir, { ...request([tip]), tags }, store).ids;
  assert.ok(got.includes(tagId));
  assert.equal(got, nameWalk(store, { ...request([tip]), tags }));
  // A want of the tag itself peels to its commit.
  assert.equal(packWalk(gitDir, request([tagId]), store).ids, revList(gitDir, ['v1']));
});

test('the reused pack is one git indexes and finds complete', () => {
  const { walk } = packWalk(gitDir, request([tip]), store);
  const chunks: Buffer[] = [];
  const steps = reusePackSteps(walk, { ofsDelta: true, thin: false }, (chunk) => chunks.push(chunk));
  let step = steps.next();
  while (step.done !== true) step = steps.next();
  const target = path.join(tempDir('pw'), 'clone.git');
  init(target);
  git(target, ['index-pack', '--stdin', '--strict'], Buffer.concat(chunks));
  git(target, ['update-ref', 'refs/heads/main', tip]);
  assert.equal(revList(target, ['main']), revList(gitDir, ['main']));
  assert.is(step.value.objects, walk.order.length);
  assert.ok(step.value.deltas > 0, 'stored deltas are reused');
});

test('without ofs-delta the reused deltas go out as REF_DELTA, on bases in the pack', () => {
  const { walk } = packWalk(gitDir, request([tip]), store);
  const chunks: Buffer[] = [];
  const steps = reusePackSteps(walk, { ofsDelta: false, thin: false }, (chunk) => chunks.push(chunk));
  let step = steps.next();
  while (step.done !== true) step = steps.next();
  assert.ok(step.value.deltas > 0);
  const target = path.join(tempDir('pw'), 'refdelta.git');
  init(target);
  git(target, ['index-pack', '--stdin', '--strict'], Buffer.concat(chunks));
  const idx = fs.readdirSync(path.join(target, 'objects', 'pack')).find((n) => n.endsWith('.idx'))!;
  const listed = git(target, ['verify-pack', '-v', path.join(target, 'objects', 'pack', idx)]);
  assert.match(listed, /chain length = 1:/);
});

test('a shallow pack sends whole the objects whose delta base stays behind', () => {
  const boundary = git(gitDir, ['rev-parse', tip]).trim();
  const { walk } = packWalk(gitDir, request([tip], [], [boundary]), store);
  const chunks: Buffer[] = [];
  const steps = reusePackSteps(walk, { ofsDelta: false, thin: false }, (chunk) => chunks.push(chunk));
  while (steps.next().done !== true);
  const target = path.join(tempDir('pw'), 'shallow.git');
  init(target);
  // Without ofs-delta every reused delta is a REF_DELTA; none may point outside the pack.
  // Not --strict: the boundary commit's parents are missing by design.
  git(target, ['index-pack', '--stdin'], Buffer.concat(chunks));
  const listed = git(target, ['verify-pack', '-v', ...fs.readdirSync(path.join(target, 'objects', 'pack')).filter((n) => n.endsWith('.idx')).map((n) => path.join(target, 'objects', 'pack', n))]);
  assert.match(listed, /non delta: \d+ objects/);
  const inTree = new Set(git(gitDir, ['ls-tree', '-r', '-t', tip]).split('\n').filter((line) => line !== '').map((line) => line.split(/\s+/)[2]));
  assert.is(walk.order.length, inTree.size + 2);
});

test('a closure serves the next clone, also after new commits; not after a branch is gone', () => {
  const { walk: first } = packWalk(gitDir, request([tip]), store);
  assert.ok(first.closure);
  // Same wants: everything from the closure.
  const again = packWalk(gitDir, request([tip]), store, first.closure);
  assert.equal(again.ids, revList(gitDir, ['main']));
  // New commits in a new pack: the closure plus the new part.
  history(gitDir, 8, 5000, { from: 'refs/heads/main^0' });
  git(gitDir, ['repack', '-dq']);
  const newTip = git(gitDir, ['rev-parse', 'main']).trim();
  const readersBefore = first.closure.readers;
  const dir = path.join(gitDir, 'objects', 'pack');
  const added = fs.readdirSync(dir).filter((name) => name.endsWith('.pack') && !readersBefore.some((r) => r.packFile.endsWith(name)));
  const readers = [...readersBefore, ...added.map((name) => PackReader.open(path.join(dir, name)))];
  const later = walkPacks(new PackObjects(readers, (id) => store.odb.read(id)), request([newTip]), first.closure)!;
  assert.equal(ids(later.order.map((h) => later.objects.idOf(h))), revList(gitDir, ['main']));
  // Wants that no longer reach the closure's tip (the side branch alone): a full walk, nothing more.
  const side = git(gitDir, ['rev-parse', 'side']).trim();
  const narrow = walkPacks(new PackObjects(readers, (id) => store.odb.read(id)), request([side]), later.closure)!;
  assert.equal(ids(narrow.order.map((h) => narrow.objects.idOf(h))), revList(gitDir, ['side']));
});

test('connectivity of a pushed pack: complete tips pass, a tree naming a missing blob fails', () => {
  const dir = path.join(gitDir, 'objects', 'pack');
  const base = fs.readdirSync(dir).filter((name) => name.endsWith('.pack')).map((name) => PackReader.open(path.join(dir, name)));
  // A "pushed" pack: a commit on main whose tree is main's plus one blob that exists nowhere.
  const missing = 'f'.repeat(40);
  const listing = git(gitDir, ['ls-tree', 'main']);
  const tree = git(gitDir, ['mktree', '--missing'], `${listing}100644 blob ${missing}\tghost.txt\n`).trim();
  const commit = git(gitDir, ['commit-tree', tree, '-p', 'main', '-m', 'ghost']).trim();
  const pushedDir = tempDir('pw');
  const packName = git(gitDir, ['pack-objects', '-q', path.join(pushedDir, 'pack')], `${commit}\n${tree}\n`).trim();
  const pushed = PackReader.open(path.join(pushedDir, `pack-${packName}.pack`));
  const objects = new PackObjects([pushed, ...base], (id) => store.odb.read(id));
  const loose = (id: string) => fs.existsSync(path.join(gitDir, 'objects', id.slice(0, 2), id.slice(2)));
  const check = new PackConnectivity(objects, 0, loose, (id) => store.odb.read(id));
  assert.is(check.complete(commit), false);
  // The same check goes on after a failure, and an intact tip passes.
  assert.is(check.complete(tip), true);
  pushed.close();
  // A pack of the whole history, checked against nothing older: every object found.
  const all = new PackConnectivity(new PackObjects(base, (id) => store.odb.read(id)), 0, loose, (id) => store.odb.read(id));
  assert.is(all.complete(tip), true);
});

test('an object outside the packs: the pack walk gives up', () => {
  const loose = git(gitDir, ['hash-object', '-w', '--stdin'], 'loose blob\n').trim();
  const treeLine = `100644 blob ${loose}\tloose.txt\n`;
  const tree = git(gitDir, ['mktree'], treeLine).trim();
  const dir = path.join(gitDir, 'objects', 'pack');
  const readers = fs.readdirSync(dir).filter((name) => name.endsWith('.pack')).map((name) => PackReader.open(path.join(dir, name)));
  assert.is(walkPacks(new PackObjects(readers, () => undefined), request([tree])), undefined);
});

test.run();
