/**
 * Signpost identity: device and owner keys on disk, device certificates and revocations (their
 * canonical signed bytes checked with tweetnacl as the reference), the owner's records in a
 * store, Trust, and the owner's CA with the server certificates it issues.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import nacl from 'tweetnacl';
import { NymoteError } from '../../firmware/runtime/index.js';
import {
  DEVICES_DIR,
  DeviceKeys,
  OwnerCa,
  OwnerKey,
  OwnerRecords,
  REVOCATIONS_DIR,
  Trust,
  deviceCertificatePath,
  formatDeviceCertificate,
  formatRevocation,
  issueDeviceCertificate,
  keyId,
  newCertificateKey,
  parseDeviceCertificate,
  parseRevocation,
  revocationPath,
  revokeDevice,
  tlsCertificateDue,
  verifyCaBinding,
  verifyDeviceCertificate,
  verifyRevocation,
  type DeviceCertificate,
  type Signer,
} from '../../firmware/signpost/index.js';
import { Store } from '../../firmware/store/index.js';
import { tempDir } from '../_lib/tmp.js';

const DAY = 86_400_000;
const NOW = new Date('2030-06-01T12:00:00.000Z');
const names = { dns: ['box', 'box.local', 'localhost'], ips: ['127.0.0.1', '::1'] };

/** An owner whose key is tweetnacl's: our signatures must verify there, and its must verify here. */
function naclOwner(): Signer & { secretKey: Uint8Array } {
  const pair = nacl.sign.keyPair();
  return { publicKey: pair.publicKey, secretKey: pair.secretKey, sign: (message) => nacl.sign.detached(message, pair.secretKey) };
}

function device(name = 'laptop') {
  return { device: name, signPublic: nacl.sign.keyPair().publicKey, dhPublic: nacl.box.keyPair().publicKey, services: ['https', 'imaps'] };
}

const accept = { now: NOW, isRevoked: () => false };

