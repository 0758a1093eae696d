/**
 * The authoritative DNS server of `nymote run`, asked by dig and kdig and checked by delv, an
 * independent DNSSEC validator given only the zone's DNSKEY as trust anchor: answers (SOA, NS,
 * A, SRV with additional addresses, TXT, DNSKEY), NXDOMAIN and NODATA with NSEC proofs that
 * validate, truncation and the retry over TCP, ANY, the owner's records set with `nymote zone
 * set` (checked whole first), and bad input answered in DNS's own terms or dropped.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nymote, startInstance, tool, type Instance } from '../_lib/cli.js';
import { git } from '../_lib/git.js';
import { tempDir } from '../_lib/tmp.js';

let data: string;
let instance: Instance;
let port: number;
let origin: string;

function dig(args: string[]): string {
  const result = tool('dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=5', ...args]);
  assert.is(result.status, 0, result.stderr + result.stdout);
  return result.stdout;
}

function kdig(args: string[]): string {
  const result = tool('kdig', ['@127.0.0.1', '-p', String(port), '+retry=0', '+timeout=5', ...args]);
  assert.is(result.status, 0, result.stderr + result.stdout);
  return result.stdout;
}

/** The answer lines of `dig +short`-like output: records of one section, tabs collapsed. */
function section(output: string, name: 'ANSWER' | 'AUTHORITY' | 'ADDITIONAL'): string[] {
  const match = new RegExp(`;; ${name} SECTION:\\n([\\s\\S]*?)(\\n\\n|$)`).exec(output);
  return match === null ? [] : match[1]!.split('\n').map((line) => line.replace(/\s+/g, ' ').trim());
}

function status(output: string): string {
  return /status: (\w+)/.exec(output)?.[1] ?? '?';
}

function flags(output: string): string[] {
  return (/;; flags: ([a-z ]+);/.exec(output)?.[1] ?? '').trim().split(' ');
}

/** Sends raw bytes over UDP and resolves with the reply, or undefined after `ms`. */
function rawQuery(bytes: Buffer, ms = 1000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => (socket.close(), resolve(undefined)), ms);
    socket.on('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    });
    socket.send(bytes, port, '127.0.0.1');
  });
}

function header(id: number, flagsWord: number, counts: [number, number, number, number]): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(flagsWord, 2);
  counts.forEach((count, i) => out.writeUInt16BE(count, 4 + i * 2));
  return out;
}

