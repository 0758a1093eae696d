/**
 * native/dnswire: concrete cases, each run against both the addon and the JS twin — real
 * messages from dig, dnsmasq and Knot, every RFC 9267 rule, round trips of every type in
 * DNS_TYPE, compression, escapes in names, number edges — and the engine in
 * firmware/native.ts. Needs the host addon (make native).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { DNSWIRE_ADDON_FUNCTIONS, dnswire as dnswireEngine, loadAddon } from '../../firmware/native.js';
import { DNS_CLASS_IN, DNS_TYPE, type DnsMessage, type DnsRecord, type DnswireAddon, type DnswireBinding } from '../../native/dnswire/binding.js';
import { nameToWire } from '../../native/dnswire/names.js';
import { dnswireTwin } from '../../native/dnswire/twin.js';
import { tempDir } from '../_lib/tmp.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

function requireAddon(): DnswireAddon {
  const load = loadAddon<DnswireAddon>('dnswire', DNSWIRE_ADDON_FUNCTIONS);
  if (load.addon === undefined) assert.unreachable(`dnswire addon not loadable (run make native): ${load.reason}`);
  return load.addon as DnswireAddon;
}

const implementations: ReadonlyArray<[string, DnswireBinding]> = [
  ['addon', requireAddon()],
  ['twin', dnswireTwin],
];

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const wireName = (name: string): Buffer => nameToWire(name);
/** decode() gives plain Uint8Arrays, and deep equality tells them from Buffers. */
const plain = (data: Uint8Array): Uint8Array => Uint8Array.from(data);

/** A 12-byte header: id 0x1234, flags 0, then the four counts. */
function header(questions: number, answers = 0, authorities = 0, additionals = 0): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(0x1234, 0);
  [questions, answers, authorities, additionals].forEach((count, i) => out.writeUInt16BE(count, 4 + 2 * i));
  return out;
}

const u16 = (value: number): Buffer => Buffer.from([value >> 8, value & 0xff]);

/** type, class IN, TTL 60, RDLENGTH, RDATA: what follows an owner name. */
function recordTail(type: number, rdata: Uint8Array, rdlength = rdata.length): Buffer {
  return Buffer.concat([u16(type), u16(1), hex('0000003c'), u16(rdlength), rdata]);
}

interface Thrown {
  name: string;
  code: unknown;
  message: string;
}

function thrownBy(call: () => unknown): Thrown {
  try {
    call();
  } catch (error) {
    assert.instance(error, Error);
    return { name: (error as Error).name, code: (error as { code?: unknown }).code, message: (error as Error).message };
  }
  return assert.unreachable('expected a throw') as never;
}

/** Both implementations throw a RangeError with `code` (and the very same message) for `wire`. */
function rejects(wire: Uint8Array, code: string): void {
  const [[, addon], [, twin]] = implementations;
  const fromAddon = thrownBy(() => addon!.decode(wire));
  assert.equal(fromAddon, thrownBy(() => twin!.decode(wire)), 'addon and twin differ');
  assert.is(fromAddon.name, 'RangeError', fromAddon.message);
  assert.is(fromAddon.code, code, fromAddon.message);
}

/** Both implementations decode `wire` to equal messages; returns the addon's. */
function decodesAlike(wire: Uint8Array): DnsMessage {
  const [[, addon], [, twin]] = implementations;
  const message = addon!.decode(wire);
  assert.equal(message, twin!.decode(wire));
  return message;
}

function encodesAlike(message: DnsMessage): Buffer {
  const [[, addon], [, twin]] = implementations;
  const out = addon!.encode(message);
  assert.equal(out.toString('hex'), twin!.encode(message).toString('hex'));
  return out;
}

function message(parts: Partial<DnsMessage>): DnsMessage {
  return { id: 0x1234, flags: 0, questions: [], answers: [], authorities: [], additionals: [], ...parts };
}

function record(name: string, type: number, data: Uint8Array, ttl = 300): DnsRecord {
  return { name, type, class: DNS_CLASS_IN, ttl, data: plain(data) };
}

