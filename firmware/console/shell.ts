/**
 * The console's commands. A command gets its arguments and a writer; it prints lines and
 * throws NymoteError for a clear one-line failure. Parts of the firmware add their own
 * commands (user, store, pair, ota…) with `shell.add`.
 */
import { describeError } from '../runtime/index.js';

/** What a command talks to: the person (or script) at the other end of the session. */
export interface ConsoleIO {
  line(text?: string): void;
  /**
   * Asks for one line and waits for it; `secret` answers are not echoed. Rejects with
   * ECANCELED when the person presses Ctrl-C or the session ends.
   */
  ask(question: string, options?: { secret?: boolean }): Promise<string>;
  /** Aborted on Ctrl-C or when the session ends: long-running commands (logs -f) stop then. */
  readonly signal: AbortSignal;
}

export interface ConsoleCommand {
  readonly name: string;
  readonly summary: string;
  readonly usage?: string;
  /** Words the completer offers after the command name (subcommands). */
  readonly completions?: readonly string[];
  run(args: string[], io: ConsoleIO): void | Promise<void>;
}

/** Result of one command line: keep reading, or the person asked to leave. */
export type LineOutcome = 'continue' | 'quit';

export const MAX_LINE_BYTES = 4096;

export class Shell {
  private readonly commands = new Map<string, ConsoleCommand>();

  constructor() {
    this.add({
      name: 'help',
      summary: 'list commands, or show how to use one',
      usage: 'help [COMMAND]',
      run: (args, out) => this.help(args[0], out),
    });
    this.add({ name: 'quit', summary: 'leave this console', run: () => undefined });
  }

  add(command: ConsoleCommand): void {
    this.commands.set(command.name, command);
  }

  names(): string[] {
    return [...this.commands.keys()].sort();
  }

  /** Completion for readline: command names first, then the command's subcommands. */
  complete(line: string): [string[], string] {
    const words = line.trimStart().split(/\s+/);
    if (words.length <= 1) {
      const partial = words[0] ?? '';
      return [this.names().filter((n) => n.startsWith(partial)), partial];
    }
    const command = this.commands.get(words[0]!);
    const partial = words[words.length - 1]!;
    if (words.length !== 2 || command?.completions === undefined) return [[], partial];
    return [command.completions.filter((c) => c.startsWith(partial)), partial];
  }

  /** Runs one line; any failure is one line of output, never a stack trace. */
  async execute(line: string, out: ConsoleIO): Promise<LineOutcome> {
    const words = splitWords(line);
    if (words.length === 0) return 'continue';
    const [name, ...args] = words as [string, ...string[]];
    if (name === 'quit' || name === 'exit') return 'quit';
    const command = this.commands.get(name);
    if (command === undefined) {
      out.line(`unknown command '${name}' (type 'help' for the list)`);
      return 'continue';
    }
    try {
      await command.run(args, out);
    } catch (err) {
      out.line(`error: ${describeError(err)}`);
    }
    return 'continue';
  }

  private help(topic: string | undefined, out: ConsoleIO): void {
    if (topic !== undefined) {
      const command = this.commands.get(topic);
      if (command === undefined) throw new Error(`no command '${topic}'`);
      out.line(`${command.usage ?? command.name} — ${command.summary}`);
      return;
    }
    const width = Math.max(...this.names().map((n) => n.length));
    for (const name of this.names()) out.line(`  ${name.padEnd(width)}  ${this.commands.get(name)!.summary}`);
  }
}

/** Splits a command line into words; "double" or 'single' quotes keep spaces in one word. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(pattern)) {
    words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]!));
  }
  return words;
}
