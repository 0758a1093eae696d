/**
 * The data directory contract of DESIGN.md: store/, secrets/ (0700, never synced), firmware/,
 * log/, config/ for the device's settings (hostname, time zone, network), and run/ for the
 * sockets of a running instance.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NymoteError } from './errors.js';
import type { Mode } from './ports.js';

export interface DataDir {
  readonly root: string;
  readonly store: string;
  readonly secrets: string;
  readonly firmware: string;
  readonly log: string;
  readonly config: string;
  readonly run: string;
  /** The console's local socket of a running instance. */
  readonly consoleSocket: string;
}

/** Where data lives: --data, else $NYMOTE_DATA, else ./var on a host and /data on a device. */
export function dataDirPath(flag: string | undefined, mode: Mode): string {
  return path.resolve(flag ?? process.env.NYMOTE_DATA ?? (mode === 'device' ? '/data' : './var'));
}

export function dataDirLayout(root: string): DataDir {
  return {
    root,
    store: path.join(root, 'store'),
    secrets: path.join(root, 'secrets'),
    firmware: path.join(root, 'firmware'),
    log: path.join(root, 'log'),
    config: path.join(root, 'config'),
    run: path.join(root, 'run'),
    consoleSocket: path.join(root, 'run', 'console.sock'),
  };
}

/** Creates the layout (idempotent) and checks it is writable, naming the path that is not. */
export function prepareDataDir(root: string): DataDir {
  const dirs = dataDirLayout(root);
  const make = (dir: string, mode: number) => {
    try {
      fs.mkdirSync(dir, { recursive: true, mode });
      fs.accessSync(dir, fs.constants.W_OK);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new NymoteError('EDATADIR', `data directory ${dir} is not writable (${reason})`);
    }
  };
  make(root, 0o755);
  for (const dir of [dirs.store, dirs.firmware, dirs.log, dirs.config]) make(dir, 0o755);
  // secrets/ holds keys and password hashes; run/ holds the console socket. Owner only.
  for (const dir of [dirs.secrets, dirs.run]) {
    make(dir, 0o700);
    // mkdir's mode is only applied on creation; a pre-existing directory is tightened here.
    fs.chmodSync(dir, 0o700);
  }
  return dirs;
}

/**
 * A factory reset: the users' stores, secrets, settings and logs go; the firmware slots stay
 * (the device must still boot). Only for a stopped firmware.
 */
export function eraseDataDir(dirs: DataDir): void {
  for (const dir of [dirs.store, dirs.secrets, dirs.config, dirs.log, dirs.run]) fs.rmSync(dir, { recursive: true, force: true });
}
