/** The web UI's server: its files and headers, sign-in, sessions, CSRF, owner-only areas, users, pairing, history. */
import http from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DeviceCertificate, PairingPerson } from '../../firmware/signpost/index.js';
import { CONTENT_SECURITY_POLICY, SessionStore } from '../../firmware/ui/index.js';
import { OWNER, PASSWORD, startUiServer } from '../_lib/ui-server.js';

test('GET / goes to /ui/; the files carry a CSP without inline script, and ETags', async () => {
  const server = await startUiServer();
  try {
    const root = await fetch(`${server.url}/`, { redirect: 'manual' });
    assert.is(root.status, 303);
    assert.is(root.headers.get('location'), '/ui/');
    const page = await fetch(`${server.url}/ui/`);
    assert.is(page.status, 200);
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    const csp = page.headers.get('content-security-policy')!;
    assert.is(csp, CONTENT_SECURITY_POLICY);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.not.match(csp, /unsafe-inline|unsafe-eval/);
    assert.is(page.headers.get('x-frame-options'), 'DENY');
    const script = await fetch(`${server.url}/ui/app.js`);
    assert.match(script.headers.get('content-type')!, /^text\/javascript/);
    assert.is(script.headers.get('content-encoding'), 'gzip', 'fetch asks for gzip');
    assert.is(await script.text(), 'console.log(1)');
    const plain = await new Promise<{ encoding: string | undefined; body: string }>((resolve, reject) => {
      http.get(`${server.url}/ui/app.js`, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body }));
      }).on('error', reject);
    });
    assert.equal(plain, { encoding: undefined, body: 'console.log(1)' }, 'no gzip unless asked');
    const again = await fetch(`${server.url}/ui/app.js`, { headers: { 'if-none-match': script.headers.get('etag')! } });
    assert.is(again.status, 304);
    assert.is((await fetch(`${server.url}/ui/../secrets/users.json`)).status, 404);
    assert.is((await fetch(`${server.url}/ui/nothing.js`)).status, 404);
  } finally {
    await server.close();
  }
});

test('sign-in: a wrong password is 401 without a cookie, repeated failures are throttled, the right one gives a strict HttpOnly cookie', async () => {
  const server = await startUiServer();
  try {
    await server.login(); // verified once: the right password keeps working during a block
    const attempt = (password: string) => fetch(`${server.url}/ui/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: OWNER, password }) });
    const wrong = await attempt('not the password');
    assert.is(wrong.status, 401);
    assert.is(wrong.headers.get('set-cookie'), null);
    assert.is(wrong.headers.get('www-authenticate'), null, 'no browser password dialog');
    assert.is(((await wrong.json()) as any).error.code, 'EAUTH');
    let throttled: Response | undefined;
    for (let i = 0; i < 8 && throttled === undefined; i++) {
      const answer = await attempt(`wrong ${i}`);
      if (answer.status === 429) throttled = answer;
    }
    assert.ok(throttled, 'failures are throttled');
    assert.ok(Number(throttled!.headers.get('retry-after')) >= 1);
    const bad = await fetch(`${server.url}/ui/api/session`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'user=alice' });
    assert.is(bad.status, 415);

    const client = await server.login();
    const cookie = client.cookie;
    assert.match(cookie, /^nymote_session=[A-Za-z0-9_-]{43}$/);
    const who = await client.call('GET', 'session');
    assert.equal({ user: who.body.user, owner: who.body.owner }, { user: OWNER, owner: true });
    assert.is(who.body.csrf, client.csrf);
  } finally {
    await server.close();
  }
});

test('the session cookie is HttpOnly, SameSite=Strict, scoped to /, not Secure on plain loopback HTTP', async () => {
  const server = await startUiServer();
  try {
    const answer = await fetch(`${server.url}/ui/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: OWNER, password: PASSWORD }) });
    const attributes = answer.headers.get('set-cookie')!.split('; ').slice(1);
    assert.ok(attributes.includes('HttpOnly'));
    assert.ok(attributes.includes('SameSite=Strict'));
    assert.ok(attributes.includes('Path=/'));
    assert.not.ok(attributes.includes('Secure'));
  } finally {
    await server.close();
  }
});

