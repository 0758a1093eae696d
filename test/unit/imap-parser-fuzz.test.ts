/**
 * Fuzz-style checks of the IMAP reader and parser: random bytes and mutated real client
 * sessions, in random chunkings and under small limits. Whatever comes in, the only failures
 * are the modules' own errors (ReaderError events, ParseError, SequenceError,
 * MailboxNameError), memory stays within the limits, and the whole run is quick.
 * Deterministic: a failure names its seed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { decodeSaslPlain, isIdleDone, parseCommand, ParseError, parseSaslResponse, type Command } from '../../firmware/apps/mail/imap/parser.js';
import { CommandReader, type ReaderLimits } from '../../firmware/apps/mail/imap/reader.js';
import { messageSpans, resolveUids, SequenceError, type SequenceSet } from '../../firmware/apps/mail/imap/sequence.js';
import { decodeMailboxUtf7, MailboxNameError } from '../../firmware/apps/mail/imap/utf7.js';

/** xorshift32: small, fast, reproducible. */
function rng(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  return {
    int: (n: number) => next() % n,
    pick: <T>(items: readonly T[]) => items[next() % items.length]!,
    chance: (p: number) => next() / 0x100000000 < p,
  };
}
type Rng = ReturnType<typeof rng>;

const SESSIONS = [
  [
    '1 capability',
    '2 authenticate PLAIN',
    'AGFsaWNlAHNlY3JldA==',
    '3 ID ("name" "Thunderbird" "version" "115.3.1")',
    '4 enable UTF8=ACCEPT',
    '5 list (subscribed) "" "*" return (special-use)',
    '6 select "INBOX" (CONDSTORE)',
    '7 UID fetch 1:* (FLAGS) (CHANGEDSINCE 12345)',
    '8 UID fetch 1234:1240 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Subject Date Message-ID)])',
    '9 UID fetch 1234 (UID RFC822.SIZE BODY.PEEK[]<0.65536>)',
    '10 uid store 1234 +Flags (\\Seen)',
    '11 IDLE',
    'DONE',
    '12 uid move 1235 "Trash"',
    '13 append "Sent" (\\Seen) {3}',
    'abc',
    '14 uid search since 1-Jan-2024 OR OR FROM "bob" TO "bob" CC "bob"',
    '15 logout',
  ],
  [
    '1 CAPABILITY',
    '2 LOGIN "alice" {6+}',
    'secret',
    '3 COMPRESS DEFLATE',
    '4 LIST "" "*"',
    '5 SELECT "INBOX"',
    '6 UID FETCH 1:1000000000 (UID FLAGS)',
    '7 UID STORE 4 +FLAGS.SILENT (\\Deleted)',
    '8 APPEND "INBOX" (\\Seen) "14-Mar-2023 09:26:53 +0100" {5+}',
    'hello',
    '9 UID EXPUNGE 4',
    '10 CREATE "Entw&APw-rfe" (USE (\\Drafts))',
  ],
  [
    'A1 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000 15000,22500,27000)))',
    'A2 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)',
    'A3 SEARCH RETURN (MIN COUNT SAVE) CHARSET UTF-8 FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith" MODSEQ "/flags/\\\\draft" all 620162338',
    'A4 FETCH $ (UID FLAGS BINARY.PEEK[1.2]<0.100> BINARY.SIZE[2] BODY[1.MIME] BODY[HEADER.FIELDS.NOT (Received)])',
    'A5 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)',
    'A6 UID SORT (SUBJECT REVERSE DATE) UTF-8 ALL',
    'A7 THREAD REFERENCES UTF-8 (SEEN UNDELETED) OR LARGER 100 SMALLER 5',
    'A8 LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" "Sent/%") RETURN (CHILDREN STATUS (MESSAGES UNSEEN))',
    'A9 STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)',
    'A10 APPEND saved (\\Seen) ~{4}',
    'a\0bc (\\Draft) " 1-Jul-2002 22:55:58 +0100" {2}',
    'xy',
    'A11 ID NIL',
    'A12 RENAME "a b" {3}',
    'c d',
  ],
].map((lines) => lines.join('\r\n') + '\r\n');

