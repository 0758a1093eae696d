/**
 * Streams over an in-memory pair of links that lose, duplicate and reorder datagrams as asked:
 * exact bytes both ways on a clean and on a lossy link, many streams at once, node:http on
 * both sides, half-close, reset, unknown services, malformed datagrams, the channel closing,
 * flow control against a reader that does not read, and the idle timeout.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { LogSink, type NymoteError } from '../../firmware/runtime/index.js';
import { StreamMux, type MuxStream, type StreamMuxOptions } from '../../firmware/signpost/streams/index.js';

const log = new LogSink({ level: 'error' }).logger();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1 << 20;

interface LinkConditions {
  maxPayload?: number;
  loss?: number;
  duplicate?: number;
  /** Each datagram is delayed by up to this many ms, which reorders them. */
  jitterMs?: number;
}

/** Deterministic randomness, so a failing lossy run can be repeated. */
function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

function muxPair(conditions: LinkConditions = {}, options: Partial<StreamMuxOptions> = {}): { a: StreamMux; b: StreamMux } {
  const random = prng(42);
  const maxPayload = conditions.maxPayload ?? 1420;
  const deliver = (to: () => StreamMux, datagram: Uint8Array) => {
    if (random() < (conditions.loss ?? 0)) return;
    const copies = random() < (conditions.duplicate ?? 0) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      if (conditions.jitterMs === undefined) setImmediate(() => to().receive(datagram));
      else setTimeout(() => to().receive(datagram), random() * conditions.jitterMs);
    }
  };
  const a: StreamMux = new StreamMux({ maxPayload, send: (datagram) => deliver(() => b, datagram) }, { role: 'initiator', log, peer: 'b', ...options });
  const b: StreamMux = new StreamMux({ maxPayload, send: (datagram) => deliver(() => a, datagram) }, { role: 'responder', log, peer: 'a', ...options });
  return { a, b };
}

/** Writes `bytes` random bytes (respecting backpressure), ends, and returns their SHA-256. */
async function sendRandom(stream: MuxStream, bytes: number, chunk = 64 * 1024): Promise<string> {
  const hash = createHash('sha256');
  for (let sent = 0; sent < bytes; sent += chunk) {
    const piece = randomBytes(Math.min(chunk, bytes - sent));
    hash.update(piece);
    if (!stream.write(piece)) await new Promise((r) => stream.once('drain', r));
  }
  stream.end();
  return hash.digest('hex');
}

/** Reads to the end (without destroying the stream, as for-await would); returns the SHA-256 and the length of what came. */
function receiveAll(stream: MuxStream): Promise<{ sha256: string; length: number }> {
  const hash = createHash('sha256');
  let length = 0;
  return new Promise((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    stream.once('end', () => resolve({ sha256: hash.digest('hex'), length }));
    stream.once('error', reject);
  });
}

function nextStream(mux: StreamMux, service: string): Promise<MuxStream> {
  return new Promise((resolve) => mux.listen(service, resolve));
}

function errorOf(stream: MuxStream): Promise<NymoteError> {
  return new Promise((resolve) => stream.once('error', (error) => resolve(error as NymoteError)));
}

async function transferBothWays(a: StreamMux, b: StreamMux, bytes: number): Promise<void> {
  const accepted = nextStream(b, 'bulk-a');
  const acceptedByA = nextStream(a, 'bulk-b');
  const fromA = a.open('bulk-a');
  const fromB = b.open('bulk-b');
  const [sentByA, sentByB, gotByB, gotByA] = await Promise.all([
    sendRandom(fromA, bytes),
    sendRandom(fromB, bytes),
    accepted.then(receiveAll),
    acceptedByA.then(receiveAll),
    accepted.then((s) => s.end()),
    acceptedByA.then((s) => s.end()),
    receiveAll(fromA),
    receiveAll(fromB),
  ]);
  assert.equal(gotByB, { sha256: sentByA, length: bytes });
  assert.equal(gotByA, { sha256: sentByB, length: bytes });
}

test('16 MiB each way at once over a clean link of 60,000-byte datagrams arrive exactly', async () => {
  const { a, b } = muxPair({ maxPayload: 60_000 });
  await transferBothWays(a, b, 16 * MiB);
  await sleep(20);
  assert.is(a.describe().streams, 0, 'both ends forget the streams once both ways are acknowledged');
  assert.is(b.describe().streams, 0);
  assert.is(a.counters.malformed + b.counters.malformed, 0);
  a.close('test over');
  b.close('test over');
});

