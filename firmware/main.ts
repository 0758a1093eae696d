#!/usr/bin/env node
/** Entry of the one Node process: the `nymote` CLI, of which `run` is the whole firmware. */
import { cli } from './cli/index.js';
import { NymoteError, describeError } from './runtime/index.js';

let status: number;
try {
  status = await cli(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`nymote: ${describeError(err)}\n`);
  if (process.env.NYMOTE_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  status = err instanceof NymoteError ? err.exitCode : 1;
}
// Exit explicitly: a terminal console may still hold stdin open. (stdout and stderr writes to
// files and pipes are synchronous on Linux, so nothing printed is lost.)
process.exit(status);
