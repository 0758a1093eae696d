/** The git smart-HTTP server against the stock git CLI (protocol v0 and v2) and isomorphic-git. */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import isogit from 'isomorphic-git';
import isohttp from 'isomorphic-git/http/node';

import { GitHookRejection, type ReceiveHooks } from '../../firmware/git/index.js';
import type { Store } from '../../firmware/store/index.js';
import { fsck } from '../_lib/git.js';
import { fillStore, git, runGit, startGitServer, type GitServer } from '../_lib/git-server.js';
import { tempDir } from '../_lib/tmp.js';

let server: GitServer;
let alice: Store;
let work: string;
/** Set by a test to make alice's pre-receive hook refuse pushes. */
let refusal: string | undefined;
const preReceiveSeen: string[] = [];
const pushOptionsSeen: string[][] = [];

const hooks: ReceiveHooks = {
  async preReceive(ctx) {
    preReceiveSeen.push(ctx.updates.map((u) => u.ref).join(','));
    pushOptionsSeen.push(ctx.pushOptions);
    if (refusal !== undefined) throw new GitHookRejection(refusal);
    ctx.progress(`checked ${ctx.updates.length} update(s) for ${ctx.user}`);
  },
};

const head = (ref = 'refs/heads/main') => alice.refs.read(ref);
const packFiles = () => fs.readdirSync(path.join(server.gitDir('alice'), 'objects', 'pack')).sort();
const cloneDir = (name: string) => path.join(work, name);

test.before(async () => {
  server = await startGitServer({ hooks: (repo) => (repo === 'alice' ? hooks : undefined) });
  alice = server.stores.get('alice');
  await fillStore(alice, 60);
  await alice.tag('v1', 'main', 'release one');
  work = tempDir('gw');
});

test.after(async () => {
  await server.close();
});

for (const version of ['0', '2']) {
  test(`clone (protocol v${version}) gets every commit and tag; fsck --strict is clean`, async () => {
    const dir = cloneDir(`clone-v${version}`);
    await git(['-c', `protocol.version=${version}`, 'clone', '-q', server.url(), dir]);
    assert.is((await git(['-C', dir, 'rev-parse', 'HEAD'])).trim(), head());
    assert.is((await git(['-C', dir, 'rev-list', '--count', 'HEAD'])).trim(), '60');
    assert.is((await git(['-C', dir, 'cat-file', '-t', 'v1'])).trim(), 'tag');
    assert.is(fsck(path.join(dir, '.git')), '');
    assert.ok(fs.existsSync(path.join(dir, 'notes', 'n1.txt')));
  });
}

test('incremental fetch (v0 and v2) brings only the new commits', async () => {
  const base = head();
  await fillStore(alice, 5, 3);
  for (const version of ['0', '2']) {
    const dir = cloneDir(`clone-v${version}`);
    const run = await runGit(['-c', `protocol.version=${version}`, '-C', dir, 'fetch', 'origin'], { env: { GIT_TRACE_PACKET: '' } });
    assert.is(run.status, 0, run.stderr);
    assert.is((await git(['-C', dir, 'rev-parse', 'origin/main'])).trim(), head());
    assert.is((await git(['-C', dir, 'rev-list', '--count', `${base}..origin/main`])).trim(), '5');
    assert.is(fsck(path.join(dir, '.git')), '');
  }
  const line = server.log.ring.filter((l) => l.includes('command=fetch')).pop() ?? '';
  const objects = Number(/objects=(\d+)/.exec(line)?.[1]);
  // 5 commits, their root trees and a few changed trees and blobs — not the whole history again.
  assert.ok(objects > 0 && objects < 40, `incremental fetch sent ${objects} objects`);
});

test('push of a new branch, then a fast-forward; preReceive sees them and its message reaches the pusher', async () => {
  const dir = cloneDir('clone-v2');
  await git(['-C', dir, 'checkout', '-q', '-b', 'topic', 'origin/main']);
  fs.writeFileSync(path.join(dir, 'topic.txt'), 'topic\n');
  await git(['-C', dir, 'add', '.']);
  await git(['-C', dir, 'commit', '-q', '-m', 'topic work']);
  const pushed = await runGit(['-C', dir, 'push', 'origin', 'topic']);
  assert.is(pushed.status, 0, pushed.stderr);
  assert.match(pushed.stderr, /remote: checked 1 update\(s\) for alice/);
  assert.is(head('refs/heads/topic'), (await git(['-C', dir, 'rev-parse', 'topic'])).trim());
  assert.is(alice.branch('topic').get('topic.txt')?.toString(), 'topic\n');

  fs.writeFileSync(path.join(dir, 'topic.txt'), 'topic, more\n');
  await git(['-C', dir, 'commit', '-q', '-am', 'more topic work']);
  await git(['-C', dir, 'push', '-q', '-o', 'ci.skip', '-o', 'note=fast forward', 'origin', 'topic']);
  assert.is(head('refs/heads/topic'), (await git(['-C', dir, 'rev-parse', 'topic'])).trim());
  assert.equal(preReceiveSeen.slice(-2), ['refs/heads/topic', 'refs/heads/topic']);
  assert.equal(pushOptionsSeen.at(-1), ['ci.skip', 'note=fast forward']);
});

