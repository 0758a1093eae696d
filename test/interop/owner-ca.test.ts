/**
 * The owner's CA with real TLS clients: `nymote owner init` on a data directory, then a running
 * instance serves the owner-issued certificate, which curl, openssl and Python's ssl accept
 * given the CA (and only then). Also the rest of `nymote owner` on the same directory: ca-cert,
 * show, revoke. Uses the built CLI when it has the owner command, else the same CLI through tsx.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserDirectory } from '../../firmware/accounts/index.js';
import { prepareDataDir } from '../../firmware/runtime/index.js';
import { NYMOTE, REPO, nymote, startInstance, tool, type CliResult } from '../_lib/cli.js';
import { tempDir } from '../_lib/tmp.js';

const builtHasOwner = fs.existsSync(NYMOTE) && spawnSync(process.execPath, [NYMOTE, 'owner', '--help'], { encoding: 'utf8' }).status === 0;

function owner(args: string[]): CliResult {
  if (builtHasOwner) return nymote(['owner', ...args]);
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'firmware', 'main.ts'), 'owner', ...args], { encoding: 'utf8', cwd: REPO, timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const PYTHON_GET = `
import http.client, ssl, sys
context = ssl.create_default_context(cafile=sys.argv[1])
connection = http.client.HTTPSConnection('localhost', int(sys.argv[2]), context=context, timeout=10)
connection.request('GET', '/health')
response = connection.getresponse()
print(response.status, connection.sock.getpeercert()['issuer'])
`;

// One data directory for both tests: each CLI run costs a process start.
const data = prepareDataDir(tempDir());

test('owner init: the instance serves an owner-issued certificate that curl, openssl and python trust via the CA', async () => {
  const noOwner = owner(['show', '--data', data.root]);
  assert.is(noOwner.status, 1, 'nothing to show before init');
  assert.match(noOwner.stderr, /no owner here/);
  await new UserDirectory(data.secrets).add('alice', 'alice-password-1');
  const init = owner(['init', '--data', data.root]);
  assert.is(init.status, 0, init.stderr);
  assert.match(init.stdout, /^owner key +[a-z2-7]{16} /m);
  assert.match(init.stdout, /^store +signpost\/devices\/[a-z2-7]{16}\.json in alice's store/m);
  const again = owner(['init', '--data', data.root]);
  assert.is(again.status, 1, 'a second init is refused');
  assert.match(again.stderr, /^nymote: owner init: there is an owner key here already/);
  assert.is(again.stderr.trim().split('\n').length, 1);

  const caFile = path.join(data.secrets, 'signpost', 'ca.pem');
  const certFile = path.join(data.secrets, 'tls', 'cert.pem');
  const caCert = owner(['ca-cert', '--data', data.root]);
  assert.is(caCert.status, 0, caCert.stderr);
  assert.is(caCert.stdout, fs.readFileSync(caFile, 'utf8'));
  assert.is(fs.statSync(path.join(data.secrets, 'tls', 'key.pem')).mode & 0o777, 0o600);
  assert.is(fs.statSync(path.join(data.secrets, 'signpost', 'ca.key')).mode & 0o777, 0o600);

  const verify = tool('openssl', ['verify', '-purpose', 'sslserver', '-verify_hostname', 'localhost', '-CAfile', caFile, certFile]);
  assert.is(verify.stdout.trim(), `${certFile}: OK`, verify.stderr);
  const selfCheck = tool('openssl', ['verify', '-CAfile', certFile, certFile]);
  assert.is.not(selfCheck.status, 0, 'the leaf is not its own anchor');

  const instance = await startInstance(data.root);
  try {
    const url = `https://localhost:${8443 + instance.portBase}/health`;
    const trusted = tool('curl', ['-sS', '--max-time', '10', '--cacert', caFile, '-o', '/dev/null', '-w', '%{http_code}', url]);
    assert.is(trusted.stdout, '200', trusted.stderr);
    const untrusted = tool('curl', ['-sS', '--max-time', '10', '-o', '/dev/null', url]);
    assert.is(untrusted.status, 60, `curl without the CA must fail verification: ${untrusted.stderr}`);
    const served = tool('openssl', ['s_client', '-connect', `127.0.0.1:${8443 + instance.portBase}`, '-servername', 'localhost', '-showcerts'], '');
    const leaf = new crypto.X509Certificate(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(served.stdout)![0]);
    assert.is(leaf.fingerprint256, new crypto.X509Certificate(fs.readFileSync(certFile)).fingerprint256, 'the owner-issued certificate is the one served');
    const python = tool('python3', ['-c', PYTHON_GET, caFile, String(8443 + instance.portBase)]);
    assert.is(python.status, 0, python.stderr);
    assert.match(python.stdout, /^200 .*Nymote owner CA [a-z2-7]{16}/);
  } finally {
    await instance.stop();
  }
});

test('owner show lists the devices; revoke signs an entry into the owner\'s store and refuses unknown ids', () => {
  const show = owner(['show', '--data', data.root]);
  assert.is(show.status, 0, show.stderr);
  assert.match(show.stdout, /^owner CA +SHA256 [0-9A-F:]{95} /m);
  const id = /^ {2}([a-z2-7]{16}) .* valid {2}\(this device\)$/m.exec(show.stdout)?.[1];
  assert.ok(id, show.stdout);

  const unknown = owner(['revoke', 'aaaaaaaaaaaaaaaa', '--data', data.root]);
  assert.is(unknown.status, 1);
  assert.match(unknown.stderr, /^nymote: owner revoke: no device 'aaaaaaaaaaaaaaaa' in alice's store/);
  const revoked = owner(['revoke', id!, '--reason', 'lost', '--data', data.root]);
  assert.is(revoked.status, 0, revoked.stderr);
  assert.match(owner(['show', '--data', data.root]).stdout, new RegExp(`^  ${id} .* revoked  \\(this device\\)$`, 'm'));

  const gitDir = path.join(data.store, 'alice.git');
  const log = tool('git', ['--git-dir', gitDir, 'log', '--format=%s']);
  const [revokeCommit, certifyCommit] = log.stdout.trim().split('\n');
  assert.match(revokeCommit!, new RegExp(`^signpost: revoke device \\S+ \\(${id}\\)$`));
  assert.match(certifyCommit!, new RegExp(`^signpost: certify device \\S+ \\(${id}\\)$`));
  const entries = tool('git', ['--git-dir', gitDir, 'ls-tree', '--name-only', 'HEAD', 'signpost/revoked/']);
  assert.match(entries.stdout.trim(), /^signpost\/revoked\/[0-9a-f]{32}\.json$/);
  assert.is(tool('git', ['--git-dir', gitDir, 'fsck', '--strict']).status, 0);
});

test.run();
