/**
 * The clock driver: NTP timestamp arithmetic, request encoding and bounded reply parsing,
 * the SNTP sanity checks and kiss-o'-death handling against an in-process server, a real
 * chronyd on 127.0.0.1, and the persisted-time logic that keeps time from going backwards
 * across boots (with an injected "set clock", never the host's).
 */
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NymoteError } from '../../firmware/runtime/errors.js';
import {
  DeviceClockDriver,
  HostClockDriver,
  KissOfDeath,
  SntpClient,
  busyboxDateSetter,
  checkServerReply,
  encodeNtpRequest,
  ntpToUnixMs,
  offsetAndDelay,
  parseNtpPacket,
  parseServerEntry,
  querySntp,
  readPersistedTime,
  requestTimestamp,
  restorePersistedTime,
  unixMsToNtp,
  writePersistedTime,
  type NtpPacket,
  type NtpTimestamp,
} from '../../drivers/clock/index.js';
import { startChrony } from '../_lib/ntp-chrony.js';
import { tempDir } from '../_lib/tmp.js';

const codeIs = (code: string) => (err: unknown): boolean => err instanceof NymoteError && err.code === code;
const HOUR = 3_600_000;
const NOV_2025 = Date.UTC(2025, 10, 1);

// -------------------------------------------------------------------------- timestamps

test('NTP timestamps convert to Unix time in both eras (RFC 4330 §3)', () => {
  assert.equal(unixMsToNtp(0), { seconds: 2_208_988_800, fraction: 0 });
  assert.is(ntpToUnixMs({ seconds: 2_208_988_800, fraction: 0x8000_0000 }), 500);
  // Era 1 starts 2036-02-07T06:28:16Z, where the seconds field wraps to zero.
  assert.is(new Date(ntpToUnixMs({ seconds: 0, fraction: 0 })).toISOString(), '2036-02-07T06:28:16.000Z');
  assert.is(unixMsToNtp(Date.UTC(2036, 1, 7, 6, 28, 17)).seconds, 1);
  for (const ms of [NOV_2025 + 0.25, Date.UTC(2035, 11, 31, 23, 59, 59, 999), Date.UTC(2040, 0, 1, 0, 0, 0, 1), Date.UTC(1999, 0, 1)]) {
    assert.ok(Math.abs(ntpToUnixMs(unixMsToNtp(ms)) - ms) < 0.001, `round trip of ${new Date(ms).toISOString()}`);
  }
});

test('offset and delay from the four timestamps (RFC 5905 §8)', () => {
  // The server is 100 ms ahead, 10 ms each way, 1 ms in the server.
  assert.equal(offsetAndDelay(0, 110, 111, 21), { offsetMs: 100, delayMs: 20 });
  assert.equal(offsetAndDelay(1000, 500, 500, 1010), { offsetMs: -505, delayMs: 10 });
});

test('a request is 48 bytes of version 4, client mode, with only the transmit timestamp set', () => {
  const sent = requestTimestamp(NOV_2025 + 123);
  const packet = encodeNtpRequest(sent);
  assert.is(packet.length, 48);
  assert.is(packet[0], 0x23);
  assert.ok(packet.subarray(1, 40).every((byte) => byte === 0));
  assert.equal({ seconds: packet.readUInt32BE(40), fraction: packet.readUInt32BE(44) }, sent);
  const asMs = ntpToUnixMs(sent);
  assert.ok(asMs >= NOV_2025 + 123 - 1 && asMs < NOV_2025 + 124, 'the timestamp is the send time to the millisecond');
  const another = requestTimestamp(NOV_2025 + 123);
  assert.is.not(another.fraction, sent.fraction, 'the sub-millisecond bits are random');
});

// --------------------------------------------------------------------------- replies

