/**
 * Updates end to end on this machine, as on a device: nyinit (PID 1 of a PID namespace, see
 * nyinit.test.ts) starts the built firmware from app slot a of a data tree, with the image's
 * board.json and release-keys.json in NYMOTE_ETC. Releases are made by the real CLI (`nymote
 * release-key init`, `nymote release`) from copies of dist/firmware, and pushed with the git
 * CLI. Checked: a good update runs from slot b with mail (python imaplib, connected through the
 * update), contacts (curl CardDAV) and store history intact; a one-line change goes over the
 * wire as a small thin pack; refused pushes (stranger's key, wrong board, a tampered file, a
 * truncated push) leave everything as it was; a release that crashes at start and one that
 * never passes its health check each end on the slot before; refs/ota/status, `ota status`.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { NYMOTE, freePortBase, nymote } from '../_lib/cli.js';
import { NYINIT, ensureNyinit } from '../_lib/nyinit.js';
import { tempDir } from '../_lib/tmp.js';

const PASSWORD = 'pw-alice-ota-1';
const root = tempDir('ota');
const data = path.join(root, 'data');
const etc = path.join(root, 'etc');
const laptop = path.join(root, 'laptop');
const releases = path.join(root, 'release.git');
let portBase = 0;
let init: ChildProcess | undefined;
let output = '';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const httpUrl = () => `http://127.0.0.1:${8080 + portBase}`;
const firmwareUrl = () => `http://alice:${PASSWORD}@127.0.0.1:${8080 + portBase}/git/firmware.git`;
const state = () => JSON.parse(fs.readFileSync(path.join(data, 'firmware/state.json'), 'utf8')) as { active: string; trial?: string; counter?: number; reverted?: string[] };

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output.split('\n').filter((line) => !line.includes('level=debug')).slice(-40).join('\n')}`);
    await sleep(100);
  }
}

/** The output from here on, for waiting on what happens next. */
const mark = () => output.length;
const since = (at: number) => output.slice(at);

/** A copy of the built firmware as an app directory, with `line` appended to index.js (one line of difference). */
function appWith(line: string, replaceIndex?: string): string {
  const dir = tempDir('ota-app');
  fs.cpSync(path.join(path.dirname(NYMOTE)), dir, { recursive: true });
  const index = path.join(dir, 'index.js');
  if (replaceIndex !== undefined) fs.writeFileSync(index, replaceIndex);
  else fs.appendFileSync(index, `${line}\n`);
  return dir;
}

function makeRelease(version: string, app: string, extra: string[] = [], laptopDir = laptop, repo = releases): string {
  const made = nymote(['release', '--data', laptopDir, '--repo', repo, '--version', version, '--boards', 'host-test', ...extra, `x64=${app}`]);
  assert.is(made.status, 0, made.stderr);
  return made.stdout.split('\n')[1]!.split(' ')[0]!;
}

function push(repo = releases, args: string[] = []): { status: number | null; stderr: string } {
  const pushed = spawnSync('git', ['--git-dir', repo, 'push', ...args, firmwareUrl(), 'release'], { encoding: 'utf8', timeout: 60_000 });
  return { status: pushed.status, stderr: pushed.stderr };
}

const curl = (...args: string[]) => execFileSync('curl', ['-sS', '--max-time', '10', '-u', `alice:${PASSWORD}`, ...args], { encoding: 'utf8' });
const aliceHead = () => execFileSync('git', ['--git-dir', path.join(data, 'store/alice.git'), 'rev-parse', 'main'], { encoding: 'utf8' }).trim();

