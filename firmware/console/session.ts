/**
 * One console session over any pair of streams: the terminal, a local socket, or (on a
 * device) the serial port. On a terminal it is a line editor (readline: history, completion,
 * Ctrl-C cancels the running command or clears the line, Ctrl-D leaves); on a pipe it reads
 * plain lines, without prompts. Commands may ask questions (`setup`, passwords): the next line
 * typed is the answer, and a secret answer is neither echoed nor kept in the history.
 * Lines are bounded: a longer one is refused whole, never buffered without end.
 */
import readline from 'node:readline';
import { Writable, type Readable } from 'node:stream';
import { NymoteError } from '../runtime/index.js';
import type { ConsolePassword } from './password.js';
import { MAX_LINE_BYTES, type ConsoleIO, type Shell } from './shell.js';

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
/** Lines a script may send ahead of the command that reads them, before we stop reading. */
const MAX_PENDING_LINES = 64;

const TOO_LONG = Symbol('line too long');

const canceled = () => new NymoteError('ECANCELED', 'canceled');

export interface SessionOptions {
  /** When set, a terminal session opens only after the password (the serial console's lock). */
  password?: ConsolePassword;
  /** Typed for the person once the session is open (a fresh device starts in `setup`). */
  firstCommand?: string;
}

export function startSession(shell: Shell, streams: SessionStreams, options: SessionOptions = {}): ConsoleSession {
  const write = (text: string) => {
    if (streams.output.writable) streams.output.write(text);
  };
  const line = (text = '') => write(text.replace(/\n/g, '\r\n') + '\r\n');
  return streams.terminal ? terminalSession(shell, streams, write, line, options) : pipeSession(shell, streams, line);
}

/** The command running now, if any: its abort signal, and the question it waits on. */
class Turn {
  readonly controller = new AbortController();
  question: { resolve(answer: string): void; reject(err: Error): void } | undefined;

  /** Cancels the command: its signal aborts and a pending question rejects. */
  cancel(): void {
    this.controller.abort();
    this.question?.reject(canceled());
    this.question = undefined;
  }

  waitForAnswer(): Promise<string> {
    if (this.controller.signal.aborted) return Promise.reject(canceled());
    return new Promise((resolve, reject) => (this.question = { resolve, reject }));
  }
}

function terminalSession(
  shell: Shell,
  streams: SessionStreams,
  write: (text: string) => void,
  line: (text?: string) => void,
  { password, firstCommand }: SessionOptions,
): ConsoleSession {
  // readline echoes through this: muted while a secret is typed.
  let muted = false;
  const echo = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) write(chunk.toString());
      done();
    },
  });
  const rl = readline.createInterface({
    input: streams.input,
    output: echo,
    terminal: true,
    prompt: PROMPT,
    historySize: 200,
    removeHistoryDuplicates: true,
    completer: (text: string) => shell.complete(text),
  });
  const history = (rl as unknown as { history: string[] }).history;
  let ending: 'quit' | 'eof' = 'eof';
  let turn: Turn | undefined;
  const onData = () => {
    if (rl.line.length > MAX_LINE_BYTES) {
      // Ctrl-U clears readline's line buffer; the person is told why.
      rl.write(null, { ctrl: true, name: 'u' });
      line(`\r\nline too long (over ${MAX_LINE_BYTES} bytes); discarded`);
      rl.prompt();
    }
  };
  streams.input.on('data', onData);

  const io = (current: Turn): ConsoleIO => ({
    line,
    signal: current.controller.signal,
    ask: async (question, options = {}) => {
      rl.setPrompt(question);
      rl.prompt();
      muted = options.secret === true;
      try {
        return await current.waitForAnswer();
      } finally {
        if (muted) write('\r\n');
        muted = false;
        rl.setPrompt(PROMPT);
      }
    },
  });

  /** True until the console password was given: lines that answer nothing are dropped. */
  let locked = false;
  let queue = Promise.resolve();
  rl.on('line', (text) => {
    if (locked && turn?.question === undefined) return;
    if (Buffer.byteLength(text) > MAX_LINE_BYTES) {
      // Pasted in one piece, past the check as it was typed.
      if (history[0] === text) history.shift();
      line(`line too long (over ${MAX_LINE_BYTES} bytes); discarded`);
      if (turn === undefined) rl.prompt();
      return;
    }
    if (turn?.question !== undefined) {
      // An answer, not a command: it stays out of the history (passwords above all).
      if (history[0] === text) history.shift();
      const { resolve } = turn.question;
      turn.question = undefined;
      resolve(text);
      return;
    }
    queue = queue.then(async () => {
      turn = new Turn();
      const outcome = await shell.execute(text, io(turn));
      turn = undefined;
      if (outcome === 'quit') {
        ending = 'quit';
        rl.close();
      } else if (open) {
        rl.prompt();
      }
    });
  });
  // Ctrl-Z must not stop the one firmware process (readline's default sends it SIGTSTP).
  rl.on('SIGTSTP', () => undefined);
  rl.on('SIGINT', () => {
    rl.write(null, { ctrl: true, name: 'u' });
    muted = false;
    line('^C');
    // Cancels what runs; at an idle prompt, just a fresh one (Ctrl-C never stops the firmware).
    if (turn !== undefined) turn.cancel();
    else rl.prompt();
  });
  let open = true;
  const closed = new Promise<'quit' | 'eof'>((resolve) =>
    rl.on('close', () => {
      open = false;
      streams.input.off('data', onData);
      turn?.cancel();
      resolve(ending);
    }),
  );
  if (password?.isSet() === true) {
    locked = true;
    queue = (async () => {
      while (open) {
        turn = new Turn();
        try {
          if (await password.check(await io(turn).ask('password: ', { secret: true }))) break;
          line('wrong password');
        } catch {
          // Ctrl-C: ask again (the session ends only with the connection).
        }
      }
      turn = undefined;
      locked = false;
      if (open) rl.prompt();
    })();
  } else {
    rl.prompt();
  }
  // As if typed at the first prompt (after the password): it shows, and goes through the queue.
  if (firstCommand !== undefined) void queue.then(() => open && rl.write(`${firstCommand}\n`));
  return { closed, close: () => rl.close() };
}

