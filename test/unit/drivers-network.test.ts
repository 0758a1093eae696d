/**
 * The network driver: DHCP packet encoding and bounded parsing, the client state machine
 * against an in-process fake server, the device driver's argv, and — as root — real DHCP
 * exchanges with dnsmasq and busybox udhcpd across a veth pair between two network
 * namespaces, our client applying its leases with real `busybox ip` inside its namespace.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NymoteError } from '../../firmware/runtime/errors.js';
import {
  DeviceNetworkDriver,
  DhcpClient,
  HostNetworkDriver,
  encodeDhcpMessage,
  hostAddresses,
  leaseFromAck,
  leaseTimes,
  parseDhcpMessage,
  retransmitDelayMs,
  validateNetworkConfig,
  writeResolvConf,
  type DhcpLease,
  type DhcpMessage,
  type DhcpMessageFields,
  type DhcpState,
  type DhcpTransport,
  type NetworkConfig,
  type NetworkStatus,
} from '../../drivers/network/index.js';
import { createNetnsPair, netnsUnavailable, type NetnsPair } from '../_lib/netns-pair.js';
import { tempDir } from '../_lib/tmp.js';

const repo = path.resolve(import.meta.dirname, '../..');
const MAC = Buffer.from('020000aabbcc', 'hex');

const isParseError = (err: unknown): boolean => err instanceof NymoteError && err.code === 'EDHCPPARSE';

function offerFields(overrides: Partial<DhcpMessageFields> = {}): DhcpMessageFields {
  return {
    op: 'reply',
    type: 'offer',
    xid: 0x12345678,
    chaddr: MAC,
    yiaddr: '192.168.7.50',
    options: {
      serverId: '192.168.7.1',
      subnetMask: '255.255.255.0',
      routers: ['192.168.7.1'],
      dnsServers: ['192.168.7.1', '9.9.9.9'],
      domainName: 'home.lan',
      leaseSeconds: 3600,
      renewalSeconds: 1800,
      rebindingSeconds: 3150,
    },
    ...overrides,
  };
}

/** A packet built by hand: the 240-byte header of `offerFields()` followed by `options` verbatim. */
function withRawOptions(options: number[]): Buffer {
  const header = encodeDhcpMessage(offerFields()).subarray(0, 240);
  return Buffer.concat([header, Buffer.from(options)]);
}

// ---------------------------------------------------------------------------------- packets

test('an encoded reply parses back to the same fields and options', () => {
  const message = parseDhcpMessage(encodeDhcpMessage(offerFields({ broadcast: true, siaddr: '192.168.7.1' })));
  assert.is(message.op, 'reply');
  assert.is(message.type, 'offer');
  assert.is(message.xid, 0x12345678);
  assert.ok(message.broadcast);
  assert.is(message.yiaddr, '192.168.7.50');
  assert.is(message.siaddr, '192.168.7.1');
  assert.is(message.ciaddr, '0.0.0.0');
  assert.ok(message.chaddr.equals(MAC));
  assert.equal(message.options, offerFields().options);
});

test('a client message has the BOOTP layout: 300 bytes at least, cookie, type first, options 50/54/55', () => {
  const packet = encodeDhcpMessage({
    op: 'request',
    type: 'request',
    xid: 0xdeadbeef,
    chaddr: MAC,
    broadcast: true,
    options: { requestedAddress: '10.0.0.9', serverId: '10.0.0.1', parameterRequestList: [1, 3, 6, 12, 15, 51, 58, 59] },
  });
  assert.ok(packet.length >= 300);
  assert.is(packet[0], 1);
  assert.is(packet[1], 1);
  assert.is(packet[2], 6);
  assert.is(packet.readUInt32BE(4), 0xdeadbeef);
  assert.is(packet.readUInt16BE(10), 0x8000);
  assert.is(packet.readUInt32BE(236), 0x63825363);
  assert.equal([...packet.subarray(240, 243)], [53, 1, 3]);
  const parsed = parseDhcpMessage(packet);
  assert.is(parsed.op, 'request');
  assert.is(parsed.options.requestedAddress, '10.0.0.9');
  assert.is(parsed.options.serverId, '10.0.0.1');
  assert.equal(parsed.options.parameterRequestList, [1, 3, 6, 12, 15, 51, 58, 59]);
});

test('the encoder refuses what it cannot put on the wire', () => {
  const refuses = (fields: DhcpMessageFields): void => {
    assert.throws(() => encodeDhcpMessage(fields), (err: unknown) => err instanceof NymoteError);
  };
  refuses(offerFields({ chaddr: Buffer.alloc(17) }));
  refuses(offerFields({ yiaddr: '10.0.0.256' }));
  refuses(offerFields({ options: { hostname: 'x'.repeat(256) } }));
  refuses(offerFields({ options: { leaseSeconds: -1 } }));
  refuses(offerFields({ xid: 2 ** 32 }));
});

