import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UserDirectory } from '../../firmware/accounts/index.js';
import { TokenStore } from '../../firmware/accounts/tokens.js';
import {
  Authenticator,
  FailureLimiter,
  VerifiedCache,
  clientKey,
  credentialsAllowed,
  parseAuthorization,
} from '../../firmware/http/auth.js';
import { isLoopbackAddress } from '../../firmware/runtime/index.js';
import { tempDir } from '../_lib/tmp.js';

test('loopback addresses: 127.0.0.0/8, ::1 and the IPv4-mapped forms; nothing else', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '127.255.255.254', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) assert.ok(isLoopbackAddress(a), a);
  for (const a of ['10.0.0.1', '192.168.1.2', '128.0.0.1', '::', '::2', 'fe80::1', '::ffff:10.0.0.1', '1127.0.0.1', '', undefined]) {
    assert.not.ok(isLoopbackAddress(a), String(a));
  }
});

test('credentials are allowed over TLS from anywhere, on plain HTTP only from loopback', () => {
  assert.ok(credentialsAllowed({ encrypted: true, remoteAddress: '192.168.1.20' }));
  assert.ok(credentialsAllowed({ encrypted: false, remoteAddress: '127.0.0.1' }));
  assert.ok(credentialsAllowed({ encrypted: false, remoteAddress: '::1' }));
  assert.not.ok(credentialsAllowed({ encrypted: false, remoteAddress: '192.168.1.20' }));
  assert.not.ok(credentialsAllowed({ encrypted: false, remoteAddress: '2001:db8::5' }));
  assert.not.ok(credentialsAllowed({ encrypted: false, remoteAddress: undefined }));
});

test('client keys: IPv4 as is, IPv6 by /64', () => {
  assert.is(clientKey('192.0.2.7'), '192.0.2.7');
  assert.is(clientKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.is(clientKey('2001:db8:1:2:aaaa::1'), '2001:0db8:0001:0002::/64');
  assert.is(clientKey('2001:db8:1:2:bbbb::9'), clientKey('2001:db8:1:2::'));
  assert.is.not(clientKey('2001:db8:1:3::1'), clientKey('2001:db8:1:2::1'));
});

test('Authorization header parsing: Basic (UTF-8), Bearer, and junk', () => {
  const basic = (s: string) => `Basic ${Buffer.from(s, 'utf8').toString('base64')}`;
  assert.equal(parseAuthorization(basic('alice:pa:ss wörd')), { scheme: 'basic', user: 'alice', password: 'pa:ss wörd' });
  // node hands header bytes over as latin1, which is what it would look like here
  assert.equal(parseAuthorization('bearer nym_abc'), { scheme: 'bearer', token: 'nym_abc' });
  assert.is(parseAuthorization(undefined), undefined);
  assert.is(parseAuthorization('  '), undefined);
  assert.is(parseAuthorization('Basic !!!')?.scheme, 'invalid');
  assert.is(parseAuthorization(basic('nocolon'))?.scheme, 'invalid');
  assert.is(parseAuthorization('Digest x=y, z=w')?.scheme, 'invalid');
});

test('failure limiter: free failures, then doubling blocks up to a cap; forgotten after a quiet time; bounded', () => {
  let now = 0;
  const limiter = new FailureLimiter({ free: 3, baseMs: 1000, maxMs: 8000, forgetMs: 60_000, maxEntries: 100 }, () => now);
  for (let i = 0; i < 2; i++) limiter.fail('a');
  assert.is(limiter.blockedFor('a'), 0);
  limiter.fail('a');
  assert.is(limiter.blockedFor('a'), 1000);
  limiter.fail('a');
  assert.is(limiter.blockedFor('a'), 2000);
  limiter.fail('a');
  limiter.fail('a');
  limiter.fail('a');
  assert.is(limiter.blockedFor('a'), 8000, 'capped');
  now += 5000;
  assert.is(limiter.blockedFor('a'), 3000);
  now += 70_000;
  assert.is(limiter.blockedFor('a'), 0, 'forgotten');
  limiter.fail('a');
  limiter.fail('a');
  assert.is(limiter.blockedFor('a'), 0, 'counting starts again');
  limiter.succeed('a');
  for (let i = 0; i < 1000; i++) limiter.fail(`k${i}`);
  assert.is(limiter.size, 100);
});

test('verified cache: expires, is keyed by user and password, and forgets all when users.json changes', () => {
  const dir = tempDir();
  const file = `${dir}/users.json`;
  fs.writeFileSync(file, '{}');
  let now = 0;
  const cache = new VerifiedCache(file, 1000, 10, () => now);
  const id = cache.id('alice', 'pw');
  assert.is.not(id, cache.id('alice', 'pw2'));
  assert.is.not(cache.id('al', 'icepw'), cache.id('alice', 'pw'), 'no ambiguity between user and password');
  cache.add(id, 'alice');
  assert.ok(cache.has(id, 'alice'));
  assert.not.ok(cache.has(id, 'bob'));
  now = 1500;
  assert.not.ok(cache.has(id, 'alice'), 'expired');
  cache.add(id, 'alice');
  fs.writeFileSync(file, '{"changed": true}');
  assert.not.ok(cache.has(id, 'alice'), 'users.json changed');
  const other = new VerifiedCache(file, 1000, 10, () => now);
  assert.is.not(other.id('alice', 'pw'), id, 'per-process key');
});

// ---------------------------------------------------------------------------------------------

interface FakeAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
}

