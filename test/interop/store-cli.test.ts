/** `nymote store …` from a shell, and `git clone` of what it wrote. */
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nymote, tool } from '../_lib/cli.js';
import { fsck } from '../_lib/git.js';
import { tempDir } from '../_lib/tmp.js';

function oneError(stderr: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  assert.is(lines.length, 1, stderr);
  return lines[0]!;
}

test('set, get, ls, log, rm; the repository clones with git and is fsck-clean', () => {
  const data = tempDir();
  const env = { NYMOTE_DATA: data };
  assert.is(nymote(['user', 'add', 'alice', '--password-stdin'], { input: 'secret-pass-1', env }).status, 0);
  const set = nymote(['store', 'set', 'notes/today', 'buy milk'], { env });
  assert.is(set.status, 0, set.stderr);
  assert.match(set.stdout, /^[0-9a-f]{40}\n$/);
  assert.is(nymote(['store', 'set', 'notes/tomorrow'], { input: 'binary\0ok\n', env }).status, 0);
  assert.is(nymote(['store', 'get', 'notes/today'], { env }).stdout, 'buy milk');
  assert.is(nymote(['store', 'get', 'notes/tomorrow'], { env }).stdout, 'binary\0ok\n');
  assert.is(nymote(['store', 'ls'], { env }).stdout, 'notes/\n');
  assert.is(nymote(['store', 'ls', 'notes'], { env }).stdout, 'today\ntomorrow\n');
  assert.is(nymote(['store', 'set', 'notes/today', 'buy bread'], { env }).status, 0);
  const log = nymote(['store', 'log', 'notes/today'], { env }).stdout.trim().split('\n');
  assert.is(log.length, 2);
  assert.match(log[0]!, /^[0-9a-f]{12} \d{4}-\d\d-\d\dT.* set notes\/today$/);
  assert.is(nymote(['store', 'log', '-n', '1'], { env }).stdout.trim().split('\n').length, 1);
  assert.is(nymote(['store', 'rm', 'notes/tomorrow'], { env }).status, 0);

  const repo = path.join(data, 'store', 'alice.git');
  assert.is(fsck(repo), '');
  const clone = path.join(tempDir(), 'clone');
  const cloned = tool('git', ['clone', '-q', repo, clone]);
  assert.is(cloned.status, 0, cloned.stderr);
  assert.is(tool('cat', [path.join(clone, 'notes', 'today')]).stdout, 'buy bread');
  assert.is(tool('git', ['-C', clone, 'rev-list', '--count', 'HEAD']).stdout.trim(), '4');
});

test('bad input: one line, non-zero exit, nothing changed', () => {
  const data = tempDir();
  const env = { NYMOTE_DATA: data };
  const noUsers = nymote(['store', 'get', 'x'], { env });
  assert.is(noUsers.status, 2);
  assert.match(oneError(noUsers.stderr), /no users yet/);
  nymote(['user', 'add', 'alice', '--password-stdin'], { input: 'secret-pass-1', env });
  nymote(['user', 'add', 'bob', '--password-stdin'], { input: 'secret-pass-2', env });
  const ambiguous = nymote(['store', 'get', 'x'], { env });
  assert.is(ambiguous.status, 2);
  assert.match(oneError(ambiguous.stderr), /several users; name one with --user/);
  const cases: [string[], number, RegExp][] = [
    [['store', 'set', '--user', 'alice', '../escape', 'v'], 1, /invalid path '..\/escape'/],
    [['store', 'set', '--user', 'alice', 'a/.git/x', 'v'], 1, /'.git' segment/],
    [['store', 'get', '--user', 'alice', 'missing'], 1, /no value at missing/],
    [['store', 'rm', '--user', 'alice', 'missing'], 1, /nothing at missing/],
    [['store', 'get', '--user', 'carol', 'x'], 1, /no user 'carol'/],
    [['store', 'get', '--user', 'alice', '--branch', 'bad..name', 'x'], 1, /invalid ref name/],
    [['store', 'frob', '--user', 'alice'], 2, /unknown action 'frob'/],
    [['store', 'log', '--user', 'alice', '-n', 'zero'], 2, /invalid limit/],
  ];
  for (const [args, status, message] of cases) {
    const result = nymote(args, { env });
    assert.is(result.status, status, args.join(' '));
    assert.match(oneError(result.stderr), message);
  }
  assert.is(nymote(['store', 'ls', '--user', 'alice'], { env }).stdout, '', 'nothing was written');
});

test.run();
