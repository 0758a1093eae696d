import fs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserDirectory, hashPassword, verifyPassword } from '../../firmware/accounts/index.js';
import { NymoteError } from '../../firmware/runtime/index.js';
import { rejects } from '../_lib/assert.js';
import { tempDir } from '../_lib/tmp.js';

const fails = (code: string) => (err: unknown) => err instanceof NymoteError && err.code === code;

test('scrypt hashes verify only the right password and are salted', async () => {
  const a = await hashPassword('correct horse');
  const b = await hashPassword('correct horse');
  assert.ok(a.startsWith('scrypt$32768$8$1$'));
  assert.is.not(a, b);
  assert.ok(await verifyPassword('correct horse', a));
  assert.not.ok(await verifyPassword('correct hors', a));
  assert.not.ok(await verifyPassword('correct horse', 'garbage'));
  assert.not.ok(await verifyPassword('correct horse', 'scrypt$999999999$8$1$AAAA$AAAA'));
});

test('add, verify, change password, list and remove; the file is private and has no password', async () => {
  const users = new UserDirectory(tempDir());
  await users.add('alice', 'secret-pass-1');
  await users.add('bob', 'another-pass');
  assert.equal(users.list().map((u) => u.name), ['alice', 'bob']);
  assert.ok(await users.verify('alice', 'secret-pass-1'));
  assert.not.ok(await users.verify('alice', 'another-pass'));
  assert.not.ok(await users.verify('nobody', 'secret-pass-1'));
  await users.setPassword('alice', 'new-pass-123');
  assert.not.ok(await users.verify('alice', 'secret-pass-1'));
  assert.ok(await users.verify('alice', 'new-pass-123'));
  const text = fs.readFileSync(users.file, 'utf8');
  assert.not.ok(text.includes('new-pass-123'));
  assert.is(fs.statSync(users.file).mode & 0o777, 0o600);
  users.remove('bob');
  assert.equal(users.list().map((u) => u.name), ['alice']);
});

test('bad names, reserved names, duplicates, short passwords and unknown users are refused', async () => {
  const users = new UserDirectory(tempDir());
  await users.add('alice', 'secret-pass-1');
  await rejects(() => users.add('alice', 'secret-pass-2'), fails('EEXIST'));
  for (const bad of ['', 'Alice', '1abc', 'a b', '../x', 'a'.repeat(33), 'firmware']) {
    await rejects(() => users.add(bad, 'secret-pass-1'), fails('EINVAL'), bad);
  }
  await rejects(() => users.add('carol', 'short'), fails('EINVAL'));
  await rejects(() => users.setPassword('nobody', 'secret-pass-1'), fails('ENOUSER'));
  assert.throws(() => users.remove('nobody'), fails('ENOUSER'));
  assert.equal(users.list().map((u) => u.name), ['alice']);
});

test('a corrupt users file is an error naming it, not an empty user list', () => {
  const dir = tempDir();
  const users = new UserDirectory(dir);
  fs.writeFileSync(users.file, '{not json');
  assert.throws(() => users.list(), (err: unknown) => fails('ECORRUPT')(err) && (err as Error).message.includes(users.file));
});

test('a second directory object sees changes made by the first (CLI vs running instance)', async () => {
  const dir = tempDir();
  const cli = new UserDirectory(dir);
  const running = new UserDirectory(dir);
  assert.equal(running.list(), []);
  await cli.add('alice', 'secret-pass-1');
  assert.ok(await running.verify('alice', 'secret-pass-1'));
});

test.run();
