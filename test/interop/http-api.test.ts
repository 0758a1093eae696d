/**
 * The one HTTP(S) server with authentication and the REST API, in-process, driven by curl:
 * HTTPS with the generated certificate, Basic auth, another user's data, the REST round trip,
 * ETags, body limits and timeouts, Server-Sent Events, and no secret in the log.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserDirectory } from '../../firmware/accounts/index.js';
import { TokenStore } from '../../firmware/accounts/tokens.js';
import { mountApi, type ApiLimits, type ApiService } from '../../firmware/http/api/index.js';
import { Authenticator } from '../../firmware/http/auth.js';
import { createHttpsService } from '../../firmware/http/https.js';
import { HttpService, mountStatusRoutes } from '../../firmware/http/index.js';
import { TlsCredentials } from '../../firmware/http/tls.js';
import { LogSink, prepareDataDir, type DataDir, type HealthReport } from '../../firmware/runtime/index.js';
import { UserStores } from '../../firmware/store/index.js';
import { tempDir } from '../_lib/tmp.js';

const ALICE = 'alice-secret-pw-1';
const BOB = 'bob-secret-pw-22';

interface Server {
  data: DataDir;
  http: HttpService;
  https: HttpService;
  tls: TlsCredentials;
  api: ApiService;
  logSink: LogSink;
  httpUrl: string;
  httpsUrl: string;
  stop(): Promise<void>;
}

async function startServer(limits: Partial<ApiLimits> = {}): Promise<Server> {
  const data = prepareDataDir(tempDir());
  const logSink = new LogSink({ stderr: false, dir: data.log, level: 'debug' });
  const log = logSink.logger();
  const users = new UserDirectory(data.secrets);
  await users.add('alice', ALICE);
  await users.add('bob', BOB);
  const stores = new UserStores(data.store, { durability: 'none' });
  stores.ensure('alice');
  stores.ensure('bob');
  const auth = new Authenticator({ users, tokens: new TokenStore(data.secrets), log: log.child('auth') });
  const tls = new TlsCredentials(data.secrets, { log: log.child('tls') });
  const http = new HttpService('127.0.0.1', 0, log.child('http'));
  const health = (): HealthReport => ({ status: 'ok', version: 'test', mode: 'host', uptimeSeconds: 0, services: {} });
  mountStatusRoutes(http.router, health);
  const https = createHttpsService('127.0.0.1', 0, log.child('https'), http.router, tls);
  const api = mountApi(http.router, { stores, auth, log: log.child('api'), limits: { bodyTimeoutMs: 700, maxValueBytes: 1024 * 1024, ...limits } });
  await tls.start();
  await http.start();
  await https.start();
  return {
    data,
    http,
    https,
    tls,
    api,
    logSink,
    httpUrl: `http://127.0.0.1:${http.boundPort()}`,
    httpsUrl: `https://localhost:${https.boundPort()}`,
    stop: async () => {
      await api.stop();
      await https.stop();
      await http.stop();
      await tls.stop();
      await stores.closeAll();
      logSink.close();
    },
  };
}

interface Reply {
  exit: number | null;
  code: number;
  headers: Record<string, string>;
  body: string;
  stderr: string;
}

/** curl, asynchronously (the server runs in this process). */
function curl(args: string[], input?: string | Buffer): Promise<Reply> {
  const dir = tempDir('curl');
  const headerFile = path.join(dir, 'h');
  const bodyFile = path.join(dir, 'b');
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-sS', '--max-time', '20', '-D', headerFile, '-o', bodyFile, '-w', '%{http_code}', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    // curl may stop reading its input once the server has answered (413).
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
    child.on('close', (exit) => {
      const headers: Record<string, string> = {};
      const raw = fs.existsSync(headerFile) ? fs.readFileSync(headerFile, 'utf8') : '';
      // The last response's headers (after any 100 Continue).
      const blocks = raw.split(/\r\n\r\n/).filter((b) => b.trim() !== '');
      for (const line of (blocks[blocks.length - 1] ?? '').split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const body = fs.existsSync(bodyFile) ? fs.readFileSync(bodyFile, 'utf8') : '';
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ exit, code: Number(stdout.trim() || '0'), headers, body, stderr });
    });
  });
}

const json = (reply: Reply) => JSON.parse(reply.body) as Record<string, any>;

let server: Server;
let cacert: string[];
let asAlice: string[];
let asBob: string[];

test.before(async () => {
  server = await startServer();
  cacert = ['--cacert', server.tls.certFile];
  asAlice = [...cacert, '-u', `alice:${ALICE}`];
  asBob = [...cacert, '-u', `bob:${BOB}`];
});

