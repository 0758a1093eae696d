/**
 * Pairing in one process, owner and device sides over TCP on 127.0.0.1 with scripted people:
 * the same code on both screens and a certificate for exactly the device's keys; a connection
 * that is not a pairing (garbage, a silent client) does not end the device's wait; a "no" on
 * the owner's side leaves the device with nothing; the code's commitment catches a device
 * that changes its nonce.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { DeviceKeys, OwnerCa, OwnerKey, deviceCertificateSignedBy, pairWithDevice, type PairingPerson } from '../../firmware/signpost/index.js';
import { commitToNonce, commitmentHolds, newPairingNonce, pairingCode } from '../../firmware/signpost/pairing/code.js';
import { pairAsDevice } from '../../firmware/signpost/pairing/index.js';
import { tempDir } from '../_lib/tmp.js';

/** Resolves when `promise` rejects with a message matching `pattern`. */
async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected a rejection matching ${pattern}`);
}

function person(answer: boolean, lines: string[]): PairingPerson {
  return { say: (line) => void lines.push(line), confirm: async () => answer };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function setup() {
  const ownerDir = tempDir('pair-owner');
  const owner = OwnerKey.init(ownerDir);
  const ca = OwnerCa.create(ownerDir, owner);
  const laptopKeys = DeviceKeys.loadOrCreate(ownerDir);
  const deviceKeys = DeviceKeys.loadOrCreate(tempDir('pair-device'));
  const tlsKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
  return { owner, ca, laptopKeys, deviceKeys, tlsKey };
}

const codeOf = (lines: string[]) => lines.find((line) => line.startsWith('Code: '));

test('a garbage connection first, then the owner: the same code, and a certificate for the device keys', async () => {
  const { owner, ca, laptopKeys, deviceKeys, tlsKey } = setup();
  const port = await freePort();
  const deviceLines: string[] = [];
  const ownerLines: string[] = [];
  const waiting = pairAsDevice({
    listen: '127.0.0.1',
    port,
    keys: deviceKeys,
    request: { device: 'kitchen', services: ['http'], tlsKey, dns: ['kitchen', 'localhost'], ips: ['127.0.0.1'] },
    person: person(true, deviceLines),
    signal: new AbortController().signal,
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  // Not a pairing: a length prefix and bytes that are no Noise message.
  const stranger = net.connect(port, '127.0.0.1');
  stranger.end(Buffer.from([0, 4, 1, 2, 3, 4]));
  await new Promise((resolve) => stranger.once('close', resolve));
  const certificate = await pairWithDevice({ host: '127.0.0.1', port, owner, ca, keys: laptopKeys, devices: [], person: person(true, ownerLines) });
  const paired = await waiting;

  assert.ok(deviceLines.some((line) => /was not a pairing/.test(line)), deviceLines.join('\n'));
  assert.match(codeOf(deviceLines) ?? '', /^Code: \d{3} \d{3}$/);
  assert.is(codeOf(deviceLines), codeOf(ownerLines), 'both people see the same code');
  assert.is(certificate.sign, Buffer.from(deviceKeys.signPublic).toString('base64url'));
  assert.is(certificate.dh, Buffer.from(deviceKeys.dhPublic).toString('base64url'));
  assert.is(paired.certificate.serial, certificate.serial);
  assert.ok(deviceCertificateSignedBy(paired.certificate, owner.publicKey));
  assert.equal(paired.owner, Buffer.from(owner.publicKey));
  const tls = new crypto.X509Certificate(paired.tlsCertificate);
  assert.ok(tls.verify(new crypto.X509Certificate(ca.certificate).publicKey), 'TLS certificate from the owner CA');
  assert.ok(tls.checkHost('kitchen') !== undefined);
});

test('"no" on the owner side: the device is told, and keeps nothing', async () => {
  const { owner, ca, laptopKeys, deviceKeys, tlsKey } = setup();
  const port = await freePort();
  const waiting = pairAsDevice({
    listen: '127.0.0.1',
    port,
    keys: deviceKeys,
    request: { device: 'kitchen', services: ['http'], tlsKey, dns: ['kitchen'], ips: [] },
    person: person(true, []),
    signal: new AbortController().signal,
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const owning = pairWithDevice({ host: '127.0.0.1', port, owner, ca, keys: laptopKeys, devices: [], person: person(false, []) });
  await rejects(owning, /not confirmed here/);
  await rejects(waiting, /cancelled on the owner's computer/);
});

test('the wait ends when the person cancels', async () => {
  const { deviceKeys, tlsKey } = setup();
  const abort = new AbortController();
  const waiting = pairAsDevice({
    listen: '127.0.0.1',
    port: await freePort(),
    keys: deviceKeys,
    request: { device: 'kitchen', services: [], tlsKey, dns: [], ips: [] },
    person: person(true, []),
    signal: abort.signal,
  });
  setTimeout(() => abort.abort(), 50);
  await rejects(waiting, /pairing cancelled/);
});

test('the code: six digits from hash and both nonces; a changed nonce breaks the commitment', () => {
  const hash = crypto.randomBytes(32);
  const ownerNonce = newPairingNonce();
  const deviceNonce = newPairingNonce();
  const code = pairingCode(hash, ownerNonce, deviceNonce);
  assert.match(code, /^\d{3} \d{3}$/);
  assert.is(pairingCode(hash, ownerNonce, deviceNonce), code);
  assert.is.not(pairingCode(hash, ownerNonce, newPairingNonce()), code);
  assert.ok(commitmentHolds(commitToNonce(deviceNonce), deviceNonce));
  assert.not.ok(commitmentHolds(commitToNonce(deviceNonce), newPairingNonce()));
});

test.run();
