/**
 * The message model's MIME parse, BODY/BODYSTRUCTURE and ENVELOPE: golden cases from Dovecot's
 * own tests (src/lib-imap/test-imap-bodystructure.c and test-imap-envelope.c, with the
 * messages in CRLF form, as Dovecot's sizes count them), golden cases of our own for what
 * those do not cover, and the lenient reading of malformed MIME.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  MAX_DEPTH,
  MAX_PARTS,
  bodyStructure,
  envelope,
  parseAddressList,
  parseDate,
  parseMessage,
  messageIds,
  sentDay,
  type ImapValue,
  type MimePart,
  type ParsedMessage,
} from '../../firmware/apps/mail/message/index.js';

/** Prints IMAP data as the server's encoder must: quoted strings here, lists with `)(` for leading list runs. */
function imap(value: ImapValue): string {
  if (value === null) return 'NIL';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  if (Buffer.isBuffer(value)) return `{${value.length}}\r\n${value.toString('latin1')}`;
  let out = '(';
  let leading = true;
  value.forEach((item, i) => {
    const list = Array.isArray(item);
    if (i > 0 && !(leading && list)) out += ' ';
    if (!list) leading = false;
    out += imap(item);
  });
  return `${out})`;
}

/** BODYSTRUCTURE as Dovecot's tests write it: without the outer parentheses. */
const inner = (value: ImapValue): string => imap(value).slice(1, -1);
const crlf = (text: string): Buffer => Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1');
const structureOf = (text: string, extended = true): string => inner(bodyStructure(parseMessage(crlf(text)), extended));

// ---------------------------------------------------------------------------------------------
// Dovecot's golden cases

const PIGEON = `iVBORw0KGgoAAAANSUhEUgAAAB8AAAAfCAYAAAAfrhY5AAAABHNCSVQICAgIfAhkiAAAAAlwSFlz
AAAGJwAABicBTVTYxwAAABl0RVh0U29mdHdhcmUAd3d3Lmlua3NjYXBlLm9yZ5vuPBoAAAN2SURB
VEiJ7ZfdK7tvHMffZuWpKTlR1my3bTEPU0hJcsABh0QrKYUTJ5KyHCzlyPwBkpSyg1mUpB3ILYna
lEYKcbADm4cDD7NpM2bv75HF1/az8l3fX/1+77pO7vu6rtf1/jx0X3caSeIvSfK3wP/DPykcDsNs
NqOqqgpdXV3Y2NhIGVz6+4PJyUlcXFxAFEV4vV709fVBrVZDpVL9eTo/aGVlhXl5efT5fDw/P2c4
HKbdbmd3dzdTIZDk6+srh4eHqdPpqNfrSZJGo5H7+/sMBoNUKpUpgUsAQCqVQq1WIxgMfgp/dXU1
srKykJ+fD6/X+8ejHiu4wcFB2Gy2uJPq6uqwt7eXOjgAaLXahHCn05laeCKlyvmXVosnrVaLQCCA
4uJiyOVyCIIQGyqVCoIgoKCgIDXwtLQ0HBwc4O3tDR6PB263G263G8fHx1hbW4Pb7cbNzQ1yc3Nj
hxEEAdXV1WhoaEi88cfSf3h4iLXaR01MTFChUFChULCjo4M7OztxW8fn89HlcnF5eZlTU1Nsb29n
W1sb/X5/3PlJwd/19vbG7e1tlpWVcXV19ftGJjk0NESbzRb33aeCy8zMhM/nSxgliUSCxsZGiKKI
ra2tb9N1e3uLSCSC8fFxGAwGDAwMfC7c309TWFjI09PTpFwlis76+jo7OzspCAJNJhN3d3fpcDho
tVqpUCgYCoVIkl8Krr6+Hna7HSUlJd86+yiPx4P5+XlYLBZUVFSgv78fVqsV6enpAIC7uzt4vV5E
IhFIJJL4zp1OJ2traxmJRL51+fLywuXlZba2trK0tJRms5mXl5c8PT3l4uIix8bG2NbWRqVSyfLy
cvb09PDw8DC2Po38eocbGRlBIBDA9PQ0pNKv3Xh2doa5uTksLCwgJycHNTU1yM3NxdHREa6vr6HR
aKDX62NDp9MhIyPjyz5x4SQxOjoKURTR29sLmUyG7Oxs+P1+WCwW7O7uQiKRQKvVQq/Xo7KyMgaS
y+VJpyou/F0nJydYWlqCy+XC1dUV7u/vYTQa8fT0BIfDgaWlpaRBcZVsFc/OznJsbIwkaTKZODMz
k+zShEr6Arm5uYnm5mYAgCiKaGlp+ZnrZJ1Ho1EWFRXx+fmZj4+P1Gg0P3ZNJqj2dxkMhth3PBAI
QCaTIRqNIhQKoamp6cc5/0d4qvXv+mn4z8B/AV1UVu6zi+zUAAAAAElFTkSuQmCC
`;