function reply(fields: Partial<NtpPacket> & { originTime: NtpTimestamp }, extraBytes = 0): Buffer {
  const packet = Buffer.alloc(48 + extraBytes);
  packet[0] = ((fields.leap ?? 0) << 6) | ((fields.version ?? 4) << 3) | (fields.mode ?? 4);
  packet[1] = fields.stratum ?? 2;
  packet.writeInt8(fields.poll ?? 6, 2);
  packet.writeInt8(fields.precision ?? -20, 3);
  packet.writeInt32BE(Math.round(((fields.rootDelayMs ?? 10) / 1000) * 65536), 4);
  packet.writeUInt32BE(Math.round(((fields.rootDispersionMs ?? 5) / 1000) * 65536), 8);
  Buffer.from((fields.referenceId ?? 'GPS\0').padEnd(4, '\0').slice(0, 4), 'latin1').copy(packet, 12);
  const write = (ts: NtpTimestamp, at: number): void => {
    packet.writeUInt32BE(ts.seconds, at);
    packet.writeUInt32BE(ts.fraction, at + 4);
  };
  const now = unixMsToNtp(NOV_2025);
  write(fields.referenceTime ?? now, 16);
  write(fields.originTime, 24);
  write(fields.receiveTime ?? now, 32);
  write(fields.transmitTime ?? now, 40);
  return packet;
}

const SENT = unixMsToNtp(NOV_2025 - 5);

test('a reply parses: 16.16 root delay and dispersion, signed precision, reference id by stratum', () => {
  const parsed = parseNtpPacket(reply({ originTime: SENT, stratum: 1, referenceId: 'PPS', rootDelayMs: 500, rootDispersionMs: 250, precision: -23 }));
  assert.is(parsed.mode, 4);
  assert.is(parsed.version, 4);
  assert.is(parsed.stratum, 1);
  assert.is(parsed.precision, -23);
  assert.is(parsed.rootDelayMs, 500);
  assert.is(parsed.rootDispersionMs, 250);
  assert.is(parsed.referenceId, 'PPS');
  assert.equal(parsed.originTime, SENT);
  const stratum2 = reply({ originTime: SENT, stratum: 2 });
  Buffer.from([192, 0, 2, 1]).copy(stratum2, 12);
  assert.is(parseNtpPacket(stratum2).referenceId, '192.0.2.1');
  // Extension fields and a MAC after the header are allowed (and ignored).
  assert.is(parseNtpPacket(reply({ originTime: SENT }, 20)).stratum, 2);
});

test('replies shorter than the header or longer than the limit are rejected', () => {
  const good = reply({ originTime: SENT });
  for (const length of [0, 1, 47]) assert.throws(() => parseNtpPacket(good.subarray(0, length)), codeIs('ENTPPARSE'), `length ${length}`);
  assert.throws(() => parseNtpPacket(Buffer.concat([good, Buffer.alloc(1024 - 47)])), codeIs('ENTPPARSE'));
});

test('the SNTP checks: origin echoed, mode 4, stratum 1–15, leap not 3, non-zero times, sane root distance', () => {
  const check = (fields: Partial<NtpPacket>): void => checkServerReply(parseNtpPacket(reply({ originTime: SENT, ...fields })), SENT, 'test');
  check({});
  check({ stratum: 15, version: 3 });
  assert.throws(() => check({ originTime: unixMsToNtp(NOV_2025) }), codeIs('ENTPORIGIN'));
  assert.throws(() => check({ originTime: { seconds: SENT.seconds, fraction: (SENT.fraction ^ 1) >>> 0 } }), codeIs('ENTPORIGIN'));
  assert.throws(() => check({ mode: 3 }), codeIs('ENTPMODE'));
  assert.throws(() => check({ mode: 5 }), codeIs('ENTPMODE'));
  assert.throws(() => check({ version: 0 }), codeIs('ENTPVERSION'));
  assert.throws(() => check({ version: 7 }), codeIs('ENTPVERSION'));
  assert.throws(() => check({ stratum: 16 }), codeIs('ENTPUNSYNC'));
  assert.throws(() => check({ stratum: 255 }), codeIs('ENTPUNSYNC'));
  assert.throws(() => check({ leap: 3 }), codeIs('ENTPUNSYNC'));
  assert.throws(() => check({ transmitTime: { seconds: 0, fraction: 0 } }), codeIs('ENTPZERO'));
  assert.throws(() => check({ receiveTime: { seconds: 0, fraction: 0 } }), codeIs('ENTPZERO'));
  assert.throws(() => check({ rootDispersionMs: 20_000 }), codeIs('ENTPDIST'));
  assert.throws(() => check({ rootDelayMs: -10 }), codeIs('ENTPDIST'));
  try {
    check({ stratum: 0, referenceId: 'RATE' });
    assert.unreachable('a kiss-o-death is not a time');
  } catch (err) {
    assert.instance(err, KissOfDeath);
    assert.is((err as KissOfDeath).kissCode, 'RATE');
    assert.is((err as KissOfDeath).code, 'ENTPKOD');
  }
});

