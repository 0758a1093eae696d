/** IMAP response encoding and modified UTF-7 mailbox names. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import {
  astring,
  binaryString,
  continuation,
  dateTime,
  delimiter,
  flagList,
  formatDateTime,
  isAtomSafe,
  join,
  list,
  literal,
  literal8,
  mailboxName,
  nstring,
  quoted,
  responseCode,
  saslChallenge,
  string,
  tagged,
  untagged,
  untaggedStatus,
  wireLength,
  wireToBuffer,
  type Wire,
} from '../../firmware/apps/mail/imap/encode.js';
import { decodeMailboxUtf7, encodeMailboxUtf7, MailboxNameError } from '../../firmware/apps/mail/imap/utf7.js';
import { parseCommand } from '../../firmware/apps/mail/imap/parser.js';
import { CommandReader } from '../../firmware/apps/mail/imap/reader.js';

const wire = (w: Wire) => wireToBuffer(w).toString('latin1');

test('strings: atom, quoted or literal as the content requires', () => {
  assert.is(wire(astring('INBOX')), 'INBOX');
  assert.is(wire(astring('a]b')), 'a]b');
  assert.is(wire(astring('')), '""');
  assert.is(wire(astring('NIL')), '"NIL"');
  assert.is(wire(astring('two words')), '"two words"');
  assert.is(wire(astring('a*b%c')), '"a*b%c"');
  assert.is(wire(string('say "hi" \\o/')), '"say \\"hi\\" \\\\o/"');
  assert.is(wire(string('line\r\nbreak')), '{11}\r\nline\r\nbreak');
  assert.is(wire(string('nul\0')), '{4}\r\nnul\0');
  assert.is(wire(string('x'.repeat(2000))), `{2000}\r\n${'x'.repeat(2000)}`);
  assert.is(wire(string('x'.repeat(20), { maxQuoted: 10 })).startsWith('{20}'), true);
  assert.ok(isAtomSafe('$Forwarded'));
  assert.not.ok(isAtomSafe('a{b'));
  assert.throws(() => quoted('a\nb'));
});

test('8-bit text: a literal of UTF-8 bytes, or UTF-8 quoted when the client enabled it', () => {
  const out = wireToBuffer(string('Grüße'));
  assert.is(out.toString('utf8'), '{7}\r\nGrüße');
  assert.is(wireToBuffer(string('Grüße', { utf8: true })).toString('utf8'), '"Grüße"');
  const bytes = Buffer.from([0x61, 0xff, 0xfe]);
  assert.ok(wireToBuffer(string(bytes)).equals(Buffer.concat([Buffer.from('{3}\r\n'), bytes])), 'bytes survive');
  assert.ok(wireToBuffer(string(bytes, { utf8: true })).equals(Buffer.concat([Buffer.from('{3}\r\n'), bytes])), 'invalid UTF-8 is never quoted');
  assert.is(wire(string(Buffer.from('plain'))), '"plain"');
});

test('nstring, literal, literal8 and BINARY content', () => {
  assert.is(wire(nstring(null)), 'NIL');
  assert.is(wire(nstring(undefined)), 'NIL');
  assert.is(wire(nstring('')), '""');
  assert.is(wire(literal('abc')), '{3}\r\nabc');
  assert.is(wire(literal8(Buffer.from('a\0'))), '~{2}\r\na\0');
  assert.is(wire(binaryString(Buffer.from('a\0'))), '~{2}\r\na\0');
  assert.is(wire(binaryString(Buffer.from('ab'))), '{2}\r\nab');
  const big = Buffer.alloc(1 << 20, 0x78);
  const w = literal(big);
  assert.is(w[1], big, 'literal bytes are not copied');
  assert.is(wireLength(w), (1 << 20) + '{1048576}\r\n'.length);
});

test('lists, flag lists, joins', () => {
  assert.is(wire(list(['a', astring('b c'), list([])])), '(a "b c" ())');
  assert.is(wire(join(['1', 'FETCH', list(['UID', '5'])])), '1 FETCH (UID 5)');
  assert.is(flagList(['\\seen', '\\DELETED', '$Forwarded', 'bad flag', '\\*', 'x)y']), '(\\Seen \\Deleted $Forwarded \\*)');
  assert.is(flagList([]), '()');
});

test('date-time in the IMAP form, at any offset', () => {
  const instant = Date.UTC(1996, 6, 17, 9, 44, 25);
  assert.is(formatDateTime(instant, -420), '17-Jul-1996 02:44:25 -0700');
  assert.is(formatDateTime(new Date(instant)), '17-Jul-1996 09:44:25 +0000');
  assert.is(formatDateTime(Date.UTC(2024, 0, 5, 23, 30, 0), 330), '06-Jan-2024 05:00:00 +0530');
  assert.is(dateTime(instant), '"17-Jul-1996 09:44:25 +0000"');
});

test('mailbox names: modified UTF-7 by default, UTF-8 quoted after ENABLE UTF8=ACCEPT', () => {
  assert.is(wire(mailboxName('INBOX', { utf8: false })), 'INBOX');
  assert.is(wire(mailboxName('Entwürfe', { utf8: false })), 'Entw&APw-rfe');
  assert.is(wireToBuffer(mailboxName('Entwürfe', { utf8: true })).toString('utf8'), '"Entwürfe"');
  assert.is(wire(mailboxName('A & B', { utf8: false })), '"A &- B"');
  assert.is(delimiter('/'), '"/"');
  assert.is(delimiter(null), 'NIL');
});

test('status responses, codes and continuations', () => {
  assert.is(tagged('a1', 'OK', 'SELECT completed', responseCode('READ-WRITE')), 'a1 OK [READ-WRITE] SELECT completed\r\n');
  assert.is(tagged('a1', 'NO', 'bad charset', responseCode('BADCHARSET', '(UTF-8 US-ASCII)')), 'a1 NO [BADCHARSET (UTF-8 US-ASCII)] bad charset\r\n');
  assert.is(tagged('a1', 'BAD', 'evil\r\n* OK injected'), 'a1 BAD evil  * OK injected\r\n');
  assert.is(tagged('a1', 'BAD', '[fake] text'), 'a1 BAD  [fake] text\r\n');
  assert.is(untaggedStatus('BYE', 'logging out'), '* BYE logging out\r\n');
  assert.is(wire(untagged('3 EXISTS')), '* 3 EXISTS\r\n');
  assert.is(wire(untagged(join(['1', 'FETCH', list(['FLAGS', flagList(['\\Seen'])])]))), '* 1 FETCH (FLAGS (\\Seen))\r\n');
  assert.is(continuation(), '+ Ready\r\n');
  assert.is(continuation('idling'), '+ idling\r\n');
  assert.is(saslChallenge(Buffer.alloc(0)), '+ \r\n');
  assert.is(responseCode('UIDNEXT', '42'), '[UIDNEXT 42]');
});

test('what the encoder writes, the parser reads back', () => {
  const values = ['plain', 'two words', 'quote " and \\', 'line\r\nbreak', '', 'NIL', 'a]b', 'x'.repeat(3000), 'ü'];
  for (const value of values) {
    const line = wireToBuffer(['a LOGIN ', ...astring(value), ' ', ...string(value), '\r\n']);
    const reader = new CommandReader();
    reader.push(line);
    let event = reader.next();
    while (event?.type === 'continue') event = reader.next();
    assert.ok(event?.type === 'command', value);
    assert.equal(parseCommand(event.frame), { name: 'LOGIN', tag: 'a', username: value, password: value }, value);
  }
});

test('modified UTF-7: RFC 3501 example and round trips', () => {
  assert.is(decodeMailboxUtf7('~peter/mail/&U,BTFw-/&ZeVnLIqe-'), '~peter/mail/台北/日本語');
  assert.is(encodeMailboxUtf7('~peter/mail/台北/日本語'), '~peter/mail/&U,BTFw-/&ZeVnLIqe-');
  assert.is(decodeMailboxUtf7('&-'), '&');
  assert.is(encodeMailboxUtf7('&'), '&-');
  for (const name of ['', 'INBOX', 'Entwürfe', 'A&B', '😀 emoji', 'mixed ü and 台北 & more', '\u00e9\u00e9\u00e9', 'tab\there', '\u{10ffff}']) {
    assert.is(decodeMailboxUtf7(encodeMailboxUtf7(name.replace('\t', ' '))), name.replace('\t', ' '), name);
  }
});

test('modified UTF-7: every non-canonical or broken form is refused', () => {
  const bad = [
    '&', // unterminated
    '&U,BTFw', // unterminated
    '&AGE-', // encodes printable ASCII "a"
    '&U,BTF-', // leftover bits not zero / wrong length
    '&2D0-', // lone high surrogate
    '&2D0AYQ-', // high surrogate followed by a non-surrogate
    '&3gA-', // lone low surrogate
    '&U,B/Fw-', // "/" is not in the alphabet
    '&=-',
    'Entwürfe', // 8-bit: not modified UTF-7
    'a\tb',
    '&&-',
  ];
  for (const name of bad) assert.throws(() => decodeMailboxUtf7(name), (e: unknown) => e instanceof MailboxNameError, name);
});

test.run();