test('a link that loses 5%, duplicates 3% and reorders still delivers exact bytes both ways', async () => {
  const { a, b } = muxPair({ loss: 0.05, duplicate: 0.03, jitterMs: 2 });
  await transferBothWays(a, b, MiB);
  assert.ok(a.counters.retransmissions > 0 && b.counters.retransmissions > 0, 'losses were repaired');
  assert.is(a.counters.malformed + b.counters.malformed, 0);
  a.close('test over');
  b.close('test over');
});

test('50 streams at once each echo their own bytes', async () => {
  const { a, b } = muxPair({ maxPayload: 8192 });
  b.listen('echo', (stream) => stream.pipe(stream));
  const results = await Promise.all(
    Array.from({ length: 50 }, async () => {
      const stream = a.open('echo');
      const [sent, got] = await Promise.all([sendRandom(stream, 100_000, 7000), receiveAll(stream)]);
      return got.sha256 === sent && got.length === 100_000;
    }),
  );
  assert.ok(results.every(Boolean));
  assert.is(b.counters.streamsAccepted, 50);
  a.close('test over');
  b.close('test over');
});

test('node:http serves over streams: a GET and a POST of 1 MiB', async () => {
  const { a, b } = muxPair({ maxPayload: 1420 });
  const server = http.createServer((request, response) => {
    const hash = createHash('sha256');
    let length = 0;
    request.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    request.on('end', () => response.end(JSON.stringify({ method: request.method, url: request.url, length, sha256: hash.digest('hex'), from: request.socket.remoteAddress })));
  });
  b.listen('web', (stream) => server.emit('connection', stream));
  const ask = (method: string, body?: Buffer) =>
    new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const request = http.request({ method, path: '/hello', headers: body ? { 'content-length': body.length } : {}, createConnection: () => a.open('web') }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> }));
      });
      request.on('error', reject);
      request.end(body);
    });
  const got = await ask('GET');
  assert.equal(got, { status: 200, body: { method: 'GET', url: '/hello', length: 0, sha256: createHash('sha256').digest('hex'), from: 'a' } });
  const body = randomBytes(MiB);
  const posted = await ask('POST', body);
  assert.is(posted.body.length, MiB);
  assert.is(posted.body.sha256, createHash('sha256').update(body).digest('hex'));
  await sleep(20);
  assert.is(a.describe().streams + b.describe().streams, 0, 'the connections closed cleanly');
  assert.is(a.counters.resetsSent + b.counters.resetsSent, 0);
  a.close('test over');
  b.close('test over');
});