test('state changes need the CSRF token and this site as Origin; nothing changes without them', async () => {
  const server = await startUiServer();
  try {
    const client = await server.login();
    const users = () => server.users.list().map((u) => u.name);
    const add = { name: 'bob', password: 'a long enough password' };
    for (const [options, why] of [
      [{ csrf: null }, 'no token'],
      [{ csrf: 'A'.repeat(43) }, 'a forged token'],
      [{ headers: { origin: 'https://evil.example' } }, 'another site'],
      [{ headers: { origin: 'null' } }, 'an opaque origin'],
    ] as const) {
      const answer = await client.call('POST', 'users', add, options);
      assert.is(answer.status, 403, why);
      assert.is(answer.body.error.code, 'ECSRF', why);
    }
    assert.equal(users(), [OWNER]);
    const ok = await client.call('POST', 'users', add, { headers: { origin: server.url } });
    assert.is(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(users(), [OWNER, 'bob']);
    // Signing out needs the token too, and ends the session.
    assert.is((await client.call('DELETE', 'session', undefined, { csrf: null })).status, 403);
    assert.is((await client.call('DELETE', 'session')).status, 200);
    assert.is((await client.call('GET', 'status')).body.error.code, 'ESESSION');
  } finally {
    await server.close();
  }
});

test('without a session, or with an expired one, every area answers 401 ESESSION', async () => {
  let now = 1_000_000;
  const sessions = new SessionStore({ idleMs: 60_000, lifetimeMs: 3600_000, maxSessions: 10 }, () => now);
  const server = await startUiServer({ sessions });
  try {
    for (const path of ['status', 'contacts', 'history', 'users', 'mail']) {
      const answer = await fetch(`${server.url}/ui/api/${path}`);
      assert.is(answer.status, 401, path);
      assert.is(((await answer.json()) as any).error.code, 'ESESSION');
    }
    const client = await server.login();
    assert.is((await client.call('GET', 'status')).status, 200);
    now += 59_000;
    assert.is((await client.call('GET', 'status')).status, 200, 'used within the idle time');
    now += 61_000;
    assert.is((await client.call('GET', 'status')).status, 401, 'idle too long');
    const fresh = await server.login();
    now += 3600_001;
    assert.is((await fresh.call('GET', 'status')).status, 401, 'past its lifetime');
  } finally {
    await server.close();
  }
});

test('owner-only areas refuse other users; a user changes their own password and their sessions end', async () => {
  const server = await startUiServer({ users: ['bob'] });
  try {
    const bob = await server.login('bob');
    assert.is((await bob.call('GET', 'users')).body.error.code, 'EOWNER');
    assert.is((await bob.call('GET', 'devices')).body.error.code, 'EOWNER');
    assert.is((await bob.call('GET', 'status')).status, 200);
    const wrongCurrent = await bob.call('POST', 'password', { current: 'nope', password: 'a brand new password' });
    assert.is(wrongCurrent.status, 403);
    const short = await bob.call('POST', 'password', { current: PASSWORD, password: 'short' });
    assert.is(short.status, 400);
    assert.is((await bob.call('POST', 'password', { current: PASSWORD, password: 'a brand new password' })).status, 200);
    assert.is((await bob.call('GET', 'status')).status, 401, 'the session ended with the password change');
    // Changed elsewhere (the console, `nymote user passwd`): the session ends too.
    const bobElsewhere = await server.login('bob', 'a brand new password');
    await server.users.setPassword('bob', 'changed on the console');
    assert.is((await bobElsewhere.call('GET', 'status')).status, 401, 'a password changed outside the UI ends the session');
    await server.users.setPassword('bob', 'a brand new password');

    const alice = await server.login();
    const list = await alice.call('GET', 'users');
    assert.equal(list.body.map((u: any) => [u.name, u.owner]), [[OWNER, true], ['bob', false]]);
    assert.is((await alice.call('POST', 'users', { name: 'Bad Name', password: 'a long enough password' })).status, 400);
    assert.is((await alice.call('POST', 'users', { name: 'bob', password: 'a long enough password' })).status, 409);
    assert.is((await alice.call('DELETE', `users/${OWNER}`)).status, 409);
    const bobAgain = await server.login('bob', 'a brand new password');
    assert.is((await alice.call('DELETE', 'users/bob')).status, 200);
    assert.is((await bobAgain.call('GET', 'status')).status, 401, "a removed user's sessions end");
    assert.is((await alice.call('DELETE', 'users/nobody')).status, 404);
  } finally {
    await server.close();
  }
});

test('dashboard: services, storage, update state', async () => {
  const server = await startUiServer();
  try {
    const client = await server.login();
    const status = (await client.call('GET', 'status')).body;
    assert.is(status.version, '0.0.0-test');
    assert.is(status.uptimeSeconds, 61);
    assert.equal(status.services, [{ name: 'http', state: 'running', detail: null, listen: ['127.0.0.1:0'] }]);
    assert.equal(status.storage, { totalBytes: 1000, freeBytes: 400 });
    assert.equal(status.update, { running: '0.0.0-test' });
    assert.is((await client.call('GET', 'no/such/route')).status, 404);
  } finally {
    await server.close();
  }
});

test('pairing from the browser: the code is shown, the owner answers, the device is paired', async () => {
  const certificate = { device: 'pi', id: 'dev-1', notAfter: '2027-01-01T00:00:00Z' } as DeviceCertificate;
  let answered: boolean | undefined;
  const signpost = {
    certificate: () => undefined,
    devices: () => [],
    pairingPort: () => 7171,
    pair: async (person: PairingPerson, signal: AbortSignal) => {
      person.say('Code: 123 456');
      answered = await person.confirm("Does the owner's computer show the same code? [y/N] ");
      if (!answered || signal.aborted) throw new Error('the codes differ');
      return certificate;
    },
  };
  const server = await startUiServer({ signpost });
  try {
    const client = await server.login();
    assert.is((await client.call('POST', 'devices/pairing/answer', { same: true })).status, 409, 'nothing to answer yet');
    const started = await client.call('POST', 'devices/pairing');
    assert.is(started.body.state, 'confirm');
    assert.is(started.body.code, '123 456');
    assert.is(started.body.question, "Does the owner's computer show the same code?");
    assert.is((await client.call('POST', 'devices/pairing')).status, 409, 'one pairing at a time');
    assert.is((await client.call('POST', 'devices/pairing/answer', { same: 'yes' })).status, 400);
    await client.call('POST', 'devices/pairing/answer', { same: true });
    const done = (await client.call('GET', 'devices/pairing')).body;
    assert.is(answered, true);
    assert.is(done.state, 'paired');
    assert.equal(done.device, { device: 'pi', id: 'dev-1', notAfter: '2027-01-01T00:00:00Z' });
    // A "no" fails the pairing.
    await client.call('POST', 'devices/pairing');
    await client.call('POST', 'devices/pairing/answer', { same: false });
    const refused = (await client.call('GET', 'devices/pairing')).body;
    assert.is(refused.state, 'failed');
    assert.match(refused.error, /codes differ/);
  } finally {
    await server.close();
  }
});

test('history: commits, a diff, a revert, and reverts refused when the file changed since or for mail', async () => {
  const server = await startUiServer();
  try {
    const client = await server.login();
    const main = server.stores.ensure(OWNER).branch('main');
    await main.set('notes/a.txt', 'one\ntwo\nthree\n', { message: 'first' });
    const second = await main.set('notes/a.txt', 'one\n2\nthree\n', { message: 'second' });
    const list = (await client.call('GET', 'history?path=notes')).body.commits;
    assert.equal(list.map((c: any) => c.message), ['second', 'first']);
    const detail = (await client.call('GET', `history/${second}`)).body;
    assert.equal(detail.changes[0].lines, [
      { op: ' ', text: 'one' },
      { op: '-', text: 'two' },
      { op: '+', text: '2' },
      { op: ' ', text: 'three' },
    ]);
    assert.is((await client.call('GET', 'history/not-a-commit')).status, 400);
    assert.is((await client.call('GET', `history/${'0'.repeat(40)}`)).status, 404);

    const reverted = await client.call('POST', `history/${second}/revert`);
    assert.is(reverted.status, 200, JSON.stringify(reverted.body));
    assert.is(main.get('notes/a.txt')!.toString(), 'one\ntwo\nthree\n');
    assert.match(main.history(undefined, { limit: 1 })[0]!.message, /^revert /);

    // Reverting "second" again: the file is no longer what "second" left, so nothing is written.
    const head = main.head();
    const conflict = await client.call('POST', `history/${second}/revert`);
    assert.is(conflict.status, 409);
    assert.is(conflict.body.error.code, 'ECONFLICT');
    assert.is(main.head(), head);

    const mail = await server.mailOf(OWNER);
    await mail.append('INBOX', [{ raw: Buffer.from('Subject: hi\r\n\r\nhello\r\n') }]);
    const mailCommit = main.head()!;
    const refused = await client.call('POST', `history/${mailCommit}/revert`);
    assert.is(refused.body.error.code, 'EMAIL');
    assert.is(main.head(), mailCommit);
  } finally {
    await server.close();
  }
});

test.run();
