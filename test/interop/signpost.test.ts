/**
 * Signpost between two instances, as people use it: the owner's laptop (A: `nymote owner
 * init`) and a device (B). They pair through their terminals — `pair` on B's console,
 * `nymote pair` on A, both on pseudo-terminals, the person answering y only after seeing the
 * same code on both — then the owner's store syncs over the secure channel
 * (`nymote remote add b signpost://<B>`, `sync b` on A's console), in both directions, also
 * after B is killed and restarted. A "no" on either side pairs nothing. B's HTTPS serves the
 * owner-issued certificate, which curl verifies against `nymote owner ca-cert`; paired for ten
 * days, B renews its certificates through the laptop. Garbage on the channel port is counted;
 * a revoked B is dropped by the laptop and refused at its next handshake.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NYMOTE, nymote, startInstance, tool, type Instance } from '../_lib/cli.js';
import { tempDir } from '../_lib/tmp.js';

const SCRIPT = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '_lib', 'pty_expect.py');
type Step = [pattern: string, reply: string | null];

/** Runs argv on a pseudo-terminal following `steps`; resolves with what the terminal showed. */
function onPty(argv: string[], steps: Step[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('python3', [SCRIPT, process.execPath, NYMOTE, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] });
    let screen = '';
    child.stdout.on('data', (chunk) => (screen += chunk));
    child.on('close', () => resolve(screen));
    child.stdin.end(JSON.stringify(steps));
  });
}

/** Runs console commands on an instance through its socket, as `echo … | nymote console` does. */
function consoleRun(data: string, lines: string[]): string {
  const result = nymote(['console', '--data', data], { input: `${lines.join('\n')}\nquit\n` });
  return result.stdout + result.stderr;
}

function ok(result: { status: number | null; stdout: string; stderr: string }): string {
  assert.is(result.status, 0, result.stderr || result.stdout);
  return result.stdout;
}

function makeData(name: string): string {
  const data = tempDir(name);
  ok(nymote(['user', 'add', 'alice', '--password-stdin', '--data', data], { input: 'secret-alice-1\n' }));
  return data;
}

function channelPort(instance: Instance): number {
  return 7171 + instance.portBase;
}

const laptop = makeData('signpost-a');
const device = makeData('signpost-b');
let a: Instance;
let b: Instance;

test.before(async () => {
  try {
    ok(nymote(['owner', 'init', '--data', laptop]));
    a = await startInstance(laptop);
    b = await startInstance(device);
  } catch (err) {
    // uvu counts a failed hook's tests as failed but prints nothing about why.
    console.error('signpost.test.ts: setting up the two instances failed:', err);
    throw err;
  }
});

test.after(async () => {
  await a?.stop();
  await b?.stop();
});

test('a "no" on the device pairs nothing', async () => {
  const [deviceScreen, ownerScreen] = await Promise.all([
    onPty(['console', '--data', device], [
      ['nymote> ', 'pair'],
      ['waiting up to', null],
      ['\\[y/N\\] ', 'n'],
      ['nymote> ', 'quit'],
    ]),
    (async () => {
      await new Promise((r) => setTimeout(r, 1000));
      return onPty(['pair', `127.0.0.1:${channelPort(b)}`, '--data', laptop], [['\\[y/N\\] ', 'y']]);
    })(),
  ]);
  assert.match(deviceScreen, /not confirmed here/, deviceScreen);
  assert.match(ownerScreen, /cancelled on the device/, ownerScreen);
  assert.match(ownerScreen, /EXIT 1/, ownerScreen);
  assert.not.ok(fs.existsSync(path.join(device, 'secrets', 'signpost', 'trust.json')), 'the device trusts no owner');
});

let deviceId = '';

