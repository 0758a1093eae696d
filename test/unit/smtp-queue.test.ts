/**
 * The outbound queue with a fake clock and a fake smarthost over a real store: messages leave
 * when due, temporary failures wait on the backoff schedule, permanent ones and giving up
 * bounce into the sender's INBOX, every change is one commit, and a new queue (a restart)
 * finds what the old one left.
 */
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OutboundQueue } from '../../firmware/apps/mail/smtp/queue.js';
import { QUEUE_DIR, messagePath, parseQueueState, statePath, type QueueState } from '../../firmware/apps/mail/smtp/queue-state.js';
import { QueueUsers } from '../../firmware/apps/mail/smtp/queue-users.js';
import type { DeliveryStatus, RecipientOutcome, SmarthostSender } from '../../firmware/apps/mail/smtp/smarthost.js';
import { LogSink } from '../../firmware/runtime/log.js';
import { Store } from '../../firmware/store/index.js';
import { tempDir } from '../_lib/tmp.js';

const MINUTE = 60_000;
const MESSAGE = Buffer.from('From: alice@example.org\r\nTo: bob@far.example\r\nSubject: hi\r\nMessage-ID: <m1@example.org>\r\n\r\nhello\r\n');

interface Call {
  from: string;
  recipients: string[];
  message: Buffer;
}

/** A smarthost that answers each recipient from `plan` (by address, else `fallback`). */
class FakeSmarthost implements SmarthostSender {
  readonly name = 'relay.example';
  readonly calls: Call[] = [];
  plan = new Map<string, [DeliveryStatus, string]>();
  fallback: [DeliveryStatus, string] = ['sent', '250 2.0.0 OK queued'];

  async send(from: string, recipients: string[], message: Buffer): Promise<RecipientOutcome[]> {
    this.calls.push({ from, recipients, message });
    return recipients.map((recipient) => {
      const [status, reply] = this.plan.get(recipient) ?? this.fallback;
      return { recipient, status, reply };
    });
  }
}

function setup(options: { device?: string; smarthost?: boolean } = {}) {
  const dir = tempDir('smtpq');
  const store = Store.open(path.join(dir, 'alice.git'), { durability: 'none' });
  const clock = { now: Date.parse('2025-01-06T10:00:00Z') };
  const smarthost = new FakeSmarthost();
  const delivered: { user: string; message: Buffer; mailbox: string | undefined }[] = [];
  const sink = new LogSink({ stderr: false });
  const make = (device = options.device ?? 'kitchen') =>
    new OutboundQueue({
      log: sink.logger(),
      store: (user) => {
        assert.is(user, 'alice');
        return store;
      },
      users: new QueueUsers(path.join(dir, 'config')),
      smarthost: () => (options.smarthost === false ? undefined : smarthost),
      deliver: async (user, message, mailbox) => {
        delivered.push({ user, message, mailbox });
      },
      limits: { retryDelaysMs: [1 * MINUTE, 5 * MINUTE, 15 * MINUTE, 60 * MINUTE, 240 * MINUTE], giveUpAfterMs: 2 * 24 * 60 * MINUTE, queuePollMs: MINUTE, closeTimeoutMs: 100 },
      device,
      now: () => clock.now,
    });
  const main = store.branch();
  const items = () => main.list(QUEUE_DIR).map((e) => e.name);
  const state = (id: string): QueueState => parseQueueState(main.get(statePath(id))!)!;
  const commits = () => main.history().length;
  return { queue: make(), make, clock, smarthost, delivered, main, items, state, commits, sink };
}

test('a queued message leaves at the next pass and its queue entry goes', async () => {
  const t = setup();
  const id = await t.queue.enqueue('alice', 'alice@example.org', ['bob@far.example', 'carol@far.example'], MESSAGE);
  assert.equal(t.items(), [id]);
  assert.equal(t.main.get(messagePath(id)), MESSAGE);
  const queued = t.state(id);
  assert.equal(queued.pending, ['bob@far.example', 'carol@far.example']);
  assert.is(queued.attempts, 0);
  assert.is(t.commits(), 1, 'queueing is one commit');
  assert.is(t.queue.size('alice'), 1);

  assert.is(await t.queue.runDue(), undefined, 'nothing left to wait for');
  assert.is(t.smarthost.calls.length, 1);
  assert.equal(t.smarthost.calls[0]!.recipients, ['bob@far.example', 'carol@far.example']);
  assert.is(t.smarthost.calls[0]!.from, 'alice@example.org');
  assert.equal(t.smarthost.calls[0]!.message, MESSAGE);
  assert.equal(t.items(), []);
  assert.is(t.commits(), 2, 'removal is one commit');
  assert.is(t.delivered.length, 0, 'no bounce');
  assert.ok(t.sink.ring.some((l) => l.includes('msg="message sent"')));
});