const LOREM = `Lorem ipsum dolor sit amet, consectetuer adipiscing elit. Aenean commodo
ligula eget dolor. Aenean massa. Cum sociis natoque penatibus et magnis dis
parturient montes, nascetur ridiculus mus. Donec quam felis, ultricies nec,
pellentesque eu, pretium quis, sem. Nulla consequat massa quis enim. Donec
pede justo, fringilla vel, aliquet nec, vulputate eget, arcu. In enim justo,
rhoncus ut, imperdiet a, venenatis vitae, justo. Nullam dictum felis eu pede
mollis pretium. Integer tincidunt. Cras dapibus. Vivamus elementum semper
nisi. Aenean vulputate eleifend tellus. Aenean leo ligula, porttitor eu,
consequat vitae, eleifend ac, enim. Aliquam lorem ante, dapibus in, viverra
quis, feugiat a, tellus. Phasellus viverra nulla ut metus varius laoreet.
Quisque rutrum. Aenean imperdiet. Etiam ultricies nisi vel augue. Curabitur
ullamcorper ultricies nisi. Nam eget dui.
`;

const NESTED = `From: user@domain.org
Date: Sat, 24 Mar 2007 23:00:00 +0200
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary="foo
 bar"

Root MIME prologue

--foo bar
Content-Type: text/x-myown; charset=us-ascii; foo="quoted\\"string"
Content-ID: <foo@example.com>
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==
Content-Disposition: inline; foo=bar
Content-Description: hellodescription
Content-Language: en, fi, se
Content-Location: http://example.com/test.txt

hello

--foo bar
Content-Type: message/rfc822

From: sub@domain.org
To: sub-to1@domain.org, sub-to2@domain.org
Date: Sun, 12 Aug 2012 12:34:56 +0300
Subject: submsg
Content-Type: multipart/alternative; boundary="sub1"

Sub MIME prologue
--sub1
Content-Type: text/html
Content-Transfer-Encoding: 8bit

<p>Hello world</p>

--sub1
Content-Type: text/plain
Content-Transfer-Encoding: ?invalid

Hello another world

--sub1--
Sub MIME epilogue

--foo bar--
Root MIME epilogue
`;

const FORWARD = `From: user@domain.org
Date: Sat, 24 Mar 2017 23:00:00 +0200
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary="foo bar"

--foo bar
Content-Type: text/plain; charset=us-ascii
Content-ID: <A.frop.example.com>
Content-Description: Container message

See attached...

--foo bar
Content-Type: message/rfc822
Content-ID: <B.frop.example.com>
Content-Description: Forwarded

From: user@domain.org
Date: Sat, 24 Mar 2017 23:00:00 +0200
Mime-Version: 1.0
Content-Type: text/plain; charset=us-ascii

body

--foo bar--
`;

