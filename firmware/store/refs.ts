/**
 * Refs the way git keeps them: loose files under refs/, packed-refs, and a symbolic HEAD.
 * Updates go through `<ref>.lock`, created exclusively, written, fsynced and renamed over
 * the ref — git's own protocol, so the git CLI and the store can share a repository.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StagedFiles, fsyncDirectory } from '../runtime/durable.js';
import { StoreError, corrupt } from './errors.js';
import { formatSignature, isObjectId, ZERO_ID, type ObjectId, type Signature } from './objects.js';

const LOCK_STALE_MS = 30_000;

/** git check-ref-format, for full names such as refs/heads/main. */
export function refNameProblem(name: string): string | undefined {
  if (name === 'HEAD') return undefined;
  if (!name.startsWith('refs/')) return 'must start with refs/';
  if (name.length > 1024) return 'too long';
  if (/[\0-\x20\x7f~^:?*[\\]/.test(name)) return 'contains a forbidden character';
  if (name.includes('..') || name.includes('//') || name.includes('@{') || name.endsWith('/') || name.endsWith('.')) {
    return 'has a forbidden sequence';
  }
  for (const part of name.split('/')) {
    if (part === '' || part.startsWith('.') || part.endsWith('.lock')) return `has a bad component '${part}'`;
  }
  return undefined;
}

export function assertRefName(name: string): void {
  const problem = refNameProblem(name);
  if (problem !== undefined) throw new StoreError('EBADREF', `invalid ref name '${name.slice(0, 100)}': ${problem}`);
}

interface PackedRefs {
  refs: Map<string, ObjectId>;
  stamp: string;
}

function fileStamp(stat: fs.Stats): string {
  return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class RefStore {
  private packed: PackedRefs | undefined;
  /**
   * Branch heads as last read, kept while inotify (fs.watch) reports no change in refs/heads
   * or the top directory (packed-refs): hot reads then touch no file at all. Without a
   * working watch, every read goes to the file.
   */
  private readonly headCache = new Map<string, ObjectId | undefined>();
  private watchers: fs.FSWatcher[] | undefined;

  constructor(readonly gitDir: string) {}

  /** Like `read`, for refs/heads/<name> without a slash in <name>, served from memory when it can. */
  readBranchHead(ref: string): ObjectId | undefined {
    if (ref.lastIndexOf('/') !== 'refs/heads'.length) return this.read(ref);
    if (this.watchers === undefined) this.startWatching();
    if (this.watchers!.length === 0) return this.read(ref);
    if (this.headCache.has(ref)) return this.headCache.get(ref);
    const id = this.read(ref);
    this.headCache.set(ref, id);
    return id;
  }

  private startWatching(): void {
    const invalidate = () => this.headCache.clear();
    try {
      this.watchers = [path.join(this.gitDir, 'refs', 'heads'), this.gitDir].map((dir) => {
        const watcher = fs.watch(dir, { persistent: false }, invalidate);
        watcher.on('error', () => this.stopWatching());
        return watcher;
      });
    } catch {
      this.watchers = [];
    }
  }

  private stopWatching(): void {
    for (const watcher of this.watchers ?? []) watcher.close();
    this.watchers = [];
    this.headCache.clear();
  }

  /** Stops watching the repository (the store is closing). */
  close(): void {
    this.stopWatching();
    this.watchers = undefined;
  }

  /** Called after this process moved a ref, so its own readers see the move at once. */
  noteUpdate(ref: string): void {
    this.headCache.delete(ref);
  }

  private refPath(name: string): string {
    return path.join(this.gitDir, name);
  }

  /** The id a ref points to, following symbolic refs; undefined when it does not exist. */
  read(name: string): ObjectId | undefined {
    let current = name;
    for (let depth = 0; depth < 5; depth++) {
      const value = this.readRaw(current);
      if (value === undefined) return undefined;
      if (value.startsWith('ref: ')) {
        current = value.slice(5);
        assertRefName(current);
        continue;
      }
      return value;
    }
    throw corrupt(`ref ${name}: symbolic refs nest too deep`);
  }

  /** The target of a symbolic ref (HEAD → refs/heads/main), if it is one. */
  readSymbolic(name: string): string | undefined {
    const value = this.readRaw(name);
    return value?.startsWith('ref: ') ? value.slice(5) : undefined;
  }

  private readRaw(name: string): string | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.refPath(name), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return this.readPacked().refs.get(name);
      throw err;
    }
    const value = text.trim();
    if (!value.startsWith('ref: ') && !isObjectId(value)) throw corrupt(`ref ${name} does not hold an object id`);
    return value;
  }

  private readPacked(): PackedRefs {
    const file = path.join(this.gitDir, 'packed-refs');
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      return { refs: new Map(), stamp: '' };
    }
    const stamp = fileStamp(stat);
    if (this.packed?.stamp === stamp) return this.packed;
    const refs = new Map<string, ObjectId>();
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (line === '' || line.startsWith('#') || line.startsWith('^')) continue;
      const [id, name] = line.split(' ');
      if (id === undefined || name === undefined || !isObjectId(id)) throw corrupt('packed-refs has a malformed line');
      refs.set(name, id);
    }
    this.packed = { refs, stamp };
    return this.packed;
  }

  /** All refs under a prefix (loose ones override packed ones), sorted by name. */
  list(prefix = 'refs/'): Map<string, ObjectId> {
    const found = new Map<string, ObjectId>();
    for (const [name, id] of this.readPacked().refs) if (name.startsWith(prefix)) found.set(name, id);
    const walk = (dir: string, rel: string) => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        // Dot files are temporaries (ours and git's), never refs.
        if (entry.name.startsWith('.')) continue;
        const name = `${rel}/${entry.name}`;
        if (entry.isDirectory()) walk(path.join(dir, entry.name), name);
        else if (entry.isFile() && !entry.name.endsWith('.lock') && name.startsWith(prefix)) {
          const id = this.read(name);
          if (id !== undefined) found.set(name, id);
        }
      }
    };
    walk(path.join(this.gitDir, 'refs'), 'refs');
    return new Map([...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Takes `<ref>.lock`, waiting for another writer up to `waitMs`; breaks locks left by a crash. */
  async lock(name: string, waitMs = 5000): Promise<RefLock> {
    assertRefName(name);
    const file = this.refPath(name);
    const lockFile = `${file}.lock`;
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
    } catch {
      throw new StoreError('EBADREF', `ref ${name} conflicts with an existing ref`);
    }
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (createLockNamingHolder(lockFile)) return new RefLock(this, name, file, lockFile);
      if (lockIsStale(lockFile)) {
        fs.rmSync(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new StoreError('ECONFLICT', `ref ${name} is locked by another writer`);
      await sleep(2 + Math.random() * 8);
    }
  }

  /** Points a symbolic ref (HEAD) at another ref. */
  setSymbolic(name: string, target: string): void {
    assertRefName(target);
    const file = this.refPath(name);
    fs.writeFileSync(`${file}.lock`, `ref: ${target}\n`, { flag: 'wx' });
    fs.renameSync(`${file}.lock`, file);
  }

  /** Removes a ref, loose and packed; `expected` guards against removing a moved ref. */
  async delete(name: string, expected?: ObjectId): Promise<void> {
    const lock = await this.lock(name);
    try {
      const current = lock.current();
      if (current === undefined) throw new StoreError('ENOTFOUND', `no ref ${name}`);
      if (expected !== undefined && current !== expected) throw new StoreError('ECONFLICT', `ref ${name} has moved`);
      lock.remove();
    } finally {
      lock.release();
    }
  }

  /** @internal RefLock.remove: the ref's files go; the caller holds its lock. */
  removeLocked(name: string): void {
    if (this.readPacked().refs.has(name)) this.rewritePackedWithout(name);
    fs.rmSync(this.refPath(name), { force: true });
    this.noteUpdate(name);
    fs.rmSync(path.join(this.gitDir, 'logs', name), { force: true });
  }

  private rewritePackedWithout(name: string): void {
    const file = path.join(this.gitDir, 'packed-refs');
    const lockFile = `${file}.lock`;
    const fd = fs.openSync(lockFile, 'wx', 0o644);
    try {
      const kept: string[] = [];
      let skipPeeled = false;
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        if (line.startsWith('^')) {
          if (!skipPeeled) kept.push(line);
          continue;
        }
        skipPeeled = line.endsWith(` ${name}`);
        if (!skipPeeled && line !== '') kept.push(line);
      }
      fs.writeSync(fd, kept.join('\n') + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(lockFile, file);
    this.packed = undefined;
  }

  /** Forget cached packed-refs (after another process packed them). */
  invalidate(): void {
    this.packed = undefined;
  }
}

const HOLDER_PREFIX = 'locked-by-pid ';

/**
 * Creates `lockFile` holding `locked-by-pid <pid>`, atomically: the content is written to a
 * private file first and hard-linked into place (link fails if the lock exists). So a lock is
 * never seen empty — a process killed between creating a lock and writing it would leave one
 * that looks like git's own and blocks writers for LOCK_STALE_MS (the crash test caught
 * that) — and one left by a killed process is recognised at once. Returns false when the
 * lock is held.
 */
function createLockNamingHolder(lockFile: string): boolean {
  const draft = path.join(path.dirname(lockFile), `.lock-draft-${process.pid}-${(lockDraftCounter = (lockDraftCounter + 1) % 1e9)}`);
  fs.writeFileSync(draft, `${HOLDER_PREFIX}${process.pid}\n`, { mode: 0o644 });
  try {
    fs.linkSync(draft, lockFile);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === 'ENOTDIR') throw new StoreError('EBADREF', `ref ${lockFile.replace(/\.lock$/, '')} conflicts with an existing ref`);
    throw err;
  } finally {
    fs.rmSync(draft, { force: true });
  }
}
let lockDraftCounter = 0;

/** A lock whose holding process is gone, or (git's locks name no holder) an old one. */
function lockIsStale(lockFile: string): boolean {
  try {
    const content = fs.readFileSync(lockFile, 'latin1');
    if (content.startsWith(HOLDER_PREFIX)) return !processAlive(Number(content.slice(HOLDER_PREFIX.length)));
    return Date.now() - fs.statSync(lockFile).mtimeMs > LOCK_STALE_MS;
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface Reflog {
  who: Signature;
  message: string;
  oldId?: ObjectId;
}

/**
 * A held `<ref>.lock`. Git writes the new value into the lock file and renames it; here the
 * lock keeps naming its holder until the end (so a killed holder is seen at once), and the
 * value goes through a temporary file in the repository's top directory, where git looks
 * for no refs, renamed over the ref while the lock is held.
 */
export class RefLock {
  private open = true;

  constructor(
    private readonly refs: RefStore,
    readonly name: string,
    private readonly file: string,
    private readonly lockFile: string,
  ) {}

  /** The ref's value now; stable while the lock is held (other writers wait for it). */
  current(): ObjectId | undefined {
    return this.refs.read(this.name);
  }

  /**
   * Stages the ref's new value in `staged`; after `staged.install()` the ref has moved, and
   * `release()` ends the lock. Lets a group commit move refs with its objects. Call `log`
   * once the objects are installed and before the ref is, as git orders it.
   */
  stage(staged: StagedFiles, newId: ObjectId): void {
    if (!this.open) throw new StoreError('EINVAL', `lock on ${this.name} is no longer held`);
    staged.add(this.file, `${newId}\n`);
  }

  log(newId: ObjectId, reflog: Reflog): void {
    appendReflog(this.refs.gitDir, this.name, reflog.oldId ?? ZERO_ID, newId, reflog.who, reflog.message);
  }

  /** Deletes the ref (loose and packed) while the lock is held. */
  remove(): void {
    if (!this.open) throw new StoreError('EINVAL', `lock on ${this.name} is no longer held`);
    this.refs.removeLocked(this.name);
  }

  /** Moves the ref now, on its own, and releases the lock. */
  commit(newId: ObjectId, reflog: Reflog, durable: boolean): void {
    const staged = new StagedFiles();
    try {
      this.stage(staged, newId);
      this.log(newId, reflog);
      if (durable) for (const fd of staged.descriptors()) fs.fdatasyncSync(fd);
      staged.install();
      if (durable) fsyncDirectory(path.dirname(this.file));
    } catch (err) {
      staged.abort();
      throw err;
    } finally {
      this.release();
    }
  }

  release(): void {
    if (!this.open) return;
    this.open = false;
    // Whatever happened, readers of this process must not keep a cached old value.
    this.refs.noteUpdate(this.name);
    fs.rmSync(this.lockFile, { force: true });
  }
}

/** logs/<ref>: one line per update, as git writes it, so `git reflog` shows the store's history. */
function appendReflog(gitDir: string, name: string, oldId: ObjectId, newId: ObjectId, who: Signature, message: string): void {
  const file = path.join(gitDir, 'logs', name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const oneLine = message.split('\n')[0] ?? '';
  fs.appendFileSync(file, `${oldId} ${newId} ${formatSignature(who)}\t${oneLine}\n`);
}