test('a temporary failure waits on the backoff schedule; the deferred recipient alone is retried', async () => {
  const t = setup();
  t.smarthost.plan.set('carol@far.example', ['temporary', '451 4.3.0 try later']);
  const id = await t.queue.enqueue('alice', 'alice@example.org', ['bob@far.example', 'carol@far.example'], MESSAGE);
  const start = t.clock.now;
  assert.is(await t.queue.runDue(), start + 1 * MINUTE);
  let s = t.state(id);
  assert.equal(s.pending, ['carol@far.example'], 'bob was sent');
  assert.is(s.attempts, 1);
  assert.is(s.lastError, '451 4.3.0 try later');
  assert.is(s.nextAttemptAt, new Date(start + MINUTE).toISOString());
  assert.is(t.commits(), 2);

  t.clock.now += 30_000;
  await t.queue.runDue();
  assert.is(t.smarthost.calls.length, 1, 'not yet due');

  const expected = [5, 15, 60, 240, 240];
  for (const minutes of expected) {
    t.clock.now = Date.parse(t.state(id).nextAttemptAt);
    await t.queue.runDue();
    s = t.state(id);
    assert.is(Date.parse(s.nextAttemptAt) - t.clock.now, minutes * MINUTE, `after attempt ${s.attempts}`);
  }
  assert.is(t.smarthost.calls.length, 6);
  assert.equal(t.smarthost.calls[5]!.recipients, ['carol@far.example']);

  t.smarthost.plan.clear();
  t.clock.now = Date.parse(t.state(id).nextAttemptAt);
  await t.queue.runDue();
  assert.equal(t.items(), []);
  assert.is(t.delivered.length, 0);
});

test('a permanent failure bounces at once into the sender INBOX (RFC 3464) and the entry goes', async () => {
  const t = setup();
  t.smarthost.plan.set('nobody@far.example', ['permanent', '550 5.1.1 <nobody@far.example>: user unknown']);
  await t.queue.enqueue('alice', 'alice@example.org', ['nobody@far.example', 'bob@far.example'], MESSAGE);
  await t.queue.runDue();
  assert.equal(t.items(), []);
  assert.is(t.delivered.length, 1);
  const bounce = t.delivered[0]!;
  assert.is(bounce.user, 'alice');
  assert.is(bounce.mailbox, 'INBOX');
  const text = bounce.message.toString('latin1');
  assert.match(text, /^Return-Path: <>\r\n/);
  assert.match(text, /\r\nTo: <alice@example.org>\r\n/);
  assert.match(text, /Content-Type: multipart\/report; report-type=delivery-status; boundary="([^"]+)"/);
  assert.match(text, /Content-Type: message\/delivery-status\r\n\r\nReporting-MTA: dns; kitchen\r\n/);
  assert.match(text, /Final-Recipient: rfc822; nobody@far.example\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; relay.example\r\nDiagnostic-Code: smtp; 550 5.1.1 <nobody@far.example>: user unknown\r\n/);
  assert.not.match(text, /Final-Recipient: rfc822; bob@far.example/, 'only the failed recipient');
  assert.match(text, /Content-Type: text\/rfc822-headers\r\n\r\nFrom: alice@example.org\r\nTo: bob@far.example\r\nSubject: hi\r\nMessage-ID: <m1@example.org>\r\n/);
  assert.not.match(text, /hello/, 'the body is not returned');
  const boundary = /boundary="([^"]+)"/.exec(text)![1]!;
  assert.ok(text.endsWith(`--${boundary}--\r\n`));
});

test('after two days of temporary failures the queue gives up and bounces', async () => {
  const t = setup();
  t.smarthost.fallback = ['temporary', '421 4.4.2 relay busy'];
  const id = await t.queue.enqueue('alice', 'alice@example.org', ['bob@far.example'], MESSAGE);
  const start = t.clock.now;
  let passes = 0;
  while (t.items().length > 0 && passes < 100) {
    t.clock.now = Date.parse(t.state(id).nextAttemptAt);
    await t.queue.runDue();
    passes++;
  }
  assert.equal(t.items(), []);
  assert.is(t.clock.now, start + 2 * 24 * 60 * MINUTE, 'the last try is exactly at the give-up time');
  assert.is(t.smarthost.calls.length, passes);
  assert.ok(passes > 10 && passes < 20, `${passes} attempts`);
  const text = t.delivered[0]!.message.toString('latin1');
  assert.match(text, /Status: 5.4.2\r\n/, 'a final status even for a temporary reply');
  assert.match(text, /Diagnostic-Code: x-unix; gave up after \d+ attempts: 421 4.4.2 relay busy/);
});

