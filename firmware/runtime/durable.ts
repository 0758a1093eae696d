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

/**
 * Several files replaced together with as few waits for the disk as possible: each is written
 * to a temp file beside its target, then all are fsynced at once, renamed in the order they
 * were added, and their directories fsynced at once. Two rounds of fsyncs for any number of
 * files. On ext4 (the data partition) the journal commits renames in order, so a later rename
 * (a ref) never survives a crash without the earlier ones (the objects it points to).
 */
export class StagedFiles {
  private readonly files: { fd: number | undefined; temp: string; final: string }[] = [];

  get size(): number {
    return this.files.length;
  }

  add(final: string, data: string | Uint8Array, mode = 0o644): void {
    const temp = tempPathFor(final);
    const fd = fs.openSync(temp, 'wx', mode);
    this.files.push({ fd, temp, final });
    fs.writeFileSync(fd, data);
  }

  /** The open temp files, for a caller that syncs them itself. */
  descriptors(): number[] {
    return this.files.flatMap((f) => (f.fd === undefined ? [] : [f.fd]));
  }

  /** Waits until every staged file's content is on disk. */
  async sync(): Promise<void> {
    await Promise.all(this.files.map((f) => fdatasyncAsync(f.fd!)));
  }

  /** Renames every staged file over its target, in the order they were added. */
  install(): void {
    this.closeAll();
    for (const file of this.files) fs.renameSync(file.temp, file.final);
  }

  /** Waits until the renames are on disk. */
  async syncDirectories(): Promise<void> {
    const dirs = [...new Set(this.files.map((f) => path.dirname(f.final)))];
    await Promise.all(dirs.map(fsyncDirectoryAsync));
  }

  /** Gives up: removes the temp files (targets are untouched unless install ran). */
  abort(): void {
    this.closeAll();
    for (const file of this.files) fs.rmSync(file.temp, { force: true });
  }

  private closeAll(): void {
    for (const file of this.files) {
      if (file.fd === undefined) continue;
      fs.closeSync(file.fd);
      file.fd = undefined;
    }
  }
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

async function fsyncDirectoryAsync(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A text file's contents, or undefined when there is no such file (other errors throw). */
export function readFileIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