const DOVECOT: { name: string; message: string; bodystructure: string; body: string }[] = [
  {
    name: 'plain text',
    message: `From: user@domain.org
Date: Sat, 24 Mar 2017 23:00:00 +0200
Mime-Version: 1.0
Content-Type: text/plain; charset=us-ascii

body
`,
    bodystructure: '"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL',
    body: '"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1',
  },
  {
    name: 'plain text, 8bit, two lines',
    message: `From: user@domain.org
Date: Sat, 24 Mar 2017 23:00:00 +0200
Mime-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

body

`,
    bodystructure: '"text" "plain" ("charset" "utf-8") NIL NIL "8bit" 8 2 NIL NIL NIL NIL',
    body: '"text" "plain" ("charset" "utf-8") NIL NIL "8bit" 8 2',
  },
  {
    name: 'folded boundary parameter',
    message: `From: user@domain.org
Date: Sat, 24 Mar 2007 23:00:00 +0200
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary="foo
 bar"

--foo bar
Content-Type: text/x-myown; charset=us-ascii

hello

--foo bar--

`,
    bodystructure: '("text" "x-myown" ("charset" "us-ascii") NIL NIL "7bit" 7 1 NIL NIL NIL NIL) "mixed" ("boundary" "foo bar") NIL NIL NIL',
    body: '("text" "x-myown" ("charset" "us-ascii") NIL NIL "7bit" 7 1) "mixed"',
  },
  {
    name: 'forwarded message/rfc822',
    message: FORWARD.replace(/Content-ID: <.*>\n|Content-Description: .*\n/g, ''),
    bodystructure:
      '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 17 1 NIL NIL NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 133 ("Sat, 24 Mar 2017 23:00:00 +0200" NIL ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL) 6 NIL NIL NIL NIL) "mixed" ("boundary" "foo bar") NIL NIL NIL',
    body: '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 17 1)("message" "rfc822" NIL NIL NIL "7bit" 133 ("Sat, 24 Mar 2017 23:00:00 +0200" NIL ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1) 6) "mixed"',
  },
  {
    name: 'Content-ID and Content-Description',
    message: FORWARD,
    bodystructure:
      '("text" "plain" ("charset" "us-ascii") "<A.frop.example.com>" "Container message" "7bit" 17 1 NIL NIL NIL NIL)("message" "rfc822" NIL "<B.frop.example.com>" "Forwarded" "7bit" 133 ("Sat, 24 Mar 2017 23:00:00 +0200" NIL ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL) 6 NIL NIL NIL NIL) "mixed" ("boundary" "foo bar") NIL NIL NIL',
    body: '("text" "plain" ("charset" "us-ascii") "<A.frop.example.com>" "Container message" "7bit" 17 1)("message" "rfc822" NIL "<B.frop.example.com>" "Forwarded" "7bit" 133 ("Sat, 24 Mar 2017 23:00:00 +0200" NIL ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1) 6) "mixed"',
  },
  {
    name: 'multipart/mixed with an attachment',
    message: `From: user@domain.org
Date: Sat, 24 Mar 2017 23:00:00 +0200
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary="foo bar"

--foo bar
Content-Type: text/plain; charset=us-ascii; format="flowed";
  delsp="no"
Content-Language: la

${LOREM}
--foo bar
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="pigeon.png"

${PIGEON}--foo bar--
`,
    bodystructure:
      '("text" "plain" ("charset" "us-ascii" "format" "flowed" "delsp" "no") NIL NIL "7bit" 881 12 NIL NIL ("la") NIL)("image" "png" NIL NIL NIL "base64" 1390 NIL ("attachment" ("filename" "pigeon.png")) NIL NIL) "mixed" ("boundary" "foo bar") NIL NIL NIL',
    body: '("text" "plain" ("charset" "us-ascii" "format" "flowed" "delsp" "no") NIL NIL "7bit" 881 12)("image" "png" NIL NIL NIL "base64" 1390) "mixed"',
  },
  {
    name: 'nested multiparts, every extension field, invalid encoding',
    message: NESTED,
    bodystructure:
      '("text" "x-myown" ("charset" "us-ascii" "foo" "quoted\\"string") "<foo@example.com>" "hellodescription" "7bit" 7 1 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("inline" ("foo" "bar")) ("en" "fi" "se") "http://example.com/test.txt")("message" "rfc822" NIL NIL NIL "7bit" 412 ("Sun, 12 Aug 2012 12:34:56 +0300" "submsg" ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub-to1" "domain.org")(NIL NIL "sub-to2" "domain.org")) NIL NIL NIL NIL) (("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 20 1 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 1 NIL NIL NIL NIL) "alternative" ("boundary" "sub1") NIL NIL NIL) 21 NIL NIL NIL NIL) "mixed" ("boundary" "foo bar") NIL NIL NIL',
    body: '("text" "x-myown" ("charset" "us-ascii" "foo" "quoted\\"string") "<foo@example.com>" "hellodescription" "7bit" 7 1)("message" "rfc822" NIL NIL NIL "7bit" 412 ("Sun, 12 Aug 2012 12:34:56 +0300" "submsg" ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub-to1" "domain.org")(NIL NIL "sub-to2" "domain.org")) NIL NIL NIL NIL) (("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 20 1)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 1) "alternative") 21) "mixed"',
  },
  {
    name: 'multipart without any part',
    message: `Content-Type: multipart/mixed; boundary="foo"

`,
    bodystructure: '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "foo") NIL NIL NIL',
    body: '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) "mixed"',
  },
];