test('a thin pack (deltas against objects only the server has) is completed and stored self-contained', async () => {
  const dir = cloneDir('clone-v2');
  // A large file changed a little: git sends the new version as a delta against the old one.
  const big = Array.from({ length: 4000 }, (_, i) => `line ${i} of a large file\n`).join('');
  fs.writeFileSync(path.join(dir, 'big.txt'), big);
  await git(['-C', dir, 'commit', '-q', '-am', 'x', '--allow-empty']);
  await git(['-C', dir, 'add', 'big.txt']);
  await git(['-C', dir, 'commit', '-q', '-m', 'big file']);
  await git(['-C', dir, 'push', '-q', 'origin', 'topic']);
  fs.writeFileSync(path.join(dir, 'big.txt'), big.replace('line 2000 ', 'line two thousand '));
  await git(['-C', dir, 'commit', '-q', '-am', 'small change to the big file']);
  const run = await runGit(['-C', dir, 'push', 'origin', 'topic']);
  assert.is(run.status, 0, run.stderr);
  const line = server.log.ring.filter((l) => l.includes('service=git-receive-pack ')).pop() ?? '';
  assert.match(line, /thinBases=\d+/, `the push was not thin: ${line}`);
  assert.is(alice.branch('topic').get('big.txt')?.toString(), big.replace('line 2000 ', 'line two thousand '));
  assert.is(fsck(server.gitDir('alice')), '');
});

test('a non-fast-forward push is rejected, even forced, and the ref stays', async () => {
  const dir = cloneDir('clone-v2');
  const before = head('refs/heads/topic');
  await git(['-C', dir, 'reset', '-q', '--hard', 'HEAD~1']);
  fs.writeFileSync(path.join(dir, 'other.txt'), 'diverged\n');
  await git(['-C', dir, 'add', '.']);
  await git(['-C', dir, 'commit', '-q', '-m', 'diverging']);
  const packsBefore = packFiles();
  const run = await runGit(['-C', dir, 'push', '--force', 'origin', 'topic']);
  assert.is.not(run.status, 0);
  assert.match(run.stderr, /non-fast-forward/);
  assert.is(head('refs/heads/topic'), before);
  assert.equal(packFiles(), packsBefore, 'a refused push leaves no pack behind');
});

test('an atomic push with one failing ref moves none', async () => {
  const dir = cloneDir('clone-v2');
  const topicBefore = head('refs/heads/topic');
  const run = await runGit(['-C', dir, 'push', '--atomic', '--force', 'origin', 'topic:refs/heads/topic', 'topic:refs/heads/fresh']);
  assert.is.not(run.status, 0);
  assert.is(head('refs/heads/topic'), topicBefore);
  assert.is(head('refs/heads/fresh'), undefined);
  // Without --atomic the good ref goes through and the bad one is refused.
  const partial = await runGit(['-C', dir, 'push', '--force', 'origin', 'topic:refs/heads/topic', 'topic:refs/heads/fresh']);
  assert.is.not(partial.status, 0);
  assert.is(head('refs/heads/fresh'), (await git(['-C', dir, 'rev-parse', 'topic'])).trim());
  assert.is(head('refs/heads/topic'), topicBefore);
});

test('delete a branch', async () => {
  const dir = cloneDir('clone-v2');
  await git(['-C', dir, 'push', '-q', 'origin', ':refs/heads/fresh']);
  assert.is(head('refs/heads/fresh'), undefined);
  assert.ok(!alice.branches().includes('fresh'));
});

