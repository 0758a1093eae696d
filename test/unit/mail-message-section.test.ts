/**
 * BODY[section]<partial>, BINARY[section] and BINARY.SIZE from the message model: part
 * numbering (RFC 9051 §6.4.5's example message), HEADER / HEADER.FIELDS(.NOT) / TEXT / MIME,
 * embedded messages, partial ranges, transfer decoding and UNKNOWN-CTE.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  binarySize,
  fetchBinary,
  fetchSection,
  isUnknownCte,
  parseMessage,
  resolvePart,
  type ParsedMessage,
  type Section,
} from '../../firmware/apps/mail/message/index.js';

const crlf = (text: string): Buffer => Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8');

/**
 * The shape of RFC 9051 §6.4.5's example:
 * HEADER ([]), TEXT, 1 TEXT/PLAIN, 2 APPLICATION/OCTET-STREAM, 3 MESSAGE/RFC822 (3.HEADER,
 * 3.TEXT, 3.1 TEXT/PLAIN, 3.2 APPLICATION/OCTET-STREAM), 4 MULTIPART/MIXED (4.1 IMAGE/GIF,
 * 4.1.MIME, 4.2 MESSAGE/RFC822 (4.2.HEADER, 4.2.TEXT, 4.2.1 TEXT/PLAIN, 4.2.2
 * MULTIPART/ALTERNATIVE (4.2.2.1 TEXT/PLAIN, 4.2.2.2 TEXT/RICHTEXT))).
 */
const EXAMPLE = crlf(`From: Ann <ann@example.com>
To: Bob <bob@example.com>
Subject: The example
X-Note: one
 folded
MIME-Version: 1.0
Content-Type: MULTIPART/MIXED; boundary=outer

preamble
--outer
Content-Type: TEXT/PLAIN; charset=utf-8
Content-Transfer-Encoding: quoted-printable

part one caf=C3=A9
--outer
Content-Type: APPLICATION/OCTET-STREAM
Content-Transfer-Encoding: base64

AAECAwQF
--outer
Content-Type: MESSAGE/RFC822

From: Carl <carl@example.com>
Subject: Three
Content-Type: multipart/mixed; boundary=three

--three

three one
--three
Content-Type: application/octet-stream

three two
--three--
--outer
Content-Type: MULTIPART/MIXED; boundary=four

--four
Content-Type: IMAGE/GIF
Content-Transfer-Encoding: x-uuencode

begin 644 x.gif
--four
Content-Type: MESSAGE/RFC822

Subject: Four two
Content-Type: multipart/mixed; boundary=fourtwo

--fourtwo

four two one
--fourtwo
Content-Type: multipart/alternative; boundary=alt

--alt

plain
--alt
Content-Type: text/richtext

<bold>rich</bold>
--alt--
--fourtwo--
--four--
--outer--
epilogue
`);

const parsed = parseMessage(EXAMPLE);
const text = (section: Section, partial?: { origin: number; count?: number }): string | null => {
  const out = fetchSection(EXAMPLE, parsed, section, partial);
  return out === null ? null : out.toString('utf8');
};

test('part numbers resolve as RFC 9051 §6.4.5 numbers them', () => {
  const body = (...path: number[]): string | null => text({ path });
  assert.is(body(1), 'part one caf=C3=A9');
  assert.is(body(2), 'AAECAwQF');
  assert.is(body(3, 1), 'three one');
  assert.is(body(3, 2), 'three two');
  assert.is(body(4, 1), 'begin 644 x.gif');
  assert.is(body(4, 2, 1), 'four two one');
  assert.is(body(4, 2, 2, 1), 'plain');
  assert.is(body(4, 2, 2, 2), '<bold>rich</bold>');
  assert.ok(body(3)!.startsWith('From: Carl <carl@example.com>\r\n'));
  assert.ok(body(3)!.endsWith('--three--\r\n'), 'the close-delimiter line, with its line end (as Dovecot counts it)');
  assert.ok(body(4)!.startsWith('--four\r\n'));
  for (const missing of [[5], [0], [1, 1], [2, 1], [3, 3], [4, 2, 3], [4, 2, 2, 3], [1.5], [-1]]) {
    assert.is(body(...missing), null, `BODY[${missing.join('.')}]`);
    assert.is(resolvePart(parsed, missing), null);
  }
});

test('HEADER, TEXT and the whole message', () => {
  const header = text({ path: [], specifier: 'HEADER' })!;
  assert.ok(header.startsWith('From: Ann'));
  assert.ok(header.endsWith('boundary=outer\r\n\r\n'));
  assert.ok(text({ path: [], specifier: 'TEXT' })!.startsWith('preamble\r\n--outer'));
  assert.ok(text({ path: [], specifier: 'TEXT' })!.endsWith('epilogue\r\n'));
  assert.is(fetchSection(EXAMPLE, parsed, { path: [] })!.length, EXAMPLE.length);
  assert.is(header.length + text({ path: [], specifier: 'TEXT' })!.length, EXAMPLE.length);
});

test('HEADER and TEXT of embedded messages; MIME headers of parts', () => {
  assert.is(text({ path: [3], specifier: 'HEADER' }), 'From: Carl <carl@example.com>\r\nSubject: Three\r\nContent-Type: multipart/mixed; boundary=three\r\n\r\n');
  assert.ok(text({ path: [3], specifier: 'TEXT' })!.startsWith('--three\r\n\r\nthree one'));
  assert.is(text({ path: [4, 2], specifier: 'HEADER.FIELDS', fields: ['subject'] }), 'Subject: Four two\r\n\r\n');
  assert.is(text({ path: [4, 1], specifier: 'MIME' }), 'Content-Type: IMAGE/GIF\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n');
  assert.is(text({ path: [3], specifier: 'MIME' }), 'Content-Type: MESSAGE/RFC822\r\n\r\n');
  assert.is(text({ path: [4, 2, 1], specifier: 'MIME' }), '\r\n');
  // HEADER/TEXT of a part that is not a message, MIME of the message: no such section.
  assert.is(text({ path: [1], specifier: 'HEADER' }), null);
  assert.is(text({ path: [4], specifier: 'TEXT' }), null);
  assert.is(text({ path: [], specifier: 'MIME' }), null);
});

