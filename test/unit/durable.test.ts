import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NymoteError, prepareDataDir, withFileLock, writeFileDurable } from '../../firmware/runtime/index.js';
import { tempDir } from '../_lib/tmp.js';

test('writeFileDurable replaces the file whole and leaves no temp files', () => {
  const dir = tempDir();
  const file = path.join(dir, 'f.json');
  writeFileDurable(file, 'one', 0o600);
  writeFileDurable(file, 'two', 0o600);
  assert.is(fs.readFileSync(file, 'utf8'), 'two');
  assert.is(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(fs.readdirSync(dir), ['f.json']);
});

test('a held lock makes the second writer wait, then fail with ELOCKED', () => {
  const dir = tempDir();
  const file = path.join(dir, 'f');
  withFileLock(file, () => {
    assert.throws(
      () => withFileLock(file, () => 1, { waitMs: 50 }),
      (err: unknown) => err instanceof NymoteError && err.code === 'ELOCKED',
    );
  });
  assert.is(withFileLock(file, () => 42), 42);
  assert.not.ok(fs.existsSync(`${file}.lock`));
});

test('a stale lock left by a crashed process is broken', () => {
  const dir = tempDir();
  const file = path.join(dir, 'f');
  fs.writeFileSync(`${file}.lock`, '');
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(`${file}.lock`, old, old);
  assert.is(withFileLock(file, () => 'ok', { waitMs: 10 }), 'ok');
});

test('prepareDataDir makes the layout with private secrets/ and run/', () => {
  const root = path.join(tempDir(), 'data');
  const dirs = prepareDataDir(root);
  for (const d of [dirs.store, dirs.secrets, dirs.firmware, dirs.log, dirs.run]) assert.ok(fs.statSync(d).isDirectory(), d);
  assert.is(fs.statSync(dirs.secrets).mode & 0o777, 0o700);
  assert.is(fs.statSync(dirs.run).mode & 0o777, 0o700);
});

test('a data directory that cannot be made names the path', () => {
  const blocker = path.join(tempDir(), 'file');
  fs.writeFileSync(blocker, '');
  assert.throws(
    () => prepareDataDir(path.join(blocker, 'data')),
    (err: unknown) => err instanceof NymoteError && err.code === 'EDATADIR' && err.message.includes(path.join(blocker, 'data')),
  );
});

test.run();
