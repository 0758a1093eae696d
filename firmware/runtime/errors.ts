/**
 * Errors carry a stable code and a one-line human message. The CLI prints the message and
 * exits with `exitCode`; services turn them into their protocol's own error replies.
 */
export class NymoteError extends Error {
  readonly code: string;
  readonly exitCode: number;

  constructor(code: string, message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NymoteError';
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Bad command-line usage: exit status 2, as is customary for CLIs. */
export class UsageError extends NymoteError {
  constructor(message: string) {
    super('EUSAGE', message, { exitCode: 2 });
    this.name = 'UsageError';
  }
}

/** One line describing any thrown value, for logs and the console (never a stack trace). */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err);
}
