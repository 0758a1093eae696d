/**
 * A real NTP server for tests: Debian's chronyd serving its own clock (`local stratum 8`) on
 * 127.0.0.1 at an unprivileged port, in the foreground, never touching the system clock (-x).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { querySntp } from '../../drivers/clock/index.js';
import { tempDir } from './tmp.js';

const repo = path.resolve(import.meta.dirname, '../..');

export interface Chrony {
  port: number;
  output(): string;
  stop(): Promise<void>;
}

function chronydPath(): string {
  for (const candidate of ['/usr/sbin/chronyd', '/sbin/chronyd']) if (fs.existsSync(candidate)) return candidate;
  execFileSync(path.join(repo, 'scripts/apt-deps.sh'), ['chrony'], { stdio: 'inherit' });
  return '/usr/sbin/chronyd';
}

export async function startChrony(): Promise<Chrony> {
  const chronyd = chronydPath();
  const dir = tempDir('chrony');
  // A port of our own, so parallel runs (and a system chronyd on 123) do not collide.
  const port = 20_000 + (process.pid % 20_000);
  const conf = path.join(dir, 'chrony.conf');
  fs.writeFileSync(
    conf,
    [
      `port ${port}`,
      'bindaddress 127.0.0.1',
      'allow 127.0.0.1',
      'local stratum 8',
      'cmdport 0',
      `pidfile ${path.join(dir, 'chronyd.pid')}`,
      '',
    ].join('\n'),
  );
  // -d: foreground, log to stderr; -x: never adjust the system clock; -u root: no privilege drop
  // (the temp directory is root's), and unprivileged runs do not need one.
  const args = ['-d', '-x', '-f', conf];
  if (process.getuid?.() === 0) args.push('-u', 'root');
  const child: ChildProcess = spawn(chronyd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await querySntp('127.0.0.1', { port, timeoutMs: 300 });
      return { port, output: () => output, stop };
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`chronyd did not start serving on 127.0.0.1:${port}: ${String(err)}\n${output}`);
      }
    }
  }
}
