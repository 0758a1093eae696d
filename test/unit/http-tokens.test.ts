import fs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TokenStore } from '../../firmware/accounts/tokens.js';
import { NymoteError } from '../../firmware/runtime/index.js';
import { tempDir } from '../_lib/tmp.js';

const fails = (code: string) => (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof NymoteError && err.code === code, `expected ${code}, got ${String(err)}`);
    return;
  }
  assert.unreachable(`expected ${code}`);
};

test('add shows a random token once; only its hash is stored, in a private file', () => {
  const secrets = tempDir();
  const tokens = new TokenStore(secrets);
  const a = tokens.add('alice', 'laptop');
  const b = tokens.add('alice');
  assert.match(a.token, /^nym_[A-Za-z0-9_-]{43}$/);
  assert.is.not(a.token, b.token);
  assert.is(b.name, 'token-2');
  const text = fs.readFileSync(tokens.file, 'utf8');
  assert.not.ok(text.includes(a.token) || text.includes(a.token.slice(4)), 'token not stored');
  assert.is(fs.statSync(tokens.file).mode & 0o777, 0o600);
  assert.equal(tokens.lookup(a.token), { user: 'alice', name: 'laptop' });
  assert.is(tokens.lookup('nym_' + 'x'.repeat(43)), undefined);
  assert.is(tokens.lookup('not a token'), undefined);
});

test('list, revoke, duplicate and bad names; another instance sees changes at once', () => {
  const secrets = tempDir();
  const cli = new TokenStore(secrets);
  const server = new TokenStore(secrets);
  const { token } = cli.add('bob', 'sync-app');
  cli.add('alice', 'sync-app');
  assert.equal(server.lookup(token), { user: 'bob', name: 'sync-app' });
  assert.equal(cli.list('bob').map((t) => t.name), ['sync-app']);
  fails('EEXIST')(() => cli.add('bob', 'sync-app'));
  fails('EINVAL')(() => cli.add('bob', 'bad name'));
  fails('EINVAL')(() => cli.add('bob', '-x'));
  fails('ENOTFOUND')(() => cli.revoke('bob', 'nope'));
  cli.revoke('bob', 'sync-app');
  assert.is(server.lookup(token), undefined);
  assert.equal(cli.list().map((t) => `${t.user}/${t.name}`), ['alice/sync-app']);
  assert.is(cli.revokeAll('alice'), 1);
});

test.run();