test('a push refused by the pre-receive hook shows its message and moves nothing', async () => {
  const dir = cloneDir('clone-v0');
  await git(['-C', dir, 'pull', '-q', '--ff-only']);
  fs.writeFileSync(path.join(dir, 'refused.txt'), 'no\n');
  await git(['-C', dir, 'add', '.']);
  await git(['-C', dir, 'commit', '-q', '-m', 'to be refused']);
  const before = head();
  const packsBefore = packFiles();
  refusal = 'releases must be signed';
  try {
    const run = await runGit(['-C', dir, 'push', 'origin', 'main']);
    assert.is.not(run.status, 0);
    assert.match(run.stderr, /remote: releases must be signed/);
    assert.match(run.stderr, /pre-receive hook declined/);
  } finally {
    refusal = undefined;
  }
  assert.is(head(), before);
  assert.equal(packFiles(), packsBefore);
  // The same push goes through once the hook agrees.
  await git(['-C', dir, 'push', '-q', 'origin', 'main']);
  assert.is(head(), (await git(['-C', dir, 'rev-parse', 'HEAD'])).trim());
});

for (const version of ['0', '2']) {
  test(`shallow clone --depth 1 (v${version}), then deepen and unshallow`, async () => {
    const dir = cloneDir(`shallow-v${version}`);
    await git(['-c', `protocol.version=${version}`, 'clone', '-q', '--depth', '1', '--no-single-branch', server.url(), dir]);
    assert.is((await git(['-C', dir, 'rev-list', '--count', 'HEAD'])).trim(), '1');
    assert.ok(fs.existsSync(path.join(dir, '.git', 'shallow')));
    assert.is(fsck(path.join(dir, '.git')), '');
    await git(['-c', `protocol.version=${version}`, '-C', dir, 'fetch', '-q', '--deepen', '2']);
    assert.is((await git(['-C', dir, 'rev-list', '--count', 'HEAD'])).trim(), '3');
    await git(['-c', `protocol.version=${version}`, '-C', dir, 'fetch', '-q', '--unshallow']);
    assert.is((await git(['-C', dir, 'rev-list', '--count', 'HEAD'])).trim(), String(alice.branch().history().length));
    assert.ok(!fs.existsSync(path.join(dir, '.git', 'shallow')));
    assert.is(fsck(path.join(dir, '.git')), '');
  });
}

test('shallow-since clone (deepen-since)', async () => {
  const dir = cloneDir('since');
  const newest = alice.odb.readCommit(head()!).committer.timestamp;
  await git(['clone', '-q', `--shallow-since=${newest - 1}`, server.url(), dir]);
  const count = Number((await git(['-C', dir, 'rev-list', '--count', 'HEAD'])).trim());
  assert.ok(count >= 1 && count < 70, `got ${count} commits`);
  assert.is(fsck(path.join(dir, '.git')), '');
});

test('wrong password: 401 and git fails; alice on bob.git: 403', async () => {
  const wrong = await runGit(['ls-remote', server.url('alice', 'alice', 'wrong-password')]);
  assert.is.not(wrong.status, 0);
  assert.match(wrong.stderr, /Authentication failed|401/);
  const other = await runGit(['ls-remote', server.url('bob', 'alice')]);
  assert.is.not(other.status, 0);
  assert.match(other.stderr, /403/);
  const nobody = await fetch(`http://127.0.0.1:${server.port}/git/alice.git/info/refs?service=git-upload-pack`);
  assert.is(nobody.status, 401);
});

test('isomorphic-git clones and pushes', async () => {
  const dir = cloneDir('iso');
  const onAuth = () => ({ username: 'alice', password: 'secret-pass-1' });
  const url = `http://127.0.0.1:${server.port}/git/alice.git`;
  await isogit.clone({ fs, http: isohttp, dir, url, onAuth, ref: 'main', singleBranch: true });
  assert.is(await isogit.resolveRef({ fs, dir, ref: 'HEAD' }), head());
  fs.writeFileSync(path.join(dir, 'iso.txt'), 'from isomorphic-git\n');
  await isogit.add({ fs, dir, filepath: 'iso.txt' });
  const commit = await isogit.commit({ fs, dir, message: 'iso commit', author: { name: 'Iso', email: 'iso@example.test' } });
  const result = await isogit.push({ fs, http: isohttp, dir, url, onAuth, ref: 'main' });
  assert.ok(result.ok, JSON.stringify(result));
  assert.is(head(), commit);
  assert.is(alice.branch().get('iso.txt')?.toString(), 'from isomorphic-git\n');
});

test('the server repository passes git fsck --strict after all of it', async () => {
  assert.is(fsck(server.gitDir('alice')), '');
  const leftovers = packFiles().filter((name) => !/^pack-[0-9a-f]{40}\.(pack|idx)$/.test(name));
  assert.equal(leftovers, []);
});

test.run();