for (const golden of DOVECOT) {
  test(`Dovecot golden BODYSTRUCTURE and BODY: ${golden.name}`, () => {
    assert.is(structureOf(golden.message, true), golden.bodystructure);
    assert.is(structureOf(golden.message, false), golden.body);
  });
}

const ENVELOPES: { message: string; envelope: string }[] = [
  {
    message: `Message-ID: <msg@id>
In-Reply-To: <reply@to.id>
Date: Thu, 15 Feb 2007 01:02:03 +0200
Subject: subject header
From: From Real <fromuser@fromdomain.org>
To: To Real <touser@todomain.org>
Cc: Cc Real <ccuser@ccdomain.org>
Bcc: Bcc Real <bccuser@bccdomain.org>
Sender: Sender Real <senderuser@senderdomain.org>
Reply-To: ReplyTo Real <replytouser@replytodomain.org>

body
`,
    envelope:
      '"Thu, 15 Feb 2007 01:02:03 +0200" "subject header" (("From Real" NIL "fromuser" "fromdomain.org")) (("Sender Real" NIL "senderuser" "senderdomain.org")) (("ReplyTo Real" NIL "replytouser" "replytodomain.org")) (("To Real" NIL "touser" "todomain.org")) (("Cc Real" NIL "ccuser" "ccdomain.org")) (("Bcc Real" NIL "bccuser" "bccdomain.org")) "<reply@to.id>" "<msg@id>"',
  },
  {
    message: `Date: Thu, 15 Feb 2007 01:02:03 +0200
From: user@domain

body
`,
    envelope: '"Thu, 15 Feb 2007 01:02:03 +0200" NIL ((NIL NIL "user" "domain")) ((NIL NIL "user" "domain")) ((NIL NIL "user" "domain")) NIL NIL NIL NIL NIL',
  },
  {
    message: `Date: Thu, 15 Feb 2007 01:02:03 +0200
From: user@domain (Real Name)
To: group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;
Cc: group:;, group2: (foo) ;

body
`,
    envelope:
      '"Thu, 15 Feb 2007 01:02:03 +0200" NIL (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain")) ((NIL NIL "group" NIL)(NIL NIL "g1" "d1.org")(NIL NIL "g2" "d2.org")(NIL NIL NIL NIL)(NIL NIL "group2" NIL)(NIL NIL "g3" "d3.org")(NIL NIL NIL NIL)) ((NIL NIL "group" NIL)(NIL NIL NIL NIL)(NIL NIL "group2" NIL)(NIL NIL NIL NIL)) NIL NIL NIL',
  },
  {
    message: `Date: Thu, 15 Feb 2007 01:02:03 +0200
From: user@domain (Real Name)
Sender: 
Reply-To: 

body
`,
    envelope:
      '"Thu, 15 Feb 2007 01:02:03 +0200" NIL (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain")) NIL NIL NIL NIL NIL',
  },
  {
    message: `Date: Thu, 15 Feb 2007 01:02:03 +0200
From: <@route:user@domain>

body
`,
    envelope:
      '"Thu, 15 Feb 2007 01:02:03 +0200" NIL ((NIL "@route" "user" "domain")) ((NIL "@route" "user" "domain")) ((NIL "@route" "user" "domain")) NIL NIL NIL NIL NIL',
  },
];