// Captured on this machine: dig 9.18 → dnsmasq 2.90 and Knot DNS 3.
const DIG_QUERY = hex(`113f 0120 0001 0000 0000 0001 03777777076578616d706c650474657374 00 0001 0001
  00 0029 04d0 00000000 000c 000a0008c63c292fb1c0245c`);
const DNSMASQ_CNAME = hex(`067d 8180 0001 0002 0000 0001 03667470076578616d706c6504746573740000010001
  c00c 0005 0001 00000258 0012 03777777076578616d706c65047465737400
  c02e 0001 0001 00000258 0004 c0000201 00002904d0000000000000`);
const KNOT_NS = hex(`ce45 8400 0001 0002 0000 0004 076578616d706c6504746573740000020001
  c00c 0002 0001 00000e10 0006 036e7331c00c  c00c 0002 0001 00000e10 0006 036e7332c00c
  c02a 0001 0001 00000e10 0004 c0000235  c02a 001c 0001 00000e10 0010 20010db8000000000000000000000053
  c03c 0001 0001 00000e10 0004 c6336435  00002904d0000000000000`);

// ---------------------------------------------------------------------------------------------

const real = suite('dnswire: real messages');

real('a dig query: one question and an OPT with a cookie', () => {
  assert.equal(decodesAlike(DIG_QUERY), {
    id: 0x113f,
    flags: 0x0120,
    questions: [{ name: 'www.example.test.', type: DNS_TYPE.A, class: DNS_CLASS_IN }],
    answers: [],
    authorities: [],
    additionals: [{ name: '.', type: DNS_TYPE.OPT, class: 1232, ttl: 0, data: plain(hex('000a0008c63c292fb1c0245c')) }],
  });
  assert.equal(encodesAlike(decodesAlike(DIG_QUERY)), DIG_QUERY);
});

real('a dnsmasq answer: CNAME data uncompressed, an owner pointing into that RDATA', () => {
  const decoded = decodesAlike(DNSMASQ_CNAME);
  assert.equal(decoded.answers, [
    record('ftp.example.test.', DNS_TYPE.CNAME, wireName('www.example.test.'), 600),
    record('www.example.test.', DNS_TYPE.A, bytes(192, 0, 2, 1), 600),
  ]);
  // We compress the CNAME target too (dnsmasq did not): 12 bytes shorter, same message.
  const encoded = encodesAlike(decoded);
  assert.is(encoded.length, DNSMASQ_CNAME.length - 12);
  assert.equal(decodesAlike(encoded), decoded);
});

real('a Knot answer with glue: decoded, and encoded back to the very same bytes', () => {
  const decoded = decodesAlike(KNOT_NS);
  assert.equal(decoded.answers.map((r) => r.data), [plain(wireName('ns1.example.test.')), plain(wireName('ns2.example.test.'))]);
  assert.equal(
    decoded.additionals.map((r) => [r.name, r.type]),
    [['ns1.example.test.', 1], ['ns1.example.test.', 28], ['ns2.example.test.', 1], ['.', 41]],
  );
  assert.equal(encodesAlike(decoded), KNOT_NS);
});

real('record data are copies, views of one buffer per message', () => {
  for (const [, binding] of implementations) {
    const wire = Buffer.from(KNOT_NS);
    const decoded = binding.decode(wire);
    wire.fill(0);
    assert.equal(decoded.additionals[0]!.data, bytes(192, 0, 2, 53));
    assert.is(decoded.answers[0]!.data.buffer, decoded.additionals[1]!.data.buffer);
    assert.is(decoded.answers[0]!.data.constructor, Uint8Array);
  }
});

real.run();

// ---------------------------------------------------------------------------------------------

const bounds = suite('dnswire: RFC 9267 rules, the same error from both');

const Q_TAIL = hex('0001 0001');

bounds('zero-length, 11-byte and header-only messages', () => {
  rejects(new Uint8Array(0), 'ERR_DNS_SHORT');
  rejects(new Uint8Array(11), 'ERR_DNS_SHORT');
  assert.equal(decodesAlike(new Uint8Array(12)), { id: 0, flags: 0, questions: [], answers: [], authorities: [], additionals: [] });
});

