/** IMAP command parsing: every command, client transcripts, RFC examples and errors. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import {
  decodeBase64,
  decodeSaslPlain,
  isIdleDone,
  parseCommand,
  ParseError,
  parseSaslResponse,
  parseDateTime,
  dateTimeToMillis,
  type Command,
  type FetchItem,
  type SearchKey,
} from '../../firmware/apps/mail/imap/parser.js';
import { CommandReader, type CommandFrame } from '../../firmware/apps/mail/imap/reader.js';

/** Frames `input` (the client's bytes, literals included) with the reader. */
function frames(input: string | Buffer): CommandFrame[] {
  const reader = new CommandReader();
  reader.push(typeof input === 'string' ? Buffer.from(input, 'utf8') : input);
  const out: CommandFrame[] = [];
  for (let e = reader.next(); e !== undefined; e = reader.next()) {
    if (e.type === 'command') out.push(e.frame);
    else if (e.type === 'error') throw e.error;
  }
  return out;
}

function parse(input: string | Buffer): Command {
  const all = frames(input.toString().endsWith('\n') ? input : `${input}\r\n`);
  assert.is(all.length, 1, 'one command');
  return parseCommand(all[0]!);
}

function parseAll(transcript: string): Command[] {
  return frames(transcript).map(parseCommand);
}

function fails(input: string, pattern?: RegExp, tag?: string): ParseError {
  try {
    parse(input);
  } catch (err) {
    assert.instance(err, ParseError);
    const e = err as ParseError;
    if (pattern !== undefined) assert.match(e.message, pattern);
    if (tag !== undefined) assert.is(e.tag, tag);
    return e;
  }
  return assert.unreachable(`expected ${JSON.stringify(input)} to fail`) as never;
}

const labels = (items: FetchItem[]) => items.map((i) => i.label);

// ---- commands without arguments and the command name -------------------------------------

test('commands without arguments, in any case', () => {
  for (const name of ['CAPABILITY', 'noop', 'Logout', 'STARTTLS', 'NAMESPACE', 'idle', 'CHECK', 'CLOSE', 'UNSELECT']) {
    assert.equal(parse(`t1 ${name}`), { name: name.toUpperCase(), tag: 't1' });
  }
  assert.equal(parse('A202 EXPUNGE'), { name: 'EXPUNGE', tag: 'A202', uid: false });
  fails('a NOOP extra', /unexpected characters/, 'a');
  fails('a NOOP ', /unexpected characters/, 'a');
});

test('unknown commands and bad tags', () => {
  fails('a1 FROBNICATE x', /^unknown command FROBNICATE$/, 'a1');
  fails('a1 UID LOGIN x', /unknown command UID LOGIN/, 'a1');
  fails('a1', /missing command name/, 'a1');
  const noTag = fails('+a NOOP', /tag/);
  assert.is(noTag.tag, undefined);
  fails('a(b NOOP', /tag/);
  fails('a1  NOOP', /command name/);
});

// ---- authentication ----------------------------------------------------------------------

test('LOGIN with atoms, quoted strings and literals', () => {
  assert.equal(parse('a LOGIN alice secret'), { name: 'LOGIN', tag: 'a', username: 'alice', password: 'secret' });
  assert.equal(parse('a LOGIN "alice@example.org" "p a\\"s\\\\s"'), { name: 'LOGIN', tag: 'a', username: 'alice@example.org', password: 'p a"s\\s' });
  assert.equal(parse('a LOGIN {5}\r\nalice {6+}\r\nsecr t\r\n'), { name: 'LOGIN', tag: 'a', username: 'alice', password: 'secr t' });
  assert.equal(parse('a LOGIN "zoë" "пароль"'), { name: 'LOGIN', tag: 'a', username: 'zoë', password: 'пароль' });
  fails('a LOGIN alice', /missing arguments/, 'a');
  fails('a LOGIN alice ~{1}\r\nx\r\n', /literal8/);
  fails('a LOGIN "alice secret', /unterminated/);
  fails('a LOGIN "al\\ice" x', /escape/);
});

test('AUTHENTICATE with and without an initial response; SASL helpers', () => {
  assert.equal(parse('a AUTHENTICATE plain'), { name: 'AUTHENTICATE', tag: 'a', mechanism: 'PLAIN' });
  const ir = parse('a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==');
  assert.ok(ir.name === 'AUTHENTICATE' && ir.initialResponse !== undefined);
  assert.equal(decodeSaslPlain(ir.initialResponse), { authzid: '', authcid: 'alice', password: 'secret' });
  const empty = parse('a AUTHENTICATE PLAIN =');
  assert.ok(empty.name === 'AUTHENTICATE' && empty.initialResponse?.length === 0);
  fails('a AUTHENTICATE PLAIN AGFsaWNl*', /not base64|unexpected/);
  fails('a AUTHENTICATE PLAIN abc', /base64/);

  assert.equal(parseSaslResponse(Buffer.from('*')), { cancel: true });
  const response = parseSaslResponse(Buffer.from('Ym9iAGJvYgBwYXNz'));
  assert.ok(!response.cancel);
  assert.equal(decodeSaslPlain(response.data), { authzid: 'bob', authcid: 'bob', password: 'pass' });
  assert.equal(parseSaslResponse(Buffer.from('')), { cancel: false, data: Buffer.alloc(0) });
  assert.throws(() => parseSaslResponse(Buffer.from('not base64!')), (e: unknown) => e instanceof ParseError);
  assert.throws(() => decodeSaslPlain(Buffer.from('onlyone')), (e: unknown) => e instanceof ParseError);
  assert.throws(() => decodeSaslPlain(Buffer.from('\0user\0')), (e: unknown) => e instanceof ParseError);
  assert.throws(() => decodeSaslPlain(Buffer.from([0, 0x75, 0, 0xff])), (e: unknown) => e instanceof ParseError);
  assert.equal(decodeBase64('YQ=='), Buffer.from('a'));
  assert.is(decodeBase64('YQ=')?.length, undefined);
  assert.is(decodeBase64('Y=Q=')?.length, undefined);
});