test('random bytes never make the parser or the checks throw anything but NymoteError', () => {
  let seed = 42;
  const random = (): number => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return seed / 2 ** 32;
  };
  const good = reply({ originTime: SENT });
  for (let round = 0; round < 3000; round++) {
    const packet = round % 2 === 0 ? Buffer.from(good) : Buffer.alloc(Math.floor(random() * 80));
    for (let i = 0; i < packet.length; i++) if (round % 2 === 1 || random() < 0.05) packet[i] = Math.floor(random() * 256);
    try {
      checkServerReply(parseNtpPacket(packet), SENT, 'fuzz');
    } catch (err) {
      assert.ok(err instanceof NymoteError, `round ${round}: ${String(err)}`);
    }
  }
});

// -------------------------------------------------- the client against a scripted server

interface FakeServer {
  port: number;
  requests: number;
  close(): Promise<void>;
}

/** An NTP server on 127.0.0.1 whose answers `respond` decides, from the request and the count. */
async function fakeServer(respond: (request: Buffer, count: number) => Buffer[]): Promise<FakeServer> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const server: FakeServer = {
    port: (socket.address() as AddressInfo).port,
    requests: 0,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (request, from) => {
    server.requests++;
    for (const answer of respond(request, server.requests)) socket.send(answer, from.port, from.address);
  });
  return server;
}

const originOf = (request: Buffer): NtpTimestamp => ({ seconds: request.readUInt32BE(40), fraction: request.readUInt32BE(44) });

/** An honest server whose clock is `offsetMs` ahead of ours. */
function honest(offsetMs: number, fields: Partial<NtpPacket> = {}): (request: Buffer) => Buffer[] {
  return (request) => {
    const now = unixMsToNtp(Date.now() + offsetMs);
    return [reply({ originTime: originOf(request), receiveTime: now, transmitTime: now, ...fields })];
  };
}

test('querySntp measures a server an hour ahead, ignoring forged, stale and oversized packets first', async () => {
  const server = await fakeServer((request) => {
    const [good] = honest(HOUR)(request) as [Buffer];
    const forged = reply({ originTime: unixMsToNtp(Date.now()), transmitTime: unixMsToNtp(Date.now() - 9 * HOUR) });
    const oversized = Buffer.concat([good, Buffer.alloc(2000)]);
    return [forged, Buffer.from('junk'), good.subarray(0, 40), oversized, good];
  });
  try {
    const sample = await querySntp('127.0.0.1', { port: server.port, timeoutMs: 1000 });
    assert.ok(Math.abs(sample.offsetMs - HOUR) < 50, `offset ${sample.offsetMs}`);
    assert.ok(sample.delayMs >= 0 && sample.delayMs < 50, `delay ${sample.delayMs}`);
    assert.is(sample.stratum, 2);
    assert.is(sample.address, '127.0.0.1');
  } finally {
    await server.close();
  }
});

test('only forged answers: a timeout that says why, not a time', async () => {
  const server = await fakeServer(() => [reply({ originTime: unixMsToNtp(Date.now()) })]);
  try {
    await querySntp('127.0.0.1', { port: server.port, timeoutMs: 200 }).then(
      () => assert.unreachable('a forged answer was believed'),
      (err: unknown) => {
        assert.ok(codeIs('ENTPTIMEOUT')(err));
        assert.match((err as Error).message, /origin/);
      },
    );
  } finally {
    await server.close();
  }
});

test('kiss-o-death: DENY bans a server for good, RATE rests it; the next server answers', async () => {
  const deny = await fakeServer((request) => [reply({ originTime: originOf(request), stratum: 0, referenceId: 'DENY' })]);
  const rate = await fakeServer((request) => [reply({ originTime: originOf(request), stratum: 0, referenceId: 'RATE' })]);
  const good = await fakeServer(honest(250));
  try {
    const servers = [`127.0.0.1:${deny.port}`, `127.0.0.1:${rate.port}`, `[::ffff:127.0.0.1]:${good.port}`];
    const client = new SntpClient({ servers, timeoutMs: 500 });
    const first = await client.sample();
    assert.ok(Math.abs(first.offsetMs - 250) < 50);
    assert.is(first.server, servers[2]);
    assert.equal([...client.denied], [servers[0]]);
    assert.is(deny.requests, 1);
    assert.is(rate.requests, 1);
    await client.sample();
    assert.is(deny.requests, 1, 'a denied server is not asked again');
    assert.is(rate.requests, 1, 'a server that said RATE is left alone for a while');
    assert.is(good.requests, 2);
  } finally {
    await Promise.all([deny.close(), rate.close(), good.close()]);
  }
});

