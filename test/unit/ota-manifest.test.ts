/**
 * firmware/ota: release manifests as a device checks them. A good release passes; each of the
 * issue's refusals gets its own reason — unknown key, bad signature (tampered field), wrong
 * board, wrong arch (a release carries one app per arch, under `<arch>/`), equal counter (already installed, not an error to retry) and older
 * counter (rollback), expired, oversize; every file is checked for presence, length and hash,
 * and a file the manifest does not list is refused. Strict parsing (garbage, extra fields,
 * unsorted files, paths with `..`), key rotation by release, and tweetnacl as the reference
 * for the signature.
 */
import crypto from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import nacl from 'tweetnacl';

import { ReleaseKey, appFiles, osImage, checkFiles, checkRelease, formatManifest, formatTrustedKeys, parseManifest, parseTrustedKeys, signRelease, trustedAfter, type DeviceFacts, type ReleaseManifest } from '../../firmware/ota/index.js';
import { tempDir } from '../_lib/tmp.js';

const NOW = new Date('2026-11-30T12:00:00.000Z');
const files = new Map<string, Uint8Array>([
  ['arm64/index.js', Buffer.from('console.log("nymote")\n')],
  ['arm64/native/linux-arm64/sha1.node', crypto.randomBytes(4096)],
  ['armhf/index.js', Buffer.from('console.log("nymote")\n')],
  ['armhf/node_modules/@serialport/bindings-cpp/package.json', Buffer.from('{}')],
]);
const check = (m: ReleaseManifest, release: Map<string, Uint8Array>) => checkFiles(m, release.keys(), (path) => release.get(path));
const key = ReleaseKey.init(tempDir('release-key'));
const manifest = signRelease(key, { version: '0.2.0', counter: 7, boards: ['rpi3', 'rpi4'], arches: ['arm64', 'armhf'], files, validDays: 30, now: NOW });
const device: DeviceFacts = { trusted: [key.publicKey], board: 'rpi4', arch: 'arm64', installedCounter: 6, now: NOW, maxTotalBytes: 1 << 20, os: undefined };

const refusal = (m: ReleaseManifest, facts: Partial<DeviceFacts> = {}) => {
  const verdict = checkRelease(m, { ...device, ...facts });
  return verdict.ok ? 'accepted' : verdict.reason;
};

test('a good release is accepted, its files match, and the signature is plain Ed25519 (tweetnacl agrees)', () => {
  assert.is(refusal(manifest), 'accepted');
  assert.equal(check(manifest, files), { ok: true });
  assert.equal(appFiles(manifest, 'armhf').map((f) => f.path), ['index.js', 'node_modules/@serialport/bindings-cpp/package.json']);
  const reparsed = parseManifest(formatManifest(manifest));
  assert.equal(reparsed, manifest);
  const { signature, ...fields } = manifest;
  // The signed bytes: the prefix, the fields in order, each file's keys sorted.
  const canonical = { ...fields, files: fields.files.map((f) => ({ length: f.length, path: f.path, sha256: f.sha256 })) };
  const signed = Buffer.from('nymote release manifest v1\n' + JSON.stringify(canonical));
  assert.ok(nacl.sign.detached.verify(signed, Buffer.from(signature, 'base64url'), key.publicKey));
  assert.is(manifest.totalBytes, 22 + 4096 + 22 + 2);
});

test('each refusal has its reason', () => {
  const stranger = ReleaseKey.init(tempDir('release-stranger'));
  assert.match(refusal(manifest, { trusted: [stranger.publicKey] }), /does not trust/);
  assert.match(refusal({ ...manifest, counter: 99 }), /signature does not verify/);
  assert.match(refusal({ ...manifest, boards: ['rpi2'] }), /signature does not verify/, 'a changed board is a changed signature');
  const otherHash = manifest.files.map((f, i) => (i === 0 ? { ...f, sha256: 'f'.repeat(64) } : f));
  assert.match(refusal({ ...manifest, files: otherHash }), /signature does not verify/, "the files' hashes are signed too");
  assert.match(refusal(manifest, { board: 'cubieboard' }), /release for rpi3, rpi4, this device is cubieboard/);
  assert.match(refusal(manifest, { arch: 'x64' }), /release for arm64, armhf, this device is x64/);
  const installed = checkRelease(manifest, { ...device, installedCounter: 7 });
  assert.ok(!installed.ok && installed.installed && /already installed/.test(installed.reason));
  const older = checkRelease(manifest, { ...device, installedCounter: 8 });
  assert.ok(!older.ok && !older.installed && /no rollback/.test(older.reason));
  assert.match(refusal(manifest, { now: new Date(NOW.getTime() + 31 * 86_400_000) }), /expired/);
  assert.match(refusal(manifest, { maxTotalBytes: 1000 }), /release of 4118 bytes for arm64, this device takes at most 1000/);
  assert.is(refusal(manifest, { arch: 'armhf', maxTotalBytes: 1000 }), 'accepted', "only the device's own arch counts");
});

test('files: missing, wrong length, wrong content, or not in the manifest', () => {
  const without = new Map(files);
  without.delete('arm64/index.js');
  assert.equal(check(manifest, without), { ok: false, reason: 'the manifest names arm64/index.js, which the release does not have' });
  assert.match(String((check(manifest, new Map([...files, ['arm64/index.js', Buffer.from('short')]])) as { reason: string }).reason), /is 5 bytes, the manifest says 22/);
  const tampered = Buffer.from(files.get('arm64/index.js')!);
  tampered[0] ^= 1;
  assert.match(String((check(manifest, new Map([...files, ['arm64/index.js', tampered]])) as { reason: string }).reason), /does not match its SHA-256/);
  assert.match(String((check(manifest, new Map([...files, ['arm64/extra.js', Buffer.from('x')]])) as { reason: string }).reason), /arm64\/extra\.js is in the release but not in its manifest/);
});