bounds('counts larger than the message can hold', () => {
  rejects(header(1), 'ERR_DNS_SHORT');
  rejects(Buffer.concat([header(1, 0xffff), Buffer.from([0]), Q_TAIL]), 'ERR_DNS_SHORT');
  rejects(Buffer.concat([header(0, 0, 0, 2), Buffer.from([0]), recordTail(1, bytes(1, 2, 3, 4))]), 'ERR_DNS_SHORT');
  // Counts that fit the up-front check but not the names actually there.
  rejects(Buffer.concat([header(2), wireName('example.test.'), Q_TAIL]), 'ERR_DNS_SHORT');
});

bounds('pointer to itself, forward, out of range, into the header', () => {
  rejects(Buffer.concat([header(1), hex('c00c'), Q_TAIL]), 'ERR_DNS_POINTER');
  rejects(Buffer.concat([header(1), hex('c010'), Q_TAIL, hex('0000')]), 'ERR_DNS_POINTER');
  rejects(Buffer.concat([header(1), hex('ffff'), Q_TAIL]), 'ERR_DNS_POINTER');
  rejects(Buffer.concat([header(1), hex('c002'), Q_TAIL]), 'ERR_DNS_POINTER');
  // Pointing into its own labels: before the pointer, but not before the name.
  rejects(Buffer.concat([header(1), hex('0161 c00c'), Q_TAIL]), 'ERR_DNS_POINTER');
});

bounds('a pointer loop: back to a pointer that leads forward again', () => {
  // TXT RDATA at 23 holds c019 (→ 25); the next owner at 25 is c017 (→ 23): 23 → 25 → 23 …
  const wire = Buffer.concat([header(0, 2), Buffer.from([0]), recordTail(DNS_TYPE.TXT, hex('c019')), hex('c017'), recordTail(1, bytes(1, 2, 3, 4))]);
  assert.is(wire.readUInt16BE(25), 0xc017);
  rejects(wire, 'ERR_DNS_POINTER');
});

bounds('a chain of pointers, each further back, is fine', () => {
  const wire = Buffer.concat([header(3), wireName('example.test.'), Q_TAIL, hex('03777777 c00c'), Q_TAIL, hex('0161 c01e'), Q_TAIL]);
  assert.equal(decodesAlike(wire).questions.map((q) => q.name), ['example.test.', 'www.example.test.', 'a.www.example.test.']);
});

bounds('label 64 and 128 (reserved types 0x40, 0x80)', () => {
  rejects(Buffer.concat([header(1), Buffer.from([0x40, ...Buffer.alloc(64, 0x61), 0]), Q_TAIL]), 'ERR_DNS_LABEL');
  rejects(Buffer.concat([header(1), Buffer.from([0x80, 0]), Q_TAIL]), 'ERR_DNS_LABEL');
  const label63 = Buffer.from([63, ...Buffer.alloc(63, 0x61), 0]);
  assert.is(decodesAlike(Buffer.concat([header(1), label63, Q_TAIL])).questions[0]!.name, 'a'.repeat(63) + '.');
});

bounds('name of 256 bytes; 255 is the most', () => {
  const label = (length: number) => Buffer.from([length, ...Buffer.alloc(length, 0x62)]);
  const name255 = Buffer.concat([label(63), label(63), label(63), label(61), Buffer.from([0])]);
  assert.is(name255.length, 255);
  assert.is(decodesAlike(Buffer.concat([header(1), name255, Q_TAIL])).questions[0]!.name.length, 253 + 1);
  const name256 = Buffer.concat([label(63), label(63), label(63), label(62), Buffer.from([0])]);
  rejects(Buffer.concat([header(1), name256, Q_TAIL]), 'ERR_DNS_NAME_LENGTH');
  // Over 255 only once a pointer adds the rest.
  const first = Buffer.concat([label(63), label(63), label(63), Buffer.from([0])]);
  rejects(Buffer.concat([header(2), first, Q_TAIL, label(62), hex('c00c'), Q_TAIL]), 'ERR_DNS_NAME_LENGTH');
});

