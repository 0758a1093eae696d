/**
 * Seeded fuzz of the message model: random bytes, mutated real messages and adversarial
 * shapes. Whatever the input, parseMessage returns a consistent tree (offsets in order and
 * inside their parent, JSON round trip) and nothing built on it throws: BODYSTRUCTURE,
 * ENVELOPE, every section of every part, BINARY, SEARCH text. Each input must finish well
 * within a generous bound, so quadratic behaviour shows up as a failure, not a hang.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  binarySize,
  bodyStructure,
  bodyText,
  envelope,
  fetchBinary,
  fetchSection,
  headerText,
  headerValues,
  parseAddressList,
  parseMessage,
  type MimePart,
  type ParsedMessage,
  type SectionSpecifier,
} from '../../firmware/apps/mail/message/index.js';
import { Random } from '../_lib/random.js';

const crlf = (text: string): Buffer => Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8');

const SEEDS: Buffer[] = [
  crlf(`From: =?utf-8?q?J=C3=B6rg?= <joerg@example.com>
To: group: a@b.example, "x, y" <c@d.example>;, e@f.example (Eff)
Subject: =?ISO-8859-1?Q?R=E9sum=E9?=
Date: Thu, 15 Feb 2007 01:02:03 +0200
Message-ID: <1@example.com>
References: <0@example.com> <00@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 soft=
break
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PGI+aGk8L2I+
--inner--
--outer
Content-Type: message/rfc822
Content-Disposition: attachment; filename*0*=utf-8''%E2%82%AC; filename*1=.eml

From: a@b.example
Subject: inner
Content-Type: text/plain

inner body
--outer
Content-Type: application/octet-stream; name="x.bin"
Content-Transfer-Encoding: base64
Content-Language: en, fr
Content-Location: http://x.example/

AAECAwQFBgcICQ==
--outer--
epilogue
`),
  crlf(`Content-Type: multipart/digest; boundary=d

--d

Subject: one

1
--d
Content-Type: message/global

Subject: two
Content-Type: multipart/mixed; boundary=e

--e

x
--e--
--d--
`),
  Buffer.from('Subject: bare LF\nContent-Type: text/plain; charset=utf-8\n\nbody\n'),
  crlf('From: x\n\nplain\n'),
];

const TOKENS = [
  '--',
  '--outer',
  '--inner--',
  '--d\r\n',
  '\r\n',
  '\n',
  '\r\n\r\n',
  '\r',
  ':',
  ';',
  '"',
  '(',
  ')',
  '<',
  '>',
  '@',
  ',',
  '=?utf-8?b?',
  '?=',
  '=?iso-8859-1?q?=E9',
  '=',
  '=\r\n',
  '*0*=',
  "utf-8''%E2",
  'Content-Type: multipart/mixed; boundary=outer\r\n',
  'Content-Type: message/rfc822\r\n',
  'Content-Type: text/html; charset=shift_jis\r\n',
  'Content-Transfer-Encoding: base64\r\n',
  'Content-Transfer-Encoding: quoted-printable\r\n',
  'MIME-Version: 1.0\r\n',
  ' ',
  '\t',
  '\x00',
  '\xff',
  '<script>',
  '&#x',
];

function mutate(rnd: Random, input: Buffer): Buffer {
  let buf = input;
  const rounds = 1 + rnd.int(8);
  for (let r = 0; r < rounds; r++) {
    const at = rnd.int(buf.length + 1);
    switch (rnd.int(6)) {
      case 0: {
        const copy = Buffer.from(buf);
        if (copy.length > 0) copy[rnd.int(copy.length)] = rnd.int(256);
        buf = copy;
        break;
      }
      case 1:
        buf = Buffer.concat([buf.subarray(0, at), Buffer.from(rnd.pick(TOKENS), 'latin1'), buf.subarray(at)]);
        break;
      case 2:
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(Math.min(buf.length, at + rnd.int(64)))]);
        break;
      case 3: {
        const from = rnd.int(buf.length + 1);
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(from, from + rnd.int(200)), buf.subarray(at)]);
        break;
      }
      case 4:
        buf = buf.subarray(0, at);
        break;
      default:
        buf = Buffer.concat([buf.subarray(0, at), randomBytes(rnd, rnd.int(16)), buf.subarray(at)]);
    }
  }
  return buf;
}

function randomBytes(rnd: Random, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = rnd.chance(0.3) ? rnd.pick([10, 13, 45, 32, 58, 59, 61, 34]) : rnd.int(256);
  return out;
}

function checkPart(part: MimePart, lo: number, hi: number, where: string): void {
  assert.ok(lo <= part.headerStart, `${where}: headerStart ${part.headerStart} < ${lo}`);
  assert.ok(part.headerStart <= part.headerEnd, `${where}: header range`);
  assert.ok(part.headerEnd <= part.bodyStart, `${where}: headerEnd after bodyStart`);
  assert.ok(part.bodyStart <= part.bodyEnd, `${where}: body range`);
  assert.ok(part.bodyEnd <= hi, `${where}: bodyEnd ${part.bodyEnd} > ${hi}`);
  assert.ok(typeof part.type === 'string' && typeof part.subtype === 'string');
  if (part.parts !== undefined) {
    assert.ok(part.parts.length > 0, `${where}: a multipart has parts`);
    let at = part.bodyStart;
    part.parts.forEach((child, i) => {
      checkPart(child, at, part.bodyEnd, `${where}.${i + 1}`);
      at = child.bodyEnd;
    });
  }
  if (part.message !== undefined) {
    assert.is(part.message.root.headerStart, part.bodyStart, `${where}: embedded message starts the body`);
    assert.is(part.message.root.bodyEnd, part.bodyEnd, `${where}: embedded message ends with the body`);
    checkPart(part.message.root, part.bodyStart, part.bodyEnd, `${where}(message)`);
  }
}

const SPECIFIERS: (SectionSpecifier | undefined)[] = [undefined, 'HEADER', 'HEADER.FIELDS', 'HEADER.FIELDS.NOT', 'TEXT', 'MIME'];

/** Every path of the tree, as IMAP numbers them, plus a few that do not exist. */
function paths(parsed: ParsedMessage): number[][] {
  const out: number[][] = [[], [1], [2], [1, 1], [9, 9]];
  const walk = (part: MimePart, prefix: number[]): void => {
    if (out.length > 300) return;
    const container = part.message?.root ?? part;
    if (container.parts !== undefined) {
      container.parts.forEach((child, i) => {
        out.push([...prefix, i + 1]);
        walk(child, [...prefix, i + 1]);
      });
    } else if (part.message !== undefined) {
      out.push([...prefix, 1]);
    }
  };
  walk(parsed.root, []);
  return out;
}

