/**
 * One console session over any pair of streams: the terminal, a local socket, or (on a
 * device) the serial port. On a terminal it is a line editor (readline: history, completion,
 * Ctrl-C clears the line, Ctrl-D leaves); on a pipe it reads plain lines, without prompts.
 * Lines are bounded: a longer one is refused whole, never buffered without end.
 */
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { MAX_LINE_BYTES, type ConsoleOutput, type Shell } from './shell.js';

export interface SessionStreams {
  input: Readable;
  output: Writable;
  /** true: a person at a terminal (line editing, prompt); false: a script on a pipe. */
  terminal: boolean;
}

export interface ConsoleSession {
  /** Resolves when the session ends: `quit`, end of input, or `close()`. */
  readonly closed: Promise<'quit' | 'eof'>;
  close(): void;
}

const PROMPT = 'nymote> ';

export function startSession(shell: Shell, streams: SessionStreams): ConsoleSession {
  const out: ConsoleOutput = {
    line: (text = '') => {
      if (streams.output.writable) streams.output.write(text.replace(/\n/g, '\r\n') + '\r\n');
    },
  };
  return streams.terminal ? terminalSession(shell, streams, out) : pipeSession(shell, streams, out);
}

function terminalSession(shell: Shell, streams: SessionStreams, out: ConsoleOutput): ConsoleSession {
  const rl = readline.createInterface({
    input: streams.input,
    output: streams.output,
    terminal: true,
    prompt: PROMPT,
    historySize: 200,
    removeHistoryDuplicates: true,
    completer: (line: string) => shell.complete(line),
  });
  let ending: 'quit' | 'eof' = 'eof';
  const onData = () => {
    if (rl.line.length > MAX_LINE_BYTES) {
      // Ctrl-U clears readline's line buffer; the person is told why.
      rl.write(null, { ctrl: true, name: 'u' });
      out.line(`\r\nline too long (over ${MAX_LINE_BYTES} bytes); discarded`);
      rl.prompt();
    }
  };
  streams.input.on('data', onData);
  let queue = Promise.resolve();
  rl.on('line', (line) => {
    queue = queue.then(async () => {
      if ((await shell.execute(line, out)) === 'quit') {
        ending = 'quit';
        rl.close();
      } else {
        rl.prompt();
      }
    });
  });
  // Ctrl-C on an empty line does not kill anything: it just offers a fresh prompt.
  rl.on('SIGINT', () => {
    rl.write(null, { ctrl: true, name: 'u' });
    out.line('^C');
    rl.prompt();
  });
  const closed = new Promise<'quit' | 'eof'>((resolve) =>
    rl.on('close', () => {
      streams.input.off('data', onData);
      resolve(ending);
    }),
  );
  rl.prompt();
  return { closed, close: () => rl.close() };
}

function pipeSession(shell: Shell, streams: SessionStreams, out: ConsoleOutput): ConsoleSession {
  let pending = '';
  let discarding = false;
  let queue = Promise.resolve<'quit' | 'eof' | undefined>(undefined);
  let finish!: (how: 'quit' | 'eof') => void;
  const closed = new Promise<'quit' | 'eof'>((resolve) => (finish = resolve));
  const stop = (how: 'quit' | 'eof') => {
    streams.input.off('data', onData);
    streams.input.off('end', onEnd);
    finish(how);
  };
  const runLine = (line: string) => {
    queue = queue.then(async (state) => {
      if (state === 'quit') return state;
      if ((await shell.execute(line.replace(/\r$/, ''), out)) === 'quit') {
        stop('quit');
        return 'quit';
      }
      return undefined;
    });
  };
  const onData = (chunk: Buffer | string) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (discarding) discarding = false;
      else runLine(line);
    }
    if (Buffer.byteLength(pending) > MAX_LINE_BYTES) {
      // Through the queue, so the complaint comes after the answers to earlier lines.
      if (!discarding) queue = queue.then((state) => (out.line(`line too long (over ${MAX_LINE_BYTES} bytes); discarded`), state));
      discarding = true;
      pending = '';
    }
  };
  const onEnd = () => {
    if (pending !== '' && !discarding) runLine(pending);
    void queue.then(() => stop('eof'));
  };
  streams.input.on('data', onData);
  streams.input.on('end', onEnd);
  return { closed, close: () => stop('eof') };
}