test('pairing through both consoles: the same code on both, then certificates on both sides', async () => {
  const [deviceScreen, ownerScreen] = await Promise.all([
    onPty(['console', '--data', device], [
      ['nymote> ', 'pair'],
      ['waiting up to', null],
      ['Code: \\d{3} \\d{3}', null],
      ['\\[y/N\\] ', 'y'],
      ['paired: this device is', null],
      ['nymote> ', 'quit'],
    ]),
    (async () => {
      await new Promise((r) => setTimeout(r, 1000));
      // Ten days: short enough that the device asks for new certificates at once (fewer than 30 left).
      return onPty(['pair', `127.0.0.1:${channelPort(b)}`, '--days', '10', '--data', laptop], [
        ['Code: \\d{3} \\d{3}', null],
        ['\\[y/N\\] ', 'y'],
        ['paired: ', null],
      ]);
    })(),
  ]);
  const deviceCode = /Code: (\d{3} \d{3})/.exec(deviceScreen)?.[1];
  const ownerCode = /Code: (\d{3} \d{3})/.exec(ownerScreen)?.[1];
  assert.ok(deviceCode !== undefined, deviceScreen);
  assert.is(deviceCode, ownerCode, 'both sides show the same code');
  assert.match(ownerScreen, /EXIT 0/, ownerScreen);
  deviceId = /paired: \S+ \(([a-z2-7]+)\)/.exec(ownerScreen)?.[1] ?? '';
  assert.ok(deviceId !== '', ownerScreen);

  // The owner's store on the laptop records the device; the device trusts the owner.
  const listed = ok(nymote(['store', 'ls', 'signpost/devices', '--data', laptop]));
  assert.match(listed, new RegExp(`${deviceId}\\.json`));
  const shown = ok(nymote(['owner', 'show', '--data', device]));
  assert.match(shown, new RegExp(`${deviceId}\\s+\\S+\\s+until \\S+\\s+valid\\s+\\(this device\\)`), shown);

  // B's HTTPS now serves a certificate from the owner's CA: curl verifies it with the CA alone.
  const caFile = path.join(laptop, 'ca.pem');
  fs.writeFileSync(caFile, ok(nymote(['owner', 'ca-cert', '--data', laptop])));
  const httpsPort = 8443 + b.portBase;
  let curl = tool('curl', ['-sS', '--cacert', caFile, `https://localhost:${httpsPort}/health`]);
  for (let i = 0; i < 20 && curl.status !== 0; i++) {
    await new Promise((r) => setTimeout(r, 250));
    curl = tool('curl', ['-sS', '--cacert', caFile, `https://localhost:${httpsPort}/health`]);
  }
  assert.is(curl.status, 0, curl.stderr);
});

test('the store syncs over the channel both ways; the device list shows the peer up', async () => {
  ok(nymote(['remote', 'add', 'b', `signpost://${deviceId}`, '--every', '0', '--data', laptop]));
  ok(nymote(['store', 'set', 'notes/from-laptop', 'hello over signpost', '--data', laptop]));
  let out = consoleRun(laptop, ['sync b']);
  assert.match(out, /synced main with b: (fast-forward|merge|up-to-date|nothing-fetched), pushed/, out);
  // The value is in B's store, committed in its git history.
  assert.is(ok(nymote(['store', 'get', 'notes/from-laptop', '--data', device])).trim(), 'hello over signpost');
  const log = tool('git', ['--git-dir', path.join(device, 'store', 'alice.git'), 'log', '--format=%s', 'main']);
  assert.match(log.stdout, /notes\/from-laptop|set notes/, log.stdout);

  // The other way: B adds a note and syncs with the laptop, which it knows from pairing.
  const laptopId = /this device\s+\S+ \(([a-z2-7]+)\)/.exec(consoleRun(laptop, ['devices']))?.[1];
  assert.ok(laptopId !== undefined);
  ok(nymote(['remote', 'add', 'a', `signpost://${laptopId}`, '--every', '0', '--data', device]));
  ok(nymote(['store', 'set', 'notes/from-device', 'hello back', '--data', device]));
  out = consoleRun(device, ['sync a']);
  assert.match(out, /synced main with a: \S+, pushed/, out);
  assert.is(ok(nymote(['store', 'get', 'notes/from-device', '--data', laptop])).trim(), 'hello back');

  const devices = consoleRun(laptop, ['devices']);
  assert.match(devices, new RegExp(`\\(${deviceId}\\)\\s+up\\s+127\\.0\\.0\\.1:${channelPort(b)}`), devices);

  // Paired for ten days, the device got a year's certificates over the channel from the laptop.
  const yearAway = Date.now() + 300 * 86_400_000;
  let until = 0;
  for (let i = 0; i < 40 && until < yearAway; i++) {
    await new Promise((r) => setTimeout(r, 250));
    until = Date.parse(new RegExp(`${deviceId}\\s+\\S+\\s+until (\\S+)`).exec(ok(nymote(['owner', 'show', '--data', device])))?.[1] ?? '');
  }
  assert.ok(until > yearAway, `device certificate renewed (until ${new Date(until).toISOString()})`);
  const served = await servedCertificate(8443 + b.portBase, path.join(laptop, 'ca.pem'));
  assert.ok(Date.parse(served.valid_to) > yearAway, `TLS certificate renewed (valid to ${served.valid_to})`);
  assert.match(a.output(), /renewed the certificates of a device/);
});