test.after(async () => {
  await server.stop();
});

test('HTTPS with the generated certificate: trusted with --cacert for localhost and 127.0.0.1, the SANs cover the device', async () => {
  const byName = await curl([...cacert, `${server.httpsUrl}/health`]);
  assert.is(byName.code, 200, byName.stderr);
  assert.is(json(byName).status, 'ok');
  const byIp = await curl([...cacert, `https://127.0.0.1:${server.https.boundPort()}/health`]);
  assert.is(byIp.code, 200, byIp.stderr);
  const untrusted = await curl([`${server.httpsUrl}/health`]);
  assert.is(untrusted.exit, 60, 'curl refuses a certificate it was not told to trust');
  const text = spawnSync('openssl', ['x509', '-in', server.tls.certFile, '-noout', '-ext', 'subjectAltName', '-text'], { encoding: 'utf8' }).stdout;
  assert.match(text, /DNS:localhost/);
  assert.match(text, /IP Address:127\.0\.0\.1/);
  assert.match(text, /IP Address:0:0:0:0:0:0:0:1/);
  assert.match(text, /NIST CURVE: P-256/);
  assert.is(fs.statSync(server.tls.keyFile).mode & 0o777, 0o600);
});

test('a replaced certificate is served after reload, without a restart', async () => {
  const before = spawnSync('openssl', ['x509', '-in', server.tls.certFile, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' }).stdout;
  const creds = new TlsCredentials(tempDir(), { names: { dns: ['localhost'], ips: ['127.0.0.1'] } });
  const fresh = creds.serverOptions();
  fs.writeFileSync(server.tls.keyFile, fresh.key, { mode: 0o600 });
  fs.writeFileSync(server.tls.certFile, fresh.cert);
  assert.ok(server.tls.reload());
  const after = spawnSync('openssl', ['x509', '-in', server.tls.certFile, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' }).stdout;
  assert.is.not(after, before);
  const reply = await curl([...cacert, `${server.httpsUrl}/health`]);
  assert.is(reply.code, 200, reply.stderr);
});

test('Basic auth: right password 200, wrong 401 with the challenge, none 401, another user\'s store 403', async () => {
  const ok = await curl([...asAlice, `${server.httpsUrl}/api/v1/alice/branches`]);
  assert.is(ok.code, 200, ok.body);
  const wrong = await curl([...cacert, '-u', 'alice:not-the-password', `${server.httpsUrl}/api/v1/alice/branches`]);
  assert.is(wrong.code, 401);
  assert.is(wrong.headers['www-authenticate'], 'Basic realm="nymote", charset="UTF-8"');
  assert.is(json(wrong).error.code, 'EAUTH');
  const none = await curl([...cacert, `${server.httpsUrl}/api/v1/alice/branches`]);
  assert.is(none.code, 401);
  const other = await curl([...asBob, `${server.httpsUrl}/api/v1/alice/tree/main/`]);
  assert.is(other.code, 403);
  assert.is(json(other).error.code, 'EFORBIDDEN');
  const missing = await curl([...asBob, `${server.httpsUrl}/api/v1/nobody/tree/main/`]);
  assert.is(missing.code, 403, 'no way to learn which users exist');
  // Plain HTTP from this machine (loopback) may carry credentials too.
  const loopback = await curl(['-u', `alice:${ALICE}`, `${server.httpUrl}/api/v1/alice/branches`]);
  assert.is(loopback.code, 200);
});

test('REST round trip: PUT, GET (ETag), list, history, If-None-Match, If-Match, DELETE', async () => {
  const base = `${server.httpsUrl}/api/v1/alice/tree/main`;
  const put = await curl([...asAlice, '-X', 'PUT', '-H', 'X-Nymote-Message: first contact ✓', '--data-binary', '@-', `${base}/contacts/bob.vcf`], 'BEGIN:VCARD\n');
  assert.is(put.code, 201, put.body);
  const { commit, id } = json(put);
  assert.match(commit, /^[0-9a-f]{40}$/);
  assert.match(id, /^[0-9a-f]{40}$/);
  assert.is(put.headers.etag, `"${id}"`);

  const get = await curl([...asAlice, `${base}/contacts/bob.vcf`]);
  assert.is(get.code, 200);
  assert.is(get.body, 'BEGIN:VCARD\n');
  assert.is(get.headers['content-type'], 'application/octet-stream');
  assert.is(get.headers.etag, `"${id}"`);

  const notModified = await curl([...asAlice, '-H', `If-None-Match: "${id}"`, `${base}/contacts/bob.vcf`]);
  assert.is(notModified.code, 304);

  const second = await curl([...asAlice, '-X', 'PUT', '-H', `If-Match: "${id}"`, '--data-binary', 'BEGIN:VCARD\nFN:Bob\n', `${base}/contacts/bob.vcf`]);
  assert.is(second.code, 200, second.body);
  const stale = await curl([...asAlice, '-X', 'PUT', '-H', `If-Match: ${id}`, '--data-binary', 'lost update', `${base}/contacts/bob.vcf`]);
  assert.is(stale.code, 412);
  assert.is(json(stale).error.code, 'EPRECONDITION');
  assert.is((await curl([...asAlice, `${base}/contacts/bob.vcf`])).body, 'BEGIN:VCARD\nFN:Bob\n', 'the stale write changed nothing');

  await curl([...asAlice, '-X', 'PUT', '--data-binary', 'x', `${base}/contacts/carol.vcf`]);
  const listing = await curl([...asAlice, `${base}/contacts`]);
  assert.is(listing.code, 200);
  assert.equal(json(listing).entries, [
    { name: 'bob.vcf', kind: 'file' },
    { name: 'carol.vcf', kind: 'file' },
  ]);
  const root = await curl([...asAlice, `${base}/`]);
  assert.equal(json(root).entries, [{ name: 'contacts', kind: 'dir' }]);

  const history = await curl([...asAlice, `${base}/contacts/bob.vcf?history=1&limit=5`]);
  assert.is(history.code, 200);
  const entries = json(history).history;
  assert.is(entries.length, 2);
  assert.is(entries[1].commit, commit);
  assert.is(entries[1].message, 'first contact ✓');
  assert.is(entries[1].author.name, 'alice');
  assert.is((await curl([...asAlice, `${base}/contacts/bob.vcf?history=1&limit=1`])).body.includes(entries[0].commit), true);

  const removed = await curl([...asAlice, '-X', 'DELETE', `${base}/contacts/bob.vcf`]);
  assert.is(removed.code, 200);
  assert.match(json(removed).commit, /^[0-9a-f]{40}$/);
  const gone = await curl([...asAlice, `${base}/contacts/bob.vcf`]);
  assert.is(gone.code, 404);
  assert.is(json(gone).error.code, 'ENOTFOUND');
  const again = await curl([...asAlice, '-X', 'DELETE', `${base}/contacts/bob.vcf`]);
  assert.is(again.code, 404);
  const dir = await curl([...asAlice, '-X', 'DELETE', `${base}/contacts`]);
  assert.is(dir.code, 409, 'a directory needs ?recursive=1');
  const onDir = await curl([...asAlice, '-X', 'PUT', '--data-binary', 'x', `${base}/contacts`]);
  assert.is(onDir.code, 409, 'a value does not silently replace a directory');
});

test('bad input: bad paths 400, unknown branch 404, not JSON 415, bad JSON 400, wrong method 405', async () => {
  const api = `${server.httpsUrl}/api/v1/alice`;
  const badPath = await curl([...asAlice, '-X', 'PUT', '--data-binary', 'x', `${api}/tree/main/a/.git/config`]);
  assert.is(badPath.code, 400);
  assert.is(json(badPath).error.code, 'EBADPATH');
  const empty = await curl([...asAlice, '-X', 'PUT', '--data-binary', 'x', `${api}/tree/main/a//b`]);
  assert.is(json(empty).error.code, 'EBADPATH');
  const badEncoding = await curl([...asAlice, `${api}/tree/main/%ZZ`]);
  assert.is(badEncoding.code, 400);
  const noBranch = await curl([...asAlice, `${api}/tree/nope/x`]);
  assert.is(noBranch.code, 404);
  const badBranch = await curl([...asAlice, `${api}/tree/a..b/x`]);
  assert.is(badBranch.code, 400);
  assert.is(json(badBranch).error.code, 'EBADREF');
  const form = await curl([...asAlice, '-d', '{"name":"x"}', `${api}/branches`]);
  assert.is(form.code, 415);
  const broken = await curl([...asAlice, '-H', 'content-type: application/json', '-d', '{"name":', `${api}/branches`]);
  assert.is(broken.code, 400);
  assert.is(json(broken).error.code, 'EBADJSON');
  const method = await curl([...asAlice, '-X', 'DELETE', `${api}/branches`]);
  assert.is(method.code, 405);
  const unknown = await curl([...asAlice, `${api}/bogus`]);
  assert.is(unknown.code, 404);
  for (const reply of [badPath, noBranch, form, method]) assert.not.match(reply.body, /at .*\.ts:\d+/, 'no stack trace');
});

test('branches, merge and diff', async () => {
  const api = `${server.httpsUrl}/api/v1/alice`;
  const jsonHeader = ['-H', 'content-type: application/json'];
  await curl([...asAlice, '-X', 'PUT', '--data-binary', 'base', `${api}/tree/main/notes/a.txt`]);
  const created = await curl([...asAlice, ...jsonHeader, '-d', '{"name":"laptop","from":"main"}', `${api}/branches`]);
  assert.is(created.code, 201, created.body);
  const exists = await curl([...asAlice, ...jsonHeader, '-d', '{"name":"laptop","from":"main"}', `${api}/branches`]);
  assert.is(exists.code, 409);
  const fromMissing = await curl([...asAlice, ...jsonHeader, '-d', '{"name":"x","from":"nope"}', `${api}/branches`]);
  assert.is(fromMissing.code, 404);
  const list = await curl([...asAlice, `${api}/branches`]);
  assert.equal(json(list).branches.map((b: { name: string }) => b.name), ['laptop', 'main']);

  await curl([...asAlice, '-X', 'PUT', '--data-binary', 'from laptop', `${api}/tree/laptop/notes/b.txt`]);
  await curl([...asAlice, '-X', 'PUT', '--data-binary', 'from main', `${api}/tree/main/notes/c.txt`]);
  const diff = await curl([...asAlice, `${api}/diff?from=main&to=laptop&prefix=notes`]);
  assert.is(diff.code, 200);
  assert.equal(json(diff).changes.map((c: { path: string; kind: string }) => `${c.kind} ${c.path}`), ['added notes/b.txt', 'removed notes/c.txt']);
  const badDiff = await curl([...asAlice, `${api}/diff?from=main`]);
  assert.is(badDiff.code, 400);

  const merged = await curl([...asAlice, ...jsonHeader, '-d', '{"from":"laptop","into":"main"}', `${api}/merge`]);
  assert.is(merged.code, 200, merged.body);
  assert.is(json(merged).kind, 'merge');
  assert.equal(json(merged).conflicts, []);
  assert.is((await curl([...asAlice, `${api}/tree/main/notes/b.txt`])).body, 'from laptop');

  // Both sides change the same value: a conflict, kept as data, reported by path.
  await curl([...asAlice, '-X', 'PUT', '--data-binary', 'laptop says', `${api}/tree/laptop/notes/a.txt`]);
  await curl([...asAlice, '-X', 'PUT', '--data-binary', 'main says', `${api}/tree/main/notes/a.txt`]);
  const conflicted = await curl([...asAlice, ...jsonHeader, '-d', '{"from":"laptop","into":"main"}', `${api}/merge`]);
  assert.is(conflicted.code, 200, conflicted.body);
  assert.equal(json(conflicted).conflicts, ['notes/a.txt']);
  const upToDate = await curl([...asAlice, ...jsonHeader, '-d', '{"from":"laptop","into":"main"}', `${api}/merge`]);
  assert.is(json(upToDate).kind, 'up-to-date');
});

test('413 for an oversized body (declared and chunked)', async () => {
  const big = Buffer.alloc(2 * 1024 * 1024, 'a');
  const declared = await curl([...asAlice, '-X', 'PUT', '--data-binary', '@-', `${server.httpsUrl}/api/v1/alice/tree/main/big`], big);
  assert.is(declared.code, 413, declared.stderr);
  assert.is(json(declared).error.code, 'ETOOBIG');
  const chunked = await curl([...asAlice, '-T', '-', `${server.httpsUrl}/api/v1/alice/tree/main/big`], big);
  assert.is(chunked.code, 413, chunked.stderr);
  const absent = await curl([...asAlice, `${server.httpsUrl}/api/v1/alice/tree/main/big`]);
  assert.is(absent.code, 404);
});

test('408 when the body stalls', async () => {
  // curl sends 1000 bytes, then pauses a second (its rate limit): longer than the server waits.
  // (A stalled stdin does not do: curl blocks reading it and stops reading the answer.)
  const started = Date.now();
  const reply = await curl([...asAlice, '-X', 'PUT', '--limit-rate', '1000', '--data-binary', '@-', `${server.httpsUrl}/api/v1/alice/tree/main/slow`], Buffer.alloc(100_000, 'b'));
  assert.is(reply.code, 408, reply.stderr);
  assert.is(json(reply).error.code, 'ETIMEOUT');
  assert.is(reply.headers.connection, 'close');
  assert.ok(Date.now() - started < 5000);
  assert.is((await curl([...asAlice, `${server.httpsUrl}/api/v1/alice/tree/main/slow`])).code, 404, 'nothing written');
});

/** curl -N on the events stream; resolves `waitFor(re)` when the output matches. */
function follow(url: string, auth: string[]) {
  const child = spawn('curl', ['-sS', '-N', '--max-time', '20', ...auth, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stderr = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  child.stdout.on('data', (c) => {
    output += c;
    for (const w of [...waiters]) if (w.re.test(output)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  });
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    child,
    exited,
    output: () => output,
    stderr: () => stderr,
    waitFor: (re: RegExp, ms = 5000) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(output)) return resolve();
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; got:\n${output}\n${stderr}`)), ms);
        waiters.push({ re, resolve: () => (clearTimeout(timer), resolve()) });
      }),
  };
}

test('Server-Sent Events: curl -N receives an event when a value is PUT under the prefix', async () => {
  const stream = follow(`${server.httpsUrl}/api/v1/alice/events?branch=main&prefix=inbox`, asAlice);
  try {
    await stream.waitFor(/event: ready\n/);
    await curl([...asAlice, '-X', 'PUT', '--data-binary', 'ignored', `${server.httpsUrl}/api/v1/alice/tree/main/elsewhere/x`]);
    const put = await curl([...asAlice, '-X', 'PUT', '--data-binary', 'hello', `${server.httpsUrl}/api/v1/alice/tree/main/inbox/1.eml`]);
    await stream.waitFor(/event: commit\n/);
    const event = /id: ([0-9a-f]{40})\nevent: commit\ndata: (.*)\n\n/.exec(stream.output());
    assert.ok(event, stream.output());
    assert.is(event![1], json(put).commit);
    assert.equal(JSON.parse(event![2]!), { branch: 'main', commit: json(put).commit, paths: ['inbox/1.eml'], truncated: false });
    assert.not.match(stream.output(), /elsewhere/);
  } finally {
    stream.child.kill();
    await stream.exited;
  }
  const forbidden = await curl([...asBob, `${server.httpsUrl}/api/v1/alice/events`]);
  assert.is(forbidden.code, 403);
  const badPrefix = await curl([...asAlice, `${server.httpsUrl}/api/v1/alice/events?prefix=a/../..`]);
  assert.is(badPrefix.code, 400);
});

test('event streams are bounded per user, send heartbeats, and close when the server stops', async () => {
  const own = await startServer({ maxStreamsPerUser: 2, heartbeatMs: 200 });
  const auth = ['--cacert', own.tls.certFile, '-u', `alice:${ALICE}`];
  const url = `${own.httpsUrl}/api/v1/alice/events`;
  const streams = [follow(url, auth), follow(url, auth)];
  try {
    for (const s of streams) await s.waitFor(/event: ready/);
    const third = await curl([...auth, url]);
    assert.is(third.code, 429);
    assert.is(json(third).error.code, 'ETOOMANY');
    await streams[0]!.waitFor(/: heartbeat\n\n/, 2000);
  } finally {
    const started = Date.now();
    await own.stop();
    const exits = await Promise.all(streams.map((s) => s.exited));
    assert.equal(exits, [0, 0], 'the streams ended cleanly');
    assert.ok(Date.now() - started < 1500, 'stop did not wait for the streams');
  }
});

test('repeated bad passwords: 429 with Retry-After, then even the right password waits', async () => {
  const own = await startServer();
  try {
    const auth = ['--cacert', own.tls.certFile];
    const url = `${own.httpsUrl}/api/v1/bob/branches`;
    for (let i = 0; i < 5; i++) {
      const reply = await curl([...auth, '-u', `bob:wrong-${i}`, url]);
      assert.is(reply.code, 401, `attempt ${i}`);
    }
    const blocked = await curl([...auth, '-u', `bob:${BOB}`, url]);
    assert.is(blocked.code, 429);
    assert.is(blocked.headers['retry-after'], '1');
    assert.is(json(blocked).error.code, 'ETHROTTLED');
    await new Promise((r) => setTimeout(r, 1100));
    const later = await curl([...auth, '-u', `bob:${BOB}`, url]);
    assert.is(later.code, 200, 'after the wait the right password works');
  } finally {
    await own.stop();
  }
});

test('no password ever reaches the log', async () => {
  const text = fs.readFileSync(path.join(server.data.log, 'nymote.log'), 'utf8');
  assert.ok(text.includes('authentication failed'), 'failures are logged');
  for (const secret of [ALICE, BOB, 'not-the-password', Buffer.from(`alice:${ALICE}`).toString('base64')]) {
    assert.not.ok(text.includes(secret), `secret in the log: ${secret}`);
  }
  assert.not.ok(text.includes('PRIVATE KEY'));
});

test.run();
