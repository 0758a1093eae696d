/** `nymote remote` and `nymote sync` against a plain git server (`git http-backend`). */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nymote, tool } from '../_lib/cli.js';
import { fsck, git } from '../_lib/git.js';
import { startGitHttpBackend } from '../_lib/git-http-backend.js';
import { tempDir } from '../_lib/tmp.js';

test('sync pushes to an empty plain git remote, then merges its changes with typed merges', async () => {
  const root = tempDir('remote');
  const bare = path.join(root, 'shared.git');
  git(bare, ['init', '-q', '--bare', '-b', 'main', bare]);
  const backend = await startGitHttpBackend(root);
  try {
    const data = tempDir();
    const env = { NYMOTE_DATA: data };
    assert.is(nymote(['user', 'add', 'alice', '--password-stdin'], { input: 'secret-pass-1', env }).status, 0);
    nymote(['store', 'set', 'stats/visits.counter', '10\n'], { env });
    nymote(['store', 'set', 'notes/list.txt', 'one\ntwo\nthree\n'], { env });
    const add = nymote(['remote', 'add', 'origin', backend.url('shared.git'), '--every', '0'], { env });
    assert.is(add.status, 0, add.stderr);
    assert.match(nymote(['remote', 'list'], { env }).stdout, /^origin\thttp:\/\/127\.0\.0\.1:\d+\/shared\.git\tevery 0s$/m);
    const first = nymote(['sync', 'origin'], { env });
    assert.is(first.status, 0, first.stderr);
    assert.match(first.stdout, /synced main with origin: nothing-fetched, pushed/);
    assert.is(git(bare, ['show', 'main:stats/visits.counter']), '10\n');

    // Someone else changes the remote with the git CLI; we change the same files offline.
    const work = path.join(root, 'work');
    tool('git', ['clone', '-q', backend.url('shared.git'), work]);
    fs.writeFileSync(path.join(work, 'stats', 'visits.counter'), '15\n');
    fs.writeFileSync(path.join(work, 'notes', 'list.txt'), 'zero\none\ntwo\nthree\n');
    tool('git', ['-C', work, '-c', 'user.name=Bob', '-c', 'user.email=b@x', 'commit', '-qam', 'bob']);
    assert.is(tool('git', ['-C', work, 'push', '-q', 'origin', 'main']).status, 0);
    nymote(['store', 'set', 'stats/visits.counter', '13\n'], { env });
    nymote(['store', 'set', 'notes/list.txt', 'one\ntwo\nthree\nfour\n'], { env });

    const second = nymote(['sync', 'origin'], { env });
    assert.is(second.status, 0, second.stderr);
    assert.match(second.stdout, /: merge, pushed/);
    assert.is(nymote(['store', 'get', 'stats/visits.counter'], { env }).stdout, '18\n', 'counter deltas add up');
    assert.is(nymote(['store', 'get', 'notes/list.txt'], { env }).stdout, 'zero\none\ntwo\nthree\nfour\n', 'text merged line-wise');
    assert.is(git(bare, ['show', 'main:stats/visits.counter']), '18\n', 'the remote has the merge');
    assert.is(git(bare, ['rev-parse', 'main']).trim(), git(path.join(data, 'store', 'alice.git'), ['rev-parse', 'main']).trim());
    assert.is(fsck(bare), '');
    assert.is(fsck(path.join(data, 'store', 'alice.git')), '');
    const third = nymote(['sync', 'origin'], { env });
    assert.match(third.stdout, /: up-to-date$/m);
  } finally {
    await backend.close();
  }
});

test('remote and sync errors are one line', async () => {
  const data = tempDir();
  const env = { NYMOTE_DATA: data };
  nymote(['user', 'add', 'alice', '--password-stdin'], { input: 'secret-pass-1', env });
  const cases: [string[], RegExp][] = [
    [['remote', 'add', 'bad name', 'http://x/y.git'], /invalid remote name/],
    [['remote', 'add', 'o', 'ftp://x/y.git'], /unsupported remote URL scheme/],
    [['remote', 'add', 'o', 'not a url'], /invalid URL/],
    [['sync', 'nowhere'], /no remote 'nowhere'/],
  ];
  for (const [args, message] of cases) {
    const result = nymote(args, { env });
    assert.is(result.status, 1, args.join(' '));
    assert.match(result.stderr.trim(), message);
    assert.is(result.stderr.trim().split('\n').length, 1);
  }
  nymote(['remote', 'add', 'down', 'http://alice:hunter22@127.0.0.1:9/x.git'], { env });
  const unreachable = nymote(['sync', 'down'], { env });
  assert.is(unreachable.status, 1);
  assert.match(unreachable.stderr, /^nymote: cannot reach http:\/\/127\.0\.0\.1:9\/x\.git/);
  assert.not.ok(fs.readFileSync(path.join(data, 'store', 'alice.git', 'config'), 'utf8').includes('hunter22'), 'no password in the repo config');
  assert.ok(fs.readFileSync(path.join(data, 'secrets', 'remotes.json'), 'utf8').includes('hunter22'));
});

test.run();
