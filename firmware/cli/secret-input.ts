/** Reading passwords: from standard input for scripts, or a prompt that does not echo. */
import { NymoteError, UsageError } from '../runtime/index.js';

const MAX_SECRET_BYTES = 4096;

/** All of stdin, less one trailing newline (as `echo pw |` and here-strings add it). */
export async function readSecretFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_SECRET_BYTES) throw new NymoteError('ETOOLONG', 'password on stdin is too long');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Prompts on the terminal with echo off. */
export function promptSecret(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY !== true) {
    throw new UsageError('no terminal to ask for the password on; use --password-stdin');
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (result: () => void) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      result();
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(() => resolve(typed));
        if (ch === '\u0003' || ch === '\u0004') return finish(() => reject(new NymoteError('ECANCELED', 'cancelled')));
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (typed.length < MAX_SECRET_BYTES) typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** A new password: from stdin, or typed twice on the terminal. */
export async function readNewPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) return readSecretFromStdin();
  const first = await promptSecret('New password: ');
  const second = await promptSecret('Repeat password: ');
  if (first !== second) throw new NymoteError('EMISMATCH', 'the two passwords differ');
  return first;
}