const BOUND_MS = 5000;

function exercise(raw: Buffer): void {
  const started = Date.now();
  const parsed = parseMessage(raw);
  assert.is(parsed.size, raw.length);
  checkPart(parsed.root, 0, raw.length, 'root');
  assert.is(parsed.root.headerStart, 0);
  assert.equal(JSON.parse(JSON.stringify(parsed)), parsed);
  bodyStructure(parsed, true);
  bodyStructure(parsed, false);
  envelope(parsed);
  for (const path of paths(parsed)) {
    for (const specifier of SPECIFIERS) {
      const out = fetchSection(raw, parsed, { path, specifier, fields: ['Subject', 'content-type'] }, { origin: 3, count: 50 });
      assert.ok(out === null || out.length <= 50);
    }
    fetchBinary(raw, parsed, path);
    binarySize(raw, parsed, path);
  }
  headerValues(raw, parsed, 'subject');
  headerText(raw, parsed);
  bodyText(raw, parsed);
  for (const value of Object.values(parsed.headers)) parseAddressList(value);
  const elapsed = Date.now() - started;
  assert.ok(elapsed < BOUND_MS, `took ${elapsed} ms on ${raw.length} bytes`);
}

test('random bytes', () => {
  const rnd = new Random(0x6d61696c);
  for (let i = 0; i < 400; i++) exercise(randomBytes(rnd, rnd.int(600)));
});

test('mutated real messages', () => {
  const rnd = new Random(20240506);
  for (let i = 0; i < 1500; i++) exercise(mutate(rnd, rnd.pick(SEEDS)));
});

test('adversarial shapes finish in bounded time', () => {
  const big = (unit: string, bytes = 1 << 20): Buffer => Buffer.from(unit.repeat(Math.ceil(bytes / unit.length)), 'latin1');
  const cases: Buffer[] = [
    Buffer.concat([crlf('Content-Type: multipart/mixed; boundary=xy\n\n'), big('--x\r\n')]),
    Buffer.concat([crlf('Content-Type: multipart/mixed; boundary=x\n\n'), big('--x\r\n')]),
    Buffer.concat([crlf('Content-Type: multipart/mixed; boundary=x\n\n'), big('--x\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n')]),
    big('no colon header line\r\n'),
    big('X: y\r\n'),
    Buffer.concat([Buffer.from('Subject: '), big('=?a?q?a')]),
    Buffer.concat([Buffer.from('To: '), big('<a<a,')]),
    Buffer.concat([Buffer.from('To: '), big('a (b (c) \\) ')]),
    Buffer.concat([Buffer.from('Cc: g: '), big('a a, ')]),
    Buffer.concat([Buffer.from('References: '), big('<a')]),
    Buffer.concat([Buffer.from('Content-Type: text/plain; '), big('a*0*=b; ')]),
    Buffer.concat([Buffer.from('Content-Type: text/plain; name="'), big('\\"')]),
    Buffer.concat([Buffer.from('Content-Type: text/html\r\n\r\n'), big('&&&&<<<<<!--<script>')]),
    Buffer.concat([Buffer.from('Content-Transfer-Encoding: base64\r\nMIME-Version: 1.0\r\n\r\n'), big('QQ==')]),
    Buffer.concat([Buffer.from('Content-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\n'), big('= \t=')]),
    Buffer.concat([crlf('Content-Type: multipart/mixed; boundary=b\n\n'), big('--b\r\nContent-Type: message/rfc822\r\n\r\n', 200_000)]),
    big('\r\n'),
    big('-'),
    Buffer.alloc(1 << 20),
  ];
  for (const raw of cases) exercise(raw);
});

test.run();