test('server entries: host, host:port, IPv6 with and without brackets; nonsense refused', () => {
  assert.equal(parseServerEntry('pool.ntp.org'), { host: 'pool.ntp.org', port: 123 });
  assert.equal(parseServerEntry('10.0.0.1:1123'), { host: '10.0.0.1', port: 1123 });
  assert.equal(parseServerEntry('2001:db8::1'), { host: '2001:db8::1', port: 123 });
  assert.equal(parseServerEntry('[2001:db8::1]:9'), { host: '2001:db8::1', port: 9 });
  assert.equal(parseServerEntry('time.lan', 11123), { host: 'time.lan', port: 11123 });
  for (const bad of ['', 'a:b:c', 'host:0', 'host:65536', 'host:', '[::1]:x', 'two words', 'host;rm']) {
    assert.throws(() => parseServerEntry(bad), codeIs('ENTPCONFIG'), bad);
  }
  assert.throws(() => new SntpClient({ servers: [] }), codeIs('ENTPCONFIG'));
});

test('servers that cannot answer are passed over; with none left the error names each failure', async () => {
  const good = await fakeServer(honest(0));
  const closed = await fakeServer(() => []);
  const closedPort = closed.port;
  await closed.close(); // nothing listens there now: ICMP port unreachable, at once
  try {
    const client = new SntpClient({ servers: ['no-such-host.invalid', '127.0.0.1'], port: good.port, timeoutMs: 500 });
    const sample = await client.sample();
    assert.is(sample.server, '127.0.0.1');
    const none = new SntpClient({ servers: ['no-such-host.invalid', '127.0.0.1'], port: closedPort, timeoutMs: 300 });
    const started = Date.now();
    await none.sample().then(
      () => assert.unreachable('no server should have answered'),
      (err: unknown) => {
        assert.ok(codeIs('ENTPSYNC')(err), String(err));
        assert.match((err as Error).message, /no-such-host\.invalid/);
        assert.match((err as Error).message, /127\.0\.0\.1/);
      },
    );
    assert.ok(Date.now() - started < 2000);
  } finally {
    await good.close();
  }
});

// ----------------------------------------------------------------- a real NTP server

test('against a real chronyd on 127.0.0.1: a small offset, a short delay, its stratum', async () => {
  const chrony = await startChrony();
  try {
    const sample = await querySntp('127.0.0.1', { port: chrony.port, timeoutMs: 2000 });
    assert.ok(Math.abs(sample.offsetMs) < 1000, `offset ${sample.offsetMs} ms`);
    assert.ok(sample.delayMs >= 0 && sample.delayMs < 200, `delay ${sample.delayMs} ms`);
    assert.is(sample.stratum, 8, '`local stratum 8`');

    const host = new HostClockDriver({ servers: ['127.0.0.1'], port: chrony.port });
    const hostResult = await host.sync();
    assert.not.ok(hostResult.stepped, 'the host fake never sets the clock');
    assert.ok(Math.abs(hostResult.offsetMs) < 1000);

    // The device driver on a system clock an hour slow: it steps by the measured offset.
    let skewMs = -HOUR;
    const steps: number[] = [];
    const device = new DeviceClockDriver({
      servers: ['127.0.0.1'],
      port: chrony.port,
      persistPath: path.join(tempDir('clock'), 'clock'),
      nowMs: () => Date.now() + skewMs,
      setClock: async (unixMs) => {
        steps.push(unixMs);
        skewMs = unixMs - Date.now();
      },
      syncOnStart: false,
    });
    const result = await device.sync();
    assert.ok(result.stepped);
    assert.ok(Math.abs(result.offsetMs - HOUR) < 1000, `offset ${result.offsetMs}`);
    assert.is(steps.length, 1);
    assert.ok(Math.abs(device.now().getTime() - Date.now()) < 1000, 'after the step the clock agrees with the server');
  } finally {
    await chrony.stop();
  }
});