test('IDLE ends with DONE in any case', () => {
  assert.ok(isIdleDone(Buffer.from('DONE')));
  assert.ok(isIdleDone(Buffer.from('done')));
  assert.not.ok(isIdleDone(Buffer.from('DONE ')));
  assert.not.ok(isIdleDone(Buffer.from('a NOOP')));
});

test('ENABLE, COMPRESS and ID', () => {
  assert.equal(parse('t2 ENABLE CONDSTORE X-GOOD-IDEA utf8=accept'), { name: 'ENABLE', tag: 't2', capabilities: ['CONDSTORE', 'X-GOOD-IDEA', 'UTF8=ACCEPT'] });
  fails('t ENABLE', /missing arguments/);
  assert.equal(parse('a COMPRESS deflate'), { name: 'COMPRESS', tag: 'a', mechanism: 'DEFLATE' });
  assert.equal(parse('a023 ID ("name" "sodr" "version" "19.34" "vendor" "Pink Floyd Music Limited" "os" NIL)'), {
    name: 'ID',
    tag: 'a023',
    params: [
      ['name', 'sodr'],
      ['version', '19.34'],
      ['vendor', 'Pink Floyd Music Limited'],
      ['os', null],
    ],
  });
  assert.equal(parse('a ID NIL'), { name: 'ID', tag: 'a', params: null });
  assert.equal(parse('a ID ()'), { name: 'ID', tag: 'a', params: [] });
  fails(`a ID ("${'f'.repeat(31)}" "v")`, /30 octets/);
  fails(`a ID ("f" "${'v'.repeat(1025)}")`, /1024 octets/);
  fails(`a ID (${Array.from({ length: 31 }, (_, i) => `"f${i}" "v"`).join(' ')})`, /more than 30/);
  fails('a ID ("name")', /expected a space/);
  fails('a ID name', /NIL/);
});

// ---- mailboxes --------------------------------------------------------------------------

test('SELECT and EXAMINE, with CONDSTORE and QRESYNC parameters', () => {
  assert.equal(parse('A142 SELECT INBOX'), { name: 'SELECT', tag: 'A142', mailbox: 'INBOX', condstore: false });
  assert.equal(parse('a select "inbox"'), { name: 'SELECT', tag: 'a', mailbox: 'INBOX', condstore: false });
  assert.equal(parse('a SELECT inbox.sub'), { name: 'SELECT', tag: 'a', mailbox: 'inbox.sub', condstore: false });
  assert.equal(parse('A932 EXAMINE blurdybloop'), { name: 'EXAMINE', tag: 'A932', mailbox: 'blurdybloop', condstore: false });
  assert.equal(parse('a SELECT "Sent Items" (CONDSTORE)'), { name: 'SELECT', tag: 'a', mailbox: 'Sent Items', condstore: true });
  assert.equal(parse('A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))'), {
    name: 'SELECT',
    tag: 'A02',
    mailbox: 'INBOX',
    condstore: false,
    qresync: {
      uidValidity: 67890007,
      modseq: 20050715194045000n,
      knownUids: { ranges: [{ from: 41, to: 41 }, { from: 43, to: 211 }, { from: 214, to: 541 }], saved: false },
    },
  });
  const full = parse('B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973)))');
  assert.ok(full.name === 'SELECT' && full.qresync?.sequenceMatch !== undefined);
  assert.equal(full.qresync.sequenceMatch.sequence.ranges.length, 4);
  assert.equal(full.qresync.sequenceMatch.uids.ranges[4], { from: 29973, to: 29973 });
  const matchOnly = parse('a SELECT INBOX (QRESYNC (1 2 (1:2 5:6)))');
  assert.ok(matchOnly.name === 'SELECT' && matchOnly.qresync?.knownUids === undefined && matchOnly.qresync?.sequenceMatch !== undefined);
  assert.equal(parse('a SELECT x (QRESYNC (1 2))'), { name: 'SELECT', tag: 'a', mailbox: 'x', condstore: false, qresync: { uidValidity: 1, modseq: 2n } });
  fails('a SELECT x (QRESYNC (0 2))', /must not be 0/);
  fails('a SELECT x (QRESYNC (1 99999999999999999999))', /too large/);
  fails('a SELECT x (FOO)', /unknown SELECT parameter FOO/);
  fails('a SELECT x (CONDSTORE CONDSTORE)', /unknown SELECT parameter/);
  fails('a SELECT', /missing arguments/);
  fails('a SELECT {3}\r\na\0b\r\n', /NUL/);
  fails('a SELECT "a\tb"', /control character/);
});

test('mailbox names stay as sent: modified UTF-7 is not decoded here, UTF-8 quoted is accepted', () => {
  assert.equal(parse('a CREATE "Entw&APw-rfe"'), { name: 'CREATE', tag: 'a', mailbox: 'Entw&APw-rfe', specialUse: [] });
  assert.equal(parse('a CREATE "Entwürfe"'), { name: 'CREATE', tag: 'a', mailbox: 'Entwürfe', specialUse: [] });
  assert.equal(parse(Buffer.concat([Buffer.from('a CREATE {2}\r\n'), Buffer.from([0xc3, 0xbc]), Buffer.from('\r\n')])), {
    name: 'CREATE',
    tag: 'a',
    mailbox: 'ü',
    specialUse: [],
  });
  assert.throws(() => parse(Buffer.from('a CREATE "\xff"\r\n', 'latin1')), (e: unknown) => e instanceof ParseError && /UTF-8/.test(e.message));
  // A Unicode case mapping must not turn a name into INBOX.
  assert.equal(parse('a SELECT "ınbox"'), { name: 'SELECT', tag: 'a', mailbox: 'ınbox', condstore: false });
});