function fakeReq(headers: Record<string, string>, socket: { encrypted?: boolean; remoteAddress?: string } = { remoteAddress: '127.0.0.1' }): IncomingMessage {
  return { headers, socket } as unknown as IncomingMessage;
}

function fakeRes(req: IncomingMessage): ServerResponse & { answer: FakeAnswer } {
  const answer: FakeAnswer = { status: 0, headers: {}, body: '' };
  const res = {
    req,
    answer,
    headersSent: false,
    setHeader(name: string, value: string | string[]) {
      answer.headers[name.toLowerCase()] = value;
    },
    writeHead(status: number, headers: Record<string, string>) {
      answer.status = status;
      for (const [k, v] of Object.entries(headers)) answer.headers[k.toLowerCase()] = v;
      this.headersSent = true;
    },
    end(body?: string) {
      answer.body = body ?? '';
    },
  };
  return res as unknown as ServerResponse & { answer: FakeAnswer };
}

const basicHeader = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

async function setup() {
  const secrets = tempDir();
  const users = new UserDirectory(secrets);
  await users.add('alice', 'alice-password');
  await users.add('bob', 'bob-password-1');
  const tokens = new TokenStore(secrets);
  let verifies = 0;
  const realVerify = users.verify.bind(users);
  users.verify = async (name, password) => {
    verifies++;
    return realVerify(name, password);
  };
  let now = 1_000_000;
  const auth = new Authenticator({ users, tokens, now: () => now });
  return { users, tokens, auth, verifies: () => verifies, advance: (ms: number) => (now += ms) };
}

test('authenticate: password over loopback, cached afterwards; wrong password; plain HTTP from afar refused', async () => {
  const { auth, verifies } = await setup();
  assert.equal(await auth.authenticate(fakeReq(basicHeader('alice', 'alice-password'))), { user: 'alice', via: 'password' });
  assert.is(verifies(), 1);
  for (let i = 0; i < 5; i++) assert.ok(await auth.authenticate(fakeReq(basicHeader('alice', 'alice-password'))));
  assert.is(verifies(), 1, 'later requests are served from the cache');
  assert.is(await auth.authenticate(fakeReq(basicHeader('alice', 'wrong-password'))), undefined);
  assert.is(await auth.authenticate(fakeReq({})), undefined);

  const far = fakeReq(basicHeader('alice', 'alice-password'), { encrypted: false, remoteAddress: '192.0.2.1' });
  const outcome = await auth.check(far);
  assert.ok(!outcome.ok && outcome.status === 403 && outcome.code === 'EINSECURE');
  const tls = fakeReq(basicHeader('alice', 'alice-password'), { encrypted: true, remoteAddress: '192.0.2.1' });
  assert.ok(await auth.authenticate(tls));
});

