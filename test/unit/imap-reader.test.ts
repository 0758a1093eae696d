/** IMAP command framing: lines, literals, raw lines, limits and resynchronisation. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { CommandReader, LITERAL_MINUS_MAX, type ReaderEvent, type ReaderLimits } from '../../firmware/apps/mail/imap/reader.js';

/** Feeds `input` (in chunks of `chunkSize`) and collects every event. */
function run(input: string | Buffer, limits: Partial<ReaderLimits> = {}, chunkSize = Infinity): ReaderEvent[] {
  const reader = new CommandReader(limits);
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const events: ReaderEvent[] = [];
  for (let at = 0; at < bytes.length; at += Math.min(chunkSize, bytes.length)) {
    reader.push(bytes.subarray(at, Math.min(bytes.length, at + chunkSize)));
    for (let e = reader.next(); e !== undefined; e = reader.next()) events.push(e);
  }
  return events;
}

/** A compact view: `command a1 "LINE|LINE" [lit,lit]`, `continue a1 5`, `error CODE tag`, `line TEXT`. */
function view(events: ReaderEvent[]): string[] {
  return events.map((e) => {
    switch (e.type) {
      case 'command':
        return `command ${e.frame.tag} ${e.frame.lines.map((l) => l.toString('latin1')).join('|')} [${e.frame.literals
          .map((l) => `${l.binary ? '~' : ''}${l.nonSync ? '+' : ''}${l.data.toString('latin1')}`)
          .join(',')}]`;
      case 'continue':
        return `continue ${e.tag} ${e.size}${e.binary ? ' binary' : ''}`;
      case 'line':
        return `line ${e.line.toString('latin1')}`;
      case 'error':
        return `error ${e.error.code} ${e.error.tag}${e.error.fatal ? ' fatal' : ''}`;
    }
  });
}

test('frames plain lines ended by CRLF or bare LF, several per chunk', () => {
  assert.equal(view(run('a1 NOOP\r\na2 CAPABILITY\na3 LOGOUT\r\n')), [
    'command a1 a1 NOOP []',
    'command a2 a2 CAPABILITY []',
    'command a3 a3 LOGOUT []',
  ]);
});

test('the same stream fed one byte at a time gives the same events', () => {
  const input = 'a1 LOGIN {5}\r\nalice {6+}\r\nsecret\r\na2 APPEND x ~{3}\r\na\0b\r\na3 NOOP\n';
  assert.equal(view(run(input, {}, 1)), view(run(input)));
  assert.equal(view(run(input)), [
    'continue a1 5',
    'command a1 a1 LOGIN | | [alice,+secret]',
    'continue a2 3 binary',
    'command a2 a2 APPEND x | [~a\0b]',
    'command a3 a3 NOOP []',
  ]);
});

test('literals are binary-safe and may contain CRLF, markers and 8-bit bytes', () => {
  const body = Buffer.concat([Buffer.from('Subject: x {3}\r\n\r\n'), Buffer.from([0xff, 0xfe, 0x00, 0x80]), Buffer.from('\r\n.\r\n')]);
  const input = Buffer.concat([Buffer.from(`a APPEND INBOX {${body.length}+}\r\n`), body, Buffer.from('\r\nb NOOP\r\n')]);
  const events = run(input, {}, 7);
  assert.is(events.length, 2);
  const first = events[0]!;
  assert.ok(first.type === 'command');
  assert.ok(first.frame.literals[0]!.data.equals(body));
  assert.is(first.frame.lines[0]!.toString(), 'a APPEND INBOX ');
  assert.equal(view([events[1]!]), ['command b b NOOP []']);
});

test('a literal trickled a byte per packet is gathered cheaply and exactly', () => {
  const reader = new CommandReader();
  reader.push(Buffer.from('a APPEND INBOX {200000}\r\n'));
  assert.equal(view([reader.next()!]), ['continue a 200000']);
  const body = Buffer.alloc(200_000);
  for (let i = 0; i < body.length; i++) body[i] = i & 0xff;
  const started = performance.now();
  for (let i = 0; i < body.length; i++) {
    if (i === 150_000) assert.is(reader.buffered, 150_000);
    reader.push(body.subarray(i, i + 1));
    assert.is(reader.next(), undefined);
  }
  reader.push(Buffer.from('\r\n'));
  const event = reader.next();
  assert.ok(event?.type === 'command' && event.frame.literals[0]!.data.equals(body));
  assert.ok(performance.now() - started < 2000);
});

test('an empty literal and a literal at the end of the line', () => {
  assert.equal(view(run('a LOGIN {0}\r\n {0+}\r\n\r\n')), ['continue a 0', 'command a a LOGIN | | [,+]']);
});

