/** The store and the stock git CLI read and write the same repositories. */
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Store } from '../../firmware/store/index.js';
import { fsck, git } from '../_lib/git.js';
import { tempDir } from '../_lib/tmp.js';

test('1,000 store commits: git fsck --strict is clean and git log shows them all', async () => {
  const store = Store.open(path.join(tempDir('sg'), 'alice.git'), { durability: 'none' });
  const main = store.branch();
  for (let i = 0; i < 1000; i++) {
    await main.set(`notes/${i % 37}/${i}.txt`, `note ${i}\n`, { message: `note ${i}` });
  }
  await store.close();
  assert.is(fsck(store.gitDir), '');
  const log = git(store.gitDir, ['log', '--format=%s', 'main']).trim().split('\n');
  assert.is(log.length, 1000);
  assert.is(log[0], 'note 999');
  assert.is(log[999], 'note 0');
  assert.is(git(store.gitDir, ['show', 'main:notes/0/999.txt']), 'note 999\n');
});

test('the git CLI commits on top; the store reads its commits', async () => {
  const dir = tempDir('sg');
  const gitDir = path.join(dir, 'alice.git');
  const store = Store.open(gitDir, { durability: 'none' });
  await store.branch().set('a.txt', 'from the store\n');
  // A working clone, a commit with the git CLI, pushed back into the bare repository.
  const work = path.join(dir, 'work');
  git(path.join(work, '.git'), ['init', '-q', '-b', 'main', work]);
  git(path.join(work, '.git'), ['-C', work, 'pull', '-q', gitDir, 'main']);
  const fs = await import('node:fs');
  fs.mkdirSync(path.join(work, 'sub'));
  fs.writeFileSync(path.join(work, 'sub', 'b.txt'), 'from git\n');
  fs.writeFileSync(path.join(work, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  git(path.join(work, '.git'), ['-C', work, 'add', '.']);
  git(path.join(work, '.git'), ['-C', work, 'commit', '-q', '-m', 'commit from git']);
  git(path.join(work, '.git'), ['-C', work, 'push', '-q', gitDir, 'main']);
  const main = store.branch();
  assert.is(main.get('sub/b.txt')!.toString(), 'from git\n');
  assert.is(main.get('a.txt')!.toString(), 'from the store\n');
  assert.is(main.history()[0]!.message, 'commit from git\n');
  // The store keeps the executable bit when it changes that file.
  await main.set('run.sh', '#!/bin/sh\necho hi\n');
  assert.match(git(gitDir, ['ls-tree', 'main', 'run.sh']), /^100755 /);
  assert.is(fsck(gitDir), '');
});

test('a repository made wholly by the git CLI opens in the store', async () => {
  const gitDir = path.join(tempDir('sg'), 'by-git.git');
  git(gitDir, ['init', '-q', '--bare', '-b', 'main', gitDir]);
  const stream = [1, 2, 3]
    .map((n) => `commit refs/heads/main\ncommitter Git <g@example.test> ${1_700_000_000 + n} +0100\ndata 9\ncommit ${n}\nM 100644 inline dir/file.txt\ndata 7\nvalue ${n}\n`)
    .join('');
  git(gitDir, ['fast-import', '--quiet'], stream);
  git(gitDir, ['tag', '-a', '-m', 'a tag', 'v1', 'main~1']);
  const store = Store.open(gitDir, { durability: 'none' });
  const main = store.branch();
  assert.is(main.get('dir/file.txt')!.toString(), 'value 3');
  assert.equal(main.history().map((h) => h.message), ['commit 3\n', 'commit 2\n', 'commit 1\n']);
  assert.is(main.history()[0]!.author.timezoneOffset, 60);
  assert.is(store.snapshot(store.tags().get('v1')).get('dir/file.txt')!.toString(), 'value 2');
});

test('a repository packed by git gc --aggressive (deltas) opens and reads in full', async () => {
  const dir = tempDir('sg');
  const gitDir = path.join(dir, 'made-by-git.git');
  const store = Store.open(gitDir, { durability: 'none' });
  const main = store.branch();
  const text = (n: number) => Array.from({ length: 200 }, (_, i) => `line ${i} ${i % 17 === n % 17 ? n : ''}`).join('\n');
  for (let i = 0; i < 120; i++) await main.set(`docs/${i % 5}.txt`, text(i));
  await store.close();
  git(gitDir, ['gc', '-q', '--aggressive', '--prune=now']);
  assert.match(git(gitDir, ['count-objects', '-v']), /count: 0/);
  const reopened = Store.open(gitDir, { durability: 'none' });
  const branch = reopened.branch();
  for (let i = 0; i < 5; i++) assert.is(branch.get(`docs/${i}.txt`)!.toString(), git(gitDir, ['show', `main:docs/${i}.txt`]));
  assert.is(branch.history().length, 120);
  // Every historical version, via the store, equals git's.
  for (const entry of branch.history('docs/3.txt', { limit: 10 })) {
    assert.is(reopened.snapshot(entry.commit).get('docs/3.txt')!.toString(), git(gitDir, ['show', `${entry.commit}:docs/3.txt`]));
  }
  await branch.set('after-gc', 'still writable');
  assert.is(fsck(gitDir), '');
});

test('store gc packs everything, keeps all history, and git agrees', async () => {
  const store = Store.open(path.join(tempDir('sg'), 'alice.git'), { durability: 'none' });
  const main = store.branch();
  for (let i = 0; i < 60; i++) await main.set(`f/${i % 6}`, `version ${i}\n`.repeat(20));
  const before = git(store.gitDir, ['rev-list', '--objects', '--all']).trim().split('\n').length;
  await store.gc();
  assert.match(git(store.gitDir, ['count-objects', '-v']), /^count: 0$/m);
  assert.is(git(store.gitDir, ['rev-list', '--objects', '--all']).trim().split('\n').length, before);
  assert.is(main.get('f/5')!.toString(), 'version 59\n'.repeat(20));
  assert.is(main.history('f/0').length, 10);
  await main.set('f/0', 'after gc');
  assert.is(fsck(store.gitDir), '');
});

test.run();