function wireName(name: string): Buffer {
  return Buffer.concat([...name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
}

test.before(async () => {
  data = tempDir('dns');
  assert.is(nymote(['user', 'add', 'alice', '--password-stdin', '--data', data], { input: 'dns-secret-pass-1\n' }).status, 0);
  instance = await startInstance(data);
  port = 1053 + instance.portBase;
  const shown = nymote(['zone', 'show', '--data', data, '--port-base', String(instance.portBase)]);
  assert.is(shown.status, 0, shown.stderr);
  origin = /^\$ORIGIN (\S+)/m.exec(shown.stdout)![1]!;
});

test.after(async () => {
  await instance.stop();
});

async function jitsuDetail(): Promise<string> {
  const health = (await (await fetch(`${instance.httpUrl}/health`)).json()) as { services: Record<string, { detail?: string }> };
  return health.services.jitsu?.detail ?? '';
}

test('Jitsu: DAV starts parked, a lookup of its SRV name summons it, /health says so', async () => {
  assert.is(await jitsuDetail(), 'dav parked');
  dig([`_caldavs._tcp.${origin}`, 'SRV']);
  const deadline = Date.now() + 5000;
  while ((await jitsuDetail()) !== 'dav summoned' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.is(await jitsuDetail(), 'dav summoned');
});

test('Jitsu: the first request to a parked service is answered, without a retry', async () => {
  const other = tempDir('dns-jitsu');
  assert.is(nymote(['user', 'add', 'bob', '--password-stdin', '--data', other], { input: 'dns-secret-pass-1\n' }).status, 0);
  const parked = await startInstance(other);
  try {
    const reply = tool('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-u', 'bob:dns-secret-pass-1', '-X', 'PROPFIND', '-H', 'depth: 0', `${parked.httpUrl}/dav/bob/`]);
    assert.is(reply.stdout, '207');
    // The log arrives through a pipe: give it a moment.
    const deadline = Date.now() + 3000;
    while (!/msg="summoned"/.test(parked.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.match(parked.output(), /svc=jitsu msg="summoned" service=dav ms=\d+/, parked.output());
  } finally {
    await parked.stop();
  }
});

test('the zone as served: SOA, NS, the address, DNSKEY; authoritative, no recursion', () => {
  assert.is(origin, 'nymote.home.arpa.');
  const soa = dig([origin, 'SOA']);
  assert.is(status(soa), 'NOERROR');
  assert.ok(flags(soa).includes('aa') && !flags(soa).includes('ra'), soa);
  assert.match(section(soa, 'ANSWER')[0]!, new RegExp(`^${origin} 3600 IN SOA ns.${origin} hostmaster.${origin} \\d+ 3600 900 1209600 300$`));
  assert.equal(section(dig([origin, 'A']), 'ANSWER'), [`${origin} 3600 IN A 127.0.0.1`]);
  const ns = dig([origin, 'NS']);
  assert.equal(section(ns, 'ANSWER'), [`${origin} 3600 IN NS ns.${origin}`]);
  assert.ok(section(ns, 'ADDITIONAL').includes(`ns.${origin} 3600 IN A 127.0.0.1`), ns);
  assert.match(section(dig([origin, 'DNSKEY']), 'ANSWER')[0]!, /IN DNSKEY 257 3 15 \S+/);
});

test('discovery records (RFC 6764): SRV with the ports this instance serves, TXT with the path', () => {
  const srv = kdig(['_caldavs._tcp.' + origin, 'SRV']);
  assert.match(srv, new RegExp(`_caldavs\\._tcp\\.${origin}\\s+3600\\s+IN\\s+SRV\\s+0 1 ${8443 + instance.portBase} ${origin}`));
  assert.match(srv, new RegExp(`${origin}\\s+3600\\s+IN\\s+A\\s+127\\.0\\.0\\.1`), 'the target address comes along');
  assert.equal(section(dig(['_carddav._tcp.' + origin, 'TXT']), 'ANSWER'), [`_carddav._tcp.${origin} 3600 IN TXT "path=/dav/"`]);
});

test('DNSSEC: signed answers, NXDOMAIN and NODATA proofs, all validated by delv with the DNSKEY as anchor', () => {
  const key = /IN\s+DNSKEY\s+257 3 15 (\S+)/.exec(dig([origin, 'DNSKEY']))![1]!;
  const anchors = path.join(data, 'anchors.conf');
  fs.writeFileSync(anchors, `trust-anchors { "${origin}" static-key 257 3 15 "${key}"; };\n`);
  const delv = (name: string, type: string) => {
    const result = tool('delv', ['@127.0.0.1', '-p', String(port), '-a', anchors, `+root=${origin}`, name, type]);
    return result.stdout + result.stderr;
  };
  assert.match(delv(origin, 'SOA'), /; fully validated/);
  assert.match(delv(`_caldavs._tcp.${origin}`, 'SRV'), /; fully validated/);
  assert.match(delv(`missing.${origin}`, 'A'), /; negative response, fully validated/);
  assert.match(delv(origin, 'MX'), /; negative response, fully validated/, 'NODATA at the apex');
  assert.match(delv(`_tcp.${origin}`, 'A'), /; negative response, fully validated/, 'an empty non-terminal');

  const nx = dig(['+dnssec', `nothere.${origin}`, 'A']);
  assert.is(status(nx), 'NXDOMAIN');
  const nsecs = section(nx, 'AUTHORITY').filter((line) => line.split(' ')[3] === 'NSEC');
  assert.is(nsecs.length, 2, nx);
  // Minimal ranges: the NSEC covering the name starts just before it and ends just after it
  // and its subtree, so the zone cannot be walked.
  assert.ok(nsecs.some((line) => line.startsWith(`notherd.${origin} 300 IN NSEC nothere\\000.${origin} RRSIG NSEC`)), nx);
  const bogusAnchor = path.join(data, 'bogus.conf');
  fs.writeFileSync(bogusAnchor, `trust-anchors { "${origin}" static-key 257 3 15 "${Buffer.alloc(32, 7).toString('base64')}"; };\n`);
  const bogus = tool('delv', ['@127.0.0.1', '-p', String(port), '-a', bogusAnchor, `+root=${origin}`, origin, 'SOA']);
  assert.not.match(bogus.stdout + bogus.stderr, /fully validated/, 'a wrong anchor does not validate');
});

test('truncation: too big for the payload size → TC, then dig retries over TCP and gets it all', () => {
  const records = Array.from({ length: 40 }, (_, i) => `big TXT "${'x'.repeat(60)}-${i}"`).join('\n');
  const file = path.join(data, 'big.zone');
  fs.writeFileSync(file, `$ORIGIN ${origin}\n${records}\n`);
  const set = nymote(['zone', 'set', file, '--data', data]);
  assert.is(set.status, 0, set.stderr);
  const deadline = Date.now() + 10_000;
  while (status(dig(['+tcp', `big.${origin}`, 'TXT'])) !== 'NOERROR' && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  const udp = dig(['+ignore', '+bufsize=1232', `big.${origin}`, 'TXT']);
  assert.ok(flags(udp).includes('tc'), udp);
  assert.is(section(udp, 'ANSWER').length, 0);
  const classic = dig(['+ignore', '+noedns', `big.${origin}`, 'TXT']);
  assert.ok(flags(classic).includes('tc'), 'without EDNS the limit is 512 bytes');
  const retried = dig([`big.${origin}`, 'TXT']);
  assert.is(section(retried, 'ANSWER').length, 40, retried);
  assert.match(retried, /;; Truncated, retrying in TCP mode|SERVER: 127\.0\.0\.1#\d+\(127\.0\.0\.1\) \(TCP\)/);
});

test('zone set: a bad file is one line on stderr, non-zero, nothing stored; a good one is served and in git log', () => {
  const gitDir = path.join(data, 'store', 'alice.git');
  const before = git(gitDir, ['rev-list', '--count', 'main']).trim();
  const bad = path.join(data, 'bad.zone');
  fs.writeFileSync(bad, `$ORIGIN ${origin}\nwww A 192.0.2.300\n`);
  const refused = nymote(['zone', 'set', bad, '--data', data]);
  assert.is(refused.status, 1);
  assert.is(refused.stderr.trim().split('\n').length, 1, refused.stderr);
  assert.match(refused.stderr, /line 2: A: expected an IPv4 address/);
  fs.writeFileSync(bad, `$ORIGIN ${origin}\nwww CNAME a\nwww A 192.0.2.1\n`);
  assert.match(nymote(['zone', 'set', bad, '--data', data]).stderr, /CNAME and other records/);
  fs.writeFileSync(bad, `$ORIGIN ${origin}\nwww.example.org. A 192.0.2.1\n`);
  assert.match(nymote(['zone', 'set', bad, '--data', data]).stderr, /outside the zone/);
  assert.is(git(gitDir, ['rev-list', '--count', 'main']).trim(), before, 'nothing committed');

  const good = path.join(data, 'good.zone');
  fs.writeFileSync(good, `$ORIGIN ${origin}\n$TTL 300\nwww A 192.0.2.80\n    AAAA 2001:db8::80\nblog CNAME www\n@ MX 10 mail.example.org.\n`);
  assert.is(nymote(['zone', 'set', good, '--data', data]).status, 0);
  assert.match(git(gitDir, ['log', '-1', '--format=%s', 'main']), /^zone: set nymote\.home\.arpa\./);
  const deadline = Date.now() + 10_000;
  let answer = '';
  while (Date.now() < deadline && !/192\.0\.2\.80/.test(answer)) answer = dig([`blog.${origin}`, 'A']);
  assert.equal(section(answer, 'ANSWER'), [`blog.${origin} 300 IN CNAME www.${origin}`, `www.${origin} 300 IN A 192.0.2.80`]);
  assert.equal(section(dig([`www.${origin}`, 'AAAA']), 'ANSWER'), [`www.${origin} 300 IN AAAA 2001:db8::80`]);
  assert.equal(section(dig([origin, 'MX']), 'ANSWER'), [`${origin} 300 IN MX 10 mail.example.org.`]);
});

test('ANY: one HINFO over UDP (RFC 8482), every set over TCP; names echoed in the case asked', () => {
  // dig asks ANY over TCP unless told otherwise.
  const udp = dig(['+notcp', origin, 'ANY']);
  assert.equal(section(udp, 'ANSWER'), [`${origin} 3600 IN HINFO "RFC8482" ""`]);
  const tcp = section(dig(['+tcp', origin, 'ANY']), 'ANSWER').map((line) => line.split(' ')[3]);
  for (const type of ['SOA', 'NS', 'A', 'DNSKEY', 'MX']) assert.ok(tcp.includes(type), `${type} in ${tcp.join(',')}`);
  for (let i = 0; i < 2; i++) {
    // The second time comes from the answer cache: still the client's spelling.
    const mixed = dig(['+qr', `NyMoTe.HoMe.ArPa.`, 'SOA']);
    assert.match(mixed, /;NyMoTe\.HoMe\.ArPa\.\s+IN\s+SOA/);
    assert.match(section(mixed, 'ANSWER')[0]!, /^NyMoTe\.HoMe\.ArPa\. /);
  }
});

test('refusals in DNS terms: other zones, zone transfers, CHAOS, EDNS version 1, other opcodes', async () => {
  assert.is(status(dig(['example.com.', 'A'])), 'REFUSED');
  assert.ok(!flags(dig(['example.com.', 'A'])).includes('aa'));
  assert.is(status(dig(['-c', 'CH', 'version.bind.', 'TXT'])), 'REFUSED');
  assert.is(status(dig(['+edns=1', '+noednsnegotiation', origin, 'SOA'])), 'BADVERS');
  const notify = await rawQuery(Buffer.concat([header(7, 4 << 11, [1, 0, 0, 0]), wireName(origin), Buffer.from([0, 6, 0, 1])]));
  assert.is(notify!.readUInt16BE(2) & 0xf, 4, 'NOTIFY: NOTIMP');
});

test("zone transfers: only with the owner's TSIG key; signed back; anything else refused", async () => {
  const key = nymote(['zone', 'transfer-key', '--data', data]);
  assert.is(key.status, 0, key.stderr);
  assert.match(key.stdout, /^hmac-sha256:nymote-transfer:[A-Za-z0-9+/]{43}=\n$/);
  const axfr = (args: string[]) => tool('kdig', ['@127.0.0.1', '-p', String(port), '+retry=0', '+timeout=5', ...args, origin, 'AXFR']);
  const signed = axfr(['-y', key.stdout.trim()]);
  assert.is(signed.status, 0, signed.stdout + signed.stderr);
  const records = signed.stdout.split('\n').filter((line) => line.startsWith(origin) || line.startsWith('_') || line.startsWith('ns.'));
  assert.match(records[0]!, /\sSOA\s/);
  assert.match(records.at(-1)!, /\sSOA\s/);
  for (const type of ['NS', 'A', 'DNSKEY', 'SRV', 'TXT']) assert.ok(records.some((line) => new RegExp(`\\s${type}\\s`).test(line)), `${type} in the transfer`);
  // dig checks the TSIG on the answer: a wrong MAC back would fail here.
  const digSigned = tool('dig', ['@127.0.0.1', '-p', String(port), '-y', key.stdout.trim(), origin, 'AXFR']);
  assert.match(digSigned.stdout, /;; XFR size: \d+ records/);
  assert.not.match(digSigned.stdout, /tsig verify failure|Transfer failed/);

  const unsigned = axfr([]);
  assert.match(unsigned.stdout + unsigned.stderr, /REFUSED/);
  const wrong = axfr(['-y', `hmac-sha256:nymote-transfer:${Buffer.alloc(32, 1).toString('base64')}`]);
  assert.match(wrong.stdout + wrong.stderr, /NOTAUTH|BADSIG/);
  const otherName = axfr(['-y', `hmac-sha256:someone-else:${key.stdout.trim().split(':')[2]}`]);
  assert.match(otherName.stdout + otherName.stderr, /NOTAUTH|BADKEY/);
  // A zone too big for one 64 KiB message: SERVFAIL for the transfer, and the server carries on.
  const huge = path.join(data, 'huge.zone');
  fs.writeFileSync(huge, `$ORIGIN ${origin}\n${Array.from({ length: 800 }, (_, i) => `t${i} TXT "${'y'.repeat(100)}"`).join('\n')}\n`);
  assert.is(nymote(['zone', 'set', huge, '--data', data]).status, 0);
  const deadline = Date.now() + 10_000;
  while (status(dig([`t799.${origin}`, 'TXT'])) !== 'NOERROR' && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  const tooBig = tool('dig', ['@127.0.0.1', '-p', String(port), '-y', key.stdout.trim(), origin, 'AXFR']);
  assert.match(tooBig.stdout + tooBig.stderr, /Transfer failed/);
  const logged = Date.now() + 3000;
  while (!/dns answer failed/.test(instance.output()) && Date.now() < logged) await new Promise((r) => setTimeout(r, 20));
  assert.match(instance.output(), /msg="dns answer failed" error="message over 65535 bytes"/);
  assert.is(status(dig([origin, 'SOA'])), 'NOERROR');
  // dig and kdig always ask AXFR over TCP: over UDP it takes a hand-made query.
  const overUdp = await rawQuery(Buffer.concat([header(11, 0, [1, 0, 0, 0]), wireName(origin), Buffer.from([0, 252, 0, 1])]));
  assert.is(overUdp!.readUInt16BE(2) & 0xf, 4, 'no transfers over UDP: NOTIMP');
});

test('bad packets: FORMERR when the header says query, silence otherwise; the server keeps answering', async () => {
  const question = Buffer.concat([wireName(origin), Buffer.from([0, 6, 0, 1])]);
  const loop = Buffer.concat([header(1, 0, [1, 0, 0, 0]), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
  const forward = Buffer.concat([header(2, 0, [1, 0, 0, 0]), Buffer.from([0xc0, 40, 0, 1, 0, 1])]);
  const overCount = Buffer.concat([header(3, 0, [1, 5, 0, 0]), question]);
  const longLabel = Buffer.concat([header(4, 0, [1, 0, 0, 0]), Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0, 0, 1, 0, 1])]);
  const twoQuestions = Buffer.concat([header(5, 0, [2, 0, 0, 0]), question, question]);
  for (const packet of [loop, forward, overCount, longLabel, twoQuestions]) {
    const reply = await rawQuery(packet);
    assert.ok(reply !== undefined, `a reply to packet ${packet.readUInt16BE(0)}`);
    assert.is(reply!.readUInt16BE(0), packet.readUInt16BE(0));
    assert.is(reply!.readUInt16BE(2) & 0x800f, 0x8001, 'QR and FORMERR');
  }
  for (const silent of [Buffer.alloc(0), Buffer.alloc(11), Buffer.concat([header(9, 0x8000, [1, 0, 0, 0]), question]), Buffer.alloc(5000, 0xff)]) {
    assert.is(await rawQuery(silent, 300), undefined, `no reply to ${silent.length} bytes`);
  }
  assert.is(status(dig([origin, 'SOA'])), 'NOERROR');
  const health = (await (await fetch(`${instance.httpUrl}/health`)).json()) as { services: Record<string, { detail?: string }> };
  const malformed = Number(/(\d+) malformed/.exec(health.services.dns?.detail ?? '')?.[1]);
  assert.ok(malformed >= 8, `counted: ${health.services.dns?.detail}`);
});

test('rate limiting: over the rate, UDP answers are dropped or slipped as TC; TCP is not limited', async () => {
  const limitedData = tempDir('dns-rrl');
  const limited = await startInstance(limitedData, ['--dns-rate-limit', '5']);
  try {
    const limitedPort = 1053 + limited.portBase;
    const socket = dgram.createSocket('udp4');
    const replies: Buffer[] = [];
    socket.on('message', (reply) => replies.push(reply));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const query = (id: number) => Buffer.concat([header(id, 0, [1, 0, 0, 0]), wireName(origin), Buffer.from([0, 6, 0, 1])]);
    for (let id = 0; id < 60; id++) socket.send(query(id), limitedPort, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 500));
    socket.close();
    const full = replies.filter((r) => (r.readUInt16BE(2) & 0x0200) === 0);
    const slipped = replies.filter((r) => (r.readUInt16BE(2) & 0x0200) !== 0);
    assert.ok(full.length >= 5 && full.length <= 7, `${full.length} full answers for a rate of 5/s`);
    assert.ok(slipped.length >= 20 && slipped.length <= 30, `every second limited answer slips as TC: ${slipped.length}`);
    const tcp = tool('dig', ['@127.0.0.1', '-p', String(limitedPort), '+tcp', '+tries=1', origin, 'SOA']);
    assert.is(status(tcp.stdout), 'NOERROR');
  } finally {
    await limited.stop();
  }
});

test.run();