test('Dovecot golden ENVELOPEs (from imaptest)', () => {
  for (const golden of ENVELOPES) assert.is(inner(envelope(parseMessage(crlf(golden.message)))), golden.envelope);
});

// ---------------------------------------------------------------------------------------------
// Our own golden cases

test('no Content-Type at all: text/plain; charset=us-ascii', () => {
  const message = 'From: a@b.example\nSubject: hi\n\nline one\nline two\n';
  assert.is(structureOf(message), '"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 20 2 NIL NIL NIL NIL');
  assert.is(structureOf(message, false), '"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 20 2');
});

test('Content-* headers without MIME-Version or Content-Type do not count (Dovecot)', () => {
  const message = 'From: a@b.example\nContent-Transfer-Encoding: base64\nContent-Description: x\n\naGVsbG8=\n';
  assert.is(structureOf(message, false), '"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1');
  const mime = `MIME-Version: 1.0\n${message}`;
  assert.is(structureOf(mime, false), '"text" "plain" ("charset" "us-ascii") NIL "x" "base64" 10 1');
});

test('multipart/alternative as a mail client writes it', () => {
  const message = `From: Alice <alice@example.com>
To: bob@example.com
Subject: Lunch
Date: Mon, 6 May 2024 12:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="000000000000abcdef"

--000000000000abcdef
Content-Type: text/plain; charset="UTF-8"

Lunch at noon?

--000000000000abcdef
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">Lunch at noon?</div>

--000000000000abcdef--
`;
  assert.is(
    structureOf(message),
    '("text" "plain" ("charset" "UTF-8") NIL NIL "7bit" 16 1 NIL NIL NIL NIL)("text" "html" ("charset" "UTF-8") NIL NIL "quoted-printable" 39 1 NIL NIL NIL NIL) "alternative" ("boundary" "000000000000abcdef") NIL NIL NIL',
  );
});

test('RFC 2231 filename: continuations merged, the charset form kept (as Dovecot sends it)', () => {
  const message = `MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: application/pdf; name*0*=utf-8''%E2%82%AC; name*1=" rates.pdf"
Content-Disposition: attachment;
 filename*=UTF-8''%E2%82%AC%20rates.pdf;
 size=3
Content-Transfer-Encoding: base64

YWJj
--b--
`;
  assert.is(
    structureOf(message),
    `("application" "pdf" ("name*" "utf-8''%E2%82%AC rates.pdf") NIL NIL "base64" 4 NIL ("attachment" ("size" "3" "filename*" "UTF-8''%E2%82%AC%20rates.pdf")) NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL`,
  );
});

test('message/global is an embedded message; multipart/digest parts default to message/rfc822', () => {
  const message = `MIME-Version: 1.0
Content-Type: multipart/digest; boundary=d

--d

Subject: one

first
--d
Content-Type: message/global

Subject: =?utf-8?q?t=C3=BCr?=

second
--d--
`;
  assert.is(
    structureOf(message, false),
    '("message" "rfc822" NIL NIL NIL "7bit" 21 (NIL "one" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0) 2)("message" "global" NIL NIL NIL "7bit" 39 (NIL "=?utf-8?q?t=C3=BCr?=" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 0) 2) "digest"',
  );
});

