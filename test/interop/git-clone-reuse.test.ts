/**
 * Clones and fetches served by pack reuse (pack-walk.ts, pack-reuse.ts) against the stock git
 * CLI: the delta search is switched off (deltaSearchMaxObjects 0) so every pack, small or
 * large, goes the clone's way. History with deep tree-delta chains comes from a git push;
 * the store adds packs of its own. Every clone passes fsck --strict and holds exactly what
 * the refs reach; a clone after a push starts from the previous clone's closure, a clone
 * after a branch is deleted does not get the branch's objects.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { DELIM_PKT, FLUSH_PKT, pktLine } from '../../firmware/git/pkt-line.js';
import type { Store } from '../../firmware/store/index.js';
import { fsck } from '../_lib/git.js';
import { fillStore, git, startGitServer, type GitServer } from '../_lib/git-server.js';
import { tempDir } from '../_lib/tmp.js';

let server: GitServer;
let alice: Store;
let work: string;
let source: string;
let round = 0;

/** `count` commits on main of the work tree repo at `dir`, by fast-import: nested, growing trees. */
function commitHistory(dir: string, count: number, seed: number): void {
  let stream = '';
  const hasMain = spawnSync('git', ['-C', dir, 'rev-parse', '-q', '--verify', 'refs/heads/main']).status === 0;
  for (let i = 0; i < count; i++) {
    const n = seed + i;
    stream += `commit refs/heads/main\ncommitter T <t@x> ${1_700_000_000 + n} +0000\ndata 6\nc${String(n).padStart(4, '0')}\n`;
    if (i === 0 && hasMain) stream += 'from refs/heads/main^0\n';
    stream += `M 100644 inline dir/f${n % 41}.txt\ndata ${String(n).length + 6}\nfile ${n}\n\n`;
    stream += `M 100644 inline dir/sub${n % 6}/deep/g${n % 13}.txt\ndata ${String(n * 7).length + 1}\n${n * 7}\n`;
  }
  const result = spawnSync('git', ['-C', dir, 'fast-import', '--quiet'], { input: stream });
  if (result.status !== 0) throw new Error(`fast-import: ${result.stderr.toString()}`);
}

const lines = (text: string) => text.split('\n').filter((line) => line !== '');