test('short, oversized and cookie-less datagrams are rejected', () => {
  const good = encodeDhcpMessage(offerFields());
  for (const length of [0, 1, 100, 235, 239]) {
    assert.throws(() => parseDhcpMessage(good.subarray(0, length)), isParseError, `length ${length}`);
  }
  assert.throws(() => parseDhcpMessage(Buffer.concat([good, Buffer.alloc(1501 - good.length)])), isParseError);
  const noCookie = Buffer.from(good);
  noCookie[236] = 0;
  assert.throws(() => parseDhcpMessage(noCookie), isParseError);
});

test('bad header fields are rejected: op, hardware length', () => {
  for (const [offset, value] of [
    [0, 0],
    [0, 3],
    [2, 0],
    [2, 17],
  ] as const) {
    const packet = encodeDhcpMessage(offerFields());
    packet[offset] = value;
    assert.throws(() => parseDhcpMessage(packet), isParseError, `byte ${offset} = ${value}`);
  }
});

test('an option whose length runs past the end of the packet is rejected', () => {
  // DNS servers claiming 200 bytes with 8 present.
  assert.throws(() => parseDhcpMessage(withRawOptions([53, 1, 2, 6, 200, 1, 1, 1, 1, 2, 2, 2, 2])), isParseError);
  // An option code as the very last byte, with no length.
  assert.throws(() => parseDhcpMessage(withRawOptions([53, 1, 2, 6])), isParseError);
  // Length of 255 on the last option.
  assert.throws(() => parseDhcpMessage(withRawOptions([53, 1, 2, 51, 255, 0, 0])), isParseError);
});

test('options of the wrong size are rejected, not misread', () => {
  const cases: Array<[string, number[]]> = [
    ['lease time of 3 bytes', [51, 3, 0, 0, 1]],
    ['lease time of 5 bytes', [51, 5, 0, 0, 0, 1, 0]],
    ['subnet mask of 5 bytes', [1, 5, 255, 255, 255, 0, 0]],
    ['router list of 6 bytes', [3, 6, 10, 0, 0, 1, 10, 0]],
    ['DNS list of 0 bytes', [6, 0]],
    ['server id of 2 bytes', [54, 2, 10, 0]],
    ['T1 of 2 bytes', [58, 2, 0, 9]],
    ['T2 of 8 bytes', [59, 8, 0, 0, 0, 9, 0, 0, 0, 9]],
    ['message type of 2 bytes', [53, 2, 2, 2]],
    ['empty parameter request list', [55, 0]],
  ];
  for (const [what, bytes] of cases) {
    const options = bytes[0] === 53 ? [...bytes, 255] : [53, 1, 2, ...bytes, 255];
    assert.throws(() => parseDhcpMessage(withRawOptions(options)), isParseError, what);
  }
});

test('a message without a DHCP type, or with an unknown one, is rejected', () => {
  assert.throws(() => parseDhcpMessage(withRawOptions([51, 4, 0, 0, 14, 16, 255])), isParseError);
  assert.throws(() => parseDhcpMessage(withRawOptions([53, 1, 0, 255])), isParseError);
  assert.throws(() => parseDhcpMessage(withRawOptions([53, 1, 9, 255])), isParseError);
});

test('pads are skipped, a missing END is tolerated, repeated options are concatenated (RFC 3396)', () => {
  const message = parseDhcpMessage(withRawOptions([0, 0, 53, 1, 5, 0, 6, 4, 1, 1, 1, 1, 6, 4, 8, 8, 8, 8, 54, 4, 10, 0, 0, 1]));
  assert.is(message.type, 'ack');
  assert.equal(message.options.dnsServers, ['1.1.1.1', '8.8.8.8']);
  assert.is(message.options.serverId, '10.0.0.1');
});

test('option overload: options in the file and sname fields are read, and bad overloads rejected', () => {
  const packet = withRawOptions([53, 1, 5, 52, 1, 3, 255]);
  Buffer.from([51, 4, 0, 0, 0x0e, 0x10, 255]).copy(packet, 108); // file: lease 3600
  Buffer.from([54, 4, 10, 0, 0, 1, 255]).copy(packet, 44); // sname: server id
  const message = parseDhcpMessage(packet);
  assert.is(message.options.leaseSeconds, 3600);
  assert.is(message.options.serverId, '10.0.0.1');

  assert.throws(() => parseDhcpMessage(withRawOptions([53, 1, 5, 52, 1, 4, 255])), isParseError);
  const runaway = withRawOptions([53, 1, 5, 52, 1, 1, 255]);
  Buffer.from([6, 200, 1, 1, 1, 1]).copy(runaway, 108); // claims more than the 128-byte file field
  assert.throws(() => parseDhcpMessage(runaway), isParseError);
});

test('text options that could break resolv.conf are dropped; a trailing NUL is not part of the name', () => {
  const evil = Buffer.from('lan\nnameserver 6.6.6.6');
  const message = parseDhcpMessage(withRawOptions([53, 1, 5, 15, evil.length, ...evil, 12, 5, ...Buffer.from('box'), 0, 0, 255]));
  assert.is(message.options.domainName, undefined);
  assert.is(message.options.hostname, 'box');
});