// ---------------------------------------------------------------------------------------------
// Lenient reading

const partOf = (parsed: ParsedMessage, ...path: number[]): MimePart => {
  let part = parsed.root;
  for (const n of path) part = part.message !== undefined ? part.message.root.parts![n - 1]! : part.parts![n - 1]!;
  return part;
};

test('bare LF line ends: sizes are raw bytes', () => {
  const raw = Buffer.from('Content-Type: multipart/mixed; boundary=x\n\n--x\n\nab\n--x\nContent-Type: text/html\n\n<b>c</b>\n--x--\n');
  const parsed = parseMessage(raw);
  assert.is(inner(bodyStructure(parsed, false)), '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 2 0)("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 8 0) "mixed"');
  assert.is(raw.toString('latin1', partOf(parsed, 1).bodyStart, partOf(parsed, 1).bodyEnd), 'ab');
  assert.is(raw.toString('latin1', partOf(parsed, 2).bodyStart, partOf(parsed, 2).bodyEnd), '<b>c</b>');
});

test('missing close-delimiter: the last part runs to the end', () => {
  const parsed = parseMessage(crlf('Content-Type: multipart/mixed; boundary=x\n\n--x\n\none\n--x\n\ntwo\nmore\n'));
  assert.is(partOf(parsed, 2).bodyEnd, parsed.size);
  assert.is(partOf(parsed, 2).lines, 2);
});

test('no boundary line at all, or no boundary parameter: one text/plain part over the body', () => {
  for (const header of ['Content-Type: multipart/mixed; boundary=nothere', 'Content-Type: multipart/mixed']) {
    const raw = crlf(`${header}\n\nonly text\n`);
    const parsed = parseMessage(raw);
    assert.is(parsed.root.parts?.length, 1);
    const part = partOf(parsed, 1);
    assert.is(raw.toString('latin1', part.bodyStart, part.bodyEnd), 'only text\r\n');
    assert.is(part.type, 'text');
  }
});

test('an outer boundary ends the inner multipart and its open part', () => {
  const message = `Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner

a
--outer

b
--outer--
`;
  const raw = crlf(message);
  const parsed = parseMessage(raw);
  assert.is(parsed.root.parts?.length, 2);
  assert.is(raw.toString('latin1', partOf(parsed, 1, 1).bodyStart, partOf(parsed, 1, 1).bodyEnd), 'a');
  assert.is(raw.toString('latin1', partOf(parsed, 2).bodyStart, partOf(parsed, 2).bodyEnd), 'b');
});

test('the same boundary nested: the innermost owns it; the longest prefix wins', () => {
  const same = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nin\n--b--\n--b\n\nout\n--b--\n');
  const parsed = parseMessage(same);
  assert.is(parsed.root.parts?.length, 2);
  assert.is(partOf(parsed, 1).parts?.length, 1);
  const prefix = crlf('Content-Type: multipart/mixed; boundary=ab\n\n--ab\nContent-Type: multipart/mixed; boundary=abc\n\n--abc\n\nx\n--ab\n\ny\n--ab--\n');
  const p2 = parseMessage(prefix);
  assert.is(p2.root.parts?.length, 2);
  assert.is(prefix.toString('latin1', partOf(p2, 1, 1).bodyStart, partOf(p2, 1, 1).bodyEnd), 'x');
});

test('a boundary line inside a part header ends it: empty header rest and empty body', () => {
  const raw = crlf('Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n--x\n\nsecond\n--x--\n');
  const parsed = parseMessage(raw);
  const first = partOf(parsed, 1);
  assert.is(raw.toString('latin1', first.headerStart, first.headerEnd), 'Content-Type: text/plain');
  assert.is(first.bodyEnd - first.bodyStart, 0);
  assert.is(raw.toString('latin1', partOf(parsed, 2).bodyStart, partOf(parsed, 2).bodyEnd), 'second');
});