test('garbage on the channel port is dropped and counted', async () => {
  const socket = dgram.createSocket('udp4');
  const junk = [Buffer.alloc(0), Buffer.from([1]), Buffer.alloc(148, 1), Buffer.alloc(92, 2), Buffer.alloc(64, 3), Buffer.concat([Buffer.from([4, 0, 0, 0]), Buffer.alloc(60, 9)]), Buffer.alloc(65_000, 5)];
  for (const packet of junk) await new Promise<void>((resolve) => socket.send(packet, channelPort(b), '127.0.0.1', () => resolve()));
  socket.close();
  await new Promise((r) => setTimeout(r, 300));
  const health = JSON.parse(tool('curl', ['-sS', `${b.httpUrl}/health`]).stdout) as { services: Record<string, { detail?: string }> };
  const dropped = Number(/(\d+) packets dropped/.exec(health.services.signpost?.detail ?? '')?.[1]);
  assert.ok(dropped >= junk.length, health.services.signpost?.detail);
  assert.is(ok(nymote(['store', 'get', 'notes/from-laptop', '--data', device])).trim(), 'hello over signpost', 'the device still works');
});

test('kill and restart the device: the next sync resumes over a new session', async () => {
  await b.stop('SIGKILL');
  // It comes back on other ports: the laptop learns the new endpoint from its handshake (roaming).
  b = await startInstance(device);
  ok(nymote(['store', 'set', 'notes/after-restart', 'device restarted', '--data', device]));
  const out = consoleRun(device, ['sync a']);
  assert.match(out, /synced main with a: \S+, pushed/, out);
  assert.is(ok(nymote(['store', 'get', 'notes/after-restart', '--data', laptop])).trim(), 'device restarted');
  ok(nymote(['store', 'set', 'notes/laptop-again', 'and the laptop reaches it', '--data', laptop]));
  const back = consoleRun(laptop, ['sync b']);
  assert.match(back, /synced main with b: \S+, pushed/, back);
  assert.is(ok(nymote(['store', 'get', 'notes/laptop-again', '--data', device])).trim(), 'and the laptop reaches it');
});

test('a revoked device is dropped by the laptop and refused at its next handshake, with the reason logged', async () => {
  ok(nymote(['owner', 'revoke', deviceId, '--reason', 'lost', '--data', laptop]));
  for (let i = 0; i < 40 && !/device no longer trusted[^\n]*revoked/.test(a.output()); i++) await new Promise((r) => setTimeout(r, 250));
  assert.match(a.output(), /device no longer trusted[^\n]*revoked/);
  // The device tries again (its next handshake): the laptop refuses it and says why.
  const attempt = spawn(process.execPath, [NYMOTE, 'console', '--data', device], { stdio: ['pipe', 'ignore', 'ignore'] });
  attempt.stdin.end('sync a\n');
  for (let i = 0; i < 160 && !/channel peer refused[^\n]*revoked/.test(a.output()); i++) await new Promise((r) => setTimeout(r, 250));
  attempt.kill();
  assert.match(a.output(), /channel peer refused[^\n]*revoked/);
});

/** The certificate a TLS server presents, verified against the CA in `caFile`. */
function servedCertificate(port: number, caFile: string): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: fs.readFileSync(caFile) }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.once('error', reject);
  });
}

test.run();
