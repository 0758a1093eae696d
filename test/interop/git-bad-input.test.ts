/**
 * Hostile and broken requests to the git server, sent raw over HTTP: each is answered in the
 * protocol's own terms (an HTTP 4xx, `ERR`, or `unpack …` / `ng …`), no ref moves, and no
 * file is left in objects/pack.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import type { Store } from '../../firmware/store/index.js';
import { encodeEntryHeader, encodeOffsetDistance } from '../../firmware/store/pack/format.js';
import { fillStore, startGitServer, type GitServer } from '../_lib/git-server.js';

let server: GitServer;
let alice: Store;
const ZERO = '0'.repeat(40);

test.before(async () => {
  server = await startGitServer({ limits: { idleTimeoutMs: 300, maxPushBytes: 4 * 1024 * 1024 } });
  alice = server.stores.get('alice');
  await fillStore(alice, 3);
});

test.after(async () => {
  await server.close();
});

function pkt(text: string): Buffer {
  const data = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from((data.length + 4).toString(16).padStart(4, '0')), data]);
}

/** Parses a pkt-line response body into text lines (flushes dropped). */
function lines(body: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at + 4 <= body.length; ) {
    const length = parseInt(body.toString('latin1', at, at + 4), 16);
    if (length < 4) {
      at += 4;
      continue;
    }
    out.push(body.toString('utf8', at + 4, at + length).replace(/\n$/, ''));
    at += length;
  }
  return out;
}