bounds('a name or a header running past the end', () => {
  rejects(Buffer.concat([header(1), hex('0761626364')]), 'ERR_DNS_SHORT');
  rejects(Buffer.concat([header(1), hex('c0')]), 'ERR_DNS_SHORT');
  rejects(Buffer.concat([header(1), wireName('a.'), hex('0001 00')]), 'ERR_DNS_SHORT');
  rejects(Buffer.concat([header(0, 1), wireName('a.'), hex('0001 0001 0000 003c 00')]), 'ERR_DNS_SHORT');
});

bounds('RDLENGTH past the end', () => {
  rejects(Buffer.concat([header(0, 1), Buffer.from([0]), recordTail(DNS_TYPE.TXT, hex('0161'), 3)]), 'ERR_DNS_SHORT');
});

bounds('RDATA not matching its type', () => {
  const one = (type: number, rdata: Uint8Array) => Buffer.concat([header(0, 1), Buffer.from([0]), recordTail(type, rdata)]);
  rejects(one(DNS_TYPE.A, bytes(1, 2, 3, 4, 5)), 'ERR_DNS_RDATA');
  rejects(one(DNS_TYPE.A, bytes(1, 2, 3)), 'ERR_DNS_RDATA');
  rejects(one(DNS_TYPE.AAAA, new Uint8Array(15)), 'ERR_DNS_RDATA');
  rejects(one(DNS_TYPE.MX, bytes(0)), 'ERR_DNS_RDATA');
  rejects(one(DNS_TYPE.NS, Buffer.concat([wireName('a.test.'), bytes(0)])), 'ERR_DNS_RDATA');
  rejects(one(DNS_TYPE.SOA, Buffer.concat([wireName('a.'), wireName('b.'), new Uint8Array(19)])), 'ERR_DNS_RDATA');
  rejects(one(DNS_TYPE.SRV, Buffer.concat([new Uint8Array(5)])), 'ERR_DNS_RDATA');
  rejects(one(35, Buffer.concat([new Uint8Array(4), bytes(1, 0x55, 0, 5, 0x61)])), 'ERR_DNS_RDATA'); // NAPTR string past RDATA
  // The MX name overruns RDLENGTH (the bytes after it would even complete it).
  const mx = Buffer.concat([header(0, 1), Buffer.from([0]), recordTail(DNS_TYPE.MX, Buffer.concat([u16(10), wireName('mail.test.')]), 7)]);
  rejects(mx, 'ERR_DNS_RDATA');
  // A reserved label type inside RDATA keeps its own code.
  rejects(one(DNS_TYPE.CNAME, bytes(0x41, 0)), 'ERR_DNS_LABEL');
  // Opaque types are taken as they are, even empty.
  assert.equal(decodesAlike(one(DNS_TYPE.TXT, new Uint8Array(0))).answers[0]!.data, new Uint8Array(0));
});

bounds('trailing bytes, and messages over 65535 bytes', () => {
  rejects(Buffer.concat([DIG_QUERY, bytes(0)]), 'ERR_DNS_TRAILING');
  rejects(Buffer.concat([header(0), bytes(1, 2, 3)]), 'ERR_DNS_TRAILING');
  rejects(Buffer.alloc(65536), 'ERR_DNS_TOO_LARGE');
});

bounds('compressed names in the RDATA of SRV, NAPTR, RP, … are expanded on receipt', () => {
  const srvData = Buffer.concat([u16(0), u16(5), u16(443), hex('0474617267 c00c')]);
  const naptrData = Buffer.concat([u16(1), u16(2), hex('0155 074532552b736970 00'), hex('c00c')]);
  const wire = Buffer.concat([header(1, 3), wireName('example.test.'), Q_TAIL, hex('c00c'), recordTail(DNS_TYPE.SRV, srvData), hex('c00c'), recordTail(35, naptrData), hex('c00c'), recordTail(17, hex('c00c c00c'))]);
  const { answers } = decodesAlike(wire);
  assert.equal(answers[0]!.data, plain(Buffer.concat([srvData.subarray(0, 6), wireName('targ.example.test.')])));
  assert.equal(answers[1]!.data, plain(Buffer.concat([naptrData.subarray(0, 15), wireName('example.test.')])));
  assert.equal(answers[2]!.data, plain(Buffer.concat([wireName('example.test.'), wireName('example.test.')])));
});