const TOKENS = ['{', '}', '{5}', '{0+}', '~{3}', '{99999999999+}', '{4294967296}', '"', '\\', '(', ')', '[', ']', '<', '>', '.', '*', '$', ':', ',', '%', '\r\n', '\n', '\r', ' ', '\0', '\xff', 'NIL', 'UID ', 'OR ', 'NOT ', 'BODY[', 'HEADER.FIELDS (', '&', '-', 'INBOX'];

function mutate(r: Rng, input: Buffer): Buffer {
  let bytes = input;
  const rounds = 1 + r.int(8);
  for (let i = 0; i < rounds; i++) {
    const at = r.int(bytes.length + 1);
    switch (r.int(7)) {
      case 0: {
        const copy = Buffer.from(bytes);
        if (copy.length > 0) copy[r.int(copy.length)] = r.int(256);
        bytes = copy;
        break;
      }
      case 1:
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(r.pick(TOKENS), 'latin1'), bytes.subarray(at)]);
        break;
      case 2:
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + r.int(20)))]);
        break;
      case 3: {
        const len = r.int(40);
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at, at + len), bytes.subarray(at)]);
        break;
      }
      case 4:
        bytes = bytes.subarray(0, at);
        break;
      case 5:
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(Array.from({ length: r.int(16) }, () => r.int(256))), bytes.subarray(at)]);
        break;
      default: {
        const other = Buffer.from(r.pick(SESSIONS), 'latin1');
        const from = r.int(other.length);
        bytes = Buffer.concat([bytes.subarray(0, at), other.subarray(from, from + r.int(200)), bytes.subarray(at)]);
      }
    }
  }
  return bytes;
}

const isOwnError = (err: unknown) => err instanceof ParseError || err instanceof SequenceError || err instanceof MailboxNameError;

function expectOwn(err: unknown, seed: number, what: string): void {
  if (!isOwnError(err)) {
    assert.unreachable(`seed ${seed}: ${what} threw ${err instanceof Error ? err.stack : String(err)}`);
  }
  if (err instanceof ParseError) assert.match(err.message, /^[\x20-\x7e]{1,200}$/, `seed ${seed}: printable message`);
}

/** Uses a parsed command the way a server would: resolve its sets, decode its mailbox names. */
function exercise(command: Command): void {
  const sets: SequenceSet[] = [];
  if ('sequence' in command && command.sequence !== undefined) sets.push(command.sequence);
  if (command.name === 'SELECT' && command.qresync?.knownUids !== undefined) sets.push(command.qresync.knownUids);
  for (const set of sets) {
    resolveUids(set, [1, 2, 5, 9, 100], [2]);
    messageSpans(set, 10, [1]);
  }
  if ('mailbox' in command) decodeMailboxUtf7(command.mailbox);
  if (command.name === 'AUTHENTICATE' && command.initialResponse !== undefined) decodeSaslPlain(command.initialResponse);
}

