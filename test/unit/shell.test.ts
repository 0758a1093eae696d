import { PassThrough } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_LINE_BYTES, Shell, splitWords, startSession, type ConsoleIO } from '../../firmware/console/index.js';

function collect(shell: Shell, answers: string[] = []) {
  const lines: string[] = [];
  const out: ConsoleIO = {
    line: (t = '') => void lines.push(t),
    ask: async (question) => {
      lines.push(question);
      const answer = answers.shift();
      if (answer === undefined) throw new Error('no more answers');
      return answer;
    },
    signal: new AbortController().signal,
  };
  return { lines, out, shell };
}

test('splitWords keeps quoted words together', () => {
  assert.equal(splitWords(`store set "a b" 'c d' e\\f`), ['store', 'set', 'a b', 'c d', 'e\\f']);
  assert.equal(splitWords('   '), []);
  assert.equal(splitWords(`say "he said \\"hi\\""`), ['say', 'he said "hi"']);
});

test('unknown commands and failing commands are one line, never a throw', async () => {
  const shell = new Shell();
  shell.add({ name: 'boom', summary: 'fails', run: () => { throw new Error('it broke\nstack line'); } });
  const { lines, out } = collect(shell);
  assert.is(await shell.execute('frobnicate', out), 'continue');
  assert.is(await shell.execute('boom', out), 'continue');
  assert.equal(lines, [`unknown command 'frobnicate' (type 'help' for the list)`, 'error: it broke']);
  assert.is(await shell.execute('quit', out), 'quit');
});

test('help lists every command; completion offers names and subcommands', async () => {
  const shell = new Shell();
  shell.add({ name: 'status', summary: 'how things are', run: () => undefined });
  shell.add({ name: 'store', summary: 'the store', completions: ['get', 'set', 'log'], run: () => undefined });
  const { lines, out } = collect(shell);
  await shell.execute('help', out);
  assert.equal(lines.map((l) => l.trim().split(/\s+/)[0]), ['help', 'quit', 'status', 'store']);
  assert.equal(shell.complete('st'), [['status', 'store'], 'st']);
  assert.equal(shell.complete('store l'), [['log'], 'l']);
  assert.equal(shell.complete('status x'), [[], 'x']);
});

test('a piped session runs lines in order, bounds line length, and ends on quit', async () => {
  const shell = new Shell();
  shell.add({ name: 'echo', summary: 'echo', run: async (args, out) => { await new Promise((r) => setTimeout(r, 5)); out.line(args.join(' ')); } });
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (c) => (text += c));
  const session = startSession(shell, { input, output, terminal: false });
  input.write('echo one\necho two\n');
  input.write('x'.repeat(MAX_LINE_BYTES + 10));
  input.write('y'.repeat(100) + '\necho three\nquit\necho never\n');
  assert.is(await session.closed, 'quit');
  assert.equal(text.split('\r\n').filter(Boolean), ['one', 'two', `line too long (over ${MAX_LINE_BYTES} bytes); discarded`, 'three']);
});

test('a piped session ends at end of input', async () => {
  const shell = new Shell();
  const input = new PassThrough();
  const output = new PassThrough();
  const session = startSession(shell, { input, output, terminal: false });
  input.end('help');
  assert.is(await session.closed, 'eof');
});

test('a terminal session survives garbage and binary bytes on the line, then answers as before', async () => {
  const shell = new Shell();
  shell.add({ name: 'ping', summary: 'pong', run: (_args, out) => out.line('pong') });
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (c) => (text += c));
  const session = startSession(shell, { input, output, terminal: true });
  let seed = 7;
  const garbage = Buffer.from(Array.from({ length: 4096 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff).filter((b) => b !== 0x0d && b !== 0x0a && b !== 0x03 && b !== 0x04));
  garbage[100] = 0x1a; // Ctrl-Z: must not stop the process
  input.write(garbage);
  input.write(Buffer.from([0x1b, 0x5b, 0x31, 0x3b, 0xff, 0xfe, 0xc3, 0x28, 0x1b])); // broken escapes, invalid UTF-8
  // What a person would do after line noise: Enter (an error, or nothing), Ctrl-C, then a command.
  input.write('\r');
  await new Promise((r) => setTimeout(r, 20));
  input.write('\x03');
  await new Promise((r) => setTimeout(r, 20));
  input.write('ping\r');
  await new Promise((r) => setTimeout(r, 50));
  assert.match(text, /pong\r\n/);
  input.write('quit\r');
  assert.is(await session.closed, 'quit');
});

test('a command asks; the next line answers it, and Ctrl-C cancels the question and the command', async () => {
  const shell = new Shell();
  shell.add({ name: 'greet', summary: 'asks a name', run: async (_args, io) => io.line(`hello ${await io.ask('name: ')}`) });
  shell.add({ name: 'wait', summary: 'waits for Ctrl-C', run: (_args, io) => new Promise<void>((resolve) => io.signal.addEventListener('abort', () => (io.line('stopped'), resolve()))) });
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (c) => (text += c));
  const session = startSession(shell, { input, output, terminal: true });
  const settle = () => new Promise((r) => setTimeout(r, 20));
  input.write('greet\r');
  await settle();
  input.write('Ada\r');
  await settle();
  input.write('wait\r');
  await settle();
  input.write('\x03');
  await settle();
  input.write('greet\r');
  await settle();
  input.write('\x03');
  await settle();
  input.write('quit\r');
  assert.is(await session.closed, 'quit');
  assert.match(text, /hello Ada/);
  assert.match(text, /stopped/);
  assert.match(text, /error: canceled/);
  assert.not.match(text, /unknown command 'Ada'/);
});

test.run();
