/**
 * native/udpbatch: a socket the addon opened and dgram adopted receives like any other, and a
 * batch sent with sendmmsg arrives whole and in order, exactly as the twin's one-by-one sends;
 * what the addon cannot send (a bad address) is left to dgram; a taken port is EADDRINUSE.
 * Needs the host addon (make native).
 */
import dgram from 'node:dgram';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadAddon } from '../../firmware/native.js';
import type { UdpBatchAddon } from '../../native/udpbatch/binding.js';
import { udpBatchTwin } from '../../native/udpbatch/twin.js';
import { Random } from '../_lib/random.js';

const load = loadAddon<UdpBatchAddon>('udpbatch', ['openUdp', 'sendBatch']);
if (load.addon === undefined) assert.unreachable(`udpbatch addon not loadable (run make native): ${load.reason}`);
const addon = load.addon as UdpBatchAddon;

/** A receiver that collects what arrives until `count` datagrams are in. */
async function receiver(): Promise<{ port: number; received: Buffer[]; until(count: number): Promise<Buffer[]>; close(): void }> {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (data) => received.push(data));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    received,
    until: async (count) => {
      const deadline = Date.now() + 5000;
      while (received.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      return received;
    },
    close: () => socket.close(),
  };
}

function datagrams(seed: number, count: number): Buffer[] {
  const random = new Random(seed);
  return Array.from({ length: count }, (_, i) => {
    const bytes = Buffer.alloc(1 + random.int(200));
    for (let j = 0; j < bytes.length; j++) bytes[j] = random.int(256);
    bytes[0] = i & 0xff;
    return bytes;
  });
}

test('a batch (more than one sendmmsg call) arrives whole and in order, as the twin sends it', async () => {
  for (const [name, fd] of [['addon', addon.openUdp('127.0.0.1', 0)], ['twin', undefined]] as const) {
    const target = await receiver();
    const sender = dgram.createSocket('udp4');
    const batch = fd === undefined ? await udpBatchTwin.bind(sender, '127.0.0.1', 0) : await new Promise<void>((r) => sender.bind({ fd }, r)).then(() => ({ sendAll: (d: Buffer[], p: number[], a: string[]) => assert.is(addon.sendBatch(fd, d, p, a), d.length) }));
    const sent = datagrams(7, 100); // small enough for a default receive buffer
    batch.sendAll(sent, sent.map(() => target.port), sent.map(() => '127.0.0.1'));
    const got = await target.until(sent.length);
    assert.is(got.length, sent.length, name);
    got.forEach((data, i) => assert.ok(data.equals(sent[i]!), `${name}: datagram ${i}`));
    target.close();
    sender.close();
  }
});

test('the adopted socket receives through dgram; a bad address stops the batch there', async () => {
  const fd = addon.openUdp('127.0.0.1', 0);
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind({ fd }, r));
  const inbox: Buffer[] = [];
  socket.on('message', (data) => inbox.push(data));
  const client = dgram.createSocket('udp4');
  client.send(Buffer.from('ping'), socket.address().port, '127.0.0.1');
  const deadline = Date.now() + 2000;
  while (inbox.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(inbox.map(String), ['ping']);
  const target = await receiver();
  const sent = [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')];
  assert.is(addon.sendBatch(fd, sent, [target.port, target.port, target.port], ['127.0.0.1', 'not-an-address', '127.0.0.1']), 1);
  assert.equal((await target.until(1)).map(String), ['a']);
  client.close();
  socket.close();
  target.close();
});

test('errors: a port in use is EADDRINUSE, bad arguments a TypeError', async () => {
  const taken = dgram.createSocket('udp4');
  await new Promise<void>((r) => taken.bind(0, '127.0.0.1', r));
  assert.throws(() => addon.openUdp('127.0.0.1', taken.address().port), (error: NodeJS.ErrnoException) => error.code === 'EADDRINUSE');
  assert.throws(() => addon.openUdp('no such address', 0), TypeError);
  assert.throws(() => addon.sendBatch(-1, [], [], []), TypeError);
  assert.throws(() => addon.sendBatch(0, [Buffer.from('x')], [], []), TypeError);
  taken.close();
});

test.run();
