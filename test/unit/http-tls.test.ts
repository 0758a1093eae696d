import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TlsCredentials, defaultTlsNames, makeSelfSignedCertificate } from '../../firmware/http/tls.js';
import { tempDir } from '../_lib/tmp.js';

const DAY = 86_400_000;
const names = { dns: ['box', 'box.local', 'localhost'], ips: ['127.0.0.1', '::1'] };

test('default names: hostname, hostname.local, localhost, loopback addresses', () => {
  assert.equal(defaultTlsNames('Pi-Box'), { dns: ['pi-box', 'pi-box.local', 'localhost'], ips: ['127.0.0.1', '::1'] });
  assert.equal(defaultTlsNames('box.local').dns, ['box.local', 'localhost']);
});

test('a self-signed certificate: P-256, one year, the names as SANs, a server (not CA) certificate', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const { key, cert } = makeSelfSignedCertificate(names, { now });
  const x509 = new crypto.X509Certificate(cert);
  assert.ok(x509.checkPrivateKey(crypto.createPrivateKey(key)));
  assert.ok(x509.verify(x509.publicKey), 'signed by its own key');
  assert.is(x509.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.is(x509.subjectAltName, 'DNS:box, DNS:box.local, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
  assert.ok(x509.checkHost('box.local') !== undefined);
  assert.ok(x509.checkIP('127.0.0.1') !== undefined);
  assert.is(x509.ca, false);
  assert.is(Math.round((new Date(x509.validTo).getTime() - now.getTime()) / DAY), 365);
  assert.ok(new Date(x509.validFrom) < now, 'backdated a little for slow clocks');
  // OpenSSL itself agrees it is a valid TLS server certificate for these names.
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'c.pem'), cert);
  const verify = spawnSync('openssl', ['verify', '-purpose', 'sslserver', '-attime', String(now.getTime() / 1000 + 60), '-verify_hostname', 'box.local', '-CAfile', path.join(dir, 'c.pem'), path.join(dir, 'c.pem')], { encoding: 'utf8' });
  assert.is(verify.status, 0, verify.stdout + verify.stderr);
});

test('first start makes key (0600) and certificate; the next start reuses them', async () => {
  const secrets = tempDir();
  const first = new TlsCredentials(secrets, { names });
  await first.start();
  await first.stop();
  const keyStat = fs.statSync(first.keyFile);
  assert.is(keyStat.mode & 0o777, 0o600);
  assert.is(fs.statSync(first.dir).mode & 0o777, 0o700);
  const info = first.info();
  assert.ok(info.selfSigned);
  assert.equal(info.dns, names.dns);
  const second = new TlsCredentials(secrets, { names });
  assert.is(second.info().fingerprint256, info.fingerprint256, 'same certificate');
  assert.ok(second.secureContext(), 'a context for IMAPS / STARTTLS');
});

test('renewed when fewer than 30 days remain, and when a name is missing', () => {
  const secrets = tempDir();
  let now = new Date('2030-01-01T00:00:00Z');
  const creds = new TlsCredentials(secrets, { names, now: () => now });
  const original = creds.info().fingerprint256;
  let changes = 0;
  creds.onChange(() => changes++);
  now = new Date(now.getTime() + 300 * DAY);
  assert.not.ok(creds.reload(), '65 days left: kept');
  now = new Date(now.getTime() + 40 * DAY);
  assert.ok(creds.reload(), '25 days left: renewed');
  assert.is.not(creds.info().fingerprint256, original);
  assert.is(changes, 1);
  const renamed = new TlsCredentials(secrets, { names: { dns: ['newname', 'localhost'], ips: ['127.0.0.1'] }, now: () => now });
  assert.ok(renamed.info().dns.includes('newname'));
});

test('a key that does not match the certificate, or garbage, is replaced', () => {
  const secrets = tempDir();
  const creds = new TlsCredentials(secrets, { names });
  creds.info();
  fs.writeFileSync(creds.keyFile, makeSelfSignedCertificate(names).key);
  const again = new TlsCredentials(secrets, { names });
  assert.ok(again.info().selfSigned);
  fs.writeFileSync(again.certFile, 'garbage');
  assert.ok(new TlsCredentials(secrets, { names }).info().selfSigned);
});

test('an owner-issued certificate is served after reload, never overwritten, listeners told', () => {
  const secrets = tempDir();
  const creds = new TlsCredentials(secrets, { names: { dns: ['box', 'other-name'], ips: [] } });
  creds.info();
  let changes = 0;
  creds.onChange(() => changes++);
  // A small CA and a leaf it issued, made with openssl as the owner's tools would.
  const dir = tempDir();
  const run = (args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
  };
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=Owner CA']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=box']);
  fs.writeFileSync(path.join(dir, 'ext'), 'subjectAltName=DNS:box\n');
  run(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '10', '-extfile', 'ext']);
  fs.copyFileSync(path.join(dir, 'leaf.key'), creds.keyFile);
  fs.copyFileSync(path.join(dir, 'leaf.pem'), creds.certFile);
  assert.ok(creds.reload());
  assert.is(changes, 1);
  const info = creds.info();
  assert.not.ok(info.selfSigned);
  assert.match(info.issuer, /Owner CA/);
  // Expiring within 30 days and missing a wanted name: still not overwritten (Signpost renews it).
  assert.not.ok(creds.reload());
  assert.is(fs.readFileSync(creds.certFile, 'utf8'), fs.readFileSync(path.join(dir, 'leaf.pem'), 'utf8'));
});

test.run();
