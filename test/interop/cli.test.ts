/** The command line contract: usage errors, users, data directory, fallbacks. */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nymote } from '../_lib/cli.js';
import { tempDir } from '../_lib/tmp.js';

/** stderr must be exactly one `nymote: …` line. */
function oneErrorLine(stderr: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  assert.is(lines.length, 1, `expected one line, got: ${stderr}`);
  assert.ok(lines[0]!.startsWith('nymote: '), lines[0]);
  return lines[0]!;
}

test('usage errors: one line on stderr, exit 2', () => {
  const cases: [string[], RegExp][] = [
    [['run', '--bogus'], /unknown option --bogus/],
    [['run', '--http', '99999'], /invalid --http port '99999'/],
    [['run', '--imap', 'abc'], /invalid --imap port 'abc'/],
    [['run', '--port-base', '60000'], /past 65535/],
    [['run', '--mode', 'toaster'], /invalid mode 'toaster'/],
    [['run', '--listen', 'example.com'], /invalid --listen address/],
    [['run', '--http'], /option --http needs a value/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['user'], /missing action/],
    [['user', 'add'], /missing NAME/],
    [['user', 'list', 'extra'], /unexpected argument 'extra'/],
    [['version', '--data'], /needs a value/],
    [['release', '--repo', 'r.git', '--version', '1.0.0'], /--repo, --version and --boards are needed/],
    [['release', '--repo', 'r.git', '--version', '1.0.0', '--boards', 'rpi4', 'arm64'], /'arm64' is not ARCH=APPDIR/],
    [['release', '--repo', 'r.git', '--version', '1.0.0', '--boards', 'rpi4', '--os', 'rpi3=out/rpi3/os', 'arm64=app'], /--os 'rpi3=out\/rpi3\/os' is not BOARD=OSDIR with BOARD one of --boards/],
  ];
  for (const [args, message] of cases) {
    const result = nymote(args, { env: { NYMOTE_DATA: tempDir() } });
    assert.is(result.status, 2, args.join(' '));
    assert.match(oneErrorLine(result.stderr), message);
  }
});

test('every port flag of DESIGN.md is accepted by run --help and documented', () => {
  const result = nymote(['run', '--help']);
  assert.is(result.status, 0);
  for (const flag of ['--http', '--https', '--imap', '--imaps', '--submission', '--smtp', '--dns', '--channel', '--listen', '--port-base', '--data']) {
    assert.ok(result.stdout.includes(flag), flag);
  }
  const top = nymote(['--help']);
  assert.is(top.status, 0);
  assert.match(top.stdout, /run\s+run the firmware/);
});

test('user add/list/passwd/remove with --password-stdin; secrets stay in secrets/', () => {
  const data = tempDir();
  const add = nymote(['user', 'add', 'alice', '--password-stdin', '--data', data], { input: 'secret-pass-1\n' });
  assert.is(add.status, 0, add.stderr);
  assert.is(add.stdout, 'added user alice\n');
  const env = { NYMOTE_DATA: data };
  assert.is(nymote(['user', 'add', 'bob', '--password-stdin'], { input: 'bob-password', env }).status, 0);
  const list = nymote(['user', 'list'], { env });
  assert.equal(list.stdout.trim().split('\n').map((l) => l.split('\t')[0]), ['alice', 'bob']);

  const usersFile = path.join(data, 'secrets', 'users.json');
  assert.is(fs.statSync(path.join(data, 'secrets')).mode & 0o777, 0o700);
  assert.not.ok(fs.readFileSync(usersFile, 'utf8').includes('secret-pass-1'));

  const duplicate = nymote(['user', 'add', 'alice', '--password-stdin'], { input: 'whatever-pass', env });
  assert.is(duplicate.status, 1);
  assert.is(oneErrorLine(duplicate.stderr), "nymote: user 'alice' already exists");
  const weak = nymote(['user', 'add', 'carol', '--password-stdin'], { input: 'short', env });
  assert.is(weak.status, 1);
  assert.match(oneErrorLine(weak.stderr), /at least 8 characters/);
  const reserved = nymote(['user', 'add', 'firmware', '--password-stdin'], { input: 'long-enough-pw', env });
  assert.match(oneErrorLine(reserved.stderr), /reserved/);
  const before = fs.readFileSync(usersFile, 'utf8');
  const noTty = nymote(['user', 'passwd', 'alice'], { env });
  assert.is(noTty.status, 2);
  assert.match(oneErrorLine(noTty.stderr), /use --password-stdin/);
  assert.is(fs.readFileSync(usersFile, 'utf8'), before, 'failed commands change nothing');

  assert.is(nymote(['user', 'passwd', 'alice', '--password-stdin'], { input: 'changed-pass-2', env }).status, 0);
  assert.is.not(fs.readFileSync(usersFile, 'utf8'), before);
  assert.is(nymote(['user', 'remove', 'bob'], { env }).status, 0);
  const missing = nymote(['user', 'remove', 'bob'], { env });
  assert.is(missing.status, 1);
  assert.is(oneErrorLine(missing.stderr), "nymote: no user 'bob'");
  assert.equal(nymote(['user', 'list'], { env }).stdout.split('\t')[0], 'alice');
});

test('a data directory that cannot be written: error naming the path, exit 1', () => {
  const blocker = path.join(tempDir(), 'not-a-dir');
  fs.writeFileSync(blocker, '');
  const result = nymote(['run', '--data', path.join(blocker, 'data'), '--console', 'none']);
  assert.is(result.status, 1);
  assert.match(oneErrorLine(result.stderr), new RegExp(`data directory ${blocker}/data is not writable`));
});

test('a missing native addon: the JS twin runs, with exactly one warning', () => {
  const result = nymote(['version'], { env: { NYMOTE_NATIVE_DIR: tempDir() } });
  assert.is(result.status, 0);
  assert.match(result.stdout, /sha1 js\)/);
  const warnings = result.stderr.split('\n').filter(Boolean);
  assert.is(warnings.length, 1, result.stderr);
  assert.match(warnings[0]!, /level=warn msg="native sha1 addon unavailable, using JS twin"/);
  assert.match(nymote(['version']).stdout, /sha1 native\)/);
});

test.run();