test('random corruption of a valid reply never throws anything but EDHCPPARSE', () => {
  let seed = 0x9e3779b9;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const good = encodeDhcpMessage(offerFields());
  let parsed = 0;
  for (let round = 0; round < 3000; round++) {
    let packet = Buffer.from(good);
    const flips = 1 + Math.floor(random() * 8);
    for (let i = 0; i < flips; i++) {
      // Mostly in the options, where lengths live.
      const at = random() < 0.8 ? 240 + Math.floor(random() * (packet.length - 240)) : Math.floor(random() * packet.length);
      packet[at] = Math.floor(random() * 256);
    }
    if (random() < 0.3) packet = packet.subarray(0, Math.floor(random() * packet.length));
    try {
      parseDhcpMessage(packet);
      parsed++;
    } catch (err) {
      assert.ok(isParseError(err), `round ${round}: ${String(err)}`);
    }
  }
  assert.ok(parsed > 100, 'most single-byte corruptions still parse');
});

// ------------------------------------------------------------------------ lease arithmetic

test('T1 and T2 default to 1/2 and 7/8 of the lease, and inconsistent server values are replaced', () => {
  assert.equal(leaseTimes({ leaseSeconds: 800 }), { leaseSeconds: 800, renewalSeconds: 400, rebindingSeconds: 700 });
  assert.equal(leaseTimes({ leaseSeconds: 800, renewalSeconds: 100, rebindingSeconds: 200 }), {
    leaseSeconds: 800,
    renewalSeconds: 100,
    rebindingSeconds: 200,
  });
  // T1 after T2, or T2 past the lease: the defaults.
  assert.equal(leaseTimes({ leaseSeconds: 800, renewalSeconds: 300, rebindingSeconds: 200 }).renewalSeconds, 400);
  assert.equal(leaseTimes({ leaseSeconds: 800, rebindingSeconds: 900 }).rebindingSeconds, 700);
  assert.equal(leaseTimes({ leaseSeconds: 0xffffffff }).leaseSeconds, Infinity);
  assert.equal(leaseTimes({ leaseSeconds: 0 }).leaseSeconds, 2);
});

test('retransmission backs off exponentially to the cap, with jitter inside its bounds', () => {
  const timing = { initialMs: 4000, maxMs: 64_000, jitterMs: 1000 };
  assert.equal([0, 1, 2, 3, 4, 5, 6].map((n) => retransmitDelayMs(n, timing, () => 0.5)), [4000, 8000, 16_000, 32_000, 64_000, 64_000, 64_000]);
  assert.is(retransmitDelayMs(0, timing, () => 0), 3000);
  assert.is(retransmitDelayMs(0, timing, () => 0.999999), 5000);
  assert.is(retransmitDelayMs(0, { initialMs: 100, maxMs: 100, jitterMs: 1000 }, () => 0), 0);
  const spread = new Set(Array.from({ length: 50 }, () => retransmitDelayMs(2, timing)));
  assert.ok(spread.size > 10, 'jitter actually varies');
});

test('a lease from an ACK: mask to prefix, classful fallback, first usable router', () => {
  const ack = (options: DhcpMessage['options'], yiaddr = '172.16.5.9'): DhcpMessage =>
    parseDhcpMessage(encodeDhcpMessage({ op: 'reply', type: 'ack', xid: 1, chaddr: MAC, yiaddr, options: { serverId: '172.16.0.1', leaseSeconds: 60, ...options } }));
  const lease = leaseFromAck(ack({ subnetMask: '255.255.240.0', routers: ['0.0.0.0', '172.16.0.1'] }), 0);
  assert.is(lease.prefix, 20);
  assert.is(lease.gateway, '172.16.0.1');
  assert.is(lease.renewalSeconds, 30);
  assert.is(leaseFromAck(ack({}), 0).prefix, 16);
  assert.is(leaseFromAck(ack({ subnetMask: '255.0.255.0' }), 0).prefix, 16);
  assert.is(leaseFromAck(ack({}, '10.1.2.3'), 0).prefix, 8);
  assert.throws(() => leaseFromAck(ack({ leaseSeconds: undefined }), 0), (err: unknown) => err instanceof NymoteError && err.code === 'EDHCPLEASE');
  assert.throws(() => leaseFromAck(ack({}, '0.0.0.0'), 0), (err: unknown) => err instanceof NymoteError);
});

// -------------------------------------------------------------- the client, on a fake wire

interface Sent {
  message: DhcpMessage;
  to: string;
  at: number;
}

class FakeWire implements DhcpTransport {
  readonly sent: Sent[] = [];
  answer: (message: DhcpMessage, to: string) => Buffer[] = () => [];
  private receive: ((packet: Buffer, from: string) => void) | undefined;

  async send(packet: Buffer, to: string): Promise<void> {
    const message = parseDhcpMessage(packet);
    this.sent.push({ message, to, at: performance.now() });
    const replies = this.answer(message, to);
    setImmediate(() => {
      for (const reply of replies) this.receive?.(reply, '10.9.0.1');
    });
  }

  onMessage(receive: (packet: Buffer, from: string) => void): void {
    this.receive = receive;
  }

  async close(): Promise<void> {}
}