test('parsing is strict', () => {
  const text = formatManifest(manifest);
  const edit = (change: (m: Record<string, unknown>) => void) => {
    const m = JSON.parse(text) as Record<string, unknown>;
    change(m);
    return JSON.stringify(m);
  };
  assert.throws(() => parseManifest('garbage'), /not JSON/);
  assert.throws(() => parseManifest(edit((m) => (m.extra = 1))), /unexpected field extra/);
  assert.throws(() => parseManifest(edit((m) => delete m.counter)), /missing field counter/);
  assert.throws(() => parseManifest(edit((m) => (m.counter = 0))), /bad field counter/);
  assert.throws(() => parseManifest(edit((m) => (m.files = [...(m.files as unknown[])].reverse()))), /not sorted/);
  assert.throws(() => parseManifest(edit((m) => ((m.files as { path: string }[])[0]!.path = '../etc/passwd'))), /bad field files/);
  assert.throws(() => parseManifest(edit((m) => (m.totalBytes = 1))), /totalBytes/);
  assert.throws(() => parseManifest(edit((m) => (m.arches = ['x86']))), /bad field arches/);
  assert.throws(() => parseManifest(edit((m) => (m.arches = ['arm64', 'arm64']))), /bad field arches/);
  assert.throws(() => parseManifest(edit((m) => (m.arches = ['arm64']))), /armhf\/index\.js is neither under the directory of one of the release's arches nor one of its OS images/);
  assert.throws(() => parseManifest(edit((m) => (m.os = { rpi4: '../6.12' }))), /bad field os/);
  assert.throws(() => parseManifest(edit((m) => (m.os = { rpi4: '6.12.57+deb13-arm64' }))), /no os\/rpi4\/rootfs\.squashfs for the OS image of rpi4/);
  assert.throws(() => parseManifest('{"a":"' + 'x'.repeat(70_000) + '"}'), /over 65536 bytes/);
});

test('an OS image: a file at os/<board>/rootfs.squashfs, for one of the boards, for the kernel the device runs, fitting its OS slot', () => {
  const image = crypto.randomBytes(5000);
  const withOs = new Map([...files, ['os/rpi4/rootfs.squashfs', image]]);
  const m = signRelease(key, { version: '0.2.0', counter: 7, boards: ['rpi3', 'rpi4'], arches: ['arm64', 'armhf'], files: withOs, os: { rpi4: '6.12.57+deb13-arm64' }, validDays: 30, now: NOW });
  assert.equal(parseManifest(formatManifest(m)), m);
  assert.equal(osImage(m, 'rpi4'), { file: { path: 'os/rpi4/rootfs.squashfs', length: 5000, sha256: crypto.createHash('sha256').update(image).digest('hex') }, kernel: '6.12.57+deb13-arm64' });
  assert.is(osImage(m, 'rpi3'), undefined);
  const os = { kernel: '6.12.57+deb13-arm64', maxBytes: 1 << 20 };
  assert.is(refusal(m, { os }), 'accepted');
  assert.is(refusal(m, { board: 'rpi3', os: undefined }), 'accepted', 'a board without an OS image in the release takes its app');
  assert.match(refusal(m), /carries an OS image for rpi4, and this device has no OS slots/);
  assert.match(refusal(m, { os: { ...os, kernel: '6.12.48+deb13-arm64' } }), /OS image is for kernel 6\.12\.57\+deb13-arm64, this device runs 6\.12\.48\+deb13-arm64/);
  assert.match(refusal(m, { os: { ...os, maxBytes: 4096 } }), /the OS image is 5000 bytes, the OS slot holds 4096/);
  assert.equal(check(m, withOs), { ok: true });
  assert.throws(
    () => signRelease(key, { version: '0.2.0', counter: 7, boards: ['rpi3'], arches: ['arm64', 'armhf'], files: withOs, os: { rpi4: '6.12.57+deb13-arm64' }, validDays: 30, now: NOW }),
    /OS image for rpi4, which is not one of the release's boards/,
  );
});

test('keys rotate by release: a release signed by the old key adds the new one', () => {
  const next = ReleaseKey.init(tempDir('release-next'));
  const rotating = signRelease(key, { version: '0.3.0', counter: 8, boards: ['rpi4'], arches: ['arm64', 'armhf'], files, validDays: 30, addKeys: [next.publicKey], now: NOW });
  assert.is(refusal(rotating), 'accepted');
  const trusted = trustedAfter(device.trusted, rotating);
  assert.is(trusted.length, 2);
  const fromNewKey = signRelease(next, { version: '0.4.0', counter: 9, boards: ['rpi4'], arches: ['arm64', 'armhf'], files, validDays: 30, now: NOW });
  assert.match(refusal(fromNewKey), /does not trust/, 'not before the rotating release is installed');
  assert.is(refusal(fromNewKey, { trusted, installedCounter: 8 }), 'accepted');
  assert.equal(parseTrustedKeys(formatTrustedKeys(trusted)).map((k) => Buffer.from(k).toString('hex')), trusted.map((k) => Buffer.from(k).toString('hex')));
  assert.throws(() => parseTrustedKeys('{"keys":[]}'), /1 to 16/);
});

test('a release key is made once: a second init refuses', () => {
  const dir = tempDir('release-twice');
  const first = ReleaseKey.init(dir);
  assert.throws(() => ReleaseKey.init(dir), /a release key already exists/);
  assert.equal(ReleaseKey.load(dir)!.publicKey, first.publicKey);
});

test.run();
