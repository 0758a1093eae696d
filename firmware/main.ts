#!/usr/bin/env -S node --max-semi-space-size=1 --max-old-space-size=512
/**
 * Entry of the one Node process: the `nymote` CLI, of which `run` is the whole firmware.
 * The first line is also how the firmware is to be started: those V8 flags keep the young
 * generation small, so the buffers a clone or a push churns through are freed within
 * milliseconds, not at the next of V8's (large, lazy) scavenges — they halve the peak RSS of
 * a clone — and bound the heap below a small board's memory. Launchers without a shebang
 * (nyinit, `make run`) take the flags from this line.
 */
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