interface Recorded {
  states: DhcpState[];
  bound: Array<{ lease: DhcpLease; previous: DhcpLease | undefined }>;
  unbound: DhcpLease[];
  discovering: number;
}

function fakeClient(wire: FakeWire, extra: Partial<ConstructorParameters<typeof DhcpClient>[0]> = {}): { client: DhcpClient; seen: Recorded } {
  const seen: Recorded = { states: [], bound: [], unbound: [], discovering: 0 };
  const client = new DhcpClient({
    hardwareAddress: MAC,
    transport: wire,
    hooks: {
      discovering: async () => {
        seen.discovering++;
      },
      bound: async (lease, previous) => {
        seen.bound.push({ lease, previous });
      },
      unbound: async (lease) => {
        seen.unbound.push(lease);
      },
    },
    retransmit: { initialMs: 40, maxMs: 160, jitterMs: 0 },
    minLeaseRetryMs: 100,
    restartDelayMs: 30,
    onChange: (state) => seen.states.push(state),
    ...extra,
  });
  return { client, seen };
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A well-behaved server: OFFER to DISCOVER, ACK to REQUEST, with the given lease options. */
function server(options: DhcpMessage['options'] = {}, address = '10.9.0.50'): (m: DhcpMessage) => Buffer[] {
  return (m) => {
    const reply = (type: 'offer' | 'ack'): Buffer =>
      encodeDhcpMessage({
        op: 'reply',
        type,
        xid: m.xid,
        chaddr: m.chaddr,
        yiaddr: address,
        options: { serverId: '10.9.0.1', subnetMask: '255.255.255.0', routers: ['10.9.0.1'], dnsServers: ['10.9.0.1'], leaseSeconds: 3600, ...options },
      });
    if (m.type === 'discover') return [reply('offer')];
    if (m.type === 'request') return [reply('ack')];
    return [];
  };
}

test('the client ignores replies that are not its own, takes a valid OFFER, REQUESTs it and binds the ACK', async () => {
  const wire = new FakeWire();
  const honest = server();
  wire.answer = (m) => {
    if (m.type !== 'discover') return honest(m);
    const [offer] = honest(m) as [Buffer];
    const wrongXid = encodeDhcpMessage({ ...parseDhcpMessage(offer), xid: (m.xid + 1) >>> 0, yiaddr: '10.9.0.66' });
    const wrongMac = encodeDhcpMessage({ ...parseDhcpMessage(offer), chaddr: Buffer.from('020000000001', 'hex'), yiaddr: '10.9.0.67' });
    const ourOwnRequest = encodeDhcpMessage({ ...parseDhcpMessage(offer), op: 'request' });
    const noServerId = encodeDhcpMessage({ ...parseDhcpMessage(offer), options: { leaseSeconds: 60 }, yiaddr: '10.9.0.68' });
    return [Buffer.from('garbage'), offer.subarray(0, 250), wrongXid, wrongMac, ourOwnRequest, noServerId, offer];
  };
  const { client, seen } = fakeClient(wire);
  client.start();
  await until(() => client.state === 'bound', 2000, 'bound');
  const [discover, request] = wire.sent as [Sent, Sent];
  assert.is(discover.message.type, 'discover');
  assert.is(discover.to, '255.255.255.255');
  assert.ok(discover.message.broadcast, 'asks for a broadcast answer while it has no address');
  assert.equal(discover.message.options.parameterRequestList, [1, 3, 6, 12, 15, 51, 58, 59]);
  assert.is(request.message.type, 'request');
  assert.is(request.message.xid, discover.message.xid);
  assert.is(request.message.options.requestedAddress, '10.9.0.50');
  assert.is(request.message.options.serverId, '10.9.0.1');
  assert.is(request.message.ciaddr, '0.0.0.0');
  assert.is(seen.bound.length, 1);
  assert.is(seen.bound[0]?.lease.address, '10.9.0.50');
  assert.is(seen.bound[0]?.lease.gateway, '10.9.0.1');
  assert.is(seen.discovering, 1);
  await client.stop();
});

test('with no server the client retransmits DISCOVER with exponential back-off up to the cap', async () => {
  const wire = new FakeWire();
  const { client } = fakeClient(wire);
  client.start();
  await new Promise((resolve) => setTimeout(resolve, 700));
  await client.stop();
  const times = wire.sent.map((s) => s.at);
  const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
  assert.ok(wire.sent.every((s) => s.message.type === 'discover' && s.message.xid === wire.sent[0]?.message.xid));
  assert.ok(gaps.length >= 4, `gaps ${gaps.join(', ')}`);
  // 40, 80, 160, 160, … ms (timers fire late, never early).
  for (const [i, expected] of [40, 80, 160, 160].entries()) {
    const gap = gaps[i] as number;
    assert.ok(gap >= expected - 2 && gap < expected + 100, `gap ${i} was ${gap.toFixed(0)} ms, expected ~${expected}`);
  }
  const sentBeforeStop = wire.sent.length;
  await new Promise((resolve) => setTimeout(resolve, 250));
  assert.is(wire.sent.length, sentBeforeStop, 'nothing is sent after stop()');
});

test('renewal at T1 is a unicast REQUEST with ciaddr; a NAK unbinds the address and restarts discovery', async () => {
  const wire = new FakeWire();
  const honest = server({ leaseSeconds: 4, renewalSeconds: 1, rebindingSeconds: 3 });
  let nak = false;
  wire.answer = (m) => {
    if (m.type === 'request' && m.ciaddr !== '0.0.0.0' && !nak) {
      nak = true;
      return [encodeDhcpMessage({ op: 'reply', type: 'nak', xid: m.xid, chaddr: m.chaddr, options: { serverId: '10.9.0.1', message: 'wrong network' } })];
    }
    return honest(m);
  };
  const { client, seen } = fakeClient(wire);
  client.start();
  await until(() => seen.bound.length === 2, 3000, 'bound again after the NAK');
  const renew = wire.sent.find((s) => s.message.type === 'request' && s.message.ciaddr !== '0.0.0.0') as Sent;
  assert.is(renew.to, '10.9.0.1');
  assert.is(renew.message.ciaddr, '10.9.0.50');
  assert.not.ok(renew.message.broadcast);
  assert.is(renew.message.options.requestedAddress, undefined, 'no option 50 while renewing');
  assert.is(renew.message.options.serverId, undefined, 'no option 54 while renewing');
  const boundAt = wire.sent.findIndex((s) => s.message.type === 'request');
  const renewAt = wire.sent.indexOf(renew);
  assert.ok(renew.at - (wire.sent[boundAt] as Sent).at >= 990, 'renewal waits for T1');
  assert.is(seen.unbound.length, 1);
  assert.is(seen.unbound[0]?.address, '10.9.0.50');
  const rediscover = wire.sent.slice(renewAt).find((s) => s.message.type === 'discover') as Sent;
  assert.ok(rediscover !== undefined, 'discovers again');
  assert.is.not(rediscover.message.xid, renew.message.xid);
  assert.equal(seen.states.slice(0, 7), ['init', 'selecting', 'requesting', 'bound', 'renewing', 'init', 'selecting']);
  await client.stop();
});

test('without answers the lease goes RENEWING → REBINDING (broadcast) → expired: unbound and rediscovered', async () => {
  const wire = new FakeWire();
  const honest = server({ leaseSeconds: 2 });
  let first = true;
  wire.answer = (m) => {
    if (!first) return [];
    if (m.type === 'request') first = false;
    return honest(m);
  };
  const { client, seen } = fakeClient(wire);
  client.start();
  await until(() => seen.unbound.length === 1 && client.state === 'selecting', 4000, 'expiry');
  assert.equal(seen.states.slice(0, 7), ['init', 'selecting', 'requesting', 'bound', 'renewing', 'rebinding', 'init']);
  const rebind = wire.sent.find((s) => s.message.type === 'request' && s.to === '255.255.255.255' && s.message.ciaddr !== '0.0.0.0');
  assert.ok(rebind !== undefined, 'a broadcast REQUEST with ciaddr while rebinding');
  assert.is(rebind?.message.options.serverId, undefined);
  assert.is(seen.discovering, 2, 'the interface is prepared again before rediscovery');
  await client.stop();
});

test('stop with release sends DHCPRELEASE to the server and unbinds the lease', async () => {
  const wire = new FakeWire();
  wire.answer = server();
  const { client, seen } = fakeClient(wire);
  client.start();
  await until(() => client.state === 'bound', 2000, 'bound');
  await client.stop({ release: true });
  const release = wire.sent.at(-1) as Sent;
  assert.is(release.message.type, 'release');
  assert.is(release.to, '10.9.0.1');
  assert.is(release.message.ciaddr, '10.9.0.50');
  assert.is(release.message.options.serverId, '10.9.0.1');
  assert.is(seen.unbound.length, 1);
  assert.is(client.state, 'stopped');
});

// -------------------------------------------------------- the device driver's commands

function recordingDriver(dir: string, wire?: FakeWire): { driver: DeviceNetworkDriver; argv: string[][] } {
  const argv: string[][] = [];
  fs.mkdirSync(path.join(dir, 'sys', 'eth0'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'sys', 'eth0', 'address'), '02:00:00:aa:bb:cc\n');
  const driver = new DeviceNetworkDriver({
    run: async (args) => {
      argv.push(args);
    },
    resolvConfPath: path.join(dir, 'resolv.conf'),
    sysClassNet: path.join(dir, 'sys'),
    ...(wire !== undefined && { openTransport: async () => wire }),
    dhcp: { retransmit: { initialMs: 40, maxMs: 160, jitterMs: 0 } },
  });
  return { driver, argv };
}

test('static configuration runs busybox ip as argv: link up, flush, address, default route; writes resolv.conf', async () => {
  const dir = tempDir('net');
  const { driver, argv } = recordingDriver(dir);
  const changes: NetworkStatus[] = [];
  driver.on('change', (status) => changes.push(status));
  await driver.configure({ iface: 'eth0', mode: 'static', address: '192.168.1.20', prefix: 24, gateway: '192.168.1.1', dns: ['192.168.1.1', '1.1.1.1'] });
  assert.equal(argv, [
    ['busybox', 'ip', 'link', 'set', 'dev', 'eth0', 'up'],
    ['busybox', 'ip', '-4', 'addr', 'flush', 'dev', 'eth0'],
    ['busybox', 'ip', 'addr', 'replace', '192.168.1.20/24', 'broadcast', '+', 'dev', 'eth0'],
    ['busybox', 'ip', 'route', 'replace', 'default', 'via', '192.168.1.1', 'dev', 'eth0'],
  ]);
  assert.is(fs.readFileSync(path.join(dir, 'resolv.conf'), 'utf8'), '# written by nymote (static on eth0)\nnameserver 192.168.1.1\nnameserver 1.1.1.1\n');
  const status = driver.status();
  assert.is(status.state, 'configured');
  assert.equal(status.addresses, [{ iface: 'eth0', address: '192.168.1.20', prefix: 24 }]);
  assert.is(status.gateway, '192.168.1.1');
  assert.is(changes.at(-1)?.state, 'configured');
});

test('DHCP mode: broadcast route first, then the lease applied as argv; stop releases and removes it', async () => {
  const dir = tempDir('net');
  const wire = new FakeWire();
  wire.answer = server({ domainName: 'home.lan' });
  const { driver, argv } = recordingDriver(dir, wire);
  await driver.configure({ iface: 'eth0', mode: 'dhcp' });
  await until(() => driver.status().state === 'bound', 2000, 'bound');
  assert.ok(wire.sent[0]?.message.chaddr.equals(MAC), 'the hardware address comes from sysfs');
  assert.equal(argv, [
    ['busybox', 'ip', 'link', 'set', 'dev', 'eth0', 'up'],
    ['busybox', 'ip', '-4', 'addr', 'flush', 'dev', 'eth0'],
    ['busybox', 'ip', 'route', 'replace', '255.255.255.255/32', 'dev', 'eth0'],
    ['busybox', 'ip', 'addr', 'replace', '10.9.0.50/24', 'broadcast', '+', 'dev', 'eth0'],
    ['busybox', 'ip', 'route', 'replace', 'default', 'via', '10.9.0.1', 'dev', 'eth0'],
  ]);
  assert.is(fs.readFileSync(path.join(dir, 'resolv.conf'), 'utf8'), '# written by nymote (dhcp on eth0)\nsearch home.lan\nnameserver 10.9.0.1\n');
  const status = driver.status();
  assert.equal(status.addresses, [{ iface: 'eth0', address: '10.9.0.50', prefix: 24 }]);
  assert.is(status.lease?.serverId, '10.9.0.1');
  assert.ok((status.lease?.expiresInSeconds ?? 0) > 3590);
  argv.length = 0;
  await driver.stop();
  assert.is(wire.sent.at(-1)?.message.type, 'release');
  assert.equal(argv, [
    ['busybox', 'ip', 'addr', 'del', '10.9.0.50/24', 'dev', 'eth0'],
    ['busybox', 'ip', 'route', 'del', '255.255.255.255/32', 'dev', 'eth0'],
  ]);
  assert.is(driver.status().state, 'stopped');
});

test('a configuration that could smuggle arguments into ip is refused before anything runs', async () => {
  const bad: unknown[] = [
    { iface: '-eth0', mode: 'dhcp' },
    { iface: 'eth0 up', mode: 'dhcp' },
    { iface: 'a-very-long-interface-name', mode: 'dhcp' },
    { iface: 'eth0', mode: 'static', address: '10.0.0.1 dev lo', prefix: 24 },
    { iface: 'eth0', mode: 'static', address: '10.0.0.1', prefix: 33 },
    { iface: 'eth0', mode: 'static', address: '10.0.0.1', prefix: 24, gateway: 'router' },
    { iface: 'eth0', mode: 'static', address: '10.0.0.1', prefix: 24, dns: ['1.1.1.1', 'x'] },
    { iface: 'eth0', mode: 'bridge' },
  ];
  const { driver, argv } = recordingDriver(tempDir('net'));
  for (const config of bad) {
    assert.throws(() => validateNetworkConfig(config as NetworkConfig), (err: unknown) => err instanceof NymoteError && err.code === 'ENETCONFIG', JSON.stringify(config));
    try {
      await driver.configure(config as NetworkConfig);
      assert.unreachable('configure should refuse ' + JSON.stringify(config));
    } catch (err) {
      assert.ok(err instanceof NymoteError && err.code === 'ENETCONFIG');
    }
  }
  assert.equal(argv, []);
});

test('resolv.conf is written through a symlink (read-only /etc → /run) and only when it changes', () => {
  const dir = tempDir('net');
  fs.mkdirSync(path.join(dir, 'run'));
  fs.mkdirSync(path.join(dir, 'etc'));
  fs.symlinkSync('../run/resolv.conf', path.join(dir, 'etc', 'resolv.conf'));
  const link = path.join(dir, 'etc', 'resolv.conf');
  assert.ok(writeResolvConf(link, { nameservers: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'], search: 'lan', source: 'test' }));
  assert.ok(fs.lstatSync(link).isSymbolicLink(), 'the link stays a link');
  assert.is(fs.readFileSync(path.join(dir, 'run', 'resolv.conf'), 'utf8'), '# written by nymote (test)\nsearch lan\nnameserver 10.0.0.1\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n');
  assert.not.ok(writeResolvConf(link, { nameservers: ['10.0.0.1', '10.0.0.2', '10.0.0.3'], search: 'lan', source: 'test' }));
});

test('the host fake applies nothing and reports the host addresses', async () => {
  const driver = new HostNetworkDriver();
  const expected = hostAddresses();
  const fromOs = Object.values(os.networkInterfaces())
    .flat()
    .filter((info) => info !== undefined && info.family === 'IPv4' && !info.internal)
    .map((info) => info?.address);
  assert.equal(expected.map((a) => a.address), fromOs);
  let changed: NetworkStatus | undefined;
  driver.on('change', (status) => {
    changed = status;
  });
  await driver.configure({ iface: 'no-such-if0', mode: 'static', address: '203.0.113.9', prefix: 24 });
  assert.is(changed?.state, 'configured');
  assert.is(changed?.mode, 'host');
  assert.not.ok(driver.status().addresses.some((a) => a.address === '203.0.113.9'), 'the static address was not applied');
  assert.equal(driver.status().addresses, expected);
  await driver.stop();
  assert.is(driver.status().state, 'stopped');
  // With a known interface, only its addresses.
  const lo = hostAddresses('lo', { lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: '127.0.0.1/8' }] });
  assert.equal(lo, [{ iface: 'lo', address: '127.0.0.1', prefix: 8 }]);
});

// ------------------------------------------ real DHCP servers across network namespaces

function ensureServers(): void {
  const missing = ['busybox', 'dnsmasq'].filter((tool) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore', env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) execFileSync(path.join(repo, 'scripts/apt-deps.sh'), missing, { stdio: 'inherit' });
}

/** Our client in the client namespace, reporting its status as JSON lines. */
class NamespacedClient {
  readonly statuses: NetworkStatus[] = [];
  stderr = '';
  private readonly process: ChildProcess;
  private stoppedLine = false;

  constructor(ns: string, resolvConfPath: string) {
    const script = path.join(repo, 'test/_lib/netns-dhcp-client.ts');
    const options = JSON.stringify({ iface: 'eth0', resolvConfPath, retransmitMs: 500 });
    this.process = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', script, options], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    this.process.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const text = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        let line: NetworkStatus | { stopped: true };
        try {
          line = JSON.parse(text) as NetworkStatus | { stopped: true };
        } catch {
          this.stderr += `(stdout) ${text}\n`;
          continue;
        }
        if ('stopped' in line) this.stoppedLine = true;
        else this.statuses.push(line);
      }
    });
    this.process.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-20_000);
    });
  }

  async waitFor(check: (status: NetworkStatus) => boolean, ms: number, what: string): Promise<NetworkStatus> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.statuses.find(check);
      if (found !== undefined) return found;
      if (Date.now() > deadline || this.process.exitCode !== null) {
        throw new Error(`timed out waiting for ${what}; statuses: ${this.statuses.map((s) => s.state).join(' ')}\n${this.stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** SIGTERM: the driver releases its lease and the script prints {"stopped":true}. */
  async stop(): Promise<boolean> {
    if (this.process.exitCode !== null) return this.stoppedLine;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    return this.stoppedLine;
  }
}

function startServer(ns: string, argv: string[]): { process: ChildProcess; output: () => string; stop: () => Promise<void> } {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    process: child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function withNamespaces(tag: string, body: (pair: NetnsPair, dir: string) => Promise<void>): Promise<void> {
  const unavailable = netnsUnavailable();
  if (unavailable !== undefined) assert.unreachable(`cannot run a real DHCP exchange: ${unavailable}`);
  ensureServers();
  const pair = createNetnsPair(tag);
  try {
    await body(pair, tempDir('dhcp'));
  } finally {
    pair.remove();
  }
}

function clientAddresses(pair: NetnsPair): string {
  return pair.ip(pair.client, '-4', 'addr', 'show', 'dev', 'eth0');
}

test('real DHCP with dnsmasq: address, route and resolv.conf applied in the namespace; renewal at T1; release on stop', async () => {
  await withNamespaces('d', async (pair, dir) => {
    const leaseFile = path.join(dir, 'dnsmasq.leases');
    const dnsmasq = startServer(pair.server, [
      'dnsmasq',
      '--no-daemon',
      '--conf-file=/dev/null',
      '--port=0',
      '--user=root',
      '--log-facility=-',
      '--log-dhcp',
      '--no-ping', // skips dnsmasq's 3 s ICMP probe of a new address; nothing else changes
      `--interface=${pair.serverIface}`,
      '--bind-interfaces',
      '--dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,2m', // 2 minutes: the shortest lease dnsmasq gives
      '--dhcp-option=option:router,10.77.0.1',
      '--dhcp-option=option:dns-server,10.77.0.1',
      '--dhcp-option=option:domain-name,nymote.test',
      '--dhcp-option=option:T1,3', // renewal 3 s after binding (dnsmasq overrides a T1 below 3 s)
      '--dhcp-option=option:T2,100',
      `--dhcp-leasefile=${leaseFile}`,
      '--pid-file=',
    ]);
    const resolvConf = path.join(dir, 'resolv.conf');
    const client = new NamespacedClient(pair.client, resolvConf);
    try {
      const bound = await client.waitFor((s) => s.state === 'bound', 10_000, 'a lease from dnsmasq');
      const address = bound.addresses[0]?.address ?? '';
      assert.match(address, /^10\.77\.0\.(5\d|[6-9]\d)$/);
      assert.is(bound.gateway, '10.77.0.1');
      assert.is(bound.lease?.leaseSeconds, 120);
      assert.is(bound.lease?.renewalSeconds, 3);
      // Applied for real, by busybox ip inside the client namespace.
      assert.match(clientAddresses(pair), new RegExp(`inet ${address.replaceAll('.', '\\.')}/24 brd 10\\.77\\.0\\.255`));
      assert.match(pair.ip(pair.client, 'route', 'show', 'default'), /default via 10\.77\.0\.1 dev eth0/);
      assert.is(fs.readFileSync(resolvConf, 'utf8'), '# written by nymote (dhcp on eth0)\nsearch nymote.test\nnameserver 10.77.0.1\n');
      assert.match(fs.readFileSync(leaseFile, 'utf8'), new RegExp(`${address.replaceAll('.', '\\.')} nymote-test`), 'dnsmasq recorded the lease and our hostname');

      const renewed = await client.waitFor((s) => s.state === 'bound' && (s.lease?.renewals ?? 0) >= 1, 6000, 'a renewal');
      assert.is(renewed.addresses[0]?.address, address, 'renewal keeps the address');
      assert.ok(client.statuses.some((s) => s.state === 'renewing'));
      assert.ok((dnsmasq.output().match(/DHCPACK/g) ?? []).length >= 2, 'dnsmasq acknowledged the renewal');
    } finally {
      const stopped = await client.stop();
      assert.ok(stopped, `the client stopped cleanly\n${client.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await dnsmasq.stop();
    }
    assert.match(dnsmasq.output(), /DHCPRELEASE/);
    assert.not.match(clientAddresses(pair), /inet 10\.77/, 'the released address is gone from the interface');
  });
});