bounds('wrong argument types: TypeError ERR_DNS_VALUE from both', () => {
  const values: unknown[] = ['abc', 42, null, undefined, new Uint16Array(8), new DataView(new ArrayBuffer(12)), new ArrayBuffer(12), [0, 0]];
  for (const value of values) {
    const [[, addon], [, twin]] = implementations;
    const fromAddon = thrownBy(() => addon!.decode(value as Uint8Array));
    assert.equal(fromAddon, thrownBy(() => twin!.decode(value as Uint8Array)));
    assert.equal([fromAddon.name, fromAddon.code], ['TypeError', 'ERR_DNS_VALUE']);
  }
});

bounds.run();

// ---------------------------------------------------------------------------------------------

const roundTrip = suite('dnswire: every type in DNS_TYPE encodes and decodes back');

/** RDATA for each type; a type added to DNS_TYPE later gets opaque bytes until it is listed. */
const SAMPLE_DATA: Partial<Record<string, Uint8Array>> = {
  A: bytes(192, 0, 2, 1),
  NS: wireName('ns1.example.test.'),
  CNAME: wireName('www.example.test.'),
  SOA: Buffer.concat([wireName('ns1.example.test.'), wireName('hostmaster.example.test.'), hex('78a3f175 00001c20 00000e10 00127500 0000012c')]),
  PTR: wireName('host.example.test.'),
  HINFO: hex('03 415243 05 4c696e7578'),
  MX: Buffer.concat([u16(10), wireName('mail.example.test.')]),
  TXT: hex('0b763d73706631202d616c6c 00'),
  AAAA: hex('20010db8000000000000000000000001'),
  SRV: Buffer.concat([u16(0), u16(5), u16(443), wireName('www.example.test.')]),
  DNAME: wireName('other.test.'),
  OPT: hex('000a0008c63c292fb1c0245c'),
  DS: hex('3039 08 02 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'),
  RRSIG: Buffer.concat([hex('0001 08 02 00000e10 65000000 64000000 3039'), wireName('example.test.'), Buffer.alloc(64, 0xaa)]),
  NSEC: Buffer.concat([wireName('a.example.test.'), hex('000762010008000380')]),
  DNSKEY: Buffer.concat([hex('0101 03 08'), Buffer.alloc(40, 0x5a)]),
  NSEC3: hex('01 00 000a 04 aabbccdd 14 0123456789abcdef0123456789abcdef01234567 0006400000000002'),
  TSIG: Buffer.concat([wireName('hmac-sha256.'), hex('000065000000 012c 0020'), Buffer.alloc(32, 1), hex('1234 0000 0000')]),
  IXFR: new Uint8Array(0),
  AXFR: new Uint8Array(0),
  ANY: new Uint8Array(0),
  CAA: hex('00 05 69737375657220 6c657473656e63727970742e6f7267'),
};

for (const [typeName, type] of Object.entries(DNS_TYPE)) {
  roundTrip(typeName, () => {
    const data = SAMPLE_DATA[typeName] ?? hex('0102030405');
    const original = message({
      flags: 0x8180,
      questions: [{ name: 'example.test.', type, class: DNS_CLASS_IN }],
      answers: [record('example.test.', type, data), record('a.example.test.', type, data, 0)],
      additionals: [record('.', DNS_TYPE.OPT, new Uint8Array(0))],
    });
    const wire = encodesAlike(original);
    assert.equal(decodesAlike(wire), original);
  });
}