/** Every object in a bare clone, and every object its refs reach. */
async function objectSets(gitDir: string): Promise<{ all: string[]; reachable: string[] }> {
  const all = lines(await git(['--git-dir', gitDir, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname)'])).sort();
  const reachable = [...new Set(lines(await git(['--git-dir', gitDir, 'rev-list', '--objects', '--all'])).map((line) => line.slice(0, 40)))].sort();
  return { all, reachable };
}

async function cloneAndCheck(version: string): Promise<string> {
  const target = path.join(work, `clone-${round++}.git`);
  await git(['-c', `protocol.version=${version}`, 'clone', '-q', '--bare', server.url(), target]);
  assert.is(fsck(target), '');
  const { all, reachable } = await objectSets(target);
  assert.equal(all, reachable, 'the clone holds exactly what its refs reach');
  const serverRefs = lines(await git(['--git-dir', server.gitDir('alice'), 'for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads', 'refs/tags']));
  const cloneRefs = lines(await git(['--git-dir', target, 'for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads', 'refs/tags']));
  assert.equal(cloneRefs, serverRefs);
  return target;
}

/** A protocol v2 fetch by hand: the pack of the response (side-band demultiplexed). */
async function fetchPack(args: string[]): Promise<Buffer> {
  const url = new URL(`${server.url()}/git-upload-pack`);
  const auth = Buffer.from(`${url.username}:${url.password}`).toString('base64');
  url.username = '';
  url.password = '';
  const body = Buffer.concat([pktLine('command=fetch\n'), DELIM_PKT, ...args.map((arg) => pktLine(`${arg}\n`)), FLUSH_PKT]);
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/x-git-upload-pack-request', 'git-protocol': 'version=2' },
    body,
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  const pack: Buffer[] = [];
  let inPack = false;
  for (let at = 0; at < bytes.length; ) {
    const length = parseInt(bytes.toString('latin1', at, at + 4), 16);
    if (length < 4) {
      at += 4;
      continue;
    }
    const payload = bytes.subarray(at + 4, at + length);
    if (inPack && payload[0] === 1) pack.push(payload.subarray(1));
    else if (inPack && payload[0] === 3) throw new Error(`fetch failed: ${payload.subarray(1).toString()}`);
    if (payload.toString() === 'packfile\n') inPack = true;
    at += length;
  }
  return Buffer.concat(pack);
}

const lastFetch = () => server.log.ring.filter((line) => line.includes('command=fetch') || line.includes('service=git-upload-pack ')).pop() ?? '';

test.before(async () => {
  server = await startGitServer({ limits: { deltaSearchMaxObjects: 0 } });
  alice = server.stores.get('alice');
  work = tempDir('gr');
  source = path.join(work, 'source');
  await git(['init', '-q', '-b', 'main', source]);
  commitHistory(source, 300, 0);
  // Deep chains of tree deltas, pushed as they are.
  await git(['-C', source, 'repack', '-adq', '--depth=50', '--window=50']);
  await git(['-C', source, 'push', '-q', server.url(), 'main']);
  // The store's own commits, in packs of its own, on another branch.
  await fillStore(alice, 12, 5, 'notes');
  await alice.tag('v1', 'main', 'release one');
});

test.after(async () => {
  await server.close();
});

for (const version of ['0', '2']) {
  test(`clone (protocol v${version}) by pack reuse: fsck --strict, exactly the reachable objects`, async () => {
    await cloneAndCheck(version);
    assert.match(lastFetch(), /walk=packs/);
    assert.match(lastFetch(), /deltas=[1-9]/);
  });
}

test('a second clone starts from the first one’s closure', async () => {
  await cloneAndCheck('2');
  const planMs = Number(/planMs=(\d+)/.exec(lastFetch())?.[1]);
  assert.ok(planMs >= 0);
});

test('after a push, a clone walks only what is new and still gets everything', async () => {
  commitHistory(source, 15, 5000);
  await git(['-C', source, 'push', '-q', server.url(), 'main']);
  await cloneAndCheck('2');
  await cloneAndCheck('0');
});

test('after a branch is deleted, a clone does not carry its objects', async () => {
  const branch = path.join(work, 'secret');
  await git(['clone', '-q', server.url(), branch]);
  await git(['-C', branch, 'checkout', '-q', '-b', 'secret']);
  fs.writeFileSync(path.join(branch, 'secret.txt'), 'a secret that is pushed and then deleted\n');
  await git(['-C', branch, 'add', 'secret.txt']);
  await git(['-C', branch, '-c', 'user.name=T', '-c', 'user.email=t@x', 'commit', '-q', '-m', 'secret']);
  const blob = (await git(['-C', branch, 'rev-parse', 'HEAD:secret.txt'])).trim();
  await git(['-C', branch, 'push', '-q', 'origin', 'secret']);
  const withSecret = await cloneAndCheck('2');
  assert.is((await git(['--git-dir', withSecret, 'cat-file', '-t', blob])).trim(), 'blob');
  await git(['-C', branch, 'push', '-q', 'origin', ':secret']);
  const without = await cloneAndCheck('2');
  const probe = spawnSync('git', ['--git-dir', without, 'cat-file', '-e', blob]);
  assert.is.not(probe.status, 0, 'the deleted branch’s blob came along');
});

test('shallow clone and deepen by pack reuse', async () => {
  const target = path.join(work, 'shallow');
  await git(['clone', '-q', '--depth', '3', server.url(), target]);
  assert.is((await git(['-C', target, 'rev-list', '--count', 'HEAD'])).trim(), '3');
  assert.is(fsck(path.join(target, '.git')), '');
  await git(['-C', target, 'fetch', '-q', '--deepen', '20']);
  assert.is((await git(['-C', target, 'rev-list', '--count', 'HEAD'])).trim(), '23');
  assert.is(fsck(path.join(target, '.git')), '');
});

test('incremental fetch with a thin pack: a small change to a big file travels as a delta', async () => {
  const target = path.join(work, 'fetcher');
  await git(['clone', '-q', server.url(), target]);
  // A big file, then a one-line change to it, pushed from elsewhere.
  const pusher = path.join(work, 'pusher');
  await git(['clone', '-q', server.url(), pusher]);
  const big = Array.from({ length: 8000 }, (_, i) => `line ${i} ${((i * 2654435761) >>> 0).toString(36)}\n`).join('');
  fs.writeFileSync(path.join(pusher, 'big.txt'), big);
  await git(['-C', pusher, 'add', 'big.txt']);
  await git(['-C', pusher, '-c', 'user.name=T', '-c', 'user.email=t@x', 'commit', '-q', '-m', 'big']);
  await git(['-C', pusher, 'push', '-q', 'origin', 'main']);
  await git(['-C', target, 'pull', '-q', '--ff-only']);
  fs.writeFileSync(path.join(pusher, 'big.txt'), big.replace('line 4000 ', 'line four thousand '));
  await git(['-C', pusher, '-c', 'user.name=T', '-c', 'user.email=t@x', 'commit', '-q', '-am', 'small change']);
  await git(['-C', pusher, 'push', '-q', 'origin', 'main']);

  await git(['-C', target, 'fetch', '-q', 'origin']);
  const bytes = Number(/bytes=(\d+)/.exec(lastFetch())?.[1]);
  assert.ok(bytes < 10_000, `the fetch sent ${bytes} bytes: the big file went whole`);
  assert.is(fsck(path.join(target, '.git')), '');
  assert.is((await git(['-C', target, 'rev-parse', 'origin/main'])).trim(), (await git(['-C', pusher, 'rev-parse', 'HEAD'])).trim());
  // Without thin-pack (git fetch always asks for it), the same fetch is a pack on its own.
  const tip = (await git(['-C', pusher, 'rev-parse', 'HEAD'])).trim();
  const parent = (await git(['-C', pusher, 'rev-parse', 'HEAD~1'])).trim();
  const pack = await fetchPack([`want ${tip}`, `have ${parent}`, 'ofs-delta', 'no-progress', 'done']);
  assert.ok(pack.length > 50_000, `not thin: the big file goes whole (${pack.length} bytes)`);
  const fat = path.join(work, 'fat.git');
  await git(['init', '-q', '--bare', fat]);
  // Not --strict (the parent commit is not in it); without --fix-thin, a delta on a missing base fails.
  await git(['--git-dir', fat, 'index-pack', '--stdin'], { input: pack });
});

test('a fetch that follows tags (include-tag) gets the annotated tag', async () => {
  const target = path.join(work, 'tags');
  await git(['init', '-q', '--bare', target]);
  await git(['--git-dir', target, 'fetch', '-q', server.url(), 'refs/heads/main:refs/heads/main']);
  assert.is((await git(['--git-dir', target, 'cat-file', '-t', 'v1'])).trim(), 'tag');
  assert.is(fsck(target), '');
});

test('the server repository passes git fsck --strict after all of it', () => {
  assert.is(fsck(server.gitDir('alice')), '');
});

test.run();