test('real DHCP with busybox udhcpd: a 4 s lease renews; with the server gone it rebinds, expires, rediscovers', async () => {
  await withNamespaces('u', async (pair, dir) => {
    const conf = path.join(dir, 'udhcpd.conf');
    fs.writeFileSync(
      conf,
      [
        'start 10.77.0.50',
        'end 10.77.0.99',
        `interface ${pair.serverIface}`,
        `lease_file ${path.join(dir, 'udhcpd.leases')}`,
        `pidfile ${path.join(dir, 'udhcpd.pid')}`,
        'min_lease 2',
        'option subnet 255.255.255.0',
        'option router 10.77.0.1',
        'option dns 10.77.0.1',
        'option lease 4',
        '',
      ].join('\n'),
    );
    const udhcpd = (): ReturnType<typeof startServer> => startServer(pair.server, ['busybox', 'udhcpd', '-f', '-a', '100', conf]);
    let server = udhcpd();
    const client = new NamespacedClient(pair.client, path.join(dir, 'resolv.conf'));
    try {
      const bound = await client.waitFor((s) => s.state === 'bound', 8000, 'a lease from udhcpd');
      const address = bound.addresses[0]?.address ?? '';
      assert.is(bound.lease?.leaseSeconds, 4);
      assert.is(bound.lease?.renewalSeconds, 2, 'T1 defaults to half the lease');
      assert.match(clientAddresses(pair), new RegExp(`inet ${address.replaceAll('.', '\\.')}/24`));
      await client.waitFor((s) => (s.lease?.renewals ?? 0) >= 1, 5000, 'a renewal');

      await server.stop();
      const seen = client.statuses.length;
      await client.waitFor((s) => s.state === 'rebinding', 6000, 'rebinding');
      const lost = await client.waitFor((s) => client.statuses.indexOf(s) >= seen && s.state === 'discovering', 6000, 'expiry');
      assert.equal(lost.addresses, []);
      assert.not.match(clientAddresses(pair), /inet 10\.77/, 'the expired address was removed');
      assert.equal(
        client.statuses.slice(seen).map((s) => s.state).filter((state, i, all) => state !== all[i - 1]),
        ['renewing', 'rebinding', 'discovering'],
      );

      server = udhcpd();
      const again = await client.waitFor((s) => client.statuses.indexOf(s) > client.statuses.indexOf(lost) && s.state === 'bound', 8000, 'a new lease');
      assert.match(clientAddresses(pair), new RegExp(`inet ${(again.addresses[0]?.address ?? '').replaceAll('.', '\\.')}/24`));
    } finally {
      await client.stop();
      await server.stop();
    }
  });
});

test.run();
