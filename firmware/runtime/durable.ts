/**
 * Writes that survive power loss, the way git does them: write a temp file, fsync it, rename
 * it over the target, fsync the directory. Lock files (`<file>.lock`, created exclusively)
 * keep two writers — say the CLI and the running firmware — from interleaving.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NymoteError } from './errors.js';

let tempCounter = 0;

function tempPathFor(file: string): string {
  tempCounter = (tempCounter + 1) % 1e9;
  return path.join(path.dirname(file), `.tmp-${process.pid}-${tempCounter}-${path.basename(file)}`);
}

export function fsyncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Replaces `file` with `data` atomically and durably; readers see the old or the new file. */
export function writeFileDurable(file: string, data: string | Uint8Array, mode = 0o644): void {
  const temp = tempPathFor(file);
  const fd = fs.openSync(temp, 'wx', mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
  fsyncDirectory(path.dirname(file));
}

export interface LockOptions {
  /** How long to keep retrying a held lock before giving up. */
  waitMs?: number;
  /** A lock older than this is taken to be left by a crashed process and broken. */
  staleMs?: number;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs `fn` while holding `<file>.lock`. Synchronous: the critical sections are short. */
export function withFileLock<T>(file: string, fn: () => T, options: LockOptions = {}): T {
  const lock = `${file}.lock`;
  const deadline = Date.now() + (options.waitMs ?? 5000);
  const staleMs = options.staleMs ?? 30_000;
  for (;;) {
    try {
      fs.closeSync(fs.openSync(lock, 'wx', 0o600));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = lockAge(lock);
      if (age !== undefined && age > staleMs) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new NymoteError('ELOCKED', `${lock} is held by another process`);
      sleepSync(20);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

function lockAge(lock: string): number | undefined {
  try {
    return Date.now() - fs.statSync(lock).mtimeMs;
  } catch {
    return undefined;
  }
}
