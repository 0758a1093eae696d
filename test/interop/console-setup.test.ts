/**
 * The console as a person meets it, through a pseudo-terminal: first-boot `setup` (with a
 * wrong answer on the way), secrets never echoed, the settings on disk, then ordinary use —
 * status, a bad command, a too-long line, the store, `logs -f` stopped by Ctrl-C, `reboot`
 * (host mode: the firmware stops) — and the console password asked for on the next start,
 * a wrong one refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NYMOTE, nymote, startInstance, tool } from '../_lib/cli.js';
import { tempDir } from '../_lib/tmp.js';

const SCRIPT = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '_lib', 'pty_expect.py');
const OWNER_PASSWORD = 'owner-secret-1';
const CONSOLE_PASSWORD = 'console-secret-1';

type Step = [pattern: string, reply: string | null];

function onPty(data: string, steps: Step[]) {
  const port = String(20000 + Math.floor(Math.random() * 20000));
  const result = tool('python3', [SCRIPT, process.execPath, NYMOTE, 'run', '--data', data, '--port-base', port], JSON.stringify(steps));
  return { ...result, screen: result.stdout };
}

test('setup on a fresh device, then everyday commands, then the console password', () => {
  const data = tempDir('console-setup');
  const first = onPty(data, [
    ['nymote> ', 'setup'],
    ['owner name: ', 'Not A Name'],
    ['owner name: ', 'alice'],
    ['password for alice: ', OWNER_PASSWORD],
    ['password for alice again: ', OWNER_PASSWORD],
    ['hostname \\[nymote\\]: ', 'kitchen'],
    ['time zone \\[UTC\\]: ', 'Mars/Olympus'],
    ['time zone \\[UTC\\]: ', 'Europe/London'],
    ['network [^\\n]*\\[dhcp\\]: ', 'static 192.168.1.20/24 192.168.1.1 dns 192.168.1.1'],
    ['console password \\(empty for none\\): ', CONSOLE_PASSWORD],
    ['console password again: ', CONSOLE_PASSWORD],
    ['set up: owner alice, hostname kitchen[^\\n]*locked by a password', null],
    ['nymote> ', 'status'],
    ['host mode', null],
    ['nymote> ', 'frobnicate'],
    ["unknown command 'frobnicate'", null],
    ['nymote> ', 'x'.repeat(5000)],
    ['line too long', null],
    ['nymote> ', 'store set notes/today "buy milk"'],
    ['[0-9a-f]{40}', null],
    ['nymote> ', 'store get notes/today'],
    ['buy milk', null],
    ['nymote> ', 'logs 1 -f'],
    ['msg=', '\u0003'],
    ['\\^C', null],
    ['nymote> ', 'reboot'],
    ['host mode, stopping the firmware', null],
  ]);
  assert.match(first.screen, /EXIT 0/, first.screen);
  assert.match(first.screen, /user names? /i, 'the bad owner name was explained');
  assert.match(first.screen, /unknown time zone 'Mars\/Olympus'/);
  // Secrets typed at the console never show on it.
  assert.not.match(first.screen, new RegExp(OWNER_PASSWORD));
  assert.not.match(first.screen, new RegExp(CONSOLE_PASSWORD));

  const config = path.join(data, 'config');
  assert.is(fs.readFileSync(path.join(config, 'hostname'), 'utf8'), 'kitchen\n');
  assert.is(fs.readFileSync(path.join(config, 'timezone'), 'utf8'), 'Europe/London\n');
  assert.is(fs.readFileSync(path.join(config, 'network'), 'utf8'), 'static 192.168.1.20/24 192.168.1.1 dns 192.168.1.1\n');
  assert.is(fs.statSync(path.join(data, 'secrets', 'console-password')).mode & 0o777, 0o600);
  assert.match(nymote(['user', 'list', '--data', data]).stdout, /^alice\t/);
  assert.is(nymote(['store', 'get', 'notes/today', '--data', data]).stdout, 'buy milk');
  // The owner's password works where it counts: the git server and the REST API use the same hashes.
  assert.ok(fs.readFileSync(path.join(data, 'secrets', 'users.json'), 'utf8').includes('scrypt$'));

  const second = onPty(data, [
    ['password: ', 'not-the-password'],
    ['wrong password', null],
    ['password: ', CONSOLE_PASSWORD],
    ['nymote> ', 'quit'],
  ]);
  assert.match(second.screen, /EXIT 0/, second.screen);
  assert.not.match(second.screen, new RegExp(CONSOLE_PASSWORD));
  assert.not.match(second.screen, /not-the-password/);
});

test('a setup cut short by Ctrl-C writes nothing', () => {
  const data = tempDir('console-setup-cancel');
  const run = onPty(data, [
    ['nymote> ', 'setup'],
    ['owner name: ', 'bob'],
    ['password for bob: ', '\u0003'],
    ['nymote> ', 'quit'],
  ]);
  assert.match(run.screen, /EXIT 0/, run.screen);
  assert.not.ok(fs.existsSync(path.join(data, 'config', 'hostname')));
  assert.is(nymote(['user', 'list', '--data', data]).stdout, '');
});

test('factory-reset asks for the hostname, then erases users, data, keys and settings — not the firmware', async () => {
  const data = tempDir('console-factory-reset');
  assert.is(nymote(['user', 'add', 'carol', '--password-stdin', '--data', data], { input: 'carol-pass-1' }).status, 0);
  fs.mkdirSync(path.join(data, 'firmware', 'a'), { recursive: true });
  fs.writeFileSync(path.join(data, 'firmware', 'a', 'index.js'), '// the app slot');
  const instance = await startInstance(data);
  try {
    const refused = nymote(['console', '--data', data], { input: 'factory-reset\nwrong-name\nstatus\n' });
    assert.match(refused.stdout, /not erased: the hostname did not match/);
    assert.match(refused.stdout, /host mode/, 'still running after a refused reset');
    const reset = nymote(['console', '--data', data], { input: 'factory-reset\nnymote\n' });
    assert.match(reset.stdout, /erasing after the services stop/);
    assert.is(await instance.exited, 0);
  } finally {
    instance.stop('SIGKILL');
  }
  for (const gone of ['store', 'secrets', 'config']) assert.not.ok(fs.existsSync(path.join(data, gone)), `${gone} erased`);
  assert.is(fs.readFileSync(path.join(data, 'firmware', 'a', 'index.js'), 'utf8'), '// the app slot');
  assert.is(nymote(['user', 'list', '--data', data]).stdout, '');
});

test.run();