roundTrip('TTL, id, flags and class at their edges; out of range is ERR_DNS_VALUE', () => {
  const edges = message({ id: 0xffff, flags: 0xffff, answers: [record('a.', DNS_TYPE.A, bytes(1, 2, 3, 4), 0xffffffff), { ...record('b.', 0xffff, bytes(), 0), class: 0xffff }] });
  const wire = encodesAlike(edges);
  assert.is(wire.readUInt32BE(12 + 3 + 4), 0xffffffff);
  assert.equal(decodesAlike(wire), edges);
  const bad: Array<[Partial<DnsMessage>, string, string]> = [
    [{ id: 0x10000 }, 'RangeError', 'ERR_DNS_VALUE'],
    [{ id: -1 }, 'RangeError', 'ERR_DNS_VALUE'],
    [{ flags: 1.5 }, 'RangeError', 'ERR_DNS_VALUE'],
    [{ flags: Number.NaN }, 'RangeError', 'ERR_DNS_VALUE'],
    [{ id: '1' as unknown as number }, 'TypeError', 'ERR_DNS_VALUE'],
    [{ answers: [record('a.', 1, bytes(1, 2, 3, 4), 2 ** 32)] }, 'RangeError', 'ERR_DNS_VALUE'],
    [{ answers: [record('a.', 1, bytes(1, 2, 3, 4), -1)] }, 'RangeError', 'ERR_DNS_VALUE'],
    [{ answers: [record('a.', 1, bytes(1, 2, 3, 4), Infinity)] }, 'RangeError', 'ERR_DNS_VALUE'],
    [{ answers: [record('a.', 0x10000, bytes())] }, 'RangeError', 'ERR_DNS_VALUE'],
    [{ answers: [{ ...record('a.', 1, bytes()), class: -0.5 }] }, 'RangeError', 'ERR_DNS_VALUE'],
    [{ answers: [{ ...record('a.', 1, bytes()), data: [1, 2] as unknown as Uint8Array }] }, 'TypeError', 'ERR_DNS_VALUE'],
    [{ answers: [{ ...record('a.', 1, bytes()), name: 5 as unknown as string }] }, 'TypeError', 'ERR_DNS_VALUE'],
    [{ answers: [null as unknown as DnsRecord] }, 'TypeError', 'ERR_DNS_VALUE'],
    [{ questions: {} as unknown as [] }, 'TypeError', 'ERR_DNS_VALUE'],
    [{ answers: [record('a.', DNS_TYPE.NS, hex('c00c'))] }, 'RangeError', 'ERR_DNS_RDATA'],
    [{ answers: [record('a.', DNS_TYPE.MX, bytes(0))] }, 'RangeError', 'ERR_DNS_RDATA'],
    [{ answers: [record('a.', DNS_TYPE.SOA, Buffer.concat([wireName('a.'), wireName('b.')]))] }, 'RangeError', 'ERR_DNS_RDATA'],
    [{ answers: [record('a.', DNS_TYPE.TXT, new Uint8Array(65536 - 12 - 3 - 10))] }, 'RangeError', 'ERR_DNS_TOO_LARGE'],
  ];
  for (const [parts, name, code] of bad) {
    const [[, addon], [, twin]] = implementations;
    const fromAddon = thrownBy(() => addon!.encode(message(parts)));
    const fromTwin = thrownBy(() => twin!.encode(message(parts)));
    assert.equal([fromAddon.name, fromAddon.code], [name, code], `${JSON.stringify(parts)}: ${fromAddon.message}`);
    assert.equal(fromAddon, fromTwin);
  }
  // One byte less is the largest message there is.
  assert.is(encodesAlike(message({ answers: [record('a.', DNS_TYPE.TXT, new Uint8Array(65535 - 12 - 3 - 10))] })).length, 65535);
  for (const [, binding] of implementations) {
    assert.equal(thrownBy(() => binding.encode(null as unknown as DnsMessage)).name, 'TypeError');
  }
});

roundTrip.run();

// ---------------------------------------------------------------------------------------------

const compression = suite('dnswire: compression');

