/**
 * The Signpost and release-key commands on bad input: one line on stderr, a non-zero exit,
 * nothing made or changed — pairing without an owner key or with a bad address, a second
 * `owner init` or `release-key init`, revoking an unknown device, a signpost remote with
 * credentials, and `nymote sync` of a signpost remote outside the running instance.
 */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nymote } from '../_lib/cli.js';
import { tempDir } from '../_lib/tmp.js';

function fails(args: string[], status: number, pattern: RegExp): void {
  const result = nymote(args);
  assert.is(result.status, status, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
  assert.match(result.stderr, pattern);
  assert.is(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
}

test('pair: no owner key here, a bad address, bad --days', () => {
  const data = tempDir('pair-cli');
  fails(['pair', '127.0.0.1:7171', '--data', data], 1, /the owner key is not here/);
  fails(['pair', 'a:b:c', '--data', data], 2, /invalid address/);
  fails(['pair', 'kitchen', '--days', '0', '--data', data], 2, /invalid --days/);
  fails(['pair', '--data', data], 2, /HOST/);
});

test('owner init and release-key init are made once; revoke needs a known device', () => {
  const data = tempDir('owner-cli');
  assert.is(nymote(['user', 'add', 'alice', '--password-stdin', '--data', data], { input: 'pw-alice-1\n' }).status, 0);
  assert.is(nymote(['owner', 'init', '--data', data]).status, 0);
  const ownerKey = fs.readFileSync(path.join(data, 'secrets', 'signpost', 'owner.key'));
  fails(['owner', 'init', '--data', data], 1, /there is an owner key here already/);
  assert.equal(fs.readFileSync(path.join(data, 'secrets', 'signpost', 'owner.key')), ownerKey, 'the key is unchanged');
  fails(['owner', 'revoke', 'aaaaaaaaaaaaaaaa', '--data', data], 1, /no device 'aaaaaaaaaaaaaaaa'/);

  const made = nymote(['release-key', 'init', '--data', data]);
  assert.is(made.status, 0, made.stderr);
  assert.match(made.stdout, /^release key [a-z2-7]{16} in .*release\.key: back it up\n\{"keys":\["[A-Za-z0-9_-]{43}"\]\}\n$/);
  fails(['release-key', 'init', '--data', data], 1, /a release key already exists/);
  assert.is(nymote(['release-key', 'show', '--data', data]).stdout, made.stdout.replace(/ in .*back it up/, ''));
  fails(['release-key', 'show', '--data', tempDir('no-release-key')], 1, /no release key here/);
});

test('signpost remotes: no credentials; sync runs in the instance', () => {
  const data = tempDir('remote-cli');
  assert.is(nymote(['user', 'add', 'alice', '--password-stdin', '--data', data], { input: 'pw-alice-1\n' }).status, 0);
  fails(['remote', 'add', 'b', 'signpost://u:p@kitchen', '--data', data], 1, /take no credentials/);
  assert.is(nymote(['remote', 'add', 'b', 'signpost://kitchen', '--every', '0', '--data', data]).status, 0);
  fails(['sync', 'b', '--data', data], 1, /use `sync NAME` on its console/);
});

test.run();
