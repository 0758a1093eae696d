/**
 * Starting `nymote run` for a benchmark, as users start it: the bundle itself, whose first
 * line gives node its flags. Stopped (and waited for) by the bench's cleanups, so its data is
 * never removed under it.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { logTail, running } from './processes.js';

export interface NymoteServerOptions {
  bundle: string;
  work: string;
  cleanups: (() => void)[];
  /** Also names its data directory and log under `work`. */
  name: string;
  portBase: number;
  password: string;
  /** More arguments for `run`. */
  runArgs?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** A command to exec the bundle through (taskset -c 1, say); its pid is then node's. */
  launcher?: readonly string[];
  /** Called on the data directory after `user add alice` and before `run`. */
  prepare?: (data: string) => void;
  /** When it answers; polled every 100 ms for `timeoutMs`. */
  ready: () => boolean;
  timeoutMs?: number;
}

/** Resolves with the server's pid once `ready()` says so; throws with its log when it exits or never gets ready. */
export async function startNymoteServer(options: NymoteServerOptions): Promise<number> {
  const { bundle, work, cleanups, name, env } = options;
  if (!fs.existsSync(bundle)) throw new Error(`${path.relative(process.cwd(), bundle)} is missing: run \`make bundle\` first`);
  const slug = name.replace(/\W+/g, '-');
  const data = path.join(work, `${slug}-data`);
  const added = spawnSync(process.execPath, [bundle, 'user', 'add', 'alice', '--password-stdin', '--data', data], { input: options.password, encoding: 'utf8', env });
  if (added.status !== 0) throw new Error(`nymote user add: ${added.stderr}`);
  options.prepare?.(data);
  const log = path.join(work, `${slug}.log`);
  const out = fs.openSync(log, 'a');
  const args = [bundle, 'run', '--data', data, '--port-base', String(options.portBase), '--console', 'none', ...(options.runArgs ?? [])];
  const [command, ...launcherArgs] = options.launcher ?? [];
  const child = command === undefined ? spawn(bundle, args.slice(1), { stdio: ['ignore', out, out], env }) : spawn(command, [...launcherArgs, ...args], { stdio: ['ignore', out, out], env });
  fs.closeSync(out);
  child.unref();
  cleanups.push(() => {
    child.kill();
    // Wait (synchronously: this runs in the exit handler) until it is gone before its data is removed.
    for (let i = 0; i < 100 && running(child.pid!); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    if (running(child.pid!)) child.kill('SIGKILL');
  });
  const timeoutMs = options.timeoutMs ?? 15_000;
  for (let waited = 0; ; waited += 100) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) on start:\n${logTail(log)}`);
    if (options.ready()) return child.pid!;
    if (waited >= timeoutMs) throw new Error(`${name} was not ready in ${timeoutMs / 1000} s:\n${logTail(log)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Whether the instance's /health answers (its HTTP port is 8080 + port base). */
export function healthAnswers(portBase: number): boolean {
  return spawnSync('curl', ['-sf', '-o', '/dev/null', `http://127.0.0.1:${8080 + portBase}/health`]).status === 0;
}