test('CREATE with USE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE', () => {
  assert.equal(parse('t1 CREATE "Everything" (USE (\\All))'), { name: 'CREATE', tag: 't1', mailbox: 'Everything', specialUse: ['\\All'] });
  assert.equal(parse('t1 CREATE Sent (USE (\\sent \\JUNK \\X-Custom))'), { name: 'CREATE', tag: 't1', mailbox: 'Sent', specialUse: ['\\Sent', '\\Junk', '\\X-Custom'] });
  fails('t1 CREATE x (FOO)', /unknown CREATE parameter/);
  fails('t1 CREATE x (USE (Sent))', /special-use/);
  assert.equal(parse('A683 DELETE blurdybloop'), { name: 'DELETE', tag: 'A683', mailbox: 'blurdybloop' });
  assert.equal(parse('A004 RENAME blurdybloop sarasoop'), { name: 'RENAME', tag: 'A004', from: 'blurdybloop', to: 'sarasoop' });
  assert.equal(parse('A002 SUBSCRIBE #news.comp.mail.mime'), { name: 'SUBSCRIBE', tag: 'A002', mailbox: '#news.comp.mail.mime' });
  assert.equal(parse('A002 UNSUBSCRIBE "a]b"'), { name: 'UNSUBSCRIBE', tag: 'A002', mailbox: 'a]b' });
  assert.equal(parse('A002 UNSUBSCRIBE a]b'), { name: 'UNSUBSCRIBE', tag: 'A002', mailbox: 'a]b' });
  fails('a DELETE a*b', /unexpected characters/);
});

const NO_SELECTION = { subscribed: false, remote: false, recursiveMatch: false, specialUse: false };
const NO_RETURN = { subscribed: false, children: false, specialUse: false };

test('LIST: basic forms and RFC 9051 examples', () => {
  assert.equal(parse('A101 LIST "" ""'), { name: 'LIST', tag: 'A101', reference: '', patterns: [''], selection: NO_SELECTION, returns: NO_RETURN, extended: false });
  assert.equal(parse('A682 LIST "" *'), { name: 'LIST', tag: 'A682', reference: '', patterns: ['*'], selection: NO_SELECTION, returns: NO_RETURN, extended: false });
  const news = parse('A102 LIST #news.comp.mail.misc ""');
  assert.ok(news.name === 'LIST' && news.reference === '#news.comp.mail.misc');
  const percent = parse('A202 LIST ~/Mail/ %');
  assert.ok(percent.name === 'LIST' && percent.reference === '~/Mail/' && percent.patterns[0] === '%');
  const inbox = parse('a LIST "" inbox');
  assert.ok(inbox.name === 'LIST' && inbox.patterns[0] === 'inbox', 'patterns are not INBOX-normalised');
});

test('LIST-EXTENDED, LIST-STATUS and SPECIAL-USE', () => {
  assert.equal(parse('A04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)'), {
    name: 'LIST',
    tag: 'A04',
    reference: '',
    patterns: ['%'],
    selection: { ...NO_SELECTION, subscribed: true, recursiveMatch: true },
    returns: { ...NO_RETURN, children: true },
    extended: true,
  });
  const multi = parse('A01 LIST "" ("INBOX" "Drafts" "Sent/%")');
  assert.ok(multi.name === 'LIST' && multi.extended);
  assert.equal(multi.patterns, ['INBOX', 'Drafts', 'Sent/%']);
  const status = parse('A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN))');
  assert.ok(status.name === 'LIST');
  assert.equal(status.returns, { ...NO_RETURN, status: ['MESSAGES', 'UNSEEN'] });
  const special = parse('t3 LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE SUBSCRIBED)');
  assert.ok(special.name === 'LIST');
  assert.equal(special.selection, { ...NO_SELECTION, specialUse: true });
  assert.equal(special.returns, { ...NO_RETURN, specialUse: true, subscribed: true });
  const empty = parse('a LIST () "" "*" RETURN ()');
  assert.ok(empty.name === 'LIST' && empty.extended);
  fails('a LIST (RECURSIVEMATCH) "" "*"', /RECURSIVEMATCH/);
  fails('a LIST (FOO) "" "*"', /unknown LIST selection option FOO/);
  fails('a LIST "" "*" RETURN (FOO)', /unknown LIST return option/);
  fails('a LIST "" "*" FOO (CHILDREN)', /expected RETURN/);
  fails('a LIST "" ()', /empty mailbox patterns/);
});

test('LSUB, STATUS and NAMESPACE', () => {
  assert.equal(parse('A002 LSUB "#news." "comp.mail.*"'), { name: 'LSUB', tag: 'A002', reference: '#news.', pattern: 'comp.mail.*' });
  assert.equal(parse('A042 STATUS blurdybloop (UIDNEXT MESSAGES)'), { name: 'STATUS', tag: 'A042', mailbox: 'blurdybloop', items: ['UIDNEXT', 'MESSAGES'] });
  const all = parse('a STATUS INBOX (messages recent uidnext uidvalidity unseen deleted size highestmodseq appendlimit)');
  assert.ok(all.name === 'STATUS' && all.items.length === 9);
  fails('a STATUS INBOX (FOO)', /unknown STATUS item FOO/);
  fails('a STATUS INBOX ()', /empty STATUS items/);
  fails('a STATUS INBOX (MESSAGES', /unterminated|missing/);
});

// ---- APPEND -----------------------------------------------------------------------------

const MESSAGE = 'Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nFrom: Fred Foobar <foobar@Blurdybloop.example>\r\nSubject: afternoon meeting\r\n\r\nHello Joe\r\n';

test('APPEND with flags, date-time, literal and literal8', () => {
  const cmd = parse(`A003 APPEND saved-messages (\\Seen) {${MESSAGE.length}}\r\n${MESSAGE}\r\n`);
  assert.ok(cmd.name === 'APPEND');
  assert.is(cmd.mailbox, 'saved-messages');
  assert.is(cmd.messages.length, 1);
  assert.equal(cmd.messages[0]!.flags, ['\\Seen']);
  assert.is(cmd.messages[0]!.data.toString(), MESSAGE);
  assert.is(cmd.messages[0]!.binary, false);

  const dated = parse(`a APPEND INBOX (\\seen \\DRAFT $Forwarded) "14-Mar-2023 09:26:53 +0100" {${MESSAGE.length}+}\r\n${MESSAGE}\r\n`);
  assert.ok(dated.name === 'APPEND');
  assert.equal(dated.messages[0]!.flags, ['\\Seen', '\\Draft', '$Forwarded']);
  assert.equal(dated.messages[0]!.internalDate, { year: 2023, month: 3, day: 14, hour: 9, minute: 26, second: 53, zoneMinutes: 60 });

  const binary = Buffer.from('Content-Type: application/octet-stream\r\n\r\n\0\x01\xff', 'latin1');
  const bin = parse(Buffer.concat([Buffer.from(`a APPEND Drafts ~{${binary.length}}\r\n`), binary, Buffer.from('\r\n')]));
  assert.ok(bin.name === 'APPEND' && bin.messages[0]!.binary && bin.messages[0]!.data.equals(binary));

  const bare = parse('a APPEND INBOX {3}\r\nabc\r\n');
  assert.ok(bare.name === 'APPEND');
  assert.equal(bare.messages[0], { flags: [], data: Buffer.from('abc'), binary: false });
  const noFlags = parse('a APPEND INBOX () {0}\r\n\r\n');
  assert.ok(noFlags.name === 'APPEND' && noFlags.messages[0]!.data.length === 0);
});

