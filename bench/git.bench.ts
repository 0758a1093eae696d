/**
 * The git server against stock git's own servers on the same machine, same run:
 *   nymote (`nymote run`, /git/<user>.git, Basic auth) vs `git http-backend` under lighttpd
 *   and `git daemon` (both from ../shared/peers, no auth).
 * Workloads: bare clone of a repository with 10,000 commits and ~50 MB packed; incremental
 * fetch of 10 new commits; push of 1,000 new commits. Peak RSS of the nymote process is
 * printed at the end (VmHWM). Each round uses fresh inputs prepared by setup (untimed).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Bench, BenchCase } from './harness.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PEERS = path.resolve(REPO_ROOT, '..', 'shared', 'peers');
const COMMITS = Number(process.env.BENCH_GIT_COMMITS ?? 10_000);
const PORT_BASE = 31_000;
const ENV = { ...process.env, GIT_AUTHOR_NAME: 'B', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'B', GIT_COMMITTER_EMAIL: 'b@x' };

function run(command: string, args: string[], options: { input?: string; cwd?: string } = {}): string {
  const result = spawnSync(command, args, { input: options.input, cwd: options.cwd, encoding: 'utf8', env: ENV, maxBuffer: 1 << 30 });
  if (result.status !== 0) throw new Error(`${command} ${args.slice(0, 3).join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** Deterministic text that compresses about as well as mail does. */
function payload(seed: number, bytes: number): string {
  let x = seed * 2654435761 + 1;
  const words: string[] = [];
  let length = 0;
  while (length < bytes) {
    x = (x * 1103515245 + 12345) >>> 0;
    const word = (x >>> 8).toString(36);
    words.push(word);
    length += word.length + 1;
  }
  return words.join(' ');
}

/** `count` commits on main of a bare repo (after its tip, if any), by fast-import. */
function addCommits(gitDir: string, count: number, seed: number, bytesPerCommit: number): void {
  const hasMain = spawnSync('git', ['--git-dir', gitDir, 'rev-parse', '--verify', '-q', 'main']).status === 0;
  let stream = '';
  for (let i = 0; i < count; i++) {
    const content = payload(seed + i, bytesPerCommit);
    stream += `commit refs/heads/main\ncommitter B <b@x> ${1_700_000_000 + seed + i} +0000\ndata 8\ncommit ${i % 10}\n`;
    if (i === 0 && hasMain) stream += 'from refs/heads/main^0\n';
    stream += `M 100644 inline files/${(seed + i) % 500}.txt\ndata ${Buffer.byteLength(content)}\n${content}\n`;
  }
  run('git', ['--git-dir', gitDir, 'fast-import', '--quiet'], { input: stream });
}

interface Server {
  name: string;
  url: string;
  gitDir: string;
}