compression('names, owners and NS/CNAME/MX targets point back to the first copy of a suffix', () => {
  const response = message({
    flags: 0x8180,
    questions: [{ name: 'www.example.test.', type: DNS_TYPE.A, class: DNS_CLASS_IN }],
    answers: [record('WWW.Example.TEST.', DNS_TYPE.CNAME, wireName('web.example.test.')), record('web.example.test.', DNS_TYPE.A, bytes(192, 0, 2, 7))],
    authorities: [record('example.test.', DNS_TYPE.MX, Buffer.concat([u16(10), wireName('web.EXAMPLE.test.')]))],
  });
  const wire = encodesAlike(response);
  // Question name at 12 (18 bytes), type and class to 34.
  assert.is(wire.readUInt16BE(34), 0xc00c, 'the CNAME owner matches the question name, whatever its case');
  assert.is(wire.readUInt16BE(44), 6, 'CNAME RDLENGTH: one label and a pointer');
  assert.equal(wire.subarray(46, 52), hex('03776562 c010'), 'web + pointer to example.test at 16');
  assert.is(wire.readUInt16BE(52), 0xc02e, 'the A owner points into the CNAME RDATA');
  assert.is(wire.readUInt16BE(68), 0xc010, 'the MX owner is example.test at 16');
  assert.equal(wire.subarray(80, 84), hex('000a c02e'), 'MX target: a pointer to web.example.test in the CNAME RDATA');
  const uncompressed = 12 + 18 + 4 + (18 + 10 + 18) + (18 + 10 + 4) + (14 + 10 + 20);
  assert.ok(wire.length < uncompressed - 50, `${wire.length} bytes`);
  // Names keep their own case in the answer, even where a pointer stands for them.
  const decoded = decodesAlike(wire);
  assert.is(decoded.answers[0]!.name, 'www.example.test.');
  assert.equal(decoded.authorities[0]!.data, plain(Buffer.concat([u16(10), wireName('web.example.test.')])));
});

compression('SRV targets and other RDATA are written as given, and not pointed into', () => {
  const srv = Buffer.concat([u16(0), u16(0), u16(443), wireName('www.example.test.')]);
  const wire = encodesAlike(message({ answers: [record('_x._tcp.example.test.', DNS_TYPE.SRV, srv), record('www.example.test.', DNS_TYPE.A, bytes(1, 2, 3, 4))] }));
  assert.ok(wire.includes(srv), 'SRV RDATA verbatim');
  // The A owner points to example.test. in the first owner (offset 12 + 3 + 5 = 20), not into the SRV data.
  const aOwner = 12 + 22 + 10 + srv.length;
  assert.equal(wire.subarray(aOwner, aOwner + 6), hex('03777777 c014'));
});

compression('no pointer to an offset at or beyond 0x4000', () => {
  const filler = record('filler.test.', DNS_TYPE.TXT, new Uint8Array(0x4000));
  const wire = encodesAlike(message({ answers: [filler, record('late.example.', 1, bytes(1, 2, 3, 4)), record('late.example.', 1, bytes(5, 6, 7, 8))] }));
  const second = 12 + 13 + 10 + 0x4000 + 14 + 10 + 4;
  assert.equal(wire.subarray(second, second + 14), wireName('late.example.'), 'written in full again');
  assert.equal(decodesAlike(wire).answers.length, 3);
});

compression.run();

// ---------------------------------------------------------------------------------------------

const names = suite('dnswire: names in presentation form');

names('escapes: special characters, spaces, control and high bytes', () => {
  const label = bytes(0x61, 0x2e, 0x5c, 0x22, 0x28, 0x29, 0x3b, 0x40, 0x24, 0x20, 0x00, 0x7f, 0xff, 0x41);
  const wire = Buffer.concat([header(1), Buffer.from([label.length, ...label, 4, ...Buffer.from('test'), 0]), Q_TAIL]);
  const text = 'a\\.\\\\\\"\\(\\)\\;\\@\\$\\032\\000\\127\\255A.test.';
  assert.is(decodesAlike(wire).questions[0]!.name, text);
  assert.equal(encodesAlike(message({ questions: [{ name: text, type: 1, class: 1 }] })), wire);
  // \DDD for any byte, printable ones included, is accepted back.
  const spelled = encodesAlike(message({ questions: [{ name: '\\097\\046b.test.', type: 1, class: 1 }] }));
  assert.is(decodesAlike(spelled).questions[0]!.name, 'a\\.b.test.');
});