// ------------------------------------------------------- the device driver and its file

interface FakeSystemClock {
  nowMs: () => number;
  setClock: (unixMs: number) => Promise<void>;
  sets: number[];
  skewMs: number;
}

/** A system clock `startMs` at the start, ticking with real time; setClock moves it. */
function systemClock(startMs: number, fail = false): FakeSystemClock {
  const clock: FakeSystemClock = {
    skewMs: startMs - Date.now(),
    sets: [],
    nowMs: () => Date.now() + clock.skewMs,
    setClock: async (unixMs) => {
      clock.sets.push(unixMs);
      if (fail) throw new NymoteError('ECLOCKSET', 'busybox date -s failed: Operation not permitted');
      clock.skewMs = unixMs - Date.now();
    },
  };
  return clock;
}

function deviceWith(file: string, clock: FakeSystemClock, extra: ConstructorParameters<typeof DeviceClockDriver>[0] = {}): DeviceClockDriver {
  return new DeviceClockDriver({ persistPath: file, nowMs: clock.nowMs, setClock: clock.setClock, syncOnStart: false, servers: ['127.0.0.1'], ...extra });
}

test('the persisted file: written durably, read back, and damage reported rather than believed', () => {
  const dir = tempDir('clock');
  const file = path.join(dir, 'clock');
  assert.is(readPersistedTime(file), undefined);
  writePersistedTime(file, NOV_2025 + 0.7);
  assert.equal(readPersistedTime(file), { unixMs: NOV_2025 });
  assert.match(fs.readFileSync(file, 'utf8'), /"iso":"2025-11-01T00:00:00.000Z"/);
  assert.equal(fs.readdirSync(dir), ['clock'], 'no temp files left');
  for (const damage of ['', 'not json', '{}', '{"unixMs":"soon"}', '{"unixMs":5000}', '{"unixMs":1e300}', 'null']) {
    fs.writeFileSync(file, damage);
    assert.throws(() => readPersistedTime(file), codeIs('ECLOCKFILE'), JSON.stringify(damage));
  }
});

test('restore sets the clock forward only when it is behind the persisted time', async () => {
  const sets: number[] = [];
  const set = async (ms: number): Promise<void> => {
    sets.push(ms);
  };
  assert.is(await restorePersistedTime({ unixMs: NOV_2025 }, 5000, set), NOV_2025);
  assert.is(await restorePersistedTime({ unixMs: NOV_2025 }, NOV_2025 + 1, set), undefined);
  assert.is(await restorePersistedTime(undefined, 5000, set), undefined);
  assert.equal(sets, [NOV_2025]);
});

test('across boots time never goes backwards: a 1970 boot resumes from the last persisted time', async () => {
  const file = path.join(tempDir('clock'), 'clock');
  // Boot 1: the clock is right (say NTP set it), the driver persists at stop.
  const first = systemClock(NOV_2025);
  const boot1 = deviceWith(file, first);
  await boot1.start();
  await new Promise((resolve) => setTimeout(resolve, 20));
  await boot1.stop();
  const persisted = readPersistedTime(file)?.unixMs ?? 0;
  assert.ok(persisted >= NOV_2025 + 20, 'stop() persisted the time');
  assert.equal(first.sets, [], 'a clock ahead of the file is left alone');

  // Boot 2: no RTC, the board starts at the epoch.
  const second = systemClock(12_000);
  const boot2 = deviceWith(file, second);
  await boot2.start();
  assert.equal(second.sets, [persisted]);
  assert.is(boot2.restoredToMs, persisted);
  assert.ok(boot2.now().getTime() >= persisted);
  await boot2.stop();
  assert.ok((readPersistedTime(file)?.unixMs ?? 0) >= persisted);
});

test('when setting the clock fails, start() still succeeds and the file is not overwritten with 1970', async () => {
  const file = path.join(tempDir('clock'), 'clock');
  writePersistedTime(file, NOV_2025);
  const clock = systemClock(12_000, true);
  const device = deviceWith(file, clock);
  await device.start();
  assert.equal(clock.sets, [NOV_2025]);
  assert.is(device.restoredToMs, undefined);
  device.persist();
  await device.stop();
  assert.equal(readPersistedTime(file), { unixMs: NOV_2025 });
});