test('a marker inside a quoted string is text, escaped quotes are followed', () => {
  assert.equal(view(run('a LOGIN "x {5}"\r\n')), ['command a a LOGIN "x {5}" []']);
  assert.equal(view(run('a LOGIN "x\\" {5}"\r\n')), ['command a a LOGIN "x\\" {5}" []']);
  assert.equal(view(run('a LOGIN "x\\\\" {1+}\r\nz\r\n')), ['command a a LOGIN "x\\\\" | [+z]']);
  // An unterminated quote makes the marker text; the parser reports the quote.
  assert.equal(view(run('a LOGIN "x {5}\r\n')), ['command a a LOGIN "x {5} []']);
  assert.equal(view(run('a X {5 }\r\nb NOOP\r\n')), ['command a a X {5 } []', 'command b b NOOP []']);
});

test('blank lines between commands are ignored', () => {
  assert.equal(view(run('\r\n\n\r\na NOOP\r\n')), ['command a a NOOP []']);
});

test('an over-limit synchronizing literal is refused before any of it is read', () => {
  const reader = new CommandReader({ maxLiteralBytes: 100 });
  reader.push(Buffer.from('A1 APPEND INBOX {101}\r\n'));
  const event = reader.next();
  assert.ok(event?.type === 'error');
  assert.is(event.error.code, 'LITERAL_TOO_BIG');
  assert.is(event.error.tag, 'A1');
  assert.is(event.error.fatal, false);
  assert.is(reader.next(), undefined);
  // The client got no `+`, so its next bytes are a new command.
  reader.push(Buffer.from('A2 NOOP\r\n'));
  assert.equal(view([reader.next()!]), ['command A2 A2 NOOP []']);
});

test('an absurd literal size is refused, not parsed as a number', () => {
  assert.equal(view(run('a APPEND x {99999999999999999999999999}\r\nb NOOP\r\n')), ['error LITERAL_TOO_BIG a', 'command b b NOOP []']);
});

test('an over-limit non-synchronizing literal is skipped without being held, then framing resumes', () => {
  const junk = 'b1 LOGOUT\r\n'.repeat(20); // would be commands if the reader lost step
  const input = `a1 APPEND INBOX {${junk.length}+}\r\n${junk} {3+}\r\nxyz\r\nc1 NOOP\r\n`;
  assert.equal(view(run(input, { maxLiteralBytes: 100 }, 5)), ['error LITERAL_TOO_BIG a1 fatal', 'command c1 c1 NOOP []']);
});

test('LITERAL-: non-synchronizing literals over 4096 bytes are refused (not fatal), synchronizing ones still work', () => {
  const limits = { maxNonSyncLiteralBytes: LITERAL_MINUS_MAX };
  const ok = 'x'.repeat(4096);
  assert.equal(view(run(`a LOGIN {4096+}\r\n${ok} y\r\n`, limits)).length, 1);
  const big = 'x'.repeat(5000);
  assert.equal(view(run(`a APPEND INBOX {5000+}\r\n${big}\r\nb NOOP\r\n`, limits)), ['error LITERAL_TOO_BIG a', 'command b b NOOP []']);
  assert.equal(view(run(`a APPEND INBOX {5000}\r\n`, limits)), ['continue a 5000']);
});

test('an over-long line is reported at once, dropped without buffering, and the next command is read', () => {
  const reader = new CommandReader({ maxLineBytes: 1000 });
  reader.push(Buffer.from('T7 SEARCH '));
  assert.is(reader.next(), undefined);
  let error: ReaderEvent | undefined;
  for (let i = 0; i < 1000 && error === undefined; i++) {
    reader.push(Buffer.alloc(100, 0x41));
    error = reader.next();
  }
  assert.ok(error?.type === 'error');
  assert.is(error.error.code, 'LINE_TOO_LONG');
  assert.is(error.error.tag, 'T7');
  for (let i = 0; i < 10_000; i++) {
    reader.push(Buffer.alloc(100, 0x41));
    assert.is(reader.next(), undefined);
    assert.ok(reader.buffered < 2000, 'discarded bytes are not kept');
  }
  reader.push(Buffer.from('\r\nT8 NOOP\r\n'));
  assert.equal(view([reader.next()!]), ['command T8 T8 NOOP []']);
  assert.is(reader.next(), undefined);
});

test('a line exactly at the limit passes, one byte more does not (CR excluded)', () => {
  const line = `a X ${'y'.repeat(96)}`; // 100 bytes
  assert.is(run(`${line}\r\n`, { maxLineBytes: 100 })[0]!.type, 'command');
  assert.is(run(`${line}\n`, { maxLineBytes: 100 })[0]!.type, 'command');
  assert.equal(view(run(`${line}z\r\nb NOOP\r\n`, { maxLineBytes: 100 })), ['error LINE_TOO_LONG a', 'command b b NOOP []']);
});

test('an over-long line ending in a non-synchronizing literal still skips the literal (no injection)', () => {
  const input = `a1 LOGIN ${'x'.repeat(2000)} {11+}\r\nb1 LOGOUT\r\n\r\nc1 NOOP\r\n`;
  assert.equal(view(run(input, { maxLineBytes: 500 })), ['error LINE_TOO_LONG a1', 'command c1 c1 NOOP []']);
  assert.equal(view(run(input, { maxLineBytes: 500 }, 3)), ['error LINE_TOO_LONG a1', 'command c1 c1 NOOP []']);
});