names('bad names: the same error from both', () => {
  const cases: Array<[string, string]> = [
    ['example.test', 'ERR_DNS_NAME_SYNTAX'],
    ['', 'ERR_DNS_NAME_SYNTAX'],
    ['..', 'ERR_DNS_NAME_SYNTAX'],
    ['a..test.', 'ERR_DNS_NAME_SYNTAX'],
    ['a\\.', 'ERR_DNS_NAME_SYNTAX'],
    ['a\\256.', 'ERR_DNS_NAME_SYNTAX'],
    ['a\\12.', 'ERR_DNS_NAME_SYNTAX'],
    ['a b.', 'ERR_DNS_NAME_SYNTAX'],
    ['é.test.', 'ERR_DNS_NAME_SYNTAX'],
    ['a\0.', 'ERR_DNS_NAME_SYNTAX'],
    [`${'a'.repeat(64)}.`, 'ERR_DNS_LABEL'],
    [`${'a'.repeat(64)}\u00e9.`, 'ERR_DNS_LABEL'],
    [`${'\\255'.repeat(63)}.`, 'OK'],
    [`${'abcdefg.'.repeat(32)}`, 'ERR_DNS_NAME_LENGTH'],
    [`${'abcdefg.'.repeat(32)}a b.`, 'ERR_DNS_NAME_SYNTAX'],
  ];
  for (const [name, code] of cases) {
    const query = message({ questions: [{ name, type: 1, class: 1 }] });
    if (code === 'OK') {
      encodesAlike(query);
      continue;
    }
    const [[, addon], [, twin]] = implementations;
    const fromAddon = thrownBy(() => addon!.encode(query));
    const fromTwin = thrownBy(() => twin!.encode(query));
    assert.equal([fromAddon.name, fromAddon.code], ['RangeError', code], `${JSON.stringify(name)}: ${fromAddon.message}`);
    assert.equal([fromTwin.name, fromTwin.code], ['RangeError', code], `${JSON.stringify(name)} (twin): ${fromTwin.message}`);
  }
});

names.run();

// ---------------------------------------------------------------------------------------------

const engine = suite('the dnswire engine from firmware/native.ts');

engine('picks the addon when it is built, and agrees with the twin', () => {
  assert.is(dnswireEngine.implementation, 'native');
  assert.equal(dnswireEngine.decode(KNOT_NS), dnswireTwin.decode(KNOT_NS));
  assert.equal(dnswireEngine.encode(dnswireTwin.decode(KNOT_NS)), KNOT_NS);
});

engine('a getter that encodes again gets the same answer from both', () => {
  for (const [, binding] of implementations) {
    const inner = message({ questions: [{ name: 'inner.test.', type: 1, class: 1 }] });
    let innerWire: Buffer | undefined;
    const question = {
      name: 'outer.test.',
      class: 1,
      get type() {
        innerWire = binding.encode(inner);
        return 1;
      },
    };
    const outer = binding.encode(message({ questions: [question, { name: 'x.outer.test.', type: 1, class: 1 }] }));
    assert.equal(outer, dnswireTwin.encode(message({ questions: [{ name: 'outer.test.', type: 1, class: 1 }, { name: 'x.outer.test.', type: 1, class: 1 }] })));
    assert.equal(innerWire, dnswireTwin.encode(inner));
  }
});

engine('without the addon: the twin, and exactly one warning line', () => {
  const emptyDir = tempDir('ny-dnswire');
  const script = `
    import { dnswire } from ${JSON.stringify(path.join(repo, 'firmware/native.ts'))};
    console.log(dnswire.implementation, dnswire.encode(dnswire.decode(Buffer.from(${JSON.stringify(DIG_QUERY.toString('hex'))}, 'hex'))).length);`;
  const env: NodeJS.ProcessEnv = { ...process.env, NYMOTE_NATIVE_DIR: emptyDir };
  for (const name of ['NYMOTE_NATIVE', 'NO_COLOR', 'FORCE_COLOR']) delete env[name];
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repo, encoding: 'utf8', env, timeout: 60_000 });
  assert.is(run.status, 0, run.stderr);
  assert.is(run.stdout.trim(), `js ${DIG_QUERY.length}`);
  const warnings = run.stderr.split('\n').filter((line) => line.includes('msg="native dnswire'));
  assert.is(warnings.length, 1, run.stderr);
  assert.match(warnings[0]!, /level=warn msg="native dnswire addon unavailable, using JS twin" reason=.*dnswire\.node/);
  fs.rmSync(emptyDir, { recursive: true });
});

engine.run();