test('node:http keep-alive: an agent reuses one stream for several requests', async () => {
  const { a, b } = muxPair();
  const server = http.createServer((request, response) => response.end(`you asked for ${request.url}`));
  b.listen('web', (stream) => server.emit('connection', stream));
  const agent = new http.Agent({ keepAlive: true });
  (agent as unknown as { createConnection: () => MuxStream }).createConnection = () => a.open('web');
  for (const path of ['/one', '/two', '/three']) {
    const text = await new Promise<string>((resolve, reject) => {
      http
        .get({ path, agent }, (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
    assert.is(text, `you asked for ${path}`);
  }
  assert.is(a.counters.streamsOpened, 1);
  agent.destroy();
  a.close('test over');
  b.close('test over');
});

test('half-close: end() reaches the peer as end, which can still answer', async () => {
  const { a, b } = muxPair();
  b.listen('half', (stream) => {
    let question = '';
    stream.on('data', (chunk: Buffer) => (question += chunk.toString()));
    stream.on('end', () => stream.end(`answer to ${question}`));
  });
  const stream = a.open('half');
  const closed = new Promise((resolve) => stream.once('close', resolve));
  stream.end('ping');
  const { length } = await new Promise<{ length: number }>((resolve) => {
    let answer = '';
    stream.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    stream.on('end', () => {
      assert.is(answer, 'answer to ping');
      resolve({ length: answer.length });
    });
  });
  assert.is(length, 14);
  await closed;
  assert.is(a.counters.resetsSent + b.counters.resetsSent, 0);
  a.close('test over');
  b.close('test over');
});

test('destroy() resets the stream: the peer gets ECONNRESET', async () => {
  const { a, b } = muxPair();
  const accepted = nextStream(b, 'reset');
  const stream = a.open('reset');
  stream.write('some bytes');
  const peer = await accepted;
  const failed = errorOf(peer);
  peer.resume();
  await sleep(10);
  stream.destroy();
  const error = await failed;
  assert.is(error.code, 'ECONNRESET');
  assert.match(error.message, /reset by the peer/);
  await sleep(10);
  assert.is(b.describe().streams, 0);
  a.close('test over');
  b.close('test over');
});

test('a stream to a service nobody listens to fails with ENOSERVICE', async () => {
  const { a, b } = muxPair();
  const error = await errorOf(a.open('nope'));
  assert.is(error.code, 'ENOSERVICE');
  assert.is(error.message, "no service 'nope' on the peer");
  assert.throws(() => a.open('Not A Name'), /not a service name/);
  a.close('test over');
  b.close('test over');
});

test('malformed datagrams are counted and dropped; streams carry on', async () => {
  const { a, b } = muxPair();
  const accepted = nextStream(b, 'after');
  const stream = a.open('after');
  stream.write('hello');
  const peer = await accepted;
  const junk = [
    Buffer.alloc(0),
    Buffer.from([2, 1, 0, 0, 0, 1]), // another version
    Buffer.from([1, 9, 0, 0, 0, 1]), // unknown frame type
    Buffer.from([1, 2, 0, 0, 0, 1, 0, 0]), // DATA cut short
    Buffer.from([1, 1, 0, 0, 0, 9, 3, 0x41, 0x42, 0x43]), // OPEN with an upper-case name
    Buffer.from([1, 1, 0, 0, 0, 0, 1, 0x61]), // OPEN of stream id 0
    Buffer.from([1, 1, 0, 0, 0, 4, 1, 0x61]), // OPEN of one of b's own ids
    Buffer.from([1, 3, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]), // ACK of bytes b never sent
    Buffer.from([1, 5, 0, 0, 0, 1]), // RESET without its code
  ];
  for (const datagram of junk) b.receive(datagram);
  assert.is(b.counters.malformed, junk.length);
  const readBack = receiveAll(peer);
  stream.end(' again');
  assert.is((await readBack).length, 'hello again'.length);
  peer.end();
  await receiveAll(stream);
  a.close('test over');
  b.close('test over');
});

test('closing the mux fails every stream with ECHANNELCLOSED; opening after fails too', async () => {
  const { a, b } = muxPair();
  b.listen('hold', (stream) => stream.resume().on('error', () => undefined));
  const streams = [a.open('hold'), a.open('hold')];
  const errors = streams.map(errorOf);
  await sleep(10);
  a.close('peer gone');
  for (const error of await Promise.all(errors)) {
    assert.is(error.code, 'ECHANNELCLOSED');
    assert.match(error.message, /peer gone/);
  }
  assert.is((await errorOf(a.open('hold'))).code, 'ECHANNELCLOSED');
  assert.is(a.describe().streams, 0);
  b.close('test over');
});

test('a reader that does not read holds back the writer: memory stays within the windows', async () => {
  const window = MiB;
  const { a, b } = muxPair({ maxPayload: 60_000 }, { streamWindowBytes: window, sendBufferBytes: window });
  const accepted = nextStream(b, 'slow');
  const stream = a.open('slow');
  const total = 24 * MiB;
  const sending = sendRandom(stream, total);
  const peer = await accepted;
  peer.pause();
  await sleep(300);
  const receiver = b.describe();
  const sender = a.describe();
  assert.ok(receiver.receiveBufferedBytes <= window, `receiver holds ${receiver.receiveBufferedBytes}`);
  assert.ok(sender.sendBufferedBytes <= window + 64 * 1024, `sender holds ${sender.sendBufferedBytes}`);
  assert.ok(stream.writableLength > 0, 'the writer is waiting');
  const received = receiveAll(peer);
  peer.resume();
  const [sent, got] = await Promise.all([sending, received]);
  assert.equal(got, { sha256: sent, length: total });
  peer.end();
  await receiveAll(stream);
  a.close('test over');
  b.close('test over');
});

test('an idle stream is reset on both sides', async () => {
  const { a, b } = muxPair({}, { idleTimeoutMs: 200 });
  const accepted = nextStream(b, 'idle');
  const stream = a.open('idle');
  stream.write('x');
  const peer = await accepted;
  const [mine, theirs] = await Promise.all([errorOf(stream), errorOf(peer)]);
  assert.is(mine.code, 'ETIMEDOUT');
  assert.is(theirs.code, 'ETIMEDOUT');
  a.close('test over');
  b.close('test over');
});

test('socket look-alikes: setTimeout emits timeout after inactivity', async () => {
  const { a, b } = muxPair();
  b.listen('quiet', (stream) => stream.resume().on('error', () => undefined));
  const stream = a.open('quiet');
  const started = performance.now();
  await new Promise((resolve) => stream.setTimeout(50, () => resolve(undefined)));
  assert.ok(performance.now() - started >= 45);
  assert.is(stream.setNoDelay(), stream);
  assert.is(stream.remoteAddress, 'b');
  stream.destroy();
  a.close('test over');
  b.close('test over');
});

test.run();