test('no header/body separator: all header, empty body; empty message', () => {
  const parsed = parseMessage(Buffer.from('Subject: only a header\r\nFrom: x@y'));
  assert.is(parsed.root.bodyStart, parsed.size);
  assert.is(parsed.headers.subject, 'only a header');
  assert.is(parsed.headers.from, 'x@y');
  const empty = parseMessage(Buffer.alloc(0));
  assert.is(inner(bodyStructure(empty, false)), '"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0');
  assert.is(inner(envelope(empty)), 'NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL');
});

test('8-bit headers: UTF-8 kept as text, other bytes as Latin-1', () => {
  const raw = Buffer.concat([Buffer.from('Subject: caf\u00e9 \u2603\r\nFrom: Ren', 'utf8'), Buffer.from([0xe9]), Buffer.from(' <r@x.example>\r\n\r\n')]);
  const parsed = parseMessage(raw);
  assert.is(parsed.headers.subject, 'caf\u00e9 \u2603');
  assert.is(parsed.headers.from, 'Ren\u00e9 <r@x.example>');
});

test('folded header values are unfolded, first occurrence wins', () => {
  const parsed = parseMessage(crlf('Subject: a\n  long\n\tsubject\nSubject: second\nMessage-ID:\n <id@x>\n\n'));
  assert.is(parsed.headers.subject, 'a  long\tsubject');
  assert.is(parsed.headers.messageId, '<id@x>');
});

test('absurd nesting is capped at MAX_DEPTH, quickly', () => {
  let message = '';
  for (let i = 0; i < 2000; i++) message += `Content-Type: multipart/mixed; boundary=b${i}\n\n--b${i}\n`;
  message += '\nleaf\n';
  const parsed = parseMessage(crlf(message));
  assert.is(parsed.capped, true);
  let depth = 0;
  let part = parsed.root;
  while (part.parts !== undefined) {
    part = part.parts[0]!;
    depth++;
  }
  assert.is(depth, MAX_DEPTH);
  assert.ok(bodyStructure(parsed, true) !== null);
  // A capped multipart is a leaf: BODYSTRUCTURE calls it application/octet-stream.
  assert.ok(JSON.stringify(bodyStructure(parsed, false)).includes('"application","octet-stream"'));
  // message/rfc822 nested as deeply.
  const rfc822 = parseMessage(crlf(`${'Content-Type: message/rfc822\n\n'.repeat(100)}Subject: deep\n\nx\n`));
  assert.is(rfc822.capped, true);
});

test('part count is capped at MAX_PARTS', () => {
  const parts = Array.from({ length: MAX_PARTS + 500 }, (_, i) => `--x\n\n${i}\n`).join('');
  const parsed = parseMessage(crlf(`Content-Type: multipart/mixed; boundary=x\n\n${parts}--x--\n`));
  assert.is(parsed.capped, true);
  assert.ok(parsed.root.parts!.length < MAX_PARTS);
  assert.is(parsed.root.bodyEnd, parsed.size);
});

test('ParsedMessage survives JSON', () => {
  for (const golden of DOVECOT) {
    const parsed = parseMessage(crlf(golden.message));
    const copy = JSON.parse(JSON.stringify(parsed)) as ParsedMessage;
    assert.equal(copy, parsed);
    assert.is(inner(bodyStructure(copy, true)), golden.bodystructure);
  }
});

// ---------------------------------------------------------------------------------------------
// Addresses and dates

const addresses = (value: string): string => imap(parseAddressList(value).map((a) => [a.name, a.adl, a.mailbox, a.host]));