function feed(input: Buffer, r: Rng, seed: number, limits: Partial<ReaderLimits>): void {
  const reader = new CommandReader(limits);
  let wantLine: 'idle' | 'sasl' | undefined;
  let at = 0;
  while (at < input.length) {
    const size = 1 + r.int(r.chance(0.5) ? 8 : 300);
    reader.push(input.subarray(at, at + size));
    at += size;
    for (let event = reader.next(); event !== undefined; event = reader.next()) {
      if (event.type === 'command') {
        try {
          const command = parseCommand(event.frame);
          if (command.name === 'IDLE') wantLine = 'idle';
          if (command.name === 'AUTHENTICATE' && command.initialResponse === undefined) wantLine = 'sasl';
          exercise(command);
        } catch (err) {
          expectOwn(err, seed, 'parsing');
        }
      } else if (event.type === 'line') {
        try {
          if (isIdleDone(event.line)) continue;
          const response = parseSaslResponse(event.line);
          if (!response.cancel) decodeSaslPlain(response.data);
        } catch (err) {
          expectOwn(err, seed, 'a raw line');
        }
      }
      if (wantLine !== undefined && !reader.midCommand) {
        reader.expectLine();
        wantLine = undefined;
      }
    }
    const limit = (limits.maxCommandBytes ?? 65 * 1024 * 1024) + 400;
    assert.ok(reader.buffered <= limit, `seed ${seed}: buffered ${reader.buffered} bytes`);
  }
}

const SMALL_LIMITS: Partial<ReaderLimits> = { maxLineBytes: 200, maxLiteralBytes: 64, maxNonSyncLiteralBytes: 32, maxCommandBytes: 400, maxLiterals: 4 };

test('mutated client sessions: only the modules\' own errors, bounded memory', () => {
  const started = Date.now();
  let runs = 0;
  for (let seed = 1; seed <= 6000 && Date.now() - started < 2000; seed++) {
    const r = rng(seed);
    const input = mutate(r, Buffer.from(r.pick(SESSIONS), 'latin1'));
    feed(input, r, seed, r.chance(0.3) ? SMALL_LIMITS : {});
    runs++;
  }
  assert.ok(runs >= 200, `ran ${runs} cases`);
});

test('random bytes: only the modules\' own errors', () => {
  const started = Date.now();
  for (let seed = 100_001; seed <= 103_000 && Date.now() - started < 1000; seed++) {
    const r = rng(seed);
    const alphabet = r.chance(0.5) ? null : Buffer.from('a1 UID FETCH SEARCH (){}[]<>~+*$:,."\\\r\n 0123456789', 'latin1');
    const input = Buffer.from(Array.from({ length: r.int(600) }, () => (alphabet === null ? r.int(256) : alphabet[r.int(alphabet.length)]!)));
    feed(input, r, seed, r.chance(0.5) ? SMALL_LIMITS : {});
  }
});

test('pathological but well-framed commands finish quickly', () => {
  const cases = [
    `a SEARCH ${'('.repeat(30_000)}`,
    `a SEARCH ${'NOT '.repeat(15_000)}ALL`,
    `a SEARCH ${'OR ALL '.repeat(9000)}ALL`,
    `a FETCH ${Array.from({ length: 10_000 }, (_, i) => `${i + 1}:*`).join(',')} (FLAGS)`,
    `a FETCH 1 (${'BODY[1.2.3.4.5.6.7.8.9.HEADER.FIELDS (a b c)]<0.1> '.repeat(1000)}FLAGS)`,
    `a STORE 1:* +FLAGS (${'$kw '.repeat(15_000)}x)`,
    `a LIST "" (${'"%" '.repeat(15_000)}x)`,
    `a ID (${'"a" NIL '.repeat(5000)})`,
    `a SELECT x (QRESYNC (1 2 ${'1,'.repeat(30_000)}1))`,
    `a APPEND x${' {0+}\r\n'.repeat(900)}\r\n`,
  ];
  for (const text of cases) {
    const started = Date.now();
    const reader = new CommandReader({ maxLiterals: 1000 });
    reader.push(Buffer.from(text.endsWith('\n') ? text : `${text}\r\n`));
    for (let event = reader.next(); event !== undefined; event = reader.next()) {
      if (event.type !== 'command') continue;
      try {
        exercise(parseCommand(event.frame));
      } catch (err) {
        expectOwn(err, 0, text.slice(0, 30));
      }
    }
    assert.ok(Date.now() - started < 1000, `${text.slice(0, 30)} took ${Date.now() - started} ms`);
  }
});

test.run();