test('an over-long continuation line refuses the whole command once', () => {
  const input = `a1 LOGIN {3+}\r\nabc ${'x'.repeat(600)} {2+}\r\nzz\r\nb NOOP\r\n`;
  assert.equal(view(run(input, { maxLineBytes: 500 })), ['error LINE_TOO_LONG a1', 'command b b NOOP []']);
});

test('the total command size bounds lines and literals together', () => {
  const limits = { maxCommandBytes: 100, maxLiteralBytes: 80 };
  assert.equal(view(run('a LOGIN {60+}\r\n' + 'x'.repeat(60) + ' {60}\r\nb NOOP\r\n', limits)), ['error COMMAND_TOO_BIG a', 'command b b NOOP []']);
  assert.equal(view(run('a LOGIN {60+}\r\n' + 'x'.repeat(60) + ' {60+}\r\n' + 'y'.repeat(60) + '\r\nb NOOP\r\n', limits)), [
    'error COMMAND_TOO_BIG a',
    'command b b NOOP []',
  ]);
});

test('the number of literals per command is bounded', () => {
  const input = 'a X' + ' {1+}\r\nz'.repeat(5) + '\r\nb NOOP\r\n';
  assert.equal(view(run(input, { maxLiterals: 3 })), ['error TOO_MANY_LITERALS a', 'command b b NOOP []']);
  assert.is(view(run(input, { maxLiterals: 5 }))[0]!.startsWith('command a'), true);
});

test('an error without a valid tag carries none', () => {
  assert.equal(view(run('+bad {500}\r\n', { maxLiteralBytes: 10 })), ['error LITERAL_TOO_BIG undefined']);
});

test('raw line mode returns the next line as is (IDLE DONE, AUTHENTICATE responses)', () => {
  const reader = new CommandReader();
  reader.push(Buffer.from('a IDLE\r\nDONE\r\nb AUTHENTICATE PLAIN\r\nAGFsaWNlAHNlY3JldA== {5}\r\n\r\nc NOOP\r\n'));
  assert.equal(view([reader.next()!]), ['command a a IDLE []']);
  reader.expectLine();
  assert.equal(view([reader.next()!]), ['line DONE']);
  assert.equal(view([reader.next()!]), ['command b b AUTHENTICATE PLAIN []']);
  reader.expectLine();
  assert.equal(view([reader.next()!]), ['line AGFsaWNlAHNlY3JldA== {5}']);
  reader.expectLine();
  assert.equal(view([reader.next()!]), ['line ']);
  assert.equal(view([reader.next()!]), ['command c c NOOP []']);
});

test('raw line mode waits for the line and bounds it', () => {
  const reader = new CommandReader({ maxLineBytes: 50 });
  reader.expectLine();
  assert.is(reader.next(), undefined);
  reader.push(Buffer.from('x'.repeat(200)));
  assert.equal(view([reader.next()!]), ['error LINE_TOO_LONG undefined']);
  reader.push(Buffer.from('\r\na NOOP\r\n'));
  assert.equal(view([reader.next()!]), ['command a a NOOP []']);
});

test('expectLine in the middle of a command is a programming error', () => {
  const reader = new CommandReader();
  reader.push(Buffer.from('a LOGIN {3}\r\n'));
  reader.next();
  assert.throws(() => reader.expectLine());
});

test('takeBuffered hands over what was pipelined after STARTTLS, unparsed', () => {
  const reader = new CommandReader();
  reader.push(Buffer.from('a STARTTLS\r\nb LOGIN alice secret\r\nc NO'));
  assert.equal(view([reader.next()!]), ['command a a STARTTLS []']);
  assert.is(reader.takeBuffered().toString(), 'b LOGIN alice secret\r\nc NO');
  assert.is(reader.next(), undefined);
  reader.push(Buffer.from('d NOOP\r\n'));
  assert.equal(view([reader.next()!]), ['command d d NOOP []']);
});

test('takeBuffered keeps a partly scanned line (COMPRESS re-feeds it through inflate)', () => {
  const reader = new CommandReader();
  reader.push(Buffer.from('a COMPRESS DEFLATE\r\npartial'));
  reader.next();
  assert.is(reader.next(), undefined);
  assert.is(reader.takeBuffered().toString(), 'partial');
});

test('push asks for back-pressure when far more than a line is waiting', () => {
  const reader = new CommandReader({ maxLineBytes: 100 });
  assert.is(reader.push(Buffer.alloc(50, 0x41)), true);
  assert.is(reader.push(Buffer.alloc(100, 0x41)), false);
  const literal = new CommandReader({ maxLineBytes: 100 });
  literal.push(Buffer.from('a APPEND x {10000}\r\n'));
  literal.next();
  assert.is(literal.push(Buffer.alloc(5000)), true, 'a literal being read may be buffered whole');
});
test.run();