test('MULTIAPPEND: several messages in one command (RFC 3502 example shape)', () => {
  const second = 'Subject: second\r\n\r\nbody\r\n';
  const cmd = parse(`A003 APPEND saved-messages (\\Seen) {${MESSAGE.length}}\r\n${MESSAGE} (\\Seen) " 1-Jul-2002 22:55:58 +0100" {${second.length}}\r\n${second} {1}\r\nx\r\n`);
  assert.ok(cmd.name === 'APPEND');
  assert.is(cmd.messages.length, 3);
  assert.equal(cmd.messages[1]!.internalDate, { year: 2002, month: 7, day: 1, hour: 22, minute: 55, second: 58, zoneMinutes: 60 });
  assert.is(cmd.messages[1]!.data.toString(), second);
  assert.equal(cmd.messages[2]!.flags, []);
});

test('APPEND errors', () => {
  fails('a APPEND INBOX "not a literal"', /date-time/);
  fails('a APPEND INBOX (\\Seen) "32-Jan-2020 00:00:00 +0000" {1}\r\nx\r\n', /date-time/);
  fails('a APPEND INBOX (\\Seen) "1-Jan-2020 24:00:00 +0000" {1}\r\nx\r\n', /date-time/);
  fails('a APPEND INBOX (\\Seen)', /missing arguments/);
  fails('a APPEND INBOX (\\Seen) x', /literal/);
  fails('a APPEND INBOX {1}\r\nx junk\r\n', /literal/);
  fails('a APPEND INBOX (\\Seen \\*) {1}\r\nx\r\n', /flag name/);
});

test('date-time parsing edge cases', () => {
  assert.equal(parseDateTime(' 7-Jul-1996 02:44:25 -0700'), { year: 1996, month: 7, day: 7, hour: 2, minute: 44, second: 25, zoneMinutes: -420 });
  assert.equal(parseDateTime('07-jul-1996 02:44:25 -0700')?.day, 7);
  assert.equal(parseDateTime('29-Feb-2024 00:00:00 +0000')?.day, 29);
  assert.is(parseDateTime('29-Feb-2023 00:00:00 +0000'), undefined);
  assert.is(parseDateTime('17-Jul-1996 02:44:25 0700'), undefined);
  assert.is(parseDateTime('17-Jul-1996 02:44:25 -0760'), undefined);
  assert.is(parseDateTime('17-Foo-1996 02:44:25 -0700'), undefined);
  assert.is(dateTimeToMillis(parseDateTime('17-Jul-1996 02:44:25 -0700')!), Date.UTC(1996, 6, 17, 9, 44, 25));
});

// ---- SEARCH ------------------------------------------------------------------------------

function criteria(input: string): SearchKey {
  const cmd = parse(input);
  assert.ok(cmd.name === 'SEARCH');
  return cmd.criteria;
}

test('SEARCH: the RFC 9051 example with RETURN and implicit AND', () => {
  const cmd = parse('A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"');
  assert.equal(cmd, {
    name: 'SEARCH',
    tag: 'A282',
    uid: false,
    returns: { min: true, max: false, all: false, count: true, save: false },
    criteria: {
      type: 'and',
      keys: [
        { type: 'flag', flag: '\\Flagged', set: true },
        { type: 'date', of: 'internal', op: 'since', date: { year: 1994, month: 2, day: 1 } },
        { type: 'not', key: { type: 'header', field: 'from', value: 'Smith' } },
      ],
    },
  });
  const empty = parse('A283 SEARCH RETURN () FLAGGED');
  assert.ok(empty.name === 'SEARCH');
  assert.equal(empty.returns, { min: false, max: false, all: true, count: false, save: false });
  const save = parse('A301 SEARCH RETURN (SAVE) SINCE 1-Jan-2004 NOT FROM "Smith"');
  assert.ok(save.name === 'SEARCH' && save.returns?.save === true);
  fails('a SEARCH RETURN (FOO) ALL', /unknown SEARCH RETURN option FOO/);
});

