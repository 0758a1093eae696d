/**
 * firmware/signpost/channel: two SecureChannels on 127.0.0.1 in one process. Handshake and
 * records both ways (60 KiB ones and a thousand small ones); replayed, forged, truncated,
 * oversize and unknown-index packets dropped and counted (raw UDP through a relay that sees
 * and can replay everything); a replayed initiation dropped; an unauthorised key refused with
 * its reason logged; cookie replies under forced load with the handshake completing on mac2;
 * rekeying after REKEY_AFTER_TIME on a fake clock; one side restarting; one side roaming.
 */
import dgram from 'node:dgram';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { MAX_DATA_PAYLOAD, REKEY_AFTER_TIME_MS, SecureChannel, generateKeyPair, type ChannelCounters, type Endpoint, type KeyPair, type SecureChannelOptions } from '../../firmware/signpost/channel/index.js';
import { ReplayWindow } from '../../firmware/signpost/channel/replay.js';
import { REJECT_AFTER_MESSAGES } from '../../firmware/signpost/channel/timers.js';
import type { LogFields, Logger } from '../../firmware/runtime/index.js';

const LOCALHOST = '127.0.0.1';
const b64 = (key: Uint8Array) => Buffer.from(key).toString('base64');

interface LogEntry {
  level: string;
  msg: string;
  fields: LogFields;
}

