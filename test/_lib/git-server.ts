/** A real HttpService on 127.0.0.1 with the git routes mounted, users alice and bob, for git interop tests. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { mountGit, type GitLimits, type ReceiveHooks } from '../../firmware/git/index.js';
import { HttpService, sendError } from '../../firmware/http/index.js';
import { LogSink } from '../../firmware/runtime/index.js';
import { Store, UserStores } from '../../firmware/store/index.js';
import { tempDir } from './tmp.js';

export const PASSWORDS: Readonly<Record<string, string>> = { alice: 'secret-pass-1', bob: 'secret-pass-2' };

export interface GitServer {
  port: number;
  dataDir: string;
  stores: UserStores;
  log: LogSink;
  /** http://user:password@127.0.0.1:port/git/repo.git */
  url(repo?: string, user?: string, password?: string): string;
  gitDir(repo: string): string;
  close(): Promise<void>;
}

/** Basic auth against PASSWORDS; a user reaches only the repository of the same name. */
async function authorize(req: IncomingMessage, res: ServerResponse, repo: string): Promise<{ user: string } | undefined> {
  const header = req.headers.authorization ?? '';
  const decoded = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  const user = decoded.slice(0, colon);
  if (colon < 0 || PASSWORDS[user] === undefined || PASSWORDS[user] !== decoded.slice(colon + 1)) {
    res.setHeader('www-authenticate', 'Basic realm="nymote"');
    sendError(res, 401, 'EAUTH', 'authentication required');
    return undefined;
  }
  if (user !== repo) {
    sendError(res, 403, 'EFORBIDDEN', `${user} may not reach ${repo}.git`);
    return undefined;
  }
  return { user };
}

export async function startGitServer(options: { hooks?: (repo: string) => ReceiveHooks | undefined; limits?: Partial<GitLimits> } = {}): Promise<GitServer> {
  const dataDir = tempDir('gs');
  const storeDir = path.join(dataDir, 'store');
  const stores = new UserStores(storeDir, { durability: 'none' });
  stores.ensure('alice');
  stores.ensure('bob');
  const log = new LogSink({ stderr: process.env.GIT_TEST_LOG === '1', level: 'debug' });
  const http = new HttpService('127.0.0.1', 0, log.logger({ svc: 'http' }));
  mountGit(http.router, { stores, authorize, log: log.logger({ svc: 'git' }), ...options });
  await http.start();
  const port = http.boundPort()!;
  return {
    port,
    dataDir,
    stores,
    log,
    url: (repo = 'alice', user = 'alice', password = PASSWORDS[user] ?? 'x') => `http://${user}:${password}@127.0.0.1:${port}/git/${repo}.git`,
    gitDir: (repo) => stores.gitDirOf(repo),
    close: async () => {
      await http.stop();
      await stores.closeAll();
    },
  };
}

/** Commits `count` changes to a store branch, touching a few of `files` files each time. */
export async function fillStore(store: Store, count: number, files = 20, branch = 'main'): Promise<void> {
  const head = store.branch(branch);
  for (let i = 0; i < count; i++) {
    await head.transaction((view) => {
      view.set(`notes/n${i % files}.txt`, `note ${i}\n${'line of text that repeats\n'.repeat(5 + (i % 7))}`);
      if (i % 5 === 0) view.set(`dir/sub${i % 3}/f${i}.txt`, `file ${i}\n`);
    }, { message: `commit ${i}` });
  }
}

export interface GitRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** The stock git CLI (asynchronous: the server runs in this process) with no user config, credential helper or prompts. */
export async function runGit(args: string[], options: { cwd?: string; input?: string | Buffer; env?: Record<string, string> } = {}): Promise<GitRun> {
  const home = tempDir('gh');
  const child = spawn('git', ['-c', 'credential.helper=', '-c', 'init.defaultBranch=main', '-c', 'advice.detachedHead=false', ...args], {
    cwd: options.cwd,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 'Tester',
      GIT_AUTHOR_EMAIL: 'tester@example.test',
      GIT_COMMITTER_NAME: 'Tester',
      GIT_COMMITTER_EMAIL: 'tester@example.test',
      ...options.env,
    },
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');
  const status = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  fs.rmSync(home, { recursive: true, force: true });
  return { status, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
}

/** runGit that must succeed; its stdout. */
export async function git(args: string[], options: { cwd?: string; input?: string | Buffer; env?: Record<string, string> } = {}): Promise<string> {
  const run = await runGit(args, options);
  if (run.status !== 0) throw new Error(`git ${args.join(' ')} failed (${run.status}): ${run.stderr}`);
  return run.stdout;
}