test('SEARCH: every key of RFC 3501 / RFC 9051', () => {
  const d = { year: 2024, month: 2, day: 29 };
  const cases: Array<[string, SearchKey]> = [
    ['ALL', { type: 'all' }],
    ['ANSWERED', { type: 'flag', flag: '\\Answered', set: true }],
    ['BCC x', { type: 'header', field: 'bcc', value: 'x' }],
    ['BEFORE 29-Feb-2024', { type: 'date', of: 'internal', op: 'before', date: d }],
    ['BODY "hello world"', { type: 'body', value: 'hello world' }],
    ['CC x', { type: 'header', field: 'cc', value: 'x' }],
    ['DELETED', { type: 'flag', flag: '\\Deleted', set: true }],
    ['DRAFT', { type: 'flag', flag: '\\Draft', set: true }],
    ['FLAGGED', { type: 'flag', flag: '\\Flagged', set: true }],
    ['FROM x', { type: 'header', field: 'from', value: 'x' }],
    ['HEADER Message-ID "<a@b>"', { type: 'header', field: 'message-id', value: '<a@b>' }],
    ['HEADER X-Spam ""', { type: 'header', field: 'x-spam', value: '' }],
    ['KEYWORD $Forwarded', { type: 'flag', flag: '$Forwarded', set: true }],
    ['LARGER 1024', { type: 'size', op: 'larger', size: 1024 }],
    ['NEW', { type: 'and', keys: [{ type: 'flag', flag: '\\Recent', set: true }, { type: 'flag', flag: '\\Seen', set: false }] }],
    ['NOT SEEN', { type: 'not', key: { type: 'flag', flag: '\\Seen', set: true } }],
    ['OLD', { type: 'flag', flag: '\\Recent', set: false }],
    ['ON "29-Feb-2024"', { type: 'date', of: 'internal', op: 'on', date: d }],
    ['OR SEEN DRAFT', { type: 'or', left: { type: 'flag', flag: '\\Seen', set: true }, right: { type: 'flag', flag: '\\Draft', set: true } }],
    ['RECENT', { type: 'flag', flag: '\\Recent', set: true }],
    ['SEEN', { type: 'flag', flag: '\\Seen', set: true }],
    ['SENTBEFORE 29-feb-2024', { type: 'date', of: 'sent', op: 'before', date: d }],
    ['SENTON 29-Feb-2024', { type: 'date', of: 'sent', op: 'on', date: d }],
    ['SENTSINCE 29-Feb-2024', { type: 'date', of: 'sent', op: 'since', date: d }],
    ['SINCE 1-Feb-1994', { type: 'date', of: 'internal', op: 'since', date: { year: 1994, month: 2, day: 1 } }],
    ['SMALLER 10', { type: 'size', op: 'smaller', size: 10 }],
    ['SUBJECT {5}\r\nhello', { type: 'header', field: 'subject', value: 'hello' }],
    ['TEXT x', { type: 'text', value: 'x' }],
    ['TO x', { type: 'header', field: 'to', value: 'x' }],
    ['UID 1:*', { type: 'uid', set: { ranges: [{ from: 1, to: '*' }], saved: false } }],
    ['UNANSWERED', { type: 'flag', flag: '\\Answered', set: false }],
    ['UNDELETED', { type: 'flag', flag: '\\Deleted', set: false }],
    ['UNDRAFT', { type: 'flag', flag: '\\Draft', set: false }],
    ['UNFLAGGED', { type: 'flag', flag: '\\Flagged', set: false }],
    ['UNKEYWORD Junk', { type: 'flag', flag: 'Junk', set: false }],
    ['UNSEEN', { type: 'flag', flag: '\\Seen', set: false }],
    ['2,4:*', { type: 'sequence', set: { ranges: [{ from: 2, to: 2 }, { from: 4, to: '*' }], saved: false } }],
    ['$', { type: 'sequence', set: { ranges: [], saved: true } }],
    ['UID $', { type: 'uid', set: { ranges: [], saved: true } }],
    ['MODSEQ 620162338', { type: 'modseq', modseq: 620162338n }],
    ['MODSEQ "/flags/\\\\draft" all 620162338', { type: 'modseq', modseq: 620162338n, entry: { name: '/flags/\\draft', type: 'all' } }],
    ['(SEEN)', { type: 'flag', flag: '\\Seen', set: true }],
    ['(SEEN (UNDELETED DRAFT))', { type: 'and', keys: [{ type: 'flag', flag: '\\Seen', set: true }, { type: 'and', keys: [{ type: 'flag', flag: '\\Deleted', set: false }, { type: 'flag', flag: '\\Draft', set: true }] }] }],
  ];
  for (const [keys, expected] of cases) {
    const input = keys.includes('{5}') ? `a SEARCH ${keys}\r\n` : `a SEARCH ${keys}`;
    assert.equal(criteria(input), expected, keys);
    assert.equal(criteria(input.replace('SEARCH', 'search')), expected, keys);
  }
});

test('SEARCH: CHARSET, UTF-8 literals and BADCHARSET', () => {
  const text = 'Grüße';
  const cmd = parse(`A285 SEARCH CHARSET UTF-8 TEXT {${Buffer.byteLength(text)}}\r\n${text}\r\n`);
  assert.ok(cmd.name === 'SEARCH' && cmd.charset === 'UTF-8');
  assert.equal(cmd.criteria, { type: 'text', value: text });
  const ascii = parse('a UID SEARCH CHARSET us-ascii SUBJECT x');
  assert.ok(ascii.name === 'SEARCH' && ascii.charset === 'US-ASCII' && ascii.uid);
  const bad = fails('A284 SEARCH CHARSET ISO-8859-1 TEXT x', /unsupported charset/, 'A284');
  assert.is(bad.code, 'BADCHARSET');
  const sortBad = fails('a SORT (DATE) KOI8-R ALL');
  assert.is(sortBad.code, 'BADCHARSET');
  assert.is(fails('a SEARCH FOO').code, undefined);
});