test('address lists: names, quotes, comments, groups, missing parts', () => {
  assert.is(addresses('"Doe, John" <john@example.com>, jane@example.com'), '(("Doe, John" NIL "john" "example.com")(NIL NIL "jane" "example.com"))');
  assert.is(addresses('John Q. Public <JQB@public.example>'), '(("John Q. Public" NIL "JQB" "public.example"))');
  assert.is(addresses('=?utf-8?q?J=C3=B6rg?= <j@x.example>'), '(("=?utf-8?q?J=C3=B6rg?=" NIL "j" "x.example"))');
  assert.is(addresses('<"john doe"@example.com>'), '((NIL NIL "john doe" "example.com"))');
  assert.is(addresses('undisclosed-recipients:;'), '((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))');
  assert.is(addresses('root'), '((NIL NIL "root" "MISSING_DOMAIN"))');
  assert.is(addresses('<>'), '((NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))');
  assert.is(addresses('a@[127.0.0.1] (Loop), , b@c.example'), '(("Loop" NIL "a" "[127.0.0.1]")(NIL NIL "b" "c.example"))');
  assert.is(addresses('Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>'), '(("Pete" NIL "pete" "silly.test"))');
  assert.is(addresses('<@a.example,@b.example:user@c.example>'), '((NIL "@a.example,@b.example" "user" "c.example"))');
  assert.is(addresses('J\u00fcrgen <j\u00fcrgen@b\u00fccher.example>'), '(("J\u00fcrgen" NIL "j\u00fcrgen" "b\u00fccher.example"))');
  assert.is(addresses('broken <a@b.example, c@d.example'), '(("broken" NIL "a" "b.example")(NIL NIL "c" "d.example"))');
  assert.is(addresses(''), '()');
  assert.is(addresses('  ,,, '), '()');
});

test('dates: RFC 5322 and the obsolete forms', () => {
  assert.equal(parseDate('Thu, 15 Feb 2007 01:02:03 +0200'), { time: Date.UTC(2007, 1, 14, 23, 2, 3), zone: 120 });
  assert.equal(parseDate('15 Feb 07 01:02 EST'), { time: Date.UTC(2007, 1, 15, 6, 2), zone: -300 });
  assert.equal(parseDate('Mon, 6 May 2024 12:00:00 -0000 (UTC)'), { time: Date.UTC(2024, 4, 6, 12), zone: 0 });
  assert.equal(parseDate('Sat, 1 Jan 1972 00:00:00 GMT'), { time: Date.UTC(1972, 0, 1), zone: 0 });
  assert.equal(parseDate('Mon Jan  3 10:00:00 2022'), { time: Date.UTC(2022, 0, 3, 10), zone: 0 });
  assert.equal(parseDate('1 Jan 099 00:00:00 +0000'), { time: Date.UTC(1999, 0, 1), zone: 0 });
  assert.is(parseDate('31 Feb 2024 10:00:00 +0000'), null);
  assert.is(parseDate('yesterday'), null);
  assert.is(parseDate(''), null);
  assert.is(parseDate('1 Jan 2024 25:00:00 +0000'), null);
  const parsed = parseMessage(crlf('Date: Mon, 6 May 2024 23:30:00 -0500\n\n'));
  assert.is(parsed.sentDate, Date.UTC(2024, 4, 7, 4, 30));
  assert.is(parsed.sentZone, -300);
  assert.is(sentDay(parsed), Date.UTC(2024, 4, 6));
});

test('message ids of References and In-Reply-To', () => {
  assert.equal(messageIds('<a@x> <b@y>\r\n <c@z>'), ['<a@x>', '<b@y>', '<c@z>']);
  assert.equal(messageIds('junk <a@x> (comment) <<b@y>'), ['<a@x>', '<b@y>']);
  assert.equal(messageIds(undefined), []);
  const parsed = parseMessage(crlf('References: <1@x>\n <2@x>\nIn-Reply-To: <2@x>\n\n'));
  assert.equal(messageIds(parsed.headers.references), ['<1@x>', '<2@x>']);
});

test.run();
