/**
 * A device on this machine for update tests: nyinit (PID 1 of a PID namespace) starts the built
 * firmware from app slot a of a data tree, with the image's board.json ("host-test") and
 * release-keys.json in NYMOTE_ETC. Releases are made with the real CLI (`nymote release-key
 * init`, `nymote release`) from copies of dist/firmware and pushed with the git CLI. `cut()`
 * kills the whole namespace at once (what a power cut leaves of the processes; the page cache
 * survives it, so this tests the order of steps, not fsync) and `start()` boots it again.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';

import { NYMOTE, freePortBase, nymote } from './cli.js';
import { NYINIT, ensureNyinit } from './nyinit.js';
import { tempDir } from './tmp.js';

export const PASSWORD = 'pw-alice-ota-1';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface SlotState {
  active: string;
  trial?: string;
  counter?: number;
  reverted?: string[];
}

export class OtaDevice {
  readonly root = tempDir('ota');
  readonly data = path.join(this.root, 'data');
  readonly etc = path.join(this.root, 'etc');
  readonly laptop = path.join(this.root, 'laptop');
  /** out/release.git of the laptop. */
  readonly releases = path.join(this.root, 'release.git');
  portBase = 0;
  /** Everything nyinit and the firmware printed, across starts. */
  output = '';
  private init: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  /** Makes the data tree (slot a = dist/firmware, user alice, the owner) and the laptop's release key. */
  async prepare(trialTimeoutSeconds: number): Promise<void> {
    ensureNyinit();
    this.portBase = await freePortBase();
    this.trialTimeout = trialTimeoutSeconds;
    fs.mkdirSync(path.join(this.data, 'firmware'), { recursive: true });
    fs.cpSync(path.dirname(NYMOTE), path.join(this.data, 'firmware/a'), { recursive: true });
    fs.writeFileSync(path.join(this.data, 'firmware/state.json'), '{"active":"a"}\n');
    fs.mkdirSync(this.etc);
    fs.writeFileSync(path.join(this.etc, 'board.json'), '{"name":"host-test","console":"","watchdog":""}\n');
    const key = nymote(['release-key', 'init', '--data', this.laptop]);
    assert.is(key.status, 0, key.stderr);
    fs.writeFileSync(path.join(this.etc, 'release-keys.json'), key.stdout.split('\n')[1]!);
    assert.is(nymote(['user', 'add', 'alice', '--password-stdin', '--data', this.data], { input: `${PASSWORD}\n` }).status, 0);
    // nyinit starts "node index.js run"; this adds the test's ports.
    fs.writeFileSync(path.join(this.root, 'node.sh'), `#!/bin/sh\nexec ${process.execPath} "$@" --port-base ${this.portBase} --console none\n`, { mode: 0o755 });
  }

  private trialTimeout = 20;

  /** Boots nyinit and waits for the firmware's ready line. */
  async start(): Promise<void> {
    const at = this.mark();
    const userns = process.getuid?.() === 0 ? [] : ['--user', '--map-root-user'];
    const init = spawn('unshare', [...userns, '--pid', '--fork', '--kill-child', '--mount-proc', '--uts', NYINIT], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        NYINIT_ROOT: this.root,
        NYINIT_NO_MOUNT: '1',
        NYINIT_CHILD: path.join(this.root, 'node.sh'),
        NYINIT_CONSOLE: '',
        NYINIT_WATCHDOG: '',
        NYINIT_TEST_REBOOT: path.join(this.root, 'action'),
        NYINIT_TRIAL_TIMEOUT: String(this.trialTimeout),
        NYMOTE_MODE: 'host',
        NYMOTE_ETC: this.etc,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.init = init;
    this.exited = new Promise((resolve) => init.once('exit', () => resolve()));
    init.stdout!.on('data', (chunk) => (this.output += chunk));
    init.stderr!.on('data', (chunk) => (this.output += chunk));
    await this.waitFor('the firmware to be ready', () => this.since(at).includes('msg="ready"'), 30_000);
  }

  /** Kills unshare, which kills nyinit (--kill-child), PID 1 of its namespace, which takes every process in it along. */
  async cut(): Promise<void> {
    this.init?.kill('SIGKILL');
    await this.exited;
    this.init = undefined;
  }

  async remove(): Promise<void> {
    await this.cut();
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${8080 + this.portBase}`;
  }

  get firmwareUrl(): string {
    return `http://alice:${PASSWORD}@127.0.0.1:${8080 + this.portBase}/git/firmware.git`;
  }

  state(): SlotState {
    return JSON.parse(fs.readFileSync(path.join(this.data, 'firmware/state.json'), 'utf8')) as SlotState;
  }

  /** Where the output is now, to wait for what happens after. */
  mark(): number {
    return this.output.length;
  }

  since(at: number): string {
    return this.output.slice(at);
  }

  async waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${this.output.split('\n').filter((line) => !line.includes('level=debug')).slice(-40).join('\n')}`);
      await sleep(100);
    }
  }

  /** A copy of the built firmware as an app directory: index.js with `line` appended, or replaced by `index`. */
  app(line: string, index?: string): string {
    const dir = fs.mkdtempSync(path.join(this.root, 'app-'));
    fs.cpSync(path.dirname(NYMOTE), dir, { recursive: true });
    const file = path.join(dir, 'index.js');
    if (index !== undefined) fs.writeFileSync(file, index);
    else fs.appendFileSync(file, `${line}\n`);
    return dir;
  }

  /** `nymote release` into `repo` (default the laptop's); the commit. */
  release(version: string, app: string, extra: string[] = [], laptop = this.laptop, repo = this.releases): string {
    const made = nymote(['release', '--data', laptop, '--repo', repo, '--version', version, '--boards', 'host-test', ...extra, `x64=${app}`]);
    assert.is(made.status, 0, made.stderr);
    return made.stdout.split('\n')[1]!.split(' ')[0]!;
  }

  /** git push of `repo`'s release branch to the device. */
  push(repo = this.releases, args: string[] = []): { status: number | null; stderr: string } {
    const pushed = spawnSync('git', ['--git-dir', repo, 'push', ...args, this.firmwareUrl, 'release'], { encoding: 'utf8', timeout: 60_000 });
    return { status: pushed.status, stderr: pushed.stderr };
  }

  /** The same push, not waiting: for cutting the power while it runs. */
  pushInBackground(repo = this.releases): ChildProcess {
    return spawn('git', ['--git-dir', repo, 'push', '--force', this.firmwareUrl, 'release'], { stdio: 'ignore' });
  }

  /** The commit a user's store's main branch is at, read with git. */
  storeHead(user: string): string {
    return execFileSync('git', ['--git-dir', path.join(this.data, 'store', `${user}.git`), 'rev-parse', 'main'], { encoding: 'utf8' }).trim();
  }

  async health(): Promise<string | undefined> {
    try {
      const res = await fetch(`${this.httpUrl}/health`);
      return res.ok ? ((await res.json()) as { status: string }).status : undefined;
    } catch {
      return undefined;
    }
  }

  /** The last outcome on refs/ota/status, fetched with git as the owner would. */
  fetchedStatus(): { outcome: string; version: string; detail: string } {
    const clone = fs.mkdtempSync(path.join(this.root, 'status-'));
    execFileSync('git', ['init', '-q', '--bare', clone]);
    execFileSync('git', ['--git-dir', clone, 'fetch', '-q', this.firmwareUrl, 'refs/ota/status:refs/ota/status']);
    return JSON.parse(execFileSync('git', ['--git-dir', clone, 'show', 'refs/ota/status:status.json'], { encoding: 'utf8' })) as { outcome: string; version: string; detail: string };
  }
}