test('a damaged file does not stop the boot, and 1970 is never persisted', async () => {
  const file = path.join(tempDir('clock'), 'clock');
  fs.writeFileSync(file, '{"unixMs": 12');
  const clock = systemClock(12_000);
  const device = deviceWith(file, clock);
  await device.start();
  await device.stop();
  assert.equal(clock.sets, []);
  assert.is(fs.readFileSync(file, 'utf8'), '{"unixMs": 12', 'left alone: an unbelievable time is not written');
});

test('the time is persisted periodically while running', async () => {
  const file = path.join(tempDir('clock'), 'clock');
  const clock = systemClock(NOV_2025);
  const device = deviceWith(file, clock, { persistEveryMs: 40 });
  await device.start();
  await new Promise((resolve) => setTimeout(resolve, 60));
  const early = readPersistedTime(file)?.unixMs ?? 0;
  await new Promise((resolve) => setTimeout(resolve, 100));
  const later = readPersistedTime(file)?.unixMs ?? 0;
  await device.stop();
  assert.ok(early >= NOV_2025 + 30, 'written after the first period');
  assert.ok(later >= early + 40, `and again (${early} → ${later})`);
});

test('sync steps the clock only beyond the threshold, and persists the synced time', async () => {
  const far = await fakeServer(honest(2 * HOUR));
  const near = await fakeServer(honest(20));
  try {
    const file = path.join(tempDir('clock'), 'clock');
    const clock = systemClock(Date.now());
    const small = deviceWith(file, clock, { port: near.port });
    const unstepped = await small.sync();
    assert.not.ok(unstepped.stepped, `offset ${unstepped.offsetMs} ms is under the 128 ms threshold`);
    assert.equal(clock.sets, []);
    assert.ok(Math.abs(unstepped.offsetMs - 20) < 15, `offset ${unstepped.offsetMs}`);

    const big = deviceWith(file, clock, { port: far.port });
    const stepped = await big.sync();
    assert.ok(stepped.stepped);
    assert.is(clock.sets.length, 1);
    const serverNow = Date.now() + 2 * HOUR;
    assert.ok(Math.abs(clock.nowMs() - serverNow) < 100, 'the clock now reads the server time');
    assert.ok(Math.abs((readPersistedTime(file)?.unixMs ?? 0) - serverNow) < 100, 'and that time is persisted');
  } finally {
    await Promise.all([far.close(), near.close()]);
  }
});

test('start() syncs in the background and retries a failed sync with back-off', async () => {
  const server = await fakeServer((request, count) => (count <= 2 ? [] : honest(HOUR)(request)));
  try {
    const clock = systemClock(NOV_2025);
    const device = deviceWith(path.join(tempDir('clock'), 'clock'), clock, {
      port: server.port,
      timeoutMs: 100,
      firstRetryMs: 30,
      syncOnStart: true,
    });
    await device.start();
    const deadline = Date.now() + 3000;
    while (device.lastSync === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await device.stop();
    assert.ok(device.lastSync?.stepped, 'synced and stepped in the end');
    assert.is(server.requests, 3);
  } finally {
    await server.close();
  }
});

test('busybox date is run as argv at the whole second of true time', async () => {
  const argv: string[][] = [];
  let ranAtTrueMs = 0;
  const offsetMs = 5 * HOUR + 321.5;
  const setter = busyboxDateSetter({
    run: async (args) => {
      argv.push(args);
      ranAtTrueMs = Date.now() + offsetMs;
    },
  });
  await setter(Date.now() + offsetMs);
  const second = Number(argv[0]?.[3]?.slice(1));
  assert.equal(argv, [['busybox', 'date', '-s', `@${second}`]]);
  assert.ok(ranAtTrueMs >= second * 1000 - 1 && ranAtTrueMs < second * 1000 + 30, `ran ${ranAtTrueMs - second * 1000} ms after the second`);
  // The applet reads the same @SECONDS form (shown with -d, which leaves the host's clock alone).
  try {
    execFileSync('busybox', ['true'], { stdio: 'ignore' });
  } catch {
    execFileSync(path.resolve(import.meta.dirname, '../../scripts/apt-deps.sh'), ['busybox'], { stdio: 'inherit' });
  }
  assert.is(execFileSync('busybox', ['date', '-u', '-d', `@${second}`, '+%s'], { encoding: 'utf8' }).trim(), String(second));
});

test.run();
