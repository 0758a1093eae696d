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
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { nymote } from '../_lib/cli.js';
import { OtaDevice, PASSWORD } from '../_lib/ota-device.js';
import { tempDir } from '../_lib/tmp.js';

const device = new OtaDevice();
const { data, laptop, releases } = device;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const curl = (...args: string[]) => execFileSync('curl', ['-sS', '--max-time', '10', '-u', `alice:${PASSWORD}`, ...args], { encoding: 'utf8' });
const imapPort = () => 1143 + device.portBase;

function imap(script: string): any {
  const prelude = `import imaplib, json, sys, time\nPORT=${imapPort()}\nPASSWORD=${JSON.stringify(PASSWORD)}\n`;
  const out = execFileSync('python3', ['-c', prelude + script], { encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

test.before(async () => {
  await device.prepare(20);
  await device.start();
});

test.after(() => device.remove());

test('a good update: staged, restarted into slot b, health-checked, committed; mail, contacts and history intact, an IMAP client connected throughout', async () => {
  // Data before: a contact over CardDAV, two messages over IMAP.
  const card = 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ota-card-1\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\nEND:VCARD\r\n';
  curl('-X', 'PUT', '-H', 'content-type: text/vcard', '--data-binary', card, `${device.httpUrl}/dav/alice/contacts/default/ada.vcf`);
  const appended = imap(`M = imaplib.IMAP4('127.0.0.1', PORT)
M.login('alice', PASSWORD)
for i in range(2):
    M.append('INBOX', None, None, ('From: bob@example.org\\r\\nSubject: before %d\\r\\n\\r\\nbody %d\\r\\n' % (i, i)).encode())
M.select('INBOX')
print(json.dumps(M.search(None, 'ALL')[1][0].decode()))`);
  assert.is(appended, '1 2');
  const headBefore = device.storeHead('alice');

  // A client that stays connected: it sees the old firmware go, comes back, and counts.
  const watcher = spawn('python3', ['-c', `import imaplib, json, time
M = imaplib.IMAP4('127.0.0.1', ${imapPort()})
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
        M = imaplib.IMAP4('127.0.0.1', ${imapPort()}); M.login('alice', ${JSON.stringify(PASSWORD)}); break
    except Exception:
        time.sleep(0.1)
typ, count = M.select('INBOX')
print(json.dumps({'dropped': dropped, 'count': int(count[0])}), flush=True)`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let watched = '';
  watcher.stdout!.on('data', (chunk) => (watched += chunk));
  await device.waitFor('the IMAP client to connect', () => watched.includes('connected'), 10_000);

  const commit = device.release('0.2.0', device.app('// release 0.2.0'));
  const at = device.mark();
  const pushed = device.push();
  assert.is(pushed.status, 0, pushed.stderr);
  assert.match(pushed.stderr, /remote: release 0\.2\.0 \(counter 1\) for host-test\/x64: signature, board, counter and expiry are good/);
  assert.match(pushed.stderr, /remote: staged release 0\.2\.0 in slot b/);
  await device.waitFor('the trial to pass', () => device.since(at).includes('ota: installed release 0.2.0'), 60_000);
  assert.match(device.since(at), /nyinit: node \(pid \d+\) exited with 103\n[^]*nyinit: slot b on trial: start 1 of 3[^]*started .*data\/firmware\/b\/index\.js/);
  assert.equal({ active: device.state().active, trial: device.state().trial, counter: device.state().counter }, { active: 'b', trial: undefined, counter: 1 });
  assert.is(await device.health(), 'ok');
  assert.equal(device.fetchedStatus().outcome, 'installed');

  await device.waitFor('the IMAP client to come back', () => watched.includes('count'), 30_000);
  assert.equal(JSON.parse(watched.trim().split('\n').pop()!), { dropped: true, count: 2 });
  assert.match(curl(`${device.httpUrl}/dav/alice/contacts/default/ada.vcf`), /FN:Ada Lovelace/);
  assert.is(device.storeHead('alice'), headBefore, "the store's history is untouched");
  const console = nymote(['console', '--data', data], { input: 'ota status\n' });
  assert.match(console.stdout, /slot b: release 0\.2\.0 \(counter 1\) \[active, running\][^]*last: installed release 0\.2\.0/);
  assert.ok(fs.readFileSync(path.join(data, 'firmware/b/index.js'), 'utf8').endsWith('// release 0.2.0\n'));
  assert.is(commit.length, 40);
});

test('a one-line change goes over the wire as a small thin pack', async () => {
  const at = device.mark();
  device.release('0.2.1', device.app('// release 0.2.1'));
  const pushed = device.push();
  assert.is(pushed.status, 0, pushed.stderr);
  await device.waitFor('the trial to pass', () => device.since(at).includes('ota: installed release 0.2.1'), 60_000);
  const packBytes = Number(/service=git-receive-pack commands=1 packBytes=(\d+)/.exec(device.since(at))?.[1]);
  assert.ok(packBytes > 0 && packBytes <= 50 * 1024, `thin pack of ${packBytes} bytes`);
  process.stdout.write(`  (one-line release: ${packBytes} bytes on the wire)\n`);
  assert.is(device.state().active, 'a');
});

test('refused pushes change nothing: a stranger key, the wrong board, a tampered file, an older counter, a truncated push', async () => {
  const before = JSON.stringify(device.state());
  const strangerLaptop = tempDir('ota-stranger');
  assert.is(nymote(['release-key', 'init', '--data', strangerLaptop]).status, 0);
  const strangerRepo = path.join(tempDir('ota-stranger-repo'), 'release.git');
  device.release('9.0.0', device.app('// stranger'), ['--counter', '50'], strangerLaptop, strangerRepo);
  let refused = device.push(strangerRepo, ['--force']);
  assert.is.not(refused.status, 0);
  assert.match(refused.stderr, /remote: release refused: signed by release key \w+, which this device does not trust/);

  const boardRepo = path.join(tempDir('ota-board'), 'release.git');
  const made = nymote(['release', '--data', laptop, '--repo', boardRepo, '--version', '0.3.0', '--counter', '10', '--boards', 'rpi4', `x64=${device.app('// rpi4')}`]);
  assert.is(made.status, 0, made.stderr);
  refused = device.push(boardRepo, ['--force']);
  assert.match(refused.stderr, /remote: release refused: release for rpi4, this device is host-test/);

  // A tampered file: the release's index.js changed in a commit after the signed one.
  const tamperRepo = path.join(tempDir('ota-tamper-repo'), 'release.git');
  device.release('0.2.9', device.app('// to be tampered with'), ['--counter', '40'], laptop, tamperRepo);
  const work = tempDir('ota-tamper');
  execFileSync('git', ['clone', '-q', '-b', 'release', tamperRepo, work]);
  fs.appendFileSync(path.join(work, 'x64/index.js'), 'process.exit(1)\n');
  execFileSync('git', ['-C', work, '-c', 'user.name=M', '-c', 'user.email=m@example.org', 'commit', '-qam', 'tamper']);
  refused = spawnSync('git', ['-C', work, 'push', '--force', device.firmwareUrl, 'HEAD:release'], { encoding: 'utf8' });
  assert.match(refused.stderr, /remote: release refused: x64\/index\.js is \d+ bytes, the manifest says \d+/);

  const olderRepo = path.join(tempDir('ota-older'), 'release.git');
  device.release('0.1.5', device.app('// older'), ['--counter', '1'], laptop, olderRepo);
  refused = device.push(olderRepo, ['--force']);
  assert.match(refused.stderr, /remote: release refused: release counter 1 is below the installed 2: no rollback/);

  // A push cut short: the first half of what git would send.
  const rev = execFileSync('git', ['--git-dir', releases, 'rev-parse', 'release'], { encoding: 'utf8' }).trim();
  const pack = execFileSync('git', ['--git-dir', releases, 'pack-objects', '--stdout', '--revs', '-q'], { input: `${rev}\n`, maxBuffer: 64 << 20 });
  const command = `${'0'.repeat(40)} ${rev} refs/heads/cut\0report-status side-band-64k\n`;
  const body = Buffer.concat([Buffer.from((command.length + 4).toString(16).padStart(4, '0') + command), Buffer.from('0000'), pack.subarray(0, pack.length >> 1)]);
  const cut = spawnSync('curl', ['-sS', '--max-time', '20', '-u', `alice:${PASSWORD}`, '-H', 'content-type: application/x-git-receive-pack-request', '--data-binary', '@-', `${device.httpUrl}/git/firmware.git/git-receive-pack`], { input: body });
  assert.match(cut.stdout.toString('latin1'), /unpack .*(truncated|ended|short|EOF|incomplete)/i, cut.stdout.toString('latin1'));

  assert.is(JSON.stringify(device.state()), before);
  assert.not.ok(fs.existsSync(path.join(data, 'firmware/b.staging')));
  assert.not.match(execFileSync('git', ['ls-remote', device.firmwareUrl], { encoding: 'utf8' }), /refs\/heads\/cut/);
  assert.is(await device.health(), 'ok');
});

test('a release that crashes at start, and one that never passes its health check, each end on the slot before', async () => {
  let at = device.mark();
  const crashing = device.release('0.3.0', device.app('', '#!/usr/bin/env node\nthrow new Error("broken release")\n'));
  const pushed = device.push();
  assert.is(pushed.status, 0, pushed.stderr);
  await device.waitFor('the revert', () => device.since(at).includes('ota: reverted release 0.3.0'), 60_000);
  assert.match(device.since(at), /nyinit: reverted: the update in slot b failed its trial \(3 starts\); starting slot a/);
  assert.equal({ active: device.state().active, trial: device.state().trial }, { active: 'a', trial: undefined });
  assert.ok(device.state().reverted?.includes(crashing));
  assert.match(device.fetchedStatus().detail, /it did not come up in 3 starts; slot a is back/);
  assert.is(await device.health(), 'ok');
  // Not tried again by itself.
  const settled = device.mark();
  await sleep(3000);
  assert.not.match(device.since(settled), /on trial/);

  at = device.mark();
  device.release('0.3.1', device.app('', '#!/usr/bin/env node\nsetInterval(() => {}, 1000);\n'));
  assert.is(device.push().status, 0);
  await device.waitFor('the revert', () => device.since(at).includes('ota: reverted release 0.3.1'), 90_000);
  assert.match(device.since(at), /nyinit: slot b was not committed within 20 s: stopping it/);
  assert.match(device.fetchedStatus().detail, /it did not pass its health check in time; slot a is back/);
  assert.is(device.state().active, 'a');
  assert.is(await device.health(), 'ok');
  const console = nymote(['console', '--data', data], { input: 'ota status\n' });
  assert.match(console.stdout, /slot a: release 0\.2\.1 \(counter 2\) \[active, running\]\r?\nslot b: release 0\.3\.1 \(counter 4\) \[reverted\]/, console.stdout);
});

test.run();
