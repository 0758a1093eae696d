/**
 * The web UI's mail API on a real MailStore: mailboxes with counts, pages of messages newest
 * first, a message as the reader shows it (flags untouched), the mailbox's history, and 404s.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MailStore } from '../../firmware/apps/mail/store/index.js';
import { HttpError } from '../../firmware/http/index.js';
import type { UiRequest } from '../../firmware/ui/api/context.js';
import { mailRoutes } from '../../firmware/ui/api/mail.js';
import { Store } from '../../firmware/store/index.js';
import { rejects } from '../_lib/assert.js';
import { tempDir } from '../_lib/tmp.js';

const ARRIVED = 1_700_000_000_000;

const message = (subject: string, extra = '') => Buffer.from(`From: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>\r\nSubject: ${subject}\r\n${extra}\r\nbody of ${subject}\r\n`);

async function open() {
  const store = Store.open(`${tempDir()}/alice.git`, { durability: 'none' });
  const mail = new MailStore(store, () => ARRIVED);
  await mail.ensureDefaults();
  const routes = mailRoutes(async (user) => {
    assert.is(user, 'alice');
    return mail;
  });
  const call = async <T = any>(path: string, query: Record<string, string> = {}): Promise<T> => {
    const route = routes.find((r) => r.method === 'GET' && r.path === path)!;
    const url = new URL(`https://nymote.local/ui/api/${path}?${new URLSearchParams(query)}`);
    const ui: UiRequest = { req: {} as IncomingMessage, res: {} as ServerResponse, url, user: 'alice', owner: true, store, params: {} };
    return (await route.handler(ui)) as T;
  };
  return { store, mail, call };
}

const failsWith = (status: number, code: string) => (err: unknown) => err instanceof HttpError && err.status === status && err.code === code;

test('mailboxes with their special use, message and unseen counts', async () => {
  const { mail, call } = await open();
  await mail.create('Work/Projects');
  await mail.append('INBOX', [{ raw: message('one'), flags: ['\\Seen'] }, { raw: message('two') }]);
  const boxes = await call('mail');
  assert.equal(boxes.find((b: { name: string }) => b.name === 'INBOX'), { name: 'INBOX', specialUse: null, messages: 2, unseen: 1 });
  assert.equal(boxes.find((b: { name: string }) => b.name === 'Sent'), { name: 'Sent', specialUse: '\\Sent', messages: 0, unseen: 0 });
  assert.ok(boxes.some((b: { name: string }) => b.name === 'Work/Projects'));
});

test('messages: newest first, a page at a time, summaries decoded', async () => {
  const { mail, call } = await open();
  await mail.append('INBOX', [1, 2, 3, 4, 5].map((n) => ({ raw: message(n === 3 ? '=?utf-8?B?5pel5pys6Kqe?=' : `m${n}`, n === 1 ? 'Date: Tue, 2 Jan 2024 10:30:00 +0000\r\n' : ''), flags: n === 2 ? ['\\Seen'] : [] })));
  const first = await call('mail/messages', { mailbox: 'INBOX', limit: '2' });
  assert.equal(first.messages.map((m: { uid: number }) => m.uid), [5, 4]);
  assert.is(first.more, true);
  assert.equal(first.messages[0], { uid: 5, subject: 'm5', from: 'Jörg <joerg@example.org>', date: new Date(ARRIVED).toISOString(), size: message('m5').length, flags: [] });
  const second = await call('mail/messages', { mailbox: 'inbox', before: '4', limit: '2' });
  assert.equal(second.messages.map((m: { subject: string }) => m.subject), ['日本語', 'm2']);
  assert.equal(second.messages[1].flags, ['\\Seen']);
  const last = await call('mail/messages', { before: '2', limit: '2' });
  assert.equal(last.messages.map((m: { uid: number; date: string }) => [m.uid, m.date]), [[1, '2024-01-02T10:30:00.000Z']]);
  assert.is(last.more, false);
  assert.equal((await call('mail/messages')).messages.length, 5, 'INBOX and 50 by default');
  assert.equal(await call('mail/messages', { mailbox: 'Trash' }), { messages: [], more: false });
});

test('a message as the reader shows it; reading leaves its flags and the store alone', async () => {
  const { store, mail, call } = await open();
  await mail.create('Work/Projects');
  const html = 'MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n';
  await mail.append('Work/Projects', [{ raw: message('<b>plan</b>', html), flags: ['$Work'] }]);
  const head = store.branch('main').head();
  const read = await call('mail/message', { mailbox: 'Work/Projects', uid: '1' });
  assert.is(read.uid, 1);
  assert.equal(read.flags, ['$Work']);
  assert.is(read.subject, '<b>plan</b>', 'a subject is text, shown as written');
  assert.is(read.from, 'Jörg <joerg@example.org>');
  assert.is(read.text, 'body of plan');
  assert.equal(read.attachments, []);
  assert.is(store.branch('main').head(), head);
  assert.equal(mail.snapshot('Work/Projects')!.state.messages[0]!.flags, ['$Work']);
});

test('history: the mailbox\'s commits, newest first, limited', async () => {
  const { store, mail, call } = await open();
  await mail.append('INBOX', [{ raw: message('one') }]);
  await mail.storeFlags('INBOX', [1], 'add', ['\\Seen']);
  await mail.append('Sent', [{ raw: message('sent') }]);
  const history = await call('mail/history', { mailbox: 'INBOX' });
  assert.equal(history.map((h: { message: string }) => h.message), ['mail: flags of 1 in INBOX', 'mail: append 1 to INBOX', 'mail: create the default mailboxes']);
  assert.is(history[0].commit, store.branch('main').history('mail/INBOX', { limit: 1 })[0]!.commit);
  assert.match(history[0].date, /^\d{4}-\d\d-\d\dT/);
  assert.is((await call('mail/history', { mailbox: 'INBOX', limit: '1' })).length, 1);
});

test('unknown mailboxes and UIDs are 404; bad numbers 400', async () => {
  const { mail, call } = await open();
  await mail.append('INBOX', [{ raw: message('one') }]);
  for (const mailbox of ['Nope', '.hidden', 'a//b', '']) {
    await rejects(() => call('mail/messages', { mailbox }), failsWith(404, 'ENOTFOUND'), mailbox);
    await rejects(() => call('mail/history', { mailbox }), failsWith(404, 'ENOTFOUND'), mailbox);
  }
  await rejects(() => call('mail/message', { mailbox: 'INBOX', uid: '2' }), failsWith(404, 'ENOTFOUND'));
  await rejects(() => call('mail/message', { mailbox: 'Nope', uid: '1' }), failsWith(404, 'ENOTFOUND'));
  for (const query of [{ uid: 'x' }, { uid: '0' }, { uid: '-1' }, { uid: '1.5' }, { uid: '4294967296' }, {}] as Record<string, string>[]) {
    await rejects(() => call('mail/message', query), failsWith(400, 'EINVAL'), JSON.stringify(query));
  }
  for (const limit of ['0', '201', 'ten']) await rejects(() => call('mail/messages', { limit }), failsWith(400, 'EINVAL'), limit);
  await rejects(() => call('mail/history', { limit: '1000' }), failsWith(400, 'EINVAL'));
});

test.run();