const bench: Bench = {
  name: 'git',
  unit: 'ops/s',
  baseline: 'git http-backend',
  async cases(): Promise<BenchCase[]> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nygit-'));
    process.stderr.write(`  git: building a ${COMMITS}-commit repository…\n`);
    const source = path.join(work, 'source.git');
    run('git', ['init', '-q', '--bare', '-b', 'main', source]);
    const stream: string[] = [];
    for (let i = 0; i < COMMITS; i++) {
      const content = payload(i, 5000);
      stream.push(`commit refs/heads/main\ncommitter B <b@x> ${1_600_000_000 + i} +0000\ndata 8\ncommit ${i % 10}\nM 100644 inline files/${i % 500}.txt\ndata ${Buffer.byteLength(content)}\n${content}\n`);
    }
    run('git', ['--git-dir', source, 'fast-import', '--quiet'], { input: stream.join('') });
    run('git', ['--git-dir', source, 'repack', '-adq']);
    process.stderr.write(`  git: source pack ${(dirSize(path.join(source, 'objects')) / 1e6).toFixed(1)} MB\n`);

    // nymote: a data directory whose alice.git is a copy of the source.
    const data = path.join(work, 'data');
    run(process.execPath, [path.join(REPO_ROOT, 'dist/firmware/index.js'), 'user', 'add', 'alice', '--password-stdin', '--data', data], { input: 'bench-pass-1' });
    const aliceGit = path.join(data, 'store', 'alice.git');
    fs.rmSync(aliceGit, { recursive: true });
    fs.cpSync(source, aliceGit, { recursive: true });
    // Started as users start it: the bundle itself, whose first line gives node its flags.
    const nymote = spawn(path.join(REPO_ROOT, 'dist/firmware/index.js'), ['run', '--data', data, '--port-base', String(PORT_BASE), '--console', 'none'], { stdio: 'ignore' });
    // The bench ends when its cases are done; the exit handler below stops the server.
    nymote.unref();
    const cleanups: (() => void)[] = [];
    process.on('exit', () => {
      // The server may have exited already (then its peak is unknown): say so, don't crash.
      const status = fs.existsSync(`/proc/${nymote.pid}/status`) ? fs.readFileSync(`/proc/${nymote.pid}/status`, 'utf8') : '';
      process.stderr.write(`  git: nymote peak RSS ${/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 'unknown (server gone)'} kB\n`);
      nymote.kill();
      for (const cleanup of cleanups) cleanup();
    });
    const httpPort = 8080 + PORT_BASE;
    for (let i = 0; i < 100 && spawnSync('curl', ['-sf', `http://127.0.0.1:${httpPort}/health`]).status !== 0; i++) await new Promise((r) => setTimeout(r, 100));

    // Peers: every repo under their repos/ directory.
    const peers: Server[] = [];
    for (const [name, script, port, scheme] of [
      ['git http-backend', 'git-http.sh', 5303, 'http'],
      ['git daemon', 'git-daemon.sh', 5304, 'git'],
    ] as const) {
      const dir = path.join(work, script.replace('.sh', ''));
      const repos = path.join(dir, 'repos');
      fs.mkdirSync(repos, { recursive: true });
      fs.cpSync(source, path.join(repos, 'bench.git'), { recursive: true });
      // A peer that does not start (its port taken by a stale server, say) must stop the bench,
      // not leave it measuring whatever answers on that port.
      const started = spawnSync('bash', [path.join(PEERS, script), 'start', dir, String(port)], { env: { ...ENV, REPOS: repos }, encoding: 'utf8' });
      if (started.status !== 0) throw new Error(`${name} did not start on port ${port}: ${started.stderr.trim().split('\n').at(-1)}`);
      peers.push({ name, url: `${scheme}://127.0.0.1:${port}/bench.git`, gitDir: path.join(repos, 'bench.git') });
      cleanups.push(() => spawnSync('bash', [path.join(PEERS, script), 'stop', dir]));
    }
    const servers: Server[] = [{ name: 'nymote', url: `http://alice:bench-pass-1@127.0.0.1:${httpPort}/git/alice.git`, gitDir: aliceGit }, ...peers];

    let round = 0;
    const fresh = () => path.join(work, `clone-${round++}`);
    const cases: BenchCase[] = [];
    for (const server of servers) {
      cases.push({
        case: `clone (${COMMITS} commits)`,
        implementation: server.name,
        unitsPerRun: 1,
        runsPerRound: 1,
        run: () => {
          const target = fresh();
          run('git', ['clone', '-q', '--bare', server.url, target]);
          fs.rmSync(target, { recursive: true, force: true });
        },
      });
    }
    for (const server of servers) {
      const clone = path.join(work, `fetcher-${server.name.replace(/\W/g, '')}`);
      cases.push({
        case: 'fetch of 10 new commits',
        implementation: server.name,
        unitsPerRun: 1,
        runsPerRound: 1,
        setup: () => {
          if (!fs.existsSync(clone)) run('git', ['clone', '-q', '--bare', server.url, clone]);
          addCommits(server.gitDir, 10, 100_000 + round++ * 10, 5000);
        },
        // main only: the branches the push rounds make are not part of this case.
        run: () => run('git', ['--git-dir', clone, 'fetch', '-q', server.url, '+refs/heads/main:refs/heads/main']),
      });
    }
    for (const server of servers) {
      const local = path.join(work, `pusher-${server.name.replace(/\W/g, '')}`);
      let branch = '';
      cases.push({
        case: 'push of 1,000 new commits',
        implementation: server.name,
        unitsPerRun: 1,
        runsPerRound: 1,
        setup: () => {
          fs.rmSync(local, { recursive: true, force: true });
          run('git', ['init', '-q', '--bare', '-b', 'main', local]);
          addCommits(local, 1000, 1_000_000 + round++ * 1000, 2000);
          branch = `push-${round}`;
        },
        run: () => run('git', ['--git-dir', local, 'push', '-q', server.url, `main:refs/heads/${branch}`]),
      });
    }
    return cases;
  },
};

function dirSize(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? dirSize(full) : fs.statSync(full).size;
  }
  return total;
}

export default bench;