function pipeSession(shell: Shell, streams: SessionStreams, line: (text?: string) => void): ConsoleSession {
  /** Lines read and not yet taken; TOO_LONG stands where an over-long line was discarded. */
  const pending: (string | typeof TOO_LONG)[] = [];
  let partial = '';
  let discarding = false;
  let ended = false;
  let wake: (() => void) | undefined;
  let turn: Turn | undefined;

  const nextLine = async (): Promise<string | typeof TOO_LONG | undefined> => {
    while (pending.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
    const next = pending.shift();
    if (pending.length < MAX_PENDING_LINES / 2) streams.input.resume();
    return next;
  };
  const take = (text: string | typeof TOO_LONG) => {
    pending.push(typeof text === 'string' ? text.replace(/\r$/, '') : text);
    // Back-pressure: a script far ahead of its commands waits rather than fills memory.
    if (pending.length >= MAX_PENDING_LINES) streams.input.pause();
    wake?.();
  };
  const onData = (chunk: Buffer | string) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const text of lines) {
      if (discarding) discarding = false;
      else take(text);
    }
    if (Buffer.byteLength(partial) > MAX_LINE_BYTES) {
      // In line order: the complaint comes after the answers to earlier lines.
      if (!discarding) take(TOO_LONG);
      discarding = true;
      partial = '';
    }
  };
  const onEnd = () => {
    if (partial !== '' && !discarding) take(partial);
    ended = true;
    wake?.();
  };

  const io = (current: Turn): ConsoleIO => ({
    line,
    signal: current.controller.signal,
    ask: async (question) => {
      line(question);
      const answer = await nextLine();
      if (typeof answer !== 'string' || current.controller.signal.aborted) throw canceled();
      return answer;
    },
  });

  let closing = false;
  const run = async (): Promise<'quit' | 'eof'> => {
    for (let text = await nextLine(); text !== undefined && !closing; text = await nextLine()) {
      if (text === TOO_LONG) {
        line(`line too long (over ${MAX_LINE_BYTES} bytes); discarded`);
        continue;
      }
      turn = new Turn();
      const outcome = await shell.execute(text, io(turn));
      turn = undefined;
      if (outcome === 'quit') return 'quit';
    }
    return 'eof';
  };
  streams.input.on('data', onData);
  streams.input.on('end', onEnd);
  const closed = run().finally(() => {
    streams.input.off('data', onData);
    streams.input.off('end', onEnd);
  });
  return {
    closed,
    close: () => {
      closing = true;
      ended = true;
      turn?.cancel();
      wake?.();
    },
  };
}