async function post(service: 'git-upload-pack' | 'git-receive-pack', body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(`http://127.0.0.1:${server.port}/git/alice.git/${service}`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('alice:secret-pass-1').toString('base64')}`,
      'content-type': `application/x-${service}-request`,
      ...headers,
    },
    body,
  });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

function pack(entries: Buffer[]): Buffer {
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(entries.length, 8);
  const body = Buffer.concat([header, ...entries]);
  return Buffer.concat([body, createHash('sha1').update(body).digest()]);
}

function blobEntry(content: string): Buffer {
  const data = Buffer.from(content);
  return Buffer.concat([encodeEntryHeader(3, data.length), zlib.deflateSync(data)]);
}

/** A push of `packBytes` creating refs/heads/bad at an arbitrary id. */
function push(packBytes: Buffer): Buffer {
  return Buffer.concat([pkt(`${ZERO} ${'1'.repeat(40)} refs/heads/bad\0report-status\n`), Buffer.from('0000'), packBytes]);
}

function state(): { refs: string; packs: string[] } {
  const refs = JSON.stringify([...alice.refs.list('refs/')]);
  const packs = fs.readdirSync(path.join(server.gitDir('alice'), 'objects', 'pack')).sort();
  return { refs, packs };
}

async function expectRefusedPush(packBytes: Buffer, reason: RegExp): Promise<void> {
  const before = state();
  const response = await post('git-receive-pack', push(packBytes));
  assert.is(response.status, 200);
  const report = lines(response.body);
  assert.match(report[0] ?? '', reason);
  assert.ok(report[0]!.startsWith('unpack ') && report[0] !== 'unpack ok', report.join(' | '));
  assert.is(report[1], 'ng refs/heads/bad unpacker error');
  assert.equal(state(), before, 'refs and objects/pack are unchanged');
}

test('malformed pkt-lines are refused with HTTP 400', async () => {
  for (const body of [Buffer.from('zzzz'), Buffer.from('0003'), Buffer.from('00ffwant'), pkt('want nothex\n')]) {
    const upload = await post('git-upload-pack', body);
    assert.ok(upload.status === 400 || (upload.status === 200 && lines(upload.body)[0]?.startsWith('ERR ')), `upload-pack answered ${upload.status}`);
    const before = state();
    const receive = await post('git-receive-pack', body);
    assert.is(receive.status, 400);
    assert.equal(state(), before);
  }
});

test('a want the server does not have: ERR in the protocol', async () => {
  const response = await post('git-upload-pack', Buffer.concat([pkt(`want ${'2'.repeat(40)} side-band-64k\n`), Buffer.from('0000'), pkt('done\n')]));
  assert.is(response.status, 200);
  assert.match(lines(response.body)[0] ?? '', /^ERR upload-pack: not our ref 2{40}/);
});

test('a gzip body that is not gzip: HTTP 400', async () => {
  const response = await post('git-upload-pack', Buffer.from('not gzip at all'), { 'content-encoding': 'gzip' });
  assert.is(response.status, 400);
});

test('a truncated pack: unpack error, nothing stored', async () => {
  const whole = pack([blobEntry('one\n'), blobEntry('two\n')]);
  await expectRefusedPush(whole.subarray(0, whole.length - 30), /truncated/);
});

test('a corrupt pack (a byte flipped): unpack error, nothing stored', async () => {
  const corrupt = pack([blobEntry('one '.repeat(100)), blobEntry('two\n')]);
  corrupt[20] ^= 0xff;
  await expectRefusedPush(corrupt, /zlib|checksum|inflates/);
});

test('a pack declaring a 10 GiB object is refused at its header', async () => {
  const bomb = Buffer.concat([encodeEntryHeader(3, 10 * 1024 ** 3), zlib.deflateSync(Buffer.from('tiny'))]);
  await expectRefusedPush(pack([bomb]), /declares 10737418240 bytes/);
});

test('a zip bomb (a small stream inflating past its declared size) is refused', async () => {
  const zeros = zlib.deflateSync(Buffer.alloc(50 * 1024 * 1024));
  const bomb = Buffer.concat([encodeEntryHeader(3, 100), zeros]);
  await expectRefusedPush(pack([bomb]), /inflates past|declared size/);
});

test('a pack with a 10,000-deep delta chain is refused', async () => {
  const entries = [blobEntry('x')];
  const offsets = [12];
  let offset = 12 + entries[0]!.length;
  for (let i = 0; i < 10_000; i++) {
    // base size 1, result size 1, insert one byte.
    const delta = zlib.deflateSync(Buffer.from([1, 1, 1, 97 + (i % 26)]));
    const entry = Buffer.concat([encodeEntryHeader(6, 4), encodeOffsetDistance(offset - offsets[i]!), delta]);
    offsets.push(offset);
    entries.push(entry);
    offset += entry.length;
  }
  await expectRefusedPush(pack(entries), /delta chain too deep/);
});

test('a pack declaring more objects than allowed is refused at its header', async () => {
  const header = pack([]);
  header.writeUInt32BE(50_000_000, 8);
  await expectRefusedPush(header, /declares 50000000 objects/);
});

test('a push whose pack lacks the objects its ref needs: ng missing objects', async () => {
  const before = state();
  const blob = 'a lonely blob\n';
  const response = await post('git-receive-pack', push(pack([blobEntry(blob)])));
  const report = lines(response.body);
  assert.is(report[0], 'unpack ok');
  assert.match(report[1] ?? '', /^ng refs\/heads\/bad missing necessary objects/);
  assert.equal(state(), before);
});

test('a client that stops sending mid-body gets 408 after the idle timeout', async () => {
  const before = state();
  const socket = net.connect(server.port, '127.0.0.1');
  const auth = Buffer.from('alice:secret-pass-1').toString('base64');
  const answer = await new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(text));
    socket.write(
      `POST /git/alice.git/git-receive-pack HTTP/1.1\r\nhost: x\r\nauthorization: Basic ${auth}\r\n` +
        'content-type: application/x-git-receive-pack-request\r\ncontent-length: 100000\r\n\r\n',
    );
    socket.write(Buffer.concat([push(pack([blobEntry('slow')])).subarray(0, 90)]));
  });
  assert.match(answer, /^HTTP\/1.1 408/);
  assert.equal(state(), before);
});

test('a push larger than the limit is refused with 413 and leaves nothing', async () => {
  const before = state();
  const big = pack([Buffer.concat([encodeEntryHeader(3, 3 << 20), zlib.deflateSync(createHash('sha512').update('x').digest().toString('hex').repeat(40_000).slice(0, 3 << 20))])]);
  const noisy = Buffer.alloc(5 << 20);
  const response = await post('git-receive-pack', push(Buffer.concat([big, noisy])));
  assert.is(response.status, 413);
  assert.equal(state(), before);
});

test('a bare flush (git probing before a large push) is answered empty', async () => {
  const response = await post('git-receive-pack', Buffer.from('0000'));
  assert.is(response.status, 200);
  assert.is(response.body.length, 0);
});

test.run();