function memoryLog(entries: LogEntry[] = []): Logger & { entries: LogEntry[] } {
  const at = (level: string) => (msg: string, fields: LogFields = {}) => void entries.push({ level, msg, fields });
  const log = { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return log;
}

/** A clock the test moves; starts at the real time so TAI64N timestamps look ordinary. */
function fakeClock() {
  const clock = { t: Date.now(), now: () => clock.t, advance: (ms: number) => void (clock.t += ms) };
  return clock;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.unreachable(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Side {
  keys: KeyPair;
  channel: SecureChannel;
  log: ReturnType<typeof memoryLog>;
  received: Array<{ from: string; data: Buffer; endpoint: Endpoint }>;
  events: string[];
  port: number;
}

async function side(options: Partial<SecureChannelOptions> & { keys?: KeyPair; allow?: () => Uint8Array[] } = {}): Promise<Side> {
  const keys = options.keys ?? generateKeyPair();
  const log = memoryLog();
  const allow = options.allow ?? (() => []);
  const channel = new SecureChannel({
    listen: LOCALHOST,
    port: 0,
    staticPrivate: keys.privateKey,
    staticPublic: keys.publicKey,
    authorize: (remote) => (allow().some((key) => b64(key) === b64(remote)) ? true : 'not one of the owner devices'),
    log,
    mtu: MAX_DATA_PAYLOAD,
    ...options,
  });
  await channel.start();
  const result: Side = { keys, channel, log, received: [], events: [], port: channel.boundPort()! };
  channel.onMessage((publicKey, data, endpoint) => result.received.push({ from: b64(publicKey), data, endpoint }));
  channel.onPeer((publicKey, event) => result.events.push(`${b64(publicKey).slice(0, 6)} ${event}`));
  return result;
}

/** Two sides that know each other; a talks to b at `bEndpoint` (b itself unless a relay is given). */
async function pair(options: Partial<SecureChannelOptions> = {}) {
  const keysA = generateKeyPair();
  const keysB = generateKeyPair();
  const a = await side({ ...options, keys: keysA, allow: () => [keysB.publicKey] });
  const b = await side({ ...options, keys: keysB, allow: () => [keysA.publicKey] });
  return { a, b };
}

/** A UDP relay between a and b that records every datagram and can replay or forge them. */
async function relay(aPort: number, bPort: number) {
  const socket = dgram.createSocket('udp4');
  const fromA: Buffer[] = [];
  const fromB: Buffer[] = [];
  socket.on('message', (packet, remote) => {
    if (remote.port === aPort) {
      fromA.push(packet);
      socket.send(packet, bPort, LOCALHOST);
    } else {
      fromB.push(packet);
      socket.send(packet, aPort, LOCALHOST);
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, LOCALHOST, resolve));
  return {
    port: socket.address().port,
    fromA,
    fromB,
    /** Sends raw bytes to b as if from a (through the relay's own address, the one b knows). */
    toB: (packet: Uint8Array) => socket.send(packet, bPort, LOCALHOST),
    close: () => socket.close(),
  };
}

const stopAll = async (...sides: Side[]) => {
  for (const s of sides) await s.channel.stop();
};

const counterDelta = (channel: SecureChannel, name: keyof ChannelCounters, before: number) => channel.counters[name] - before;

test('the replay window (RFC 6479, 2048 bits): out of order inside it, never twice, nothing older or past the limit', () => {
  const window = new ReplayWindow();
  for (const counter of [0n, 2n, 1n, 5n, 3n]) assert.ok(window.accept(counter), `first ${counter}`);
  for (const counter of [0n, 1n, 2n, 3n, 5n]) assert.not.ok(window.accept(counter), `again ${counter}`);
  assert.ok(window.accept(4n));
  assert.ok(window.accept(3000n));
  assert.not.ok(window.accept(3000n - 2016n - 1n), 'behind the window');
  assert.ok(window.accept(3000n - 2016n), 'the oldest still inside');
  assert.ok(window.accept(2999n));
  // A jump far ahead clears the whole ring: what it passed over is new again, if inside.
  assert.ok(window.accept(1_000_000n));
  assert.ok(window.accept(999_999n));
  assert.not.ok(window.accept(1_000_000n));
  assert.ok(window.accept(REJECT_AFTER_MESSAGES - 1n));
  assert.not.ok(window.accept(REJECT_AFTER_MESSAGES));
  assert.not.ok(window.accept((1n << 64n) - 1n));
});

test('handshake on first send, then records both ways: 60 KiB records and a thousand small ones', async () => {
  const { a, b } = await pair();
  a.channel.addPeer(b.keys.publicKey, { address: LOCALHOST, port: b.port });
  b.channel.addPeer(a.keys.publicKey);
  assert.is(a.channel.peerStatus(b.keys.publicKey)?.up, false);
  a.channel.send(b.keys.publicKey, Buffer.from('hello b'));
  await waitFor(() => b.received.length === 1, 'the first record');
  assert.is(b.received[0]!.data.toString(), 'hello b');
  assert.is(b.received[0]!.from, b64(a.keys.publicKey));
  assert.is(b.received[0]!.endpoint.port, a.port);
  assert.equal(a.events, [`${b64(b.keys.publicKey).slice(0, 6)} up`]);
  await waitFor(() => b.events.length === 1, 'b sees a up');

  b.channel.send(a.keys.publicKey, Buffer.from('hello a'));
  await waitFor(() => a.received.length === 1, 'the reply');
  assert.is(a.received[0]!.data.toString(), 'hello a');

  // Large records, a few at a time (UDP has no flow control; the socket buffers are finite).
  const big = Array.from({ length: 16 }, (_, i) => Buffer.alloc(60 * 1024, i));
  for (let i = 0; i < big.length; i += 4) {
    for (const record of big.slice(i, i + 4)) a.channel.send(b.keys.publicKey, record);
    await waitFor(() => b.received.length === 1 + i + 4, 'large records');
  }
  assert.ok(b.received.slice(1).every((r, i) => r.data.equals(big[i]!)));

  const small = Array.from({ length: 1000 }, (_, i) => Buffer.from(`record ${i}`));
  for (const record of small) b.channel.send(a.keys.publicKey, record);
  await waitFor(() => a.received.length === 1001, 'a thousand small records');
  assert.equal(new Set(a.received.slice(1).map((r) => r.data.toString())), new Set(small.map((r) => r.toString())));
  assert.is(a.channel.peerStatus(b.keys.publicKey)?.receivedRecords, 1001);
  assert.is(b.channel.counters.recordsSent, 1001);
  assert.throws(() => a.channel.send(b.keys.publicKey, Buffer.alloc(MAX_DATA_PAYLOAD + 1)), /at most/);
  assert.match(a.channel.describe().detail ?? '', /1 peers, 1 up/);
  assert.equal(a.channel.describe().listen, [`127.0.0.1:${a.port} udp`]);
  await stopAll(a, b);
});

test('replayed, forged, truncated, oversize, unknown-index and unknown-type packets are dropped and counted', async () => {
  const { a, b } = await pair();
  const wire = await relay(a.port, b.port);
  a.channel.addPeer(b.keys.publicKey, { address: LOCALHOST, port: wire.port });
  b.channel.addPeer(a.keys.publicKey);
  a.channel.send(b.keys.publicKey, Buffer.from('one'));
  a.channel.send(b.keys.publicKey, Buffer.from('two'));
  await waitFor(() => b.received.length === 2, 'two records');
  const data = wire.fromA.filter((p) => p[0] === 4 && p.length > 32);
  const initiation = wire.fromA.find((p) => p[0] === 1)!;
  assert.ok(initiation && data.length === 2);
  const c = { ...b.channel.counters };

  wire.toB(data[0]!);
  wire.toB(data[1]!);
  const forged = Buffer.from(data[0]!);
  forged[forged.length - 1]! ^= 1;
  wire.toB(forged);
  const otherCounter = Buffer.from(data[0]!);
  otherCounter.writeBigUInt64LE(99n, 8); // a counter it was not sealed with
  wire.toB(otherCounter);
  wire.toB(data[0]!.subarray(0, 20));
  wire.toB(Buffer.from([4, 0]));
  const unknownIndex = Buffer.from(data[0]!);
  unknownIndex.writeUInt32LE((unknownIndex.readUInt32LE(4) ^ 0xffff) >>> 0, 4);
  wire.toB(unknownIndex);
  wire.toB(Buffer.from([9, 0, 0, 0, 1, 2, 3, 4]));
  wire.toB(Buffer.concat([initiation, Buffer.alloc(1100)]));
  const badMac = Buffer.from(initiation);
  badMac[badMac.length - 20]! ^= 1;
  wire.toB(badMac);
  await waitFor(() => b.channel.counters.datagramsReceived - c.datagramsReceived === 10, 'ten datagrams at b');
  assert.is(counterDelta(b.channel, 'replayed', c.replayed), 2);
  assert.is(counterDelta(b.channel, 'forged', c.forged), 2);
  assert.is(counterDelta(b.channel, 'truncated', c.truncated), 2);
  assert.is(counterDelta(b.channel, 'unknownIndex', c.unknownIndex), 1);
  assert.is(counterDelta(b.channel, 'unknownType', c.unknownType), 1);
  assert.is(counterDelta(b.channel, 'oversize', c.oversize), 1);
  assert.is(counterDelta(b.channel, 'badMac1', c.badMac1), 1);
  assert.is(b.received.length, 2, 'nothing more delivered');

  // The initiation again, after the session began: its timestamp is not newer than the last.
  wire.toB(initiation);
  await waitFor(() => b.channel.counters.replayedInitiations === 1, 'the replayed initiation counted');
  assert.is(b.channel.counters.handshakesCompleted, 1);
  a.channel.send(b.keys.publicKey, Buffer.from('three'));
  await waitFor(() => b.received.length === 3, 'the session still works');
  wire.close();
  await stopAll(a, b);
});

test('an initiator whose key authorize refuses gets no session, and the reason is logged', async () => {
  const owner = await side({ allow: () => [] });
  const stranger = await side();
  stranger.channel.addPeer(owner.keys.publicKey, { address: LOCALHOST, port: owner.port });
  stranger.channel.send(owner.keys.publicKey, Buffer.from('let me in'));
  await waitFor(() => owner.channel.counters.refused === 1, 'the refusal');
  const line = owner.log.entries.find((e) => e.msg === 'channel peer refused');
  assert.ok(line);
  assert.is(line.fields.reason, 'not one of the owner devices');
  assert.is(line.fields.peer, b64(stranger.keys.publicKey));
  assert.is(owner.channel.peerStatus(stranger.keys.publicKey), undefined, 'not learned');
  assert.is(owner.received.length, 0);
  assert.is(stranger.channel.peerStatus(owner.keys.publicKey)?.up, false);
  await stopAll(owner, stranger);
});

test('under load: a cookie reply instead of a DH, then the retransmission with mac2 completes', async () => {
  const clock = fakeClock();
  const keysA = generateKeyPair();
  const keysB = generateKeyPair();
  const a = await side({ keys: keysA, now: clock.now, allow: () => [keysB.publicKey] });
  const b = await side({ keys: keysB, now: clock.now, allow: () => [keysA.publicKey], forceUnderLoad: true });
  a.channel.addPeer(keysB.publicKey, { address: LOCALHOST, port: b.port });
  a.channel.send(keysB.publicKey, Buffer.from('under load'));
  await waitFor(() => a.channel.counters.cookieRepliesReceived === 1, 'the cookie reply');
  assert.is(b.channel.counters.cookieRepliesSent, 1);
  assert.is(b.channel.peerStatus(keysA.publicKey), undefined, 'no handshake done yet');
  // The next retransmission (REKEY_TIMEOUT + jitter later) carries mac2.
  clock.advance(6000);
  await waitFor(() => b.received.length === 1, 'the staged record after the handshake');
  assert.is(b.received[0]!.data.toString(), 'under load');
  assert.is(b.channel.counters.cookieRepliesSent, 1);
  assert.is(a.channel.counters.handshakesInitiated, 2);
  await stopAll(a, b);
});

test('a session older than REKEY_AFTER_TIME is renewed by the initiator while traffic continues', async () => {
  const clock = fakeClock();
  const { a, b } = await pair({ now: clock.now });
  a.channel.addPeer(b.keys.publicKey, { address: LOCALHOST, port: b.port });
  a.channel.send(b.keys.publicKey, Buffer.from('first'));
  await waitFor(() => b.received.length === 1, 'first record');
  const first = a.channel.peerStatus(b.keys.publicKey)!;
  assert.is(first.handshakes, 1);

  clock.advance(REKEY_AFTER_TIME_MS + 1000);
  a.channel.send(b.keys.publicKey, Buffer.from('on the old session'));
  await waitFor(() => a.channel.peerStatus(b.keys.publicKey)!.handshakes === 2, 'the rekey');
  assert.ok(b.received.some((r) => r.data.toString() === 'on the old session'));
  const second = a.channel.peerStatus(b.keys.publicKey)!;
  assert.is.not(second.sessionIndex, first.sessionIndex);
  a.channel.send(b.keys.publicKey, Buffer.from('on the new session'));
  b.channel.send(a.keys.publicKey, Buffer.from('back'));
  await waitFor(() => b.received.length === 3 && a.received.length === 1, 'traffic on the new session');
  assert.is(b.channel.peerStatus(a.keys.publicKey)!.handshakes, 2);
  assert.equal(a.events.filter((e) => e.endsWith('down')), [], 'no down across the rekey');
  await stopAll(a, b);
});

test('one side restarts on the same keys: the other side re-handshakes and records flow', async () => {
  const clock = fakeClock();
  const { a, b } = await pair({ now: clock.now });
  a.channel.addPeer(b.keys.publicKey, { address: LOCALHOST, port: b.port });
  a.channel.send(b.keys.publicKey, Buffer.from('before'));
  await waitFor(() => b.received.length === 1, 'first record');

  await b.channel.stop();
  const restarted = await side({ keys: b.keys, now: clock.now, port: b.port, allow: () => [a.keys.publicKey] });
  a.channel.send(b.keys.publicKey, Buffer.from('lost: b forgot the session'));
  await waitFor(() => restarted.channel.counters.unknownIndex === 1, 'the stale session refused');
  // Nothing came back for KEEPALIVE + REKEY_TIMEOUT: a starts a new handshake.
  clock.advance(16_000);
  await waitFor(() => a.channel.peerStatus(b.keys.publicKey)!.handshakes === 2, 'the new handshake');
  a.channel.send(b.keys.publicKey, Buffer.from('after'));
  await waitFor(() => restarted.received.some((r) => r.data.toString() === 'after'), 'records after the restart');
  restarted.channel.send(a.keys.publicKey, Buffer.from('welcome back'));
  await waitFor(() => a.received.length === 1, 'and back');
  await stopAll(a, restarted);
});

test('roaming: when a peer shows up from a new address, replies follow it there', async () => {
  const { a, b } = await pair();
  const first = await relay(a.port, b.port);
  a.channel.addPeer(b.keys.publicKey, { address: LOCALHOST, port: first.port });
  a.channel.send(b.keys.publicKey, Buffer.from('from the first address'));
  await waitFor(() => b.received.length === 1, 'first record');
  assert.is(b.received[0]!.endpoint.port, first.port);

  const second = await relay(a.port, b.port);
  a.channel.addPeer(b.keys.publicKey, { address: LOCALHOST, port: second.port });
  a.channel.send(b.keys.publicKey, Buffer.from('from the second address'));
  await waitFor(() => b.received.length === 2, 'second record');
  assert.is(b.received[1]!.endpoint.port, second.port);
  assert.equal(b.channel.peerStatus(a.keys.publicKey)!.endpoint, { address: LOCALHOST, port: second.port });
  const viaFirst = first.fromB.length;
  b.channel.send(a.keys.publicKey, Buffer.from('reply'));
  await waitFor(() => a.received.length === 1, 'the reply');
  assert.is(second.fromB.length, 1, 'the reply went to the new address');
  assert.is(first.fromB.length, viaFirst, 'and not to the old one');
  first.close();
  second.close();
  await stopAll(a, b);
});

test.run();
