/**
 * The message model's decoders: quoted-printable, base64, RFC 2047 encoded-words, RFC 2231
 * parameters, charsets. Expected values were cross-checked with Python's `email` package
 * (email.header.decode_header, quopri) where it agrees with the RFCs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  bytesToText,
  decodeBase64,
  decodeCharset,
  decodeEncodedWords,
  decodeHeaderValue,
  decodeQuotedPrintable,
  decodeRfc2231Value,
  decodeTransfer,
  isKnownTransferEncoding,
  mergeRfc2231,
  paramValue,
  parseParams,
  unfold,
} from '../../firmware/apps/mail/message/index.js';

const qp = (s: string, q = false): string => decodeQuotedPrintable(Buffer.from(s, 'latin1'), q).toString('latin1');

test('quoted-printable: escapes, soft breaks, trailing white space, lenient on bad escapes', () => {
  assert.is(qp('caf=C3=A9 =\r\nsoft   \r\nline=3D=\r\n'), 'caf\xc3\xa9 soft\r\nline=');
  assert.is(qp('a=\nb'), 'ab');
  assert.is(qp('a= \t\r\nb'), 'ab');
  assert.is(qp('lower =c3=a9'), 'lower \xc3\xa9');
  assert.is(qp('bad =ZZ and =4'), 'bad =ZZ and =4');
  assert.is(qp('end ='), 'end ');
  assert.is(qp('tab\t\nx'), 'tab\nx');
  assert.is(qp('keep  inner  spaces'), 'keep  inner  spaces');
  assert.is(qp('a_b=5Fc', true), 'a b_c');
  assert.is(qp('a_b', false), 'a_b');
});

test('base64: whitespace and junk skipped, padding in the middle restarts', () => {
  assert.is(decodeBase64(Buffer.from('aGVs\r\nbG8g\r\nd29y bGQ=\r\n')).toString(), 'hello world');
  assert.is(decodeBase64(Buffer.from('aGVsbG8=IHdvcmxk')).toString(), 'hello world');
  assert.is(decodeBase64(Buffer.from('aGVsbG8=\r\n\r\nIHdvcmxk\r\n')).toString(), 'hello world');
  assert.is(decodeBase64(Buffer.from('aGV*sbG8')).toString(), 'hello');
  assert.is(decodeBase64(Buffer.from('====')).length, 0);
  assert.is(decodeBase64(Buffer.alloc(0)).length, 0);
});

test('transfer encodings: known ones decoded, others refused', () => {
  assert.is(decodeTransfer(Buffer.from('aGk='), 'BASE64')!.toString(), 'hi');
  assert.is(decodeTransfer(Buffer.from('h=69'), 'Quoted-Printable')!.toString(), 'hi');
  assert.is(decodeTransfer(Buffer.from('h=69'), undefined)!.toString(), 'h=69');
  assert.is(decodeTransfer(Buffer.from('x'), '8bit')!.toString(), 'x');
  assert.is(decodeTransfer(Buffer.from('x'), 'binary')!.toString(), 'x');
  assert.is(decodeTransfer(Buffer.from('x'), 'x-uuencode'), null);
  assert.ok(isKnownTransferEncoding('7BIT'));
  assert.not.ok(isKnownTransferEncoding('x-gzip'));
});

test('RFC 2047 encoded-words (as Python decodes them)', () => {
  const cases: [string, string][] = [
    ['=?utf-8?q?J=C3=B6rg_M=C3=BCller?= <j@example.com>', 'Jörg Müller <j@example.com>'],
    ['=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>', 'André Pirard <PIRARD@vm1.ulg.ac.be>'],
    ['=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=', 'If you can read this you understand the example.'],
    ['(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)', '(ab)'],
    ['=?UTF-8?B?5pel5pys6Kqe?= text', '日本語 text'],
    ['=?iso-2022-jp?B?GyRCJUYlOSVIGyhC?=', 'テスト'],
    ['=?koi8-r?B?8NLJ18XU?=', 'Привет'],
    ['=?windows-1252?Q?=80uro?=', '€uro'],
  ];
  for (const [input, expected] of cases) assert.is(decodeEncodedWords(input), expected, input);
});

test('RFC 2047: white space rules, split characters, language tags, malformed words', () => {
  assert.is(decodeEncodedWords('=?ISO-8859-1?Q?a?=  \t =?ISO-8859-1?Q?b?='), 'ab');
  assert.is(decodeEncodedWords('=?ISO-8859-1?Q?a?= b =?ISO-8859-1?Q?c?='), 'a b c');
  assert.is(decodeEncodedWords('x =?ISO-8859-1?Q?a?='), 'x a');
  // One UTF-8 character split across two words.
  assert.is(decodeEncodedWords('=?utf-8?B?w6k=?= =?utf-8?B?w6k=?='), 'éé');
  assert.is(decodeEncodedWords('=?utf-8?Q?=C3?= =?utf-8?Q?=A9?='), 'é');
  assert.is(decodeEncodedWords('=?utf-8*fr?q?caf=C3=A9?='), 'café');
  assert.is(decodeEncodedWords('=?x-unknown?q?caf=C3=A9?='), 'café');
  assert.is(decodeEncodedWords('=?x-unknown?q?caf=E9?='), 'café');
  assert.is(decodeEncodedWords('word=?utf-8?q?s?='), 'words');
  assert.is(decodeEncodedWords('=?utf-8?x?abc?= =?utf-8?q?has space?= =?broken'), '=?utf-8?x?abc?= =?utf-8?q?has space?= =?broken');
  assert.is(decodeEncodedWords('=??q?a?= =?utf-8?q?'), '=??q?a?= =?utf-8?q?');
  assert.is(decodeEncodedWords('plain text'), 'plain text');
});

test('header values: unfolded, decoded, 8-bit UTF-8 and Latin-1', () => {
  assert.is(unfold('a\r\n b\n\tc'), 'a b\tc');
  assert.is(decodeHeaderValue(Buffer.from(' =?utf-8?q?a?=\r\n =?utf-8?q?b?= \r\n')), 'ab');
  assert.is(decodeHeaderValue(Buffer.from(' caf\u00e9', 'utf8')), 'café');
  assert.is(decodeHeaderValue(Buffer.from([0x20, 0x63, 0x61, 0x66, 0xe9])), 'café');
  assert.is(bytesToText(Buffer.from([0xff, 0xfe])), '\u00ff\u00fe');
});

test('charsets through TextDecoder, with fallbacks', () => {
  assert.is(decodeCharset(Buffer.from([0xe9]), 'ISO-8859-1'), 'é');
  assert.is(decodeCharset(Buffer.from([0x80, 0x99, 0x81]), 'windows-1252'), '€™\u0081');
  assert.is(decodeCharset(Buffer.from([0x93, 0x94]), 'iso-8859-1'), '“”');
  assert.is(decodeCharset(Buffer.from([0xa4]), 'iso-8859-15'), '€');
  assert.is(decodeCharset(Buffer.from([0x82, 0xa0]), 'Shift_JIS'), 'あ');
  assert.is(decodeCharset(Buffer.from([0xb0, 0xa1]), 'ks_c_5601-1987'), '가');
  assert.is(decodeCharset(Buffer.from([0xc4, 0xe3]), 'gb2312'), '你');
  assert.is(decodeCharset(Buffer.from('héllo', 'utf8'), '"UTF-8"'), 'héllo');
  // US-ASCII or no charset with 8-bit content: UTF-8 when valid, else Windows-1252.
  assert.is(decodeCharset(Buffer.from('héllo', 'utf8'), 'us-ascii'), 'héllo');
  assert.is(decodeCharset(Buffer.from([0x68, 0xe9]), undefined), 'hé');
  assert.is(decodeCharset(Buffer.from([0x68, 0xe9]), 'no-such-charset'), 'hé');
  assert.is(decodeCharset(Buffer.from('a\u2603', 'utf8'), 'utf-7'), 'a\u2603');
  // Invalid bytes in a known charset are replaced, never thrown.
  assert.is(decodeCharset(Buffer.from([0x61, 0xff]), 'utf-8'), 'a\ufffd');
});

test('MIME parameters: quoting, comments, lenient values', () => {
  assert.equal(parseParams('; charset="us-ascii" (comment); format=flowed', 0), [
    ['charset', 'us-ascii'],
    ['format', 'flowed'],
  ]);
  assert.equal(parseParams(';name="a \\"b\\" c";x=1;;y =  2 ', 0), [
    ['name', 'a "b" c'],
    ['x', '1'],
    ['y', '2'],
  ]);
  assert.equal(parseParams('; filename=my file.pdf; size=3', 0), [
    ['filename', 'my file.pdf'],
    ['size', '3'],
  ]);
  assert.equal(parseParams(' junk ; =novalue; ok=1; noequals; q="unterminated', 0), [
    ['ok', '1'],
    ['q', 'unterminated'],
  ]);
});

test('RFC 2231: continuations merged (Dovecot style), values decoded on request', () => {
  assert.equal(
    mergeRfc2231([
      ['title*1', ' two'],
      ['a', 'b'],
      ['title*0', 'one'],
    ]),
    [
      ['a', 'b'],
      ['title', 'one two'],
    ],
  );
  assert.equal(
    mergeRfc2231([
      ['name*0*', "us-ascii'en'This%20is%20even%20more%20"],
      ['name*1*', '%2A%2A%2Afun%2A%2A%2A%20'],
      ['name*2', 'isn\'t it!%'],
    ]),
    [['name*', "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn't it!%25"]],
  );
  // A missing section: left as written.
  assert.equal(
    mergeRfc2231([
      ['x*0', 'a'],
      ['x*2', 'c'],
    ]),
    [
      ['x*0', 'a'],
      ['x*2', 'c'],
    ],
  );
  assert.is(decodeRfc2231Value("us-ascii'en'This%20is%20%2A%2A%2Afun%2A%2A%2A"), 'This is ***fun***');
  assert.is(decodeRfc2231Value("utf-8''%E2%82%AC%20rates.pdf"), '€ rates.pdf');
  assert.is(decodeRfc2231Value("iso-8859-1''caf%E9"), 'café');
  assert.is(decodeRfc2231Value('%E2%82%AC'), '€');
});

test('paramValue: the text of a parameter, whichever way it was written', () => {
  assert.is(paramValue([['Name', 'a.txt']], 'name'), 'a.txt');
  assert.is(paramValue([['filename*', "utf-8''%E2%82%AC.txt"]], 'FILENAME'), '€.txt');
  assert.is(paramValue([['filename', '=?UTF-8?B?4oKsLnR4dA==?=']], 'filename'), '€.txt');
  assert.is(paramValue(parseParams("; name*0*=utf-8''%E2%82; name*1*=%AC.txt", 0), 'name'), '€.txt');
  assert.is(paramValue([['a', 'b']], 'c'), undefined);
});

test.run();