test('concurrent checks of the same new credentials share one scrypt', async () => {
  const { auth, verifies } = await setup();
  const results = await Promise.all([1, 2, 3, 4].map(() => auth.authenticate(fakeReq(basicHeader('bob', 'bob-password-1')))));
  assert.ok(results.every((r) => r?.user === 'bob'));
  assert.is(verifies(), 1);
});

test('requireUser answers 401 with the challenge, 403 for another user, 403 on plain HTTP from afar', async () => {
  const { auth } = await setup();
  let req = fakeReq({});
  let res = fakeRes(req);
  assert.is(await auth.requireUser(req, res, 'alice'), undefined);
  assert.is(res.answer.status, 401);
  assert.equal(res.answer.headers['www-authenticate'], ['Basic realm="nymote", charset="UTF-8"']);
  assert.is(JSON.parse(res.answer.body).error.code, 'EAUTH');

  req = fakeReq(basicHeader('bob', 'bob-password-1'));
  res = fakeRes(req);
  assert.is(await auth.requireUser(req, res, 'alice'), undefined);
  assert.is(res.answer.status, 403);
  assert.is(JSON.parse(res.answer.body).error.code, 'EFORBIDDEN');

  req = fakeReq({}, { encrypted: false, remoteAddress: '198.51.100.4' });
  res = fakeRes(req);
  assert.is(await auth.requireUser(req, res, 'alice'), undefined);
  assert.is(res.answer.status, 403, 'not even asked for a password on plain HTTP');
  assert.match(JSON.parse(res.answer.body).error.message, /HTTPS/);
  assert.is(res.answer.headers['www-authenticate'], undefined);

  req = fakeReq(basicHeader('alice', 'alice-password'));
  res = fakeRes(req);
  assert.equal(await auth.requireUser(req, res, 'alice'), { user: 'alice', via: 'password' });
  assert.is(res.answer.status, 0, 'nothing answered');
});

test('repeated bad passwords: 429 with Retry-After and no scrypt; a verified client still gets in', async () => {
  const { auth, verifies, advance } = await setup();
  assert.ok(await auth.authenticate(fakeReq(basicHeader('alice', 'alice-password'))));
  const before = verifies();
  for (let i = 0; i < 5; i++) {
    const outcome = await auth.check(fakeReq(basicHeader('alice', `guess-${i}`)));
    assert.ok(!outcome.ok && outcome.status === 401, `attempt ${i}`);
  }
  const blocked = await auth.check(fakeReq(basicHeader('alice', 'guess-5')));
  assert.ok(!blocked.ok && blocked.status === 429 && blocked.code === 'ETHROTTLED');
  assert.is(verifies(), before + 5, 'no scrypt while blocked');
  // The right password is blocked too when not already verified (bob from the same address)…
  const bob = await auth.check(fakeReq(basicHeader('bob', 'bob-password-1')));
  assert.ok(!bob.ok && bob.status === 429);
  // …but alice's client that signed in before is not locked out.
  assert.ok(await auth.authenticate(fakeReq(basicHeader('alice', 'alice-password'))));

  const req = fakeReq(basicHeader('alice', 'guess-6'));
  const res = fakeRes(req);
  await auth.requireUser(req, res, 'alice');
  assert.is(res.answer.status, 429);
  assert.is(res.answer.headers['retry-after'], '1');
  advance(1100);
  const after = await auth.check(fakeReq(basicHeader('alice', 'guess-7')));
  assert.ok(!after.ok && after.status === 401, 'checked again once the block is over');
  const longer = await auth.check(fakeReq(basicHeader('alice', 'guess-8')));
  assert.ok(!longer.ok && longer.status === 429 && longer.retryAfterMs === 2000, 'the block doubles');
});

