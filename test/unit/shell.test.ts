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

test.run();