test('device keys: made once (0600 in a 0700 dir), reloaded the same, X25519 pair consistent', () => {
  const secrets = tempDir();
  const keys = DeviceKeys.loadOrCreate(secrets);
  const file = DeviceKeys.file(secrets);
  assert.is(file, path.join(secrets, 'signpost', 'device.key'));
  assert.is(fs.statSync(file).mode & 0o777, 0o600);
  assert.is(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
  for (const raw of [keys.signPublic, keys.dhPublic, keys.dhPrivate]) assert.is(raw.length, 32);
  assert.ok(Buffer.from(nacl.scalarMult.base(keys.dhPrivate)).equals(keys.dhPublic), 'dhPublic is X25519(dhPrivate)');
  assert.match(keys.id, /^[a-z2-7]{16}$/);
  assert.is(keys.id, keyId(keys.signPublic));
  const again = DeviceKeys.loadOrCreate(secrets);
  assert.is(again.id, keys.id);
  assert.ok(Buffer.from(again.dhPrivate).equals(keys.dhPrivate));
  const message = Buffer.from('hello');
  assert.ok(nacl.sign.detached.verify(message, again.sign(message), keys.signPublic), 'tweetnacl verifies the device signature');
});

test('key id: base32 (lower case) of the first 10 bytes of SHA-256', () => {
  const key = new Uint8Array(32).fill(7);
  const digest = crypto.createHash('sha256').update(key).digest().subarray(0, 10);
  let bits = '';
  for (const byte of digest) bits += byte.toString(2).padStart(8, '0');
  const expected = bits.match(/.{5}/g)!.map((b) => 'abcdefghijklmnopqrstuvwxyz234567'[parseInt(b, 2)]).join('');
  assert.is(keyId(key), expected);
});

test('a damaged device key file is an error of one line, never a silent new key', () => {
  const secrets = tempDir();
  DeviceKeys.loadOrCreate(secrets);
  const file = DeviceKeys.file(secrets);
  const pem = fs.readFileSync(file, 'utf8');
  for (const damaged of ['garbage\n', pem.slice(0, pem.length / 2), pem.split('-----END PRIVATE KEY-----')[0] + '-----END PRIVATE KEY-----\n']) {
    fs.writeFileSync(file, damaged);
    try {
      DeviceKeys.loadOrCreate(secrets);
      assert.unreachable('loaded a damaged key file');
    } catch (err) {
      assert.instance(err, NymoteError);
      assert.is((err as NymoteError).code, 'EBADKEY');
      assert.not.match((err as Error).message, /\n/);
    }
    assert.is(fs.readFileSync(file, 'utf8'), damaged, 'the file is left as it was');
  }
});

test('owner key: none before init, init refuses a second one, load gives the same key', () => {
  const secrets = tempDir();
  assert.is(OwnerKey.load(secrets), undefined);
  const owner = OwnerKey.init(secrets);
  assert.is(fs.statSync(OwnerKey.file(secrets)).mode & 0o777, 0o600);
  assert.throws(() => OwnerKey.init(secrets), (err: unknown) => err instanceof NymoteError && err.code === 'EEXIST');
  const loaded = OwnerKey.load(secrets)!;
  assert.ok(Buffer.from(loaded.publicKey).equals(owner.publicKey));
  assert.is(loaded.id, keyId(owner.publicKey));
  const message = Buffer.from('owner');
  assert.ok(nacl.sign.detached.verify(message, loaded.sign(message), owner.publicKey));
});

test('certificate: issued, stored, parsed back equal, and valid for its owner', () => {
  const owner = OwnerKey.init(tempDir());
  const request = device();
  const cert = issueDeviceCertificate(owner, request, { now: NOW });
  assert.equal(Object.keys(cert), ['v', 'device', 'id', 'sign', 'dh', 'services', 'serial', 'notBefore', 'notAfter', 'owner', 'signature']);
  assert.is(cert.id, keyId(request.signPublic));
  assert.is(cert.sign, Buffer.from(request.signPublic).toString('base64url'));
  assert.match(cert.serial, /^[0-9a-f]{32}$/);
  assert.is(Date.parse(cert.notAfter) - NOW.getTime(), 365 * DAY);
  assert.ok(Date.parse(cert.notBefore) < NOW.getTime(), 'backdated for slow clocks');
  const parsed = parseDeviceCertificate(formatDeviceCertificate(cert));
  assert.equal(parsed, cert);
  assert.equal(verifyDeviceCertificate(parsed, { owner: owner.publicKey, ...accept }), { ok: true });
  assert.is(issueDeviceCertificate(owner, request, { now: NOW, days: 30 }).notAfter, new Date(NOW.getTime() + 30 * DAY).toISOString());
});

test('certificate: the signed bytes are the prefix and the fields in order without whitespace (tweetnacl checks)', () => {
  const owner = naclOwner();
  const cert = issueDeviceCertificate(owner, device(), { now: NOW });
  const { signature, ...fields } = cert;
  const bytes = Buffer.from(`nymote device certificate v1\n${JSON.stringify(fields)}`);
  assert.ok(nacl.sign.detached.verify(bytes, Buffer.from(signature, 'base64url'), owner.publicKey));
  // Our own owner key's signatures verify under tweetnacl as well.
  const ownKey = OwnerKey.init(tempDir());
  const own = issueDeviceCertificate(ownKey, device(), { now: NOW });
  const { signature: ownSignature, ...ownFields } = own;
  assert.ok(nacl.sign.detached.verify(Buffer.from(`nymote device certificate v1\n${JSON.stringify(ownFields)}`), Buffer.from(ownSignature, 'base64url'), ownKey.publicKey));
});

test('certificate: any field changed → bad signature (the owner field → wrong owner)', () => {
  const owner = naclOwner();
  const cert = issueDeviceCertificate(owner, device(), { now: NOW });
  const other = device('other');
  const otherSign = Buffer.from(other.signPublic).toString('base64url');
  const tampered: Partial<DeviceCertificate>[] = [
    { device: 'other' },
    { sign: otherSign, id: keyId(other.signPublic) },
    { dh: Buffer.from(other.dhPublic).toString('base64url') },
    { services: ['https'] },
    { serial: '0'.repeat(32) },
    { notBefore: new Date(NOW.getTime() - 10 * DAY).toISOString() },
    { notAfter: new Date(NOW.getTime() + 9999 * DAY).toISOString() },
  ];
  for (const change of tampered) {
    const forged = parseDeviceCertificate(JSON.stringify({ ...cert, ...change }));
    assert.equal(verifyDeviceCertificate(forged, { owner: owner.publicKey, ...accept }), { ok: false, reason: 'bad signature' }, JSON.stringify(change));
  }
  const flipped = Buffer.from(cert.signature, 'base64url');
  flipped[10]! ^= 1;
  assert.equal(verifyDeviceCertificate({ ...cert, signature: flipped.toString('base64url') }, { owner: owner.publicKey, ...accept }), { ok: false, reason: 'bad signature' });
  const stranger = naclOwner();
  const rehomed = { ...cert, owner: Buffer.from(stranger.publicKey).toString('base64url') };
  assert.equal(verifyDeviceCertificate(rehomed, { owner: owner.publicKey, ...accept }), { ok: false, reason: 'wrong owner' });
  assert.equal(verifyDeviceCertificate(rehomed, { owner: stranger.publicKey, ...accept }), { ok: false, reason: 'bad signature' });
});

test('certificate: expired, not yet valid, revoked, wrong owner — each with its reason', () => {
  const owner = naclOwner();
  const cert = issueDeviceCertificate(owner, device(), { now: NOW, days: 10 });
  const at = (now: Date, isRevoked: (serial: string) => boolean = () => false) => verifyDeviceCertificate(cert, { owner: owner.publicKey, now, isRevoked });
  assert.equal(at(new Date(NOW.getTime() + 11 * DAY)), { ok: false, reason: `expired (${cert.notAfter})` });
  assert.equal(at(new Date(cert.notAfter)), { ok: false, reason: `expired (${cert.notAfter})` }, 'notAfter itself is past');
  assert.equal(at(new Date(NOW.getTime() - 2 * DAY)), { ok: false, reason: `not yet valid (from ${cert.notBefore})` });
  assert.equal(at(NOW, (serial) => serial === cert.serial), { ok: false, reason: 'revoked' });
  assert.equal(verifyDeviceCertificate(cert, { owner: naclOwner().publicKey, ...accept }), { ok: false, reason: 'wrong owner' });
});

test('certificate parsing is strict: size, JSON, exact fields, types, one spelling', () => {
  const cert = issueDeviceCertificate(naclOwner(), device(), { now: NOW });
  const rejects = (text: string, why: RegExp) => {
    try {
      parseDeviceCertificate(text);
      assert.unreachable(`parsed: ${text.slice(0, 80)}`);
    } catch (err) {
      assert.instance(err, NymoteError);
      assert.match((err as Error).message, why);
    }
  };
  const withField = (change: Record<string, unknown>) => JSON.stringify({ ...cert, ...change });
  rejects(JSON.stringify(cert) + ' '.repeat(4096), /over 4096 bytes/);
  rejects('{"v":1', /not JSON/);
  rejects('[1]', /not a JSON object/);
  rejects('null', /not a JSON object/);
  rejects(withField({ extra: 1 }), /unexpected field extra/);
  rejects(JSON.stringify(cert).replace('{', '{"__proto__":{},'), /unexpected field __proto__/);
  for (const field of Object.keys(cert)) {
    const { [field]: _gone, ...rest } = cert as unknown as Record<string, unknown>;
    rejects(JSON.stringify(rest), new RegExp(`missing field ${field}`));
  }
  const wrong: Record<string, unknown[]> = {
    v: [2, '1', null],
    device: ['', 7, 'x'.repeat(64), 'a\nb'],
    id: ['ABCDEFGHIJKLMNOP', 'short', 12],
    sign: ['', Buffer.alloc(31).toString('base64url'), Buffer.from(cert.sign, 'base64url').toString('base64')],
    dh: [null, 'not base64!'],
    services: ['https', [1], ['HTTPS'], Array(33).fill('x')],
    serial: ['0'.repeat(31), 'Z'.repeat(32), 5],
    notBefore: ['2030-06-01', '2030-06-01T12:00:00Z', 0, '2030-02-30T00:00:00.000Z'],
    notAfter: [true],
    owner: [cert.owner.slice(0, -1)],
    signature: ['', cert.signature.slice(0, -2)],
  };
  for (const [field, values] of Object.entries(wrong)) for (const value of values) rejects(withField({ [field]: value }), field === 'id' ? /bad field id|id does not match/ : new RegExp(`bad field ${field}`));
  // A last base64url character with stray bits decodes to the same bytes: not the canonical spelling.
  // (The last of 43 characters carries 4 bits and 2 zero bits, so the next character is such a spelling.)
  const stray = String.fromCharCode(cert.owner.charCodeAt(42) + 1);
  assert.ok(Buffer.from(cert.owner.slice(0, -1) + stray, 'base64url').equals(Buffer.from(cert.owner, 'base64url')));
  rejects(withField({ owner: cert.owner.slice(0, -1) + stray }), /bad field owner/);
  rejects(withField({ id: keyId(device().signPublic) }), /id does not match the signing key/);
  rejects(withField({ notAfter: cert.notBefore }), /notAfter is not after notBefore/);
});

test('revocation: signed by the owner, strict to parse, and bound to its fields', () => {
  const owner = naclOwner();
  const cert = issueDeviceCertificate(owner, device(), { now: NOW });
  const entry = revokeDevice(owner, cert, 'lost on a train', NOW);
  assert.equal(Object.keys(entry), ['v', 'serial', 'device', 'revoked', 'reason', 'signature']);
  assert.equal({ serial: entry.serial, device: entry.device, revoked: entry.revoked }, { serial: cert.serial, device: cert.id, revoked: NOW.toISOString() });
  const parsed = parseRevocation(formatRevocation(entry));
  assert.equal(parsed, entry);
  assert.ok(verifyRevocation(parsed, owner.publicKey));
  assert.not.ok(verifyRevocation(parsed, naclOwner().publicKey), 'another owner');
  assert.not.ok(verifyRevocation({ ...parsed, reason: 'changed' }, owner.publicKey), 'tampered');
  const { signature, ...fields } = entry;
  assert.ok(nacl.sign.detached.verify(Buffer.from(`nymote revocation v1\n${JSON.stringify(fields)}`), Buffer.from(signature, 'base64url'), owner.publicKey));
  // A certificate signature never passes as a revocation's (domain separation).
  assert.not.ok(verifyRevocation({ ...entry, signature: cert.signature }, owner.publicKey));
  assert.throws(() => parseRevocation(JSON.stringify({ ...entry, extra: true })), /unexpected field extra/);
  assert.throws(() => parseRevocation(JSON.stringify({ ...entry, reason: '' })), /bad field reason/);
  assert.throws(() => revokeDevice(owner, cert, 'x'.repeat(201)), /bad field reason/);
});

test('owner records: only what the owner signed counts', async () => {
  const owner = naclOwner();
  const stranger = naclOwner();
  const store = Store.open(path.join(tempDir(), 'owner.git'), { durability: 'none' });
  try {
    const main = store.branch('main');
    const records = new OwnerRecords(main, owner.publicKey);
    const mine = issueDeviceCertificate(owner, device('phone'), { now: NOW });
    const foreign = issueDeviceCertificate(stranger, device('intruder'), { now: NOW });
    assert.is(deviceCertificatePath(mine.id), `${DEVICES_DIR}/${mine.id}.json`);
    assert.is(revocationPath(mine.serial), `${REVOCATIONS_DIR}/${mine.serial}.json`);
    await main.transaction((view) => {
      view.set(deviceCertificatePath(mine.id), formatDeviceCertificate(mine));
      view.set(deviceCertificatePath(foreign.id), formatDeviceCertificate(foreign));
      view.set(`${DEVICES_DIR}/junk.json`, 'not a certificate');
      // A revocation signed by someone else, for the owner's device: ignored.
      view.set(revocationPath(mine.serial), formatRevocation(revokeDevice(stranger, mine, 'forged', NOW)));
    });
    assert.equal(records.devices(), [mine]);
    assert.equal(records.device(mine.id), mine);
    assert.is(records.device(foreign.id), undefined);
    assert.is(records.device('../../x'), undefined);
    assert.not.ok(records.isRevoked(mine.serial), 'a forged revocation does not count');
    // The owner's own revocation, but filed under another serial's name: does not count either.
    const other = issueDeviceCertificate(owner, device('tablet'), { now: NOW });
    await main.set(revocationPath(other.serial), formatRevocation(revokeDevice(owner, mine, 'misfiled', NOW)));
    assert.not.ok(records.isRevoked(other.serial));
    await main.set(revocationPath(mine.serial), formatRevocation(revokeDevice(owner, mine, 'lost', NOW)));
    assert.ok(records.isRevoked(mine.serial));
    assert.is(records.revocation(mine.serial)?.reason, 'lost');
    assert.not.ok(records.isRevoked('nonsense/../x'));
    assert.equal(verifyDeviceCertificate(mine, { owner: owner.publicKey, now: NOW, isRevoked: (s) => records.isRevoked(s) }), { ok: false, reason: 'revoked' });
  } finally {
    await store.close();
  }
});

test('trust: none before pairing; saved 0600 and loaded back; a foreign certificate is refused', () => {
  const secrets = tempDir();
  assert.is(Trust.load(secrets), undefined);
  const owner = OwnerKey.init(tempDir());
  const ca = OwnerCa.create(tempDir(), owner, { now: NOW });
  const certificate = issueDeviceCertificate(owner, device(), { now: NOW });
  Trust.save(secrets, { owner: owner.publicKey, certificate, caCertificate: ca.certificate });
  assert.is(fs.statSync(Trust.file(secrets)).mode & 0o777, 0o600);
  const trust = Trust.load(secrets)!;
  assert.ok(Buffer.from(trust.owner).equals(owner.publicKey));
  assert.equal(trust.certificate, certificate);
  assert.is(trust.caCertificate, ca.certificate);
  const foreign = issueDeviceCertificate(naclOwner(), device(), { now: NOW });
  assert.throws(() => Trust.save(secrets, { owner: owner.publicKey, certificate: foreign, caCertificate: ca.certificate }), /not the owner's/);
  assert.throws(() => Trust.save(secrets, { owner: owner.publicKey, certificate, caCertificate: 'nope' }), /not an X.509 certificate/);
  fs.writeFileSync(Trust.file(secrets), '{"v":1}');
  assert.throws(() => Trust.load(secrets), (err: unknown) => err instanceof NymoteError && err.code === 'EBADTRUST');
});

test('owner CA: P-256, CA with path length 0, 10 years, bound to the owner key, reloaded', () => {
  const secrets = tempDir();
  const owner = OwnerKey.init(secrets);
  assert.is(OwnerCa.load(secrets), undefined);
  const ca = OwnerCa.create(secrets, owner, { now: NOW });
  const files = OwnerCa.files(secrets);
  assert.is(fs.statSync(files.key).mode & 0o777, 0o600);
  const x509 = new crypto.X509Certificate(ca.certificate);
  assert.ok(x509.ca);
  assert.ok(x509.verify(x509.publicKey), 'self-signed');
  assert.is(x509.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.match(x509.subject, new RegExp(`CN=Nymote owner CA ${owner.id}`));
  assert.is(Math.round((Date.parse(x509.validTo) - NOW.getTime()) / DAY), 3650);
  assert.is(ca.fingerprint256, x509.fingerprint256);
  assert.ok(verifyCaBinding(ca.certificate, ca.binding, owner.publicKey), 'bound to the owner');
  assert.not.ok(verifyCaBinding(ca.certificate, ca.binding, naclOwner().publicKey), 'not to another owner');
  const otherCa = OwnerCa.create(tempDir(), owner, { now: NOW });
  assert.not.ok(verifyCaBinding(otherCa.certificate, ca.binding, owner.publicKey), 'the binding names one CA');
  assert.not.ok(verifyCaBinding('junk', ca.binding, owner.publicKey));
  const loaded = OwnerCa.load(secrets)!;
  assert.is(loaded.certificate, ca.certificate);
  assert.is(loaded.binding, ca.binding);
  fs.writeFileSync(files.key, newCertificateKey().export({ type: 'pkcs8', format: 'pem' }));
  assert.throws(() => OwnerCa.load(secrets), (err: unknown) => err instanceof NymoteError && err.code === 'EBADKEY');
});

test('owner CA: server certificates verify against the CA for the names; renewal when due', () => {
  const ca = OwnerCa.create(tempDir(), naclOwner(), { now: NOW });
  const caCert = new crypto.X509Certificate(ca.certificate);
  const key = newCertificateKey();
  const pem = ca.issueServerCertificate({ publicKey: crypto.createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string, names, now: NOW });
  const leaf = new crypto.X509Certificate(pem);
  assert.ok(leaf.verify(caCert.publicKey), 'signed by the CA');
  assert.ok(leaf.checkIssued(caCert));
  assert.ok(leaf.checkPrivateKey(key));
  assert.is(leaf.ca, false);
  assert.is(leaf.issuer, caCert.subject);
  assert.is(leaf.checkHost('box.local'), 'box.local');
  assert.is(leaf.checkHost('localhost'), 'localhost');
  assert.is(leaf.checkHost('elsewhere.example'), undefined);
  assert.is(leaf.checkIP('127.0.0.1'), '127.0.0.1');
  assert.is(leaf.checkIP('::1'), '::1');
  assert.is(leaf.checkIP('10.0.0.1'), undefined);
  assert.equal(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'serverAuth');
  assert.is(Math.round((Date.parse(leaf.validTo) - NOW.getTime()) / DAY), 397);
  assert.is(Math.round((Date.parse(new crypto.X509Certificate(ca.issueServerCertificate({ publicKey: key, names, now: NOW, days: 90 })).validTo) - NOW.getTime()) / DAY), 90, 'a KeyObject (even private) and days');

  assert.not.ok(tlsCertificateDue(pem, ca.certificate, NOW));
  assert.not.ok(tlsCertificateDue(pem, ca.certificate, new Date(Date.parse(leaf.validTo) - 31 * DAY)));
  assert.ok(tlsCertificateDue(pem, ca.certificate, new Date(Date.parse(leaf.validTo) - 29 * DAY)), 'fewer than 30 days left');
  assert.ok(tlsCertificateDue(pem, ca.certificate, new Date(Date.parse(leaf.validTo) - 50 * DAY), 60), 'beforeDays');
  const stranger = OwnerCa.create(tempDir(), naclOwner(), { now: NOW });
  assert.ok(tlsCertificateDue(stranger.issueServerCertificate({ publicKey: key, names, now: NOW }), ca.certificate, NOW), 'issued by another CA');
  assert.ok(tlsCertificateDue('not a certificate', ca.certificate, NOW));
});

test.run();
