/**
 * Bearer tokens end to end: `nymote token add|list|revoke` on the data directory of a running
 * server, and curl with `Authorization: Bearer` against it. Uses the built CLI when it has the
 * token command, else the same command through tsx.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserDirectory } from '../../firmware/accounts/index.js';
import { TokenStore } from '../../firmware/accounts/tokens.js';
import { mountApi } from '../../firmware/http/api/index.js';
import { Authenticator } from '../../firmware/http/auth.js';
import { createHttpsService } from '../../firmware/http/https.js';
import { HttpService } from '../../firmware/http/index.js';
import { TlsCredentials } from '../../firmware/http/tls.js';
import { LogSink, prepareDataDir } from '../../firmware/runtime/index.js';
import { UserStores } from '../../firmware/store/index.js';
import { NYMOTE, REPO, type CliResult } from '../_lib/cli.js';
import { tempDir } from '../_lib/tmp.js';

const builtHasToken = fs.existsSync(NYMOTE) && spawnSync(process.execPath, [NYMOTE, 'token', '--help'], { encoding: 'utf8' }).status === 0;

/** `nymote token …` (no server traffic, so a synchronous child is fine). */
function tokenCli(args: string[]): CliResult {
  const argv = ['token', ...args];
  const result = builtHasToken
    ? spawnSync(process.execPath, [NYMOTE, ...argv], { encoding: 'utf8' })
    : spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `import { parse } from './firmware/cli/args.ts';
           import { TOKEN_OPTIONS, tokenCommand } from './firmware/cli/token.ts';
           const [name, ...rest] = process.argv.slice(1);
           try { process.exitCode = await tokenCommand(parse(name, rest, TOKEN_OPTIONS)); }
           catch (err) { process.stderr.write('nymote: ' + err.message + '\\n'); process.exitCode = err.exitCode ?? 1; }`,
          ...argv,
        ],
        { encoding: 'utf8', cwd: REPO },
      );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function curl(args: string[]): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-sS', '--max-time', '20', '-w', '\n%{http_code}', ...args]);
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('error', reject);
    child.on('close', () => {
      const cut = out.lastIndexOf('\n');
      resolve({ code: Number(out.slice(cut + 1)), body: out.slice(0, cut) });
    });
  });
}

test('token add prints a token once; curl with Bearer reaches the user\'s own data only; revoke ends it', async () => {
  const data = prepareDataDir(tempDir());
  const users = new UserDirectory(data.secrets);
  await users.add('alice', 'alice-password-1');
  await users.add('bob', 'bob-password-22');
  const stores = new UserStores(data.store, { durability: 'none' });
  stores.ensure('alice');
  const logSink = new LogSink({ stderr: false, dir: data.log });
  const log = logSink.logger();
  const tls = new TlsCredentials(data.secrets);
  const http = new HttpService('127.0.0.1', 0, log.child('http'));
  const https = createHttpsService('127.0.0.1', 0, log.child('https'), http.router, tls);
  const api = mountApi(http.router, { stores, auth: new Authenticator({ users, tokens: new TokenStore(data.secrets), log }), log });
  await tls.start();
  await http.start();
  await https.start();
  const base = `https://localhost:${https.boundPort()}/api/v1`;
  const cacert = ['--cacert', tls.certFile];
  try {
    const added = tokenCli(['add', 'alice', '--name', 'phone', '--data', data.root]);
    assert.is(added.status, 0, added.stderr);
    const token = added.stdout.trim();
    assert.match(token, /^nym_[A-Za-z0-9_-]{43}$/);
    assert.match(added.stderr, /shown only this once/);
    assert.not.ok(fs.readFileSync(path.join(data.secrets, 'tokens.json'), 'utf8').includes(token), 'only a hash is kept');
    assert.is(fs.statSync(path.join(data.secrets, 'tokens.json')).mode & 0o777, 0o600);

    const listed = tokenCli(['list', 'alice', '--data', data.root]);
    assert.is(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /^phone\t\d{4}-\d\d-\d\dT/);
    assert.not.ok(listed.stdout.includes(token));
    assert.is(tokenCli(['add', 'nobody', '--data', data.root]).status, 1);
    assert.is(tokenCli(['add', 'alice', '--name', 'phone', '--data', data.root]).status, 1, 'names are unique');
    assert.is(tokenCli(['frob', '--data', data.root]).status, 2);

    const bearer = ['-H', `Authorization: Bearer ${token}`];
    const put = await curl([...cacert, ...bearer, '-X', 'PUT', '--data-binary', 'from the app', `${base}/alice/tree/main/app/state`]);
    assert.is(put.code, 201, put.body);
    const get = await curl([...cacert, ...bearer, `${base}/alice/tree/main/app/state`]);
    assert.equal(get, { code: 200, body: 'from the app' });
    const other = await curl([...cacert, ...bearer, `${base}/bob/branches`]);
    assert.is(other.code, 403);
    // Over plain HTTP from this machine (loopback) a token works as well.
    const plain = await curl([...bearer, `http://127.0.0.1:${http.boundPort()}/api/v1/alice/branches`]);
    assert.is(plain.code, 200);

    const revoked = tokenCli(['revoke', 'alice', 'phone', '--data', data.root]);
    assert.is(revoked.status, 0, revoked.stderr);
    const after = await curl([...cacert, ...bearer, `${base}/alice/branches`]);
    assert.is(after.code, 401, 'revoked at once, no restart');
    assert.is(tokenCli(['revoke', 'alice', 'phone', '--data', data.root]).status, 1);
    assert.is(tokenCli(['list', 'alice', '--data', data.root]).stdout, '');
  } finally {
    await api.stop();
    await https.stop();
    await http.stop();
    await tls.stop();
    await stores.closeAll();
    logSink.close();
  }
});

test.run();
