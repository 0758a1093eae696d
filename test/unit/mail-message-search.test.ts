/**
 * What SEARCH gets from the message model: decoded header values, the decoded text of the
 * body (transfer encoding, charset, HTML), the case-insensitive match, and the bounds on work.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  MAX_TEXT_CHARS,
  bodyText,
  containsFolded,
  decodeCachedHeader,
  foldCase,
  headerText,
  headerValues,
  htmlToText,
  parseMessage,
} from '../../firmware/apps/mail/message/index.js';

const crlf = (text: string): Buffer => Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8');

const MESSAGE = crlf(`From: =?utf-8?q?J=C3=B6rg?= <joerg@example.com>
To: Ann <ann@example.com>,
 Bob <bob@example.com>
Cc: carol@example.com
Subject: =?ISO-8859-1?Q?R=E9sum=E9?= and
 =?utf-8?B?5pel5pys6Kqe?=
X-Tag: one
x-tag: two
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: multipart/alternative; boundary=a

--a
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 at noon, soft=
ly.
--a
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

${Buffer.from('<html><head><style>p { color: red }</style><script>var secret = 1;</script></head><body><p>Caf\u00e9 <b>at</b> no<i>on</i> &amp; more&nbsp;&#233;&#x41;</p><!-- hidden --></body></html>').toString('base64')}
--a--
--b
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

${Buffer.from('binary needle').toString('base64')}
--b
Content-Type: message/rfc822

Subject: =?utf-8?q?inner_subject?=
Content-Type: text/plain; charset=koi8-r
Content-Transfer-Encoding: base64

8NLJ18XU
--b--
`);

const parsed = parseMessage(MESSAGE);

test('headerValues: decoded, unfolded, every occurrence, any case', () => {
  assert.equal(headerValues(MESSAGE, parsed, 'subject'), ['Résumé and 日本語']);
  assert.equal(headerValues(MESSAGE, parsed, 'FROM'), ['Jörg <joerg@example.com>']);
  assert.equal(headerValues(MESSAGE, parsed, 'to'), ['Ann <ann@example.com>, Bob <bob@example.com>']);
  assert.equal(headerValues(MESSAGE, parsed, 'X-Tag'), ['one', 'two']);
  assert.equal(headerValues(MESSAGE, parsed, 'bcc'), []);
  assert.is(decodeCachedHeader(parsed.headers.subject!), 'Résumé and 日本語');
  assert.ok(headerText(MESSAGE, parsed).includes('Subject: Résumé and 日本語\n'));
});

test('bodyText: every text part decoded, HTML reduced to text, attachments left out, embedded messages in', () => {
  const text = bodyText(MESSAGE, parsed);
  assert.ok(text.includes('Café at noon, softly.'), text);
  assert.ok(text.includes('Café at noon & more éA'), text);
  assert.not.ok(text.includes('secret'));
  assert.not.ok(text.includes('color'));
  assert.not.ok(text.includes('hidden'));
  assert.not.ok(text.includes('<'));
  assert.not.ok(text.includes('needle'));
  assert.ok(text.includes('Subject: inner subject'));
  assert.ok(text.includes('Привет'));
});

test('bodyText of a message without MIME, and of an unknown charset', () => {
  const raw = crlf('Subject: x\n\nplain caf\u00e9 body\n');
  assert.is(bodyText(raw, parseMessage(raw)), 'plain café body\r\n');
  const latin = Buffer.concat([crlf('Content-Type: text/plain; charset=x-mystery\n\n'), Buffer.from([0x68, 0xe9])]);
  assert.is(bodyText(latin, parseMessage(latin)), 'hé');
});

test('bodyText is bounded', () => {
  const big = crlf(`Content-Type: text/plain\n\n${'x'.repeat(3 * 1024 * 1024)}\n`);
  const text = bodyText(big, parseMessage(big));
  assert.is(text.length, 1024 * 1024);
  assert.ok(MAX_TEXT_CHARS >= 1024 * 1024);
});

test('htmlToText: crude but useful', () => {
  assert.is(htmlToText('<p>one</p><p>two</p>'), 'one\ntwo');
  assert.is(htmlToText('a < b and c<d'), 'a < b and c<d');
  assert.is(htmlToText('x<br/>y<BR>z'), 'x\ny\nz');
  assert.is(htmlToText('<SCRIPT>alert(1)</script >after'), 'after');
  assert.is(htmlToText('unterminated <b'), 'unterminated <b');
  assert.is(htmlToText('&lt;tag&gt; &unknown; &#0; &#xZZ;'), '<tag> &unknown; &#0; &#xZZ;');
  assert.is(htmlToText('a\n\n   b   c'), 'a\nb c');
});

test('containsFolded: IMAP substring match, case-insensitively', () => {
  assert.ok(containsFolded('Hello World', 'WORLD'));
  assert.ok(containsFolded('Résumé', 'RÉSUMÉ'));
  assert.ok(containsFolded('ΣΟΦΊΑ', 'σοφία'));
  assert.ok(containsFolded('anything', ''));
  assert.not.ok(containsFolded('Hello', 'help'));
  // Composed and decomposed forms match.
  assert.ok(containsFolded('cafe\u0301', 'CAFÉ'));
  assert.is(foldCase('ÀB'), 'àb');
  // ASCII needles take the pattern path: metacharacters are literal, other needles are not confused with it.
  assert.ok(containsFolded('a KUMQUAT tree', 'kumQuat'));
  assert.ok(containsFolded('price: 3.5 (net)', '3.5 (NET)'));
  assert.not.ok(containsFolded('price: 345 net', '3.5'));
  assert.not.ok(containsFolded('abc', 'a.c'));
  assert.ok(containsFolded('back\\slash [x]', '\\SLASH [X]'));
  assert.not.ok(containsFolded('kumquat', 'kumquats'));
});

test.run();