test('SEARCH errors', () => {
  fails('a SEARCH', /missing arguments/);
  fails('a SEARCH ', /missing search criteria/);
  fails('a SEARCH FOO', /unknown search key FOO/);
  fails('a SEARCH SINCE 1-Feb-94', /invalid date/);
  fails('a SEARCH SINCE 31-Apr-2020', /invalid date/);
  fails('a SEARCH OR SEEN', /missing arguments/);
  fails('a SEARCH (SEEN', /missing arguments|expected a space/);
  fails('a SEARCH ()', /search key/);
  fails('a SEARCH 0:5', /numbers start at 1/);
  fails('a SEARCH 1:4294967296', /too large/);
  fails('a SEARCH LARGER x', /size/);
  fails('a SEARCH MODSEQ "/foo" all 1', /\/flags\//);
  fails('a SEARCH MODSEQ "/flags/\\\\Seen" some 1', /priv, shared or all/);
  fails(`a SEARCH ${'NOT '.repeat(200)}SEEN`, /nested too deeply/);
  fails(`a SEARCH ${'('.repeat(200)}SEEN${')'.repeat(200)}`, /nested too deeply/);
  fails(`a SEARCH ${'OR SEEN '.repeat(200)}SEEN`, /nested too deeply/);
  fails('a SEARCH SUBJECT ~{1}\r\nx\r\n', /literal8/);
});

// ---- FETCH -------------------------------------------------------------------------------

test('FETCH macros expand and single items stand alone', () => {
  const all = parse('a FETCH 1:* ALL');
  assert.ok(all.name === 'FETCH' && all.macro === 'ALL');
  assert.equal(labels(all.items), ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE']);
  const fast = parse('a FETCH 1 fast');
  assert.ok(fast.name === 'FETCH');
  assert.equal(labels(fast.items), ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE']);
  const full = parse('a FETCH 1 FULL');
  assert.ok(full.name === 'FETCH');
  assert.equal(labels(full.items), ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY']);
  const one = parse('a UID FETCH 4827313:4828442 FLAGS');
  assert.ok(one.name === 'FETCH' && one.uid);
  assert.equal(one.items, [{ kind: 'attribute', name: 'FLAGS', label: 'FLAGS' }]);
  assert.equal(one.sequence, { ranges: [{ from: 4827313, to: 4828442 }], saved: false });
});

test('FETCH items: attributes, sections, partials and labels for the response', () => {
  const cmd = parse(
    'A654 FETCH 2:4 (flags internaldate rfc822.size envelope body bodystructure uid modseq rfc822 rfc822.header rfc822.text ' +
      'BODY[] BODY[]<0.2048> BODY.PEEK[HEADER] body.peek[header.fields (date from)] BODY[HEADER.FIELDS.NOT (Received "X-Spam")] ' +
      'BODY[1.2.TEXT] BODY[3.MIME] BODY.PEEK[2.1.HEADER]<10.20> BODY[1] BODY[TEXT]<0.100> ' +
      'BINARY[1] BINARY.PEEK[1.2]<0.1024> BINARY.SIZE[2] BINARY[] BINARY.SIZE[])',
  );
  assert.ok(cmd.name === 'FETCH');
  assert.equal(labels(cmd.items), [
    'FLAGS',
    'INTERNALDATE',
    'RFC822.SIZE',
    'ENVELOPE',
    'BODY',
    'BODYSTRUCTURE',
    'UID',
    'MODSEQ',
    'RFC822',
    'RFC822.HEADER',
    'RFC822.TEXT',
    'BODY[]',
    'BODY[]<0>',
    'BODY[HEADER]',
    'BODY[HEADER.FIELDS (date from)]',
    'BODY[HEADER.FIELDS.NOT (Received X-Spam)]',
    'BODY[1.2.TEXT]',
    'BODY[3.MIME]',
    'BODY[2.1.HEADER]<10>',
    'BODY[1]',
    'BODY[TEXT]<0>',
    'BINARY[1]',
    'BINARY[1.2]<0>',
    'BINARY.SIZE[2]',
    'BINARY[]',
    'BINARY.SIZE[]',
  ]);
  const byLabel = new Map(cmd.items.map((i) => [i.label, i]));
  assert.equal(byLabel.get('RFC822'), { kind: 'section', section: { part: [] }, peek: false, label: 'RFC822' });
  assert.equal(byLabel.get('RFC822.HEADER'), { kind: 'section', section: { part: [], text: 'HEADER' }, peek: true, label: 'RFC822.HEADER' });
  assert.equal(byLabel.get('BODY[]<0>'), { kind: 'section', section: { part: [] }, peek: false, partial: { offset: 0, length: 2048 }, label: 'BODY[]<0>' });
  assert.equal(byLabel.get('BODY[HEADER.FIELDS (date from)]'), {
    kind: 'section',
    section: { part: [], text: 'HEADER.FIELDS', fields: ['date', 'from'] },
    peek: true,
    label: 'BODY[HEADER.FIELDS (date from)]',
  });
  assert.equal(byLabel.get('BODY[2.1.HEADER]<10>'), { kind: 'section', section: { part: [2, 1], text: 'HEADER' }, peek: true, partial: { offset: 10, length: 20 }, label: 'BODY[2.1.HEADER]<10>' });
  assert.equal(byLabel.get('BINARY[1.2]<0>'), { kind: 'binary', part: [1, 2], peek: true, partial: { offset: 0, length: 1024 }, label: 'BINARY[1.2]<0>' });
  assert.equal(byLabel.get('BINARY.SIZE[2]'), { kind: 'binarySize', part: [2], label: 'BINARY.SIZE[2]' });
});

test('FETCH modifiers: CHANGEDSINCE and VANISHED (RFC 7162)', () => {
  const cmd = parse('s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)');
  assert.ok(cmd.name === 'FETCH');
  assert.is(cmd.changedSince, 12345n);
  assert.is(cmd.vanished, true);
  const plain = parse('a FETCH 1:* (UID FLAGS) (CHANGEDSINCE 9223372036854775807)');
  assert.ok(plain.name === 'FETCH' && plain.changedSince === 9223372036854775807n && !plain.vanished);
  fails('a FETCH 1 (FLAGS) (CHANGEDSINCE 9223372036854775808)', /too large/);
  fails('a FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)', /only allowed with UID FETCH/);
  fails('a UID FETCH 1:* (FLAGS) (VANISHED)', /needs CHANGEDSINCE/);
  fails('a FETCH 1 (FLAGS) (FOO)', /unknown FETCH modifier/);
});

test('FETCH errors', () => {
  fails('a FETCH 1 (FOO)', /unknown fetch item FOO/);
  fails('a FETCH 1 ()', /empty fetch items/);
  fails('a FETCH 1 BODY[FOO]', /invalid section/);
  fails('a FETCH 1 BODY[1.]', /invalid section/);
  fails('a FETCH 1 BODY[1HEADER]', /expected \]/);
  fails('a FETCH 1 BODY[MIME]', /MIME needs a part/);
  fails('a FETCH 1 BODY[0]', /must not be 0/);
  fails('a FETCH 1 BODY[HEADER.FIELDS ()]', /empty header list/);
  fails('a FETCH 1 BODY[HEADER.FIELDS (a:b)]', /header field name/);
  fails('a FETCH 1 BODY[HEADER.FIELDS From]', /\(/);
  fails('a FETCH 1 BODY[]<0.0>', /must not be 0/);
  fails('a FETCH 1 BODY[]<5>', /\. in the partial/);
  fails('a FETCH 1 BODY.PEEK', /needs a section/);
  fails('a FETCH 1 BINARY[HEADER]', /\]/);
  fails('a FETCH 1 BINARY[1.]', /invalid BINARY section/);
  fails('a FETCH * (FLAGS', /missing arguments|unterminated/);
  fails('a FETCH 1', /missing arguments/);
  fails('a FETCH x FLAGS', /sequence set/);
  fails('a FETCH 1,,2 FLAGS', /invalid sequence set/);
  fails('a FETCH 1:2:3 FLAGS', /invalid sequence set/);
});

// ---- STORE, COPY, MOVE, EXPUNGE ----------------------------------------------------------

test('STORE: the three actions, .SILENT, lists and bare flags, UNCHANGEDSINCE', () => {
  assert.equal(parse('A003 STORE 2:4 +FLAGS (\\Deleted)'), {
    name: 'STORE',
    tag: 'A003',
    uid: false,
    sequence: { ranges: [{ from: 2, to: 4 }], saved: false },
    action: 'add',
    silent: false,
    flags: ['\\Deleted'],
  });
  const silent = parse('a UID STORE 5 -flags.silent (\\seen $Junk)');
  assert.ok(silent.name === 'STORE' && silent.uid && silent.action === 'remove' && silent.silent);
  assert.equal(silent.flags, ['\\Seen', '$Junk']);
  const set = parse('a STORE 1 FLAGS ()');
  assert.ok(set.name === 'STORE' && set.action === 'set' && set.flags.length === 0);
  const bare = parse('a STORE 1 +FLAGS \\Deleted \\Seen');
  assert.ok(bare.name === 'STORE');
  assert.equal(bare.flags, ['\\Deleted', '\\Seen']);
  const cond = parse('a102 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)');
  assert.ok(cond.name === 'STORE' && cond.unchangedSince === 320162338n);
  const zero = parse('a STORE 1 (UNCHANGEDSINCE 0) FLAGS (x)');
  assert.ok(zero.name === 'STORE' && zero.unchangedSince === 0n);
  fails('a STORE 1 FLAGS.LOUD (\\Seen)', /unknown STORE item/);
  fails('a STORE 1 (FOO 1) FLAGS (\\Seen)', /unknown STORE modifier/);
  fails('a STORE 1 +FLAGS', /missing arguments/);
  fails('a STORE 1 +FLAGS (\\Seen', /unterminated flag list/);
  fails('a STORE 1 +FLAGS ("x")', /flag/);
});

test('COPY, MOVE, UID variants and UID EXPUNGE', () => {
  assert.equal(parse('A003 COPY 2:4 MEETING'), { name: 'COPY', tag: 'A003', uid: false, sequence: { ranges: [{ from: 2, to: 4 }], saved: false }, mailbox: 'MEETING' });
  assert.equal(parse('a UID MOVE 42:69 foo'), { name: 'MOVE', tag: 'a', uid: true, sequence: { ranges: [{ from: 42, to: 69 }], saved: false }, mailbox: 'foo' });
  const copy = parse('a uid copy $ "Deleted Items"');
  assert.ok(copy.name === 'COPY' && copy.uid && copy.sequence.saved && copy.mailbox === 'Deleted Items');
  assert.equal(parse('A003 UID EXPUNGE 3000:3002'), { name: 'EXPUNGE', tag: 'A003', uid: true, sequence: { ranges: [{ from: 3000, to: 3002 }], saved: false } });
  fails('a UID EXPUNGE', /missing arguments/);
  fails('a MOVE 1', /missing arguments/);
});

// ---- SORT, THREAD ------------------------------------------------------------------------

test('SORT and THREAD (RFC 5256 examples)', () => {
  assert.equal(parse('A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994'), {
    name: 'SORT',
    tag: 'A282',
    uid: false,
    criteria: [{ key: 'SUBJECT', reverse: false }],
    charset: 'UTF-8',
    search: { type: 'date', of: 'internal', op: 'since', date: { year: 1994, month: 2, day: 1 } },
  });
  const rev = parse('A285 UID SORT (SUBJECT REVERSE DATE) UTF-8 ALL');
  assert.ok(rev.name === 'SORT' && rev.uid);
  assert.equal(rev.criteria, [
    { key: 'SUBJECT', reverse: false },
    { key: 'DATE', reverse: true },
  ]);
  const display = parse('a SORT (DISPLAYFROM reverse ARRIVAL size cc to from) US-ASCII UNSEEN UNDELETED');
  assert.ok(display.name === 'SORT' && display.criteria.length === 6 && display.search.type === 'and');
  assert.equal(parse('A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000'), {
    name: 'THREAD',
    tag: 'A283',
    uid: false,
    algorithm: 'ORDEREDSUBJECT',
    charset: 'UTF-8',
    search: { type: 'date', of: 'internal', op: 'since', date: { year: 2000, month: 3, day: 5 } },
  });
  const refs = parse('A284 UID THREAD references "UTF-8" NOT DELETED');
  assert.ok(refs.name === 'THREAD' && refs.uid && refs.algorithm === 'REFERENCES');
  fails('a SORT () UTF-8 ALL', /empty sort criteria/);
  fails('a SORT (REVERSE) UTF-8 ALL', /sort key/);
  fails('a SORT (COLOUR) UTF-8 ALL', /unknown sort key COLOUR/);
  fails('a SORT (DATE) ALL', /missing arguments|unsupported charset/);
  fails('a THREAD REFERENCES UTF-8', /missing arguments/);
});

// ---- client transcripts ------------------------------------------------------------------

test('Thunderbird session', () => {
  const session = [
    '1 capability',
    '2 authenticate PLAIN',
    '3 ID ("name" "Thunderbird" "version" "115.3.1")',
    '4 enable UTF8=ACCEPT',
    '5 namespace',
    '6 list (subscribed) "" "*" return (special-use)',
    '7 list "" "INBOX"',
    '8 select "INBOX" (CONDSTORE)',
    '9 UID fetch 1:* (FLAGS) (CHANGEDSINCE 12345)',
    '10 UID fetch 1234:1240 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])',
    '11 UID fetch 1234 (UID RFC822.SIZE BODY.PEEK[]<0.65536>)',
    '12 uid store 1234 +Flags (\\Seen)',
    '13 IDLE',
    '14 uid move 1235 "Trash"',
    '15 UID STORE 1236 +FLAGS ($Label1 \\Flagged)',
    '16 STATUS "Drafts" (UIDNEXT MESSAGES UNSEEN RECENT)',
    '17 uid expunge 1234:1236',
    '18 append "Sent" (\\Seen) {3}\r\nabc',
    '19 UID SEARCH UNDELETED',
    '20 uid fetch 1234 (UID RFC822.SIZE BODY.PEEK[1.2]<0.2048> BODY.PEEK[1.2.MIME])',
    '21 create "Archives/2024"',
    '22 subscribe "Archives/2024"',
    '23 uid search since 1-Jan-2024 OR OR FROM "bob" TO "bob" CC "bob"',
    '24 logout',
  ].join('\r\n') + '\r\n';
  const commands = parseAll(session);
  assert.equal(
    commands.map((c) => c.name),
    ['CAPABILITY', 'AUTHENTICATE', 'ID', 'ENABLE', 'NAMESPACE', 'LIST', 'LIST', 'SELECT', 'FETCH', 'FETCH', 'FETCH', 'STORE', 'IDLE', 'MOVE', 'STORE', 'STATUS', 'EXPUNGE', 'APPEND', 'SEARCH', 'FETCH', 'CREATE', 'SUBSCRIBE', 'SEARCH', 'LOGOUT'],
  );
  const headers = commands[9]!;
  assert.ok(headers.name === 'FETCH');
  assert.is(headers.items[3]!.label, 'BODY[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)]');
  const chunk = commands[10]!;
  assert.ok(chunk.name === 'FETCH');
  assert.is(chunk.items[2]!.label, 'BODY[]<0>');
  const mime = commands[19]!;
  assert.ok(mime.name === 'FETCH');
  assert.equal(labels(mime.items), ['UID', 'RFC822.SIZE', 'BODY[1.2]<0>', 'BODY[1.2.MIME]']);
});

test('mbsync session', () => {
  const session = [
    '1 CAPABILITY',
    '2 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==',
    '3 COMPRESS DEFLATE',
    '4 LIST "" "*"',
    '5 SELECT "INBOX"',
    '6 UID FETCH 1:1000000000 (UID FLAGS)',
    '7 UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (X-TUID)])',
    '8 UID FETCH 4 (BODY.PEEK[])',
    '9 UID STORE 4 +FLAGS.SILENT (\\Deleted)',
    '10 APPEND "INBOX" (\\Seen) "14-Mar-2023 09:26:53 +0100" {5+}\r\nhello',
    '11 CREATE "Archive"',
    '12 UID FETCH 5:* (UID FLAGS)',
    '13 UID EXPUNGE 4',
    '14 CLOSE',
    '15 LOGOUT',
  ].join('\r\n') + '\r\n';
  const commands = parseAll(session);
  assert.is(commands.length, 15);
  const append = commands[9]!;
  assert.ok(append.name === 'APPEND' && append.messages[0]!.data.toString() === 'hello');
  const range = commands[11]!;
  assert.ok(range.name === 'FETCH');
  assert.equal(range.sequence.ranges, [{ from: 5, to: '*' }]);
});

test('imaplib session (Python)', () => {
  const session = [
    'JAJO0 CAPABILITY',
    'JAJO1 LOGIN alice "pass word"',
    'JAJO2 SELECT INBOX',
    'JAJO3 SEARCH ALL',
    'JAJO4 FETCH 1 (RFC822)',
    'JAJO5 STORE 1 +FLAGS \\Deleted',
    'JAJO6 EXPUNGE',
    'JAJO7 UID fetch 5 (BODY[TEXT])',
    'JAJO8 SEARCH CHARSET UTF-8 SUBJECT {6}\r\nnaïve',
    'JAJO9 AUTHENTICATE PLAIN',
    'JAJO10 LIST "" *',
    'JAJO11 LOGOUT',
  ].join('\r\n') + '\r\n';
  const commands = parseAll(session);
  assert.is(commands.length, 12);
  const search = commands[8]!;
  assert.ok(search.name === 'SEARCH');
  assert.equal(search.criteria, { type: 'header', field: 'subject', value: 'naïve' });
  const store = commands[5]!;
  assert.ok(store.name === 'STORE' && store.flags[0] === '\\Deleted');
});

test('imapflow session', () => {
  const session = [
    '1 ID ("name" "imapflow" "version" "1.0.164" "vendor" "Postal Systems" "support-url" "https://github.com/postalsys/imapflow/issues")',
    '2 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==',
    '3 ENABLE CONDSTORE UTF8=ACCEPT QRESYNC',
    '4 NAMESPACE',
    '5 LIST "" "*" RETURN (SPECIAL-USE)',
    '6 LIST (SPECIAL-USE) "" "*"',
    '7 SELECT INBOX (QRESYNC (1700000000 4521 1:120))',
    '8 FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE INTERNALDATE RFC822.SIZE MODSEQ) (CHANGEDSINCE 4500)',
    '9 UID SEARCH RETURN (ALL) SEEN',
    '10 STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)',
    '11 UID STORE 12 (UNCHANGEDSINCE 4521) +FLAGS.SILENT (\\Seen)',
    '12 UID MOVE 1:3 Archive',
    '13 UID FETCH 12 (BINARY.PEEK[2] BINARY.SIZE[2])',
    '14 APPEND INBOX (\\Seen) "14-Mar-2023 09:26:53 +0000" ~{4}\r\na\0bc',
    '15 IDLE',
    '16 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 4521 VANISHED)',
    '17 LOGOUT',
  ].join('\r\n') + '\r\n';
  const commands = parseAll(session);
  assert.is(commands.length, 17);
  const select = commands[6]!;
  assert.ok(select.name === 'SELECT' && select.qresync?.modseq === 4521n);
  const append = commands[13]!;
  assert.ok(append.name === 'APPEND' && append.messages[0]!.binary && append.messages[0]!.data.equals(Buffer.from('a\0bc')));
  const vanished = commands[15]!;
  assert.ok(vanished.name === 'FETCH' && vanished.vanished);
});

test('ParseError messages stay printable and short whatever the input', () => {
  const err = fails('a \x01\x02 x');
  assert.match(err.message, /^[\x20-\x7e]*$/);
  const long = fails(`a ${'X'.repeat(5000)}`);
  assert.ok(long.message.length <= 200);
});

test.run();
