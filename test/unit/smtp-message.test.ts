/**
 * Reading DATA within bounds (the message limit and the shared memory budget), and the header
 * lines the server adds (Received, Return-Path, Date and Message-ID on submission).
 */
import { PassThrough } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SMTPServerDataStream } from 'smtp-server';
import { headerBlock, missingSubmissionHeaders, receivedHeader, returnPathHeader } from '../../firmware/apps/mail/smtp/headers.js';
import { ByteBudget, readMessage } from '../../firmware/apps/mail/smtp/message-reader.js';
import { statusOfReply } from '../../firmware/apps/mail/smtp/bounce.js';

function dataStream(): SMTPServerDataStream {
  return Object.assign(new PassThrough(), { byteLength: 0, sizeExceeded: false });
}

test('a message within the limit is read whole and the budget handed back', async () => {
  const budget = new ByteBudget(1000);
  const stream = dataStream();
  const reading = readMessage(stream, 100, budget);
  stream.write('Subject: x\r\n\r\n');
  stream.end('body\r\n');
  assert.equal(await reading, { kind: 'message', data: Buffer.from('Subject: x\r\n\r\nbody\r\n') });
  assert.is(budget.inUse, 0);
});

test('an over-size message is drained holding at most the limit', async () => {
  const budget = new ByteBudget(1 << 20);
  const stream = dataStream();
  const reading = readMessage(stream, 1000, budget);
  let peak = 0;
  for (let i = 0; i < 50; i++) {
    stream.write(Buffer.alloc(100, 0x61));
    await new Promise((r) => setImmediate(r));
    peak = Math.max(peak, budget.inUse);
  }
  stream.end();
  assert.equal(await reading, { kind: 'too-big', bytes: 5000 });
  assert.ok(peak <= 1000, `held ${peak} bytes`);
  assert.is(budget.inUse, 0);
});

test('when the shared budget is spent the message is drained and refused as busy', async () => {
  const budget = new ByteBudget(250);
  assert.ok(budget.take(200), 'another connection holds most of it');
  const stream = dataStream();
  const reading = readMessage(stream, 1000, budget);
  stream.write(Buffer.alloc(40));
  stream.write(Buffer.alloc(40));
  stream.end(Buffer.alloc(40));
  assert.equal(await reading, { kind: 'busy', bytes: 120 });
  assert.is(budget.inUse, 200);
});

test('a client that goes away mid-DATA frees what it held', async () => {
  const budget = new ByteBudget(1000);
  const stream = dataStream();
  const reading = readMessage(stream, 1000, budget);
  stream.write(Buffer.alloc(300));
  await new Promise((r) => setImmediate(r));
  stream.destroy();
  assert.equal(await reading, { kind: 'aborted' });
  assert.is(budget.inUse, 0);
});

test('Received and Return-Path lines; nothing from the client breaks a header line', () => {
  const date = new Date('2025-01-06T10:00:00Z');
  assert.is(
    receivedHeader({ helo: 'mx.far.example', clientAddress: '192.0.2.9', by: 'kitchen', protocol: 'ESMTPS', id: 'abc', recipient: 'alice@example.org', date }),
    'Received: from mx.far.example ([192.0.2.9])\r\n\tby kitchen with ESMTPS id abc\r\n\tfor <alice@example.org>;\r\n\tMon, 06 Jan 2025 10:00:00 +0000\r\n',
  );
  assert.is(receivedHeader({ helo: undefined, by: 'kitchen', protocol: 'ESMTPSA', id: 'x', date }), 'Received: by kitchen with ESMTPSA id x;\r\n\tMon, 06 Jan 2025 10:00:00 +0000\r\n');
  assert.is(returnPathHeader('a@b.example\r\nX-Evil: 1'), 'Return-Path: <a@b.example??X-Evil: 1>\r\n');
});

test('submission adds Date and Message-ID only when missing', () => {
  const now = new Date('2025-01-06T10:00:00Z');
  const added = missingSubmissionHeaders(Buffer.from('Subject: x\r\n\r\nMessage-ID: in the body\r\n'), 'kitchen', now);
  assert.match(added, /^Date: Mon, 06 Jan 2025 10:00:00 \+0000\r\nMessage-ID: <[0-9a-f-]{36}@kitchen>\r\n$/);
  assert.is(missingSubmissionHeaders(Buffer.from('date: x\r\nmessage-id: <a@b>\r\n\r\n'), 'kitchen', now), '');
  assert.is(headerBlock(Buffer.from('A: 1\nB: 2\n\nbody')), 'A: 1\nB: 2');
});

test('status codes for bounces come from the reply', () => {
  assert.is(statusOfReply('550 5.1.1 <x>: unknown'), '5.1.1');
  assert.is(statusOfReply('gave up after 3 attempts: 421 4.4.2 busy'), '4.4.2');
  assert.is(statusOfReply('452 too many'), '4.0.0');
  assert.is(statusOfReply('connect ECONNREFUSED'), '5.0.0');
});

test.run();