function imap(script: string): any {
  const prelude = `import imaplib, json, sys, time\nPORT=${1143 + portBase}\nPASSWORD=${JSON.stringify(PASSWORD)}\n`;
  const out = execFileSync('python3', ['-c', prelude + script], { encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

/** The last outcome on refs/ota/status, fetched with git as the owner would. */
function fetchedStatus(): { outcome: string; version: string; detail: string } {
  const clone = tempDir('ota-status');
  execFileSync('git', ['init', '-q', '--bare', clone]);
  execFileSync('git', ['--git-dir', clone, 'fetch', '-q', firmwareUrl(), 'refs/ota/status:refs/ota/status']);
  return JSON.parse(execFileSync('git', ['--git-dir', clone, 'show', 'refs/ota/status:status.json'], { encoding: 'utf8' }));
}

const health = async () => {
  try {
    const res = await fetch(`${httpUrl()}/health`);
    return res.ok ? ((await res.json()) as { status: string }).status : undefined;
  } catch {
    return undefined;
  }
};

test.before(async () => {
  ensureNyinit();
  portBase = await freePortBase();
  fs.mkdirSync(path.join(data, 'firmware'), { recursive: true });
  fs.cpSync(path.dirname(NYMOTE), path.join(data, 'firmware/a'), { recursive: true });
  fs.writeFileSync(path.join(data, 'firmware/state.json'), '{"active":"a"}\n');
  fs.mkdirSync(etc);
  fs.writeFileSync(path.join(etc, 'board.json'), '{"name":"host-test","console":"","watchdog":""}\n');
  const key = nymote(['release-key', 'init', '--data', laptop]);
  assert.is(key.status, 0, key.stderr);
  fs.writeFileSync(path.join(etc, 'release-keys.json'), key.stdout.split('\n')[1]!);
  assert.is(nymote(['user', 'add', 'alice', '--password-stdin', '--data', data], { input: `${PASSWORD}\n` }).status, 0);
  // nyinit starts "node index.js run"; this one adds the test's ports.
  const node = path.join(root, 'node.sh');
  fs.writeFileSync(node, `#!/bin/sh\nexec ${process.execPath} "$@" --port-base ${portBase} --console none\n`, { mode: 0o755 });
  const userns = process.getuid?.() === 0 ? [] : ['--user', '--map-root-user'];
  init = spawn('unshare', [...userns, '--pid', '--fork', '--mount-proc', '--uts', NYINIT], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NYINIT_ROOT: root,
      NYINIT_NO_MOUNT: '1',
      NYINIT_CHILD: node,
      NYINIT_CONSOLE: '',
      NYINIT_WATCHDOG: '',
      NYINIT_TEST_REBOOT: path.join(root, 'action'),
      NYINIT_TRIAL_TIMEOUT: '20',
      NYMOTE_MODE: 'host',
      NYMOTE_ETC: etc,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  init.stdout!.on('data', (chunk) => (output += chunk));
  init.stderr!.on('data', (chunk) => (output += chunk));
  await waitFor('the firmware from slot a', () => output.includes('msg="ready"'), 30_000);
});

test.after(() => {
  init?.kill('SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
});

test('a good update: staged, restarted into slot b, health-checked, committed; mail, contacts and history intact, an IMAP client connected throughout', async () => {
  // Data before: a contact over CardDAV, two messages over IMAP.
  const card = 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ota-card-1\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\nEND:VCARD\r\n';
  curl('-X', 'PUT', '-H', 'content-type: text/vcard', '--data-binary', card, `${httpUrl()}/dav/alice/contacts/default/ada.vcf`);
  const appended = imap(`M = imaplib.IMAP4('127.0.0.1', PORT)
M.login('alice', PASSWORD)
for i in range(2):
    M.append('INBOX', None, None, ('From: bob@example.org\\r\\nSubject: before %d\\r\\n\\r\\nbody %d\\r\\n' % (i, i)).encode())
M.select('INBOX')
print(json.dumps(M.search(None, 'ALL')[1][0].decode()))`);
  assert.is(appended, '1 2');
  const headBefore = aliceHead();

  // A client that stays connected: it sees the old firmware go, comes back, and counts.
  const watcher = spawn('python3', ['-c', `import imaplib, json, time
M = imaplib.IMAP4('127.0.0.1', ${1143 + portBase})
M.login('alice', ${JSON.stringify(PASSWORD)})
M.select('INBOX')
print('connected', flush=True)
dropped = False
while not dropped:
    try:
        M.noop(); time.sleep(0.2)
    except Exception:
        dropped = True
for attempt in range(200):
    try:
        M = imaplib.IMAP4('127.0.0.1', ${1143 + portBase}); M.login('alice', ${JSON.stringify(PASSWORD)}); break
    except Exception:
        time.sleep(0.1)
typ, count = M.select('INBOX')
print(json.dumps({'dropped': dropped, 'count': int(count[0])}), flush=True)`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let watched = '';
  watcher.stdout!.on('data', (chunk) => (watched += chunk));
  await waitFor('the IMAP client to connect', () => watched.includes('connected'), 10_000);

  const commit = makeRelease('0.2.0', appWith('// release 0.2.0'));
  const at = mark();
  const pushed = push();
  assert.is(pushed.status, 0, pushed.stderr);
  assert.match(pushed.stderr, /remote: release 0\.2\.0 \(counter 1\) for host-test\/x64: signature, board, counter and expiry are good/);
  assert.match(pushed.stderr, /remote: staged release 0\.2\.0 in slot b/);
  await waitFor('the trial to pass', () => since(at).includes('ota: installed release 0.2.0'), 60_000);
  assert.match(since(at), /nyinit: node \(pid \d+\) exited with 103\n[^]*nyinit: slot b on trial: start 1 of 3[^]*started .*data\/firmware\/b\/index\.js/);
  assert.equal({ active: state().active, trial: state().trial, counter: state().counter }, { active: 'b', trial: undefined, counter: 1 });
  assert.is(await health(), 'ok');
  assert.equal(fetchedStatus().outcome, 'installed');

  await waitFor('the IMAP client to come back', () => watched.includes('count'), 30_000);
  assert.equal(JSON.parse(watched.trim().split('\n').pop()!), { dropped: true, count: 2 });
  assert.match(curl(`${httpUrl()}/dav/alice/contacts/default/ada.vcf`), /FN:Ada Lovelace/);
  assert.is(aliceHead(), headBefore, "the store's history is untouched");
  const console = nymote(['console', '--data', data], { input: 'ota status\n' });
  assert.match(console.stdout, /slot b: release 0\.2\.0 \(counter 1\) \[active, running\][^]*last: installed release 0\.2\.0/);
  assert.ok(fs.readFileSync(path.join(data, 'firmware/b/index.js'), 'utf8').endsWith('// release 0.2.0\n'));
  assert.is(commit.length, 40);
});

test('a one-line change goes over the wire as a small thin pack', async () => {
  const at = mark();
  makeRelease('0.2.1', appWith('// release 0.2.1'));
  const pushed = push();
  assert.is(pushed.status, 0, pushed.stderr);
  await waitFor('the trial to pass', () => since(at).includes('ota: installed release 0.2.1'), 60_000);
  const packBytes = Number(/service=git-receive-pack commands=1 packBytes=(\d+)/.exec(since(at))?.[1]);
  assert.ok(packBytes > 0 && packBytes <= 50 * 1024, `thin pack of ${packBytes} bytes`);
  process.stdout.write(`  (one-line release: ${packBytes} bytes on the wire)\n`);
  assert.is(state().active, 'a');
});

test('refused pushes change nothing: a stranger key, the wrong board, a tampered file, an older counter, a truncated push', async () => {
  const before = JSON.stringify(state());
  const strangerLaptop = tempDir('ota-stranger');
  assert.is(nymote(['release-key', 'init', '--data', strangerLaptop]).status, 0);
  const strangerRepo = path.join(tempDir('ota-stranger-repo'), 'release.git');
  makeRelease('9.0.0', appWith('// stranger'), ['--counter', '50'], strangerLaptop, strangerRepo);
  let refused = push(strangerRepo, ['--force']);
  assert.is.not(refused.status, 0);
  assert.match(refused.stderr, /remote: release refused: signed by release key \w+, which this device does not trust/);

  const boardRepo = path.join(tempDir('ota-board'), 'release.git');
  const made = nymote(['release', '--data', laptop, '--repo', boardRepo, '--version', '0.3.0', '--counter', '10', '--boards', 'rpi4', `x64=${appWith('// rpi4')}`]);
  assert.is(made.status, 0, made.stderr);
  refused = push(boardRepo, ['--force']);
  assert.match(refused.stderr, /remote: release refused: release for rpi4, this device is host-test/);

  // A tampered file: the release's index.js changed in a commit after the signed one.
  const tamperRepo = path.join(tempDir('ota-tamper-repo'), 'release.git');
  makeRelease('0.2.9', appWith('// to be tampered with'), ['--counter', '40'], laptop, tamperRepo);
  const work = tempDir('ota-tamper');
  execFileSync('git', ['clone', '-q', '-b', 'release', tamperRepo, work]);
  fs.appendFileSync(path.join(work, 'x64/index.js'), 'process.exit(1)\n');
  execFileSync('git', ['-C', work, '-c', 'user.name=M', '-c', 'user.email=m@example.org', 'commit', '-qam', 'tamper']);
  refused = spawnSync('git', ['-C', work, 'push', '--force', firmwareUrl(), 'HEAD:release'], { encoding: 'utf8' });
  assert.match(refused.stderr, /remote: release refused: x64\/index\.js is \d+ bytes, the manifest says \d+/);

  const olderRepo = path.join(tempDir('ota-older'), 'release.git');
  makeRelease('0.1.5', appWith('// older'), ['--counter', '1'], laptop, olderRepo);
  refused = push(olderRepo, ['--force']);
  assert.match(refused.stderr, /remote: release refused: release counter 1 is below the installed 2: no rollback/);

  // A push cut short: the first half of what git would send.
  const rev = execFileSync('git', ['--git-dir', releases, 'rev-parse', 'release'], { encoding: 'utf8' }).trim();
  const pack = execFileSync('git', ['--git-dir', releases, 'pack-objects', '--stdout', '--revs', '-q'], { input: `${rev}\n`, maxBuffer: 64 << 20 });
  const command = `${'0'.repeat(40)} ${rev} refs/heads/cut\0report-status side-band-64k\n`;
  const body = Buffer.concat([Buffer.from((command.length + 4).toString(16).padStart(4, '0') + command), Buffer.from('0000'), pack.subarray(0, pack.length >> 1)]);
  const cut = spawnSync('curl', ['-sS', '--max-time', '20', '-u', `alice:${PASSWORD}`, '-H', 'content-type: application/x-git-receive-pack-request', '--data-binary', '@-', `${httpUrl()}/git/firmware.git/git-receive-pack`], { input: body });
  assert.match(cut.stdout.toString('latin1'), /unpack .*(truncated|ended|short|EOF|incomplete)/i, cut.stdout.toString('latin1'));

  assert.is(JSON.stringify(state()), before);
  assert.not.ok(fs.existsSync(path.join(data, 'firmware/b.staging')));
  assert.not.match(execFileSync('git', ['ls-remote', firmwareUrl()], { encoding: 'utf8' }), /refs\/heads\/cut/);
  assert.is(await health(), 'ok');
});

test('a release that crashes at start, and one that never passes its health check, each end on the slot before', async () => {
  let at = mark();
  const crashing = makeRelease('0.3.0', appWith('', '#!/usr/bin/env node\nthrow new Error("broken release")\n'));
  const pushed = push();
  assert.is(pushed.status, 0, pushed.stderr);
  await waitFor('the revert', () => since(at).includes('ota: reverted release 0.3.0'), 60_000);
  assert.match(since(at), /nyinit: reverted: the update in slot b failed its trial \(3 starts\); starting slot a/);
  assert.equal({ active: state().active, trial: state().trial }, { active: 'a', trial: undefined });
  assert.ok(state().reverted?.includes(crashing));
  assert.match(fetchedStatus().detail, /it did not come up in 3 starts; slot a is back/);
  assert.is(await health(), 'ok');
  // Not tried again by itself.
  const settled = mark();
  await sleep(3000);
  assert.not.match(since(settled), /on trial/);

  at = mark();
  makeRelease('0.3.1', appWith('', '#!/usr/bin/env node\nsetInterval(() => {}, 1000);\n'));
  assert.is(push().status, 0);
  await waitFor('the revert', () => since(at).includes('ota: reverted release 0.3.1'), 90_000);
  assert.match(since(at), /nyinit: slot b was not committed within 20 s: stopping it/);
  assert.match(fetchedStatus().detail, /it did not pass its health check in time; slot a is back/);
  assert.is(state().active, 'a');
  assert.is(await health(), 'ok');
  const console = nymote(['console', '--data', data], { input: 'ota status\n' });
  assert.match(console.stdout, /slot a: release 0\.2\.1 \(counter 2\) \[active, running\]\r?\nslot b: release 0\.3\.1 \(counter 4\) \[reverted\]/, console.stdout);
});

test.run();