test('per-user limit: guesses from many addresses lock the name, not other users', async () => {
  const { auth } = await setup();
  for (let i = 0; i < 10; i++) {
    await auth.check(fakeReq(basicHeader('bob', `guess-${i}`), { encrypted: true, remoteAddress: `192.0.2.${i + 1}` }));
  }
  const bob = await auth.check(fakeReq(basicHeader('bob', 'bob-password-1'), { encrypted: true, remoteAddress: '192.0.2.200' }));
  assert.ok(!bob.ok && bob.status === 429);
  assert.ok(await auth.authenticate(fakeReq(basicHeader('alice', 'alice-password'), { encrypted: true, remoteAddress: '192.0.2.200' })));
});

test('bearer tokens authenticate as their user until revoked or the user is removed', async () => {
  const { auth, tokens, users } = await setup();
  const { token, name } = tokens.add('bob', 'phone');
  assert.is(name, 'phone');
  const bearer = { authorization: `Bearer ${token}` };
  assert.equal(await auth.authenticate(fakeReq(bearer)), { user: 'bob', via: 'token', token: 'phone' });
  const wrong = fakeReq({ authorization: `Bearer ${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}` });
  const res = fakeRes(wrong);
  assert.is(await auth.requireUser(wrong, res, 'bob'), undefined);
  assert.is(res.answer.status, 401);
  assert.equal(res.answer.headers['www-authenticate'], ['Basic realm="nymote", charset="UTF-8"', 'Bearer realm="nymote", error="invalid_token"']);
  tokens.revoke('bob', 'phone');
  assert.is(await auth.authenticate(fakeReq(bearer)), undefined);
  const again = tokens.add('bob');
  assert.ok(await auth.authenticate(fakeReq({ authorization: `Bearer ${again.token}` })));
  users.remove('bob');
  assert.is(await auth.authenticate(fakeReq({ authorization: `Bearer ${again.token}` })), undefined, 'user removed');
});

test('a changed password takes effect at once despite the cache', async () => {
  const { auth, users } = await setup();
  assert.ok(await auth.authenticate(fakeReq(basicHeader('alice', 'alice-password'))));
  await users.setPassword('alice', 'brand-new-password');
  assert.is(await auth.authenticate(fakeReq(basicHeader('alice', 'alice-password'))), undefined);
  assert.ok(await auth.authenticate(fakeReq(basicHeader('alice', 'brand-new-password'))));
});

test('git authoriser: own repository only; firmware.git is the first user\'s (the owner)', async () => {
  const { auth } = await setup();
  const authorize = auth.gitAuthorizer();
  const as = async (user: string, password: string, repo: string) => {
    const req = fakeReq(basicHeader(user, password));
    const res = fakeRes(req);
    const result = await authorize(req, res, repo, 'write');
    return { result, status: res.answer.status };
  };
  assert.equal(await as('alice', 'alice-password', 'alice.git'), { result: { user: 'alice' }, status: 0 });
  assert.equal(await as('alice', 'alice-password', 'alice'), { result: { user: 'alice' }, status: 0 });
  assert.equal(await as('alice', 'alice-password', 'bob.git'), { result: undefined, status: 403 });
  assert.equal(await as('alice', 'alice-password', 'firmware.git'), { result: { user: 'alice' }, status: 0 });
  assert.equal(await as('bob', 'bob-password-1', 'firmware.git'), { result: undefined, status: 403 });
  assert.equal(await as('bob', 'wrong-password', 'bob.git'), { result: undefined, status: 401 });
  assert.is(auth.owner(), 'alice');
});

test.run();
