/** Drives the built CLI (dist/firmware/index.js) as a user would: a child process. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const NYMOTE = path.join(REPO, 'dist', 'firmware', 'index.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function nymote(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const result = spawnSync(process.execPath, [NYMOTE, ...args], {
    input: options.input ?? '',
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** True when nothing listens on 127.0.0.1:port. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** A --port-base whose HTTP port (8080 + base) is free right now. */
export async function freePortBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10_000 + Math.floor(Math.random() * 40_000);
    if (await portIsFree(8080 + base)) return base;
  }
  throw new Error('no free port found');
}

export interface Instance {
  child: ChildProcess;
  httpUrl: string;
  /** The --port-base it runs with: each service's port is its host default plus this. */
  portBase: number;
  output(): string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `nymote run` and resolves once its log says it is ready. freePortBase checks only the
 * HTTP port; another port of the instance (UDP DNS or channel, HTTPS…) can still be taken, by
 * a client's ephemeral port for one: then it starts again on another base.
 */
export async function startInstance(dataDir: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Instance> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startInstanceOnce(dataDir, extraArgs, env);
    } catch (err) {
      if (attempt >= 5 || !/is already in use/.test((err as Error).message)) throw err;
    }
  }
}

async function startInstanceOnce(dataDir: string, extraArgs: string[], env: NodeJS.ProcessEnv): Promise<Instance> {
  const base = await freePortBase();
  const child = spawn(process.execPath, [NYMOTE, 'run', '--data', dataDir, '--port-base', String(base), '--console', 'none', ...extraArgs], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 15_000;
  while (!/msg="ready"/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nymote run did not become ready:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    child,
    httpUrl: `http://127.0.0.1:${8080 + base}`,
    portBase: base,
    output: () => output,
    exited,
    stop: (signal = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };
}

/** Runs an external program (curl, git, python…) and returns its output. */
export function tool(command: string, args: string[], input?: string): CliResult {
  const result = spawnSync(command, args, { input: input ?? '', encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