test('HEADER.FIELDS and HEADER.FIELDS.NOT: any case, folded lines whole, ending with the empty line', () => {
  assert.is(text({ path: [], specifier: 'HEADER.FIELDS', fields: ['SUBJECT', 'x-note', 'Cc'] }), 'Subject: The example\r\nX-Note: one\r\n folded\r\n\r\n');
  assert.is(text({ path: [], specifier: 'HEADER.FIELDS', fields: ['nothing'] }), '\r\n');
  assert.is(
    text({ path: [], specifier: 'HEADER.FIELDS.NOT', fields: ['from', 'TO', 'x-note', 'content-type'] }),
    'Subject: The example\r\nMIME-Version: 1.0\r\n\r\n',
  );
  // Repeated fields all come, in order; a header without a final line end still gets one.
  const raw = Buffer.from('Received: a\r\nSubject: s\r\nreceived: b\r\nX: y');
  const p = parseMessage(raw);
  assert.is(fetchSection(raw, p, { path: [], specifier: 'HEADER.FIELDS', fields: ['Received'] })!.toString(), 'Received: a\r\nreceived: b\r\n\r\n');
  assert.is(fetchSection(raw, p, { path: [], specifier: 'HEADER.FIELDS', fields: ['x'] })!.toString(), 'X: y\r\n\r\n');
});

test('partial ranges <origin.count>', () => {
  assert.is(text({ path: [1] }, { origin: 0, count: 4 }), 'part');
  assert.is(text({ path: [1] }, { origin: 5, count: 3 }), 'one');
  assert.is(text({ path: [1] }, { origin: 5 }), 'one caf=C3=A9');
  assert.is(text({ path: [1] }, { origin: 9, count: 1000 }), 'caf=C3=A9');
  assert.is(text({ path: [1] }, { origin: 1000, count: 10 }), '');
  assert.is(text({ path: [1] }, { origin: 0, count: 0 }), '');
  assert.is(text({ path: [], specifier: 'HEADER' }, { origin: 0, count: 5 }), 'From:');
});

test('BINARY: transfer encodings undone, partial on the decoded bytes', () => {
  assert.is((fetchBinary(EXAMPLE, parsed, [1]) as Buffer).toString('utf8'), 'part one caf\u00e9');
  assert.equal([...(fetchBinary(EXAMPLE, parsed, [2]) as Buffer)], [0, 1, 2, 3, 4, 5]);
  assert.equal([...(fetchBinary(EXAMPLE, parsed, [2], { origin: 2, count: 2 }) as Buffer)], [2, 3]);
  assert.is(binarySize(EXAMPLE, parsed, [1]), 'part one caf\u00e9'.length + 1);
  assert.is(binarySize(EXAMPLE, parsed, [2]), 6);
  assert.is((fetchBinary(EXAMPLE, parsed, [3, 1]) as Buffer).toString(), 'three one');
  // An embedded message and a multipart come as stored.
  assert.is((fetchBinary(EXAMPLE, parsed, [3]) as Buffer).toString(), text({ path: [3] }));
  assert.is(binarySize(EXAMPLE, parsed, []), EXAMPLE.length);
  assert.is(fetchBinary(EXAMPLE, parsed, [9]), null);
  assert.is(binarySize(EXAMPLE, parsed, [9]), null);
});

test('BINARY of an unknown Content-Transfer-Encoding: UNKNOWN-CTE', () => {
  const result = fetchBinary(EXAMPLE, parsed, [4, 1]);
  assert.ok(isUnknownCte(result));
  assert.equal(result, { unknownCte: 'x-uuencode' });
  assert.ok(isUnknownCte(binarySize(EXAMPLE, parsed, [4, 1])));
  assert.not.ok(isUnknownCte(Buffer.from('x')));
  assert.not.ok(isUnknownCte(null));
});

test('a message that is not multipart: part 1 is its body', () => {
  const raw = crlf('Subject: x\nContent-Transfer-Encoding: base64\nMIME-Version: 1.0\n\naGVsbG8=\n');
  const p: ParsedMessage = parseMessage(raw);
  assert.is(fetchSection(raw, p, { path: [1] })!.toString(), 'aGVsbG8=\r\n');
  assert.is(fetchSection(raw, p, { path: [1], specifier: 'MIME' })!.toString(), fetchSection(raw, p, { path: [], specifier: 'HEADER' })!.toString());
  assert.is((fetchBinary(raw, p, [1]) as Buffer).toString(), 'hello');
  assert.is(fetchSection(raw, p, { path: [2] }), null);
  // A message/rfc822 message: 1 is the embedded message, 1.1 its body.
  const wrapped = crlf('Content-Type: message/rfc822\n\nSubject: inner\n\ninner body\n');
  const w = parseMessage(wrapped);
  assert.is(fetchSection(wrapped, w, { path: [1], specifier: 'HEADER' })!.toString(), 'Subject: inner\r\n\r\n');
  assert.is(fetchSection(wrapped, w, { path: [1, 1] })!.toString(), 'inner body\r\n');
});

test.run();
