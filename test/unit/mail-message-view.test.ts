/**
 * The reader's view of a message (the web UI): decoded headers, the readable text (plain text
 * preferred, HTML reduced to text, never markup), attachments listed, and the bounds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_VIEW_TEXT_CHARS, messageView } from '../../firmware/apps/mail/message/index.js';

const crlf = (text: string): Buffer => Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8');

test('multipart/alternative: the plain text, not the HTML; headers decoded (RFC 2047)', () => {
  const view = messageView(
    crlf(`From: =?utf-8?q?J=C3=B6rg?= <joerg@example.com>
To: Ann <ann@example.com>,
 Bob <bob@example.com>
Cc: carol@example.com
Subject: =?ISO-8859-1?Q?R=E9sum=E9?= and
 =?utf-8?B?5pel5pys6Kqe?=
Date: Tue, 2 Jan 2024 10:30:00 +0100
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=a

--a
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 at noon, soft=
ly.
--a
Content-Type: text/html; charset=utf-8

<p>HTML <b>version</b></p>
--a--
`),
  );
  assert.is(view.subject, 'Résumé and 日本語');
  assert.is(view.from, 'Jörg <joerg@example.com>');
  assert.is(view.to, 'Ann <ann@example.com>, Bob <bob@example.com>');
  assert.is(view.cc, 'carol@example.com');
  assert.is(view.date, '2024-01-02T09:30:00.000Z');
  assert.is(view.text, 'Café at noon, softly.');
  assert.is(view.truncated, false);
  assert.equal(view.attachments, []);
});

test('HTML only: text without tags, script or style; entities decoded', () => {
  const view = messageView(
    crlf(`Subject: news
Content-Type: text/html; charset=utf-8

<html><head><style>p { color: red }</style><script>alert("x")</script></head>
<body><p>Hello &amp; <a href="https://example.org">welcome</a></p><div>&lt;script&gt; stays text</div></body></html>
`),
  );
  assert.is(view.text, 'Hello & welcome\n<script> stays text');
  assert.not.match(view.text, /<p|<a |alert|color/);
  assert.is(view.date, null);
});

test('an alternative of multipart/related with HTML and images: the HTML as text, the image an attachment', () => {
  const view = messageView(
    crlf(`Subject: related
Content-Type: multipart/related; boundary=r

--r
Content-Type: multipart/alternative; boundary=a

--a
Content-Type: text/html

<p>Only <i>HTML</i></p>
--a--
--r
Content-Type: image/png; name=logo.png
Content-Transfer-Encoding: base64
Content-ID: <logo>

iVBORw0KGgo=
--r--
`),
  );
  assert.is(view.text, 'Only HTML');
  assert.equal(view.attachments, [{ filename: 'logo.png', type: 'image/png', size: 8 }]);
});

test('attachments: names (RFC 2231 and 2047), types, decoded sizes; a text file is not body text', () => {
  const view = messageView(
    crlf(`Subject: files
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=m

--m
Content-Type: text/plain; charset=utf-8

See the files.
--m
Content-Type: application/pdf
Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--m
Content-Type: text/plain; name="=?utf-8?q?notes_=C3=A0_lire.txt?="
Content-Disposition: attachment

not the body
--m
Content-Type: message/rfc822

Subject: forwarded

inner body
--m--
`),
  );
  assert.is(view.text, 'See the files.');
  assert.equal(view.attachments, [
    { filename: 'résumé.pdf', type: 'application/pdf', size: 9 },
    { filename: 'notes à lire.txt', type: 'text/plain', size: 12 },
    { filename: '', type: 'message/rfc822', size: 32 },
  ]);
});

test('several inline text parts are joined; a message without a body has empty text', () => {
  const mixed = messageView(crlf(`Content-Type: multipart/mixed; boundary=m\n\n--m\n\none\n--m\n\ntwo\n--m--\n`));
  assert.is(mixed.text, 'one\n\ntwo');
  const empty = messageView(crlf('Subject: nothing\n\n'));
  assert.is(empty.text, '');
  assert.is(empty.subject, 'nothing');
  assert.is(empty.from, '');
});

test('bounded: text cut at MAX_VIEW_TEXT_CHARS and marked truncated; garbage never throws', () => {
  const long = messageView(Buffer.concat([crlf('Subject: long\n\n'), Buffer.alloc(MAX_VIEW_TEXT_CHARS + 10, 'x')]));
  assert.is(long.text.length, MAX_VIEW_TEXT_CHARS);
  assert.is(long.truncated, true);
  for (const bytes of [Buffer.alloc(0), Buffer.from('\r\n\r\n'), Buffer.from([0xff, 0xfe, 0x00, 0x0a]), crlf('Content-Type: multipart/mixed\n\n--\n')]) {
    const view = messageView(bytes);
    assert.type(view.text, 'string');
  }
});

test.run();