test('no smarthost (removed since queueing) is a temporary failure', async () => {
  const t = setup({ smarthost: false });
  const id = await t.queue.enqueue('alice', 'alice@example.org', ['bob@far.example'], MESSAGE);
  await t.queue.runDue();
  assert.is(t.state(id).lastError, 'no smarthost configured for mail to other domains');
  assert.is(t.state(id).attempts, 1);
});

test('a bounce that cannot be delivered is kept and tried again', async () => {
  const t = setup();
  t.smarthost.fallback = ['permanent', '554 5.7.1 rejected'];
  let fail = true;
  const dir = tempDir('smtpq2');
  const store = Store.open(path.join(dir, 'alice.git'), { durability: 'none' });
  const bounces: Buffer[] = [];
  const queue = new OutboundQueue({
    log: t.sink.logger(),
    store: () => store,
    users: new QueueUsers(dir),
    smarthost: () => t.smarthost,
    deliver: async (_user, message) => {
      if (fail) throw new Error('disk full');
      bounces.push(message);
    },
    limits: { retryDelaysMs: [MINUTE], giveUpAfterMs: 10 * MINUTE, queuePollMs: MINUTE, closeTimeoutMs: 100 },
    device: 'kitchen',
    now: () => t.clock.now,
  });
  const id = await queue.enqueue('alice', 'alice@example.org', ['bob@far.example'], MESSAGE);
  await queue.runDue();
  const s = parseQueueState(store.branch().get(statePath(id))!)!;
  assert.equal(s.pending, []);
  assert.is(s.failed.length, 1);
  assert.is(s.failed[0]!.recipient, 'bob@far.example');
  fail = false;
  t.clock.now += MINUTE;
  await queue.runDue();
  assert.is(t.smarthost.calls.length, 1, 'the recipient is not tried again');
  assert.is(bounces.length, 1);
  assert.equal(store.branch().list(QUEUE_DIR), []);
});

test('a restart (a new queue over the same store and config) picks up due messages', async () => {
  const t = setup();
  t.smarthost.fallback = ['temporary', '451 4.3.0 later'];
  const id = await t.queue.enqueue('alice', 'alice@example.org', ['bob@far.example'], MESSAGE);
  await t.queue.runDue();
  const restarted = t.make();
  t.smarthost.fallback = ['sent', '250 2.0.0 OK'];
  await restarted.runDue();
  assert.is(t.smarthost.calls.length, 1, 'not due yet after the restart either');
  t.clock.now = Date.parse(t.state(id).nextAttemptAt);
  await restarted.runDue();
  assert.is(t.smarthost.calls.length, 2);
  assert.equal(t.items(), []);
});

test('the worker sends on its own once started, and stops', async () => {
  const t = setup();
  t.clock.now = Date.now();
  const make = t.make();
  make.start();
  await make.enqueue('alice', 'alice@example.org', ['bob@far.example'], MESSAGE);
  for (let i = 0; i < 100 && t.items().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
  await make.stop();
  assert.equal(t.items(), []);
  assert.is(t.smarthost.calls.length, 1);
});

test('another device leaves the messages it did not queue alone (the store syncs between devices)', async () => {
  const t = setup();
  await t.queue.enqueue('alice', 'alice@example.org', ['bob@far.example'], MESSAGE);
  await t.make('laptop').runDue();
  assert.is(t.smarthost.calls.length, 0);
  assert.is(t.items().length, 1);
});

test('a queue entry with a broken state file is reported and left alone', async () => {
  const t = setup();
  const id = await t.queue.enqueue('alice', 'alice@example.org', ['bob@far.example'], MESSAGE);
  await t.main.set(statePath(id), '{"version": 2}');
  await t.queue.runDue();
  await t.queue.runDue();
  assert.is(t.smarthost.calls.length, 0);
  assert.is(t.sink.ring.filter((l) => l.includes('no valid state')).length, 1, 'reported once');
});

test.run();
