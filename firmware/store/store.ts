/**
 * The versioned store of one user: Irmin's model — branches of trees of values, every change
 * a commit, typed three-way merges — on a bare git repository that git itself can read.
 */
import path from 'node:path';
import { StoreError } from './errors.js';
import { diffTrees, type Change } from './diff.js';
import { walkCommits } from './graph.js';
import { planMerge, type Conflict } from './merge.js';
import { defaultMergeTypes } from './default-types.js';
import type { MergeRegistry } from './merge-types/index.js';
import { encodeTag, hashObject, type ObjectId, type Signature } from './objects.js';
import { ObjectDatabase } from './odb.js';
import { removeStaleRepositoryTemporaries } from './pack/index.js';
import { isUnder, joinPath, splitPath } from './paths.js';
import { CommitPipeline, type CommittedUpdate, type Durability, type JobOutcome } from './pipeline.js';
import { RefStore, assertRefName, type RefLock } from './refs.js';
import { StagedFiles } from '../runtime/durable.js';
import { describeError } from '../runtime/errors.js';
import { DEFAULT_BRANCH, ensureRepository } from './repo.js';
import { EMPTY_TREE, TreeView, type ListEntry } from './view.js';

export interface Identity {
  name: string;
  email: string;
}

export interface CommitInfo {
  message?: string;
  author?: Identity;
  /** Defaults to now. */
  date?: Date;
}

export interface StoreOptions {
  durability?: Durability;
  /** Bytes of objects cached in memory. */
  cacheBytes?: number;
  /** Who commits when a write does not say. */
  identity?: Identity;
  /** Content types for merges; default: by extension (defaultMergeTypes), else opaque. */
  mergeTypes?: MergeRegistry;
}

export interface HistoryEntry {
  commit: ObjectId;
  parents: ObjectId[];
  author: Signature;
  message: string;
}

export interface MergeResult {
  kind: 'up-to-date' | 'fast-forward' | 'merge';
  commit: ObjectId | undefined;
  conflicts: Conflict[];
}

export interface RefUpdate {
  ref: string;
  /** Where the ref must point now; undefined = it must not exist. */
  old: ObjectId | undefined;
  /** Where it moves; undefined = delete it. */
  new: ObjectId | undefined;
}

export interface RefUpdateResult {
  ref: string;
  /** Why this ref did not move; absent when it did. */
  error?: string;
}

export interface WatchEvent {
  branch: string;
  commit: ObjectId;
  /** Changed file paths below the watched prefix. */
  paths: string[];
}

interface Watcher {
  branch: string;
  prefix: string;
  callback: (event: WatchEvent) => void;
}

const DEFAULT_IDENTITY: Identity = { name: 'Nymote', email: 'nymote@localhost' };

function signature(identity: Identity, date: Date): Signature {
  return {
    name: identity.name,
    email: identity.email,
    timestamp: Math.floor(date.getTime() / 1000),
    timezoneOffset: -date.getTimezoneOffset(),
  };
}

export function branchRef(branch: string): string {
  // git refuses branch names that look like options.
  if (branch.startsWith('-')) throw new StoreError('EBADREF', `invalid branch name '${branch.slice(0, 100)}'`);
  const ref = `refs/heads/${branch}`;
  assertRefName(ref);
  return ref;
}

export class Store {
  readonly odb: ObjectDatabase;
  readonly refs: RefStore;
  readonly mergeTypes: MergeRegistry;
  private readonly pipeline: CommitPipeline;
  private readonly identity: Identity;
  private readonly watchers = new Set<Watcher>();
  private readonly durability: Durability;

  private constructor(
    readonly gitDir: string,
    options: StoreOptions,
  ) {
    this.durability = options.durability ?? 'full';
    // What a crash left behind (temporaries of writes and pushes) goes first.
    removeStaleRepositoryTemporaries(gitDir);
    this.odb = new ObjectDatabase(gitDir, {
      durable: this.durability !== 'none',
      ...(options.cacheBytes === undefined ? {} : { cacheBytes: options.cacheBytes }),
    });
    this.refs = new RefStore(gitDir);
    this.mergeTypes = options.mergeTypes ?? defaultMergeTypes();
    this.identity = options.identity ?? DEFAULT_IDENTITY;
    this.pipeline = new CommitPipeline(this.odb, this.refs, this.durability, (u) => this.notify(u), () =>
      signature(this.identity, new Date()),
    );
  }

  /** Opens the repository at `gitDir`, creating an empty one if there is none. */
  static open(gitDir: string, options: StoreOptions = {}): Store {
    ensureRepository(path.resolve(gitDir));
    return new Store(path.resolve(gitDir), options);
  }

  branch(name = DEFAULT_BRANCH): Branch {
    return new Branch(this, name);
  }

  branches(): string[] {
    return [...this.refs.list('refs/heads/').keys()].map((r) => r.slice('refs/heads/'.length));
  }

  /** A read-only view of the tree of a commit. */
  snapshot(commit: ObjectId | undefined): TreeView {
    return new TreeView(this.odb, commit === undefined ? undefined : this.odb.readCommit(commit).tree);
  }

  /** Creates a branch at a commit (or at another branch's head). */
  async createBranch(name: string, from: ObjectId | string): Promise<void> {
    const target = this.resolve(from);
    const lock = await this.refs.lock(branchRef(name));
    try {
      if (lock.current() !== undefined) throw new StoreError('EINVAL', `branch ${name} already exists`);
      lock.commit(target, { who: signature(this.identity, new Date()), message: `branch: created from ${from}` }, true);
    } finally {
      lock.release();
    }
  }

  async deleteBranch(name: string): Promise<void> {
    await this.refs.delete(branchRef(name));
  }

  /** A commit id from a branch name, a tag name or an id. */
  resolve(spec: ObjectId | string): ObjectId {
    if (/^[0-9a-f]{40}$/.test(spec) && this.odb.has(spec)) return spec;
    for (const ref of [`refs/heads/${spec}`, `refs/tags/${spec}`]) {
      let id: ObjectId | undefined;
      try {
        id = this.refs.read(ref);
      } catch (err) {
        if (err instanceof StoreError && err.code === 'EBADREF') continue;
        throw err;
      }
      if (id === undefined) continue;
      const object = this.odb.read(id);
      return object?.type === 'tag' ? this.odb.readTag(id).object : id;
    }
    throw new StoreError('ENOTFOUND', `no branch, tag or commit '${spec.slice(0, 80)}'`);
  }

  /** Tags a commit: annotated when there is a message, lightweight otherwise. */
  async tag(name: string, target: ObjectId | string, message?: string): Promise<ObjectId> {
    const ref = `refs/tags/${name}`;
    assertRefName(ref);
    const commit = this.resolve(target);
    let id = commit;
    const who = signature(this.identity, new Date());
    if (message !== undefined) {
      const content = encodeTag({ object: commit, type: 'commit', tag: name, tagger: who, message: message.endsWith('\n') ? message : `${message}\n` });
      id = hashObject('tag', content);
      await this.odb.write([{ type: 'tag', content, id }], true);
    }
    const lock = await this.refs.lock(ref);
    try {
      if (lock.current() !== undefined) throw new StoreError('EINVAL', `tag ${name} already exists`);
      lock.commit(id, { who, message: `tag: ${name}` }, true);
    } finally {
      lock.release();
    }
    return id;
  }

  /** Tag names and the commits they point at. */
  tags(): Map<string, ObjectId> {
    const tags = new Map<string, ObjectId>();
    for (const [ref, id] of this.refs.list('refs/tags/')) {
      const object = this.odb.read(id);
      tags.set(ref.slice('refs/tags/'.length), object?.type === 'tag' ? this.odb.readTag(id).object : id);
    }
    return tags;
  }

  /** Files changed between two commits (either may be undefined: the empty tree). */
  diff(from: ObjectId | undefined, to: ObjectId | undefined, prefix = ''): Change[] {
    const treeOf = (c: ObjectId | undefined) => (c === undefined ? undefined : this.odb.readCommit(c).tree);
    return diffTrees(this.odb, treeOf(from), treeOf(to), prefix === '' ? '' : joinPath(splitPath(prefix)));
  }

  /**
   * Merges `from` (a branch, tag or commit) into branch `into` with the registered content
   * types. Conflicts are committed, never dropped: ours (or the type's best merge) stays,
   * all sides go under conflicts/.
   */
  async merge(from: string, into: string, info: CommitInfo = {}): Promise<MergeResult> {
    const theirs = this.resolve(from);
    const { commit, result } = await this.pipeline.submit<MergeResult>(branchRef(into), async (head) => {
      const plan = planMerge(this.odb, this.mergeTypes, head, theirs);
      if (plan.kind === 'up-to-date') return { result: { kind: 'up-to-date', commit: head, conflicts: [] }, objects: [] };
      if (plan.kind === 'fast-forward') {
        return { result: { kind: 'fast-forward', commit: plan.commit, conflicts: [] }, objects: [], moveTo: plan.commit };
      }
      const date = info.date ?? new Date();
      const who = signature(info.author ?? this.identity, date);
      const conflicts = plan.result.conflicts;
      const message = info.message ?? `Merge ${from} into ${into}${conflicts.length > 0 ? ` (${conflicts.length} conflicts)` : ''}\n`;
      return {
        result: { kind: 'merge', commit: undefined, conflicts },
        objects: plan.result.objects,
        commit: { tree: plan.result.tree, parents: [head!, theirs], author: who, committer: signature(this.identity, date), message },
      };
    });
    return { ...result, commit };
  }

  /**
   * Moves refs to objects already in the repository (a push), each only if it still points
   * where the caller saw it (`old`; undefined = must not exist). `new` undefined deletes.
   * With `atomic`, all move or none does. Watchers of moved branches are told.
   */
  async updateRefs(updates: readonly RefUpdate[], options: { atomic?: boolean; who?: Identity; message?: string } = {}): Promise<RefUpdateResult[]> {
    await this.pipeline.idle();
    const who = signature(options.who ?? this.identity, new Date());
    const results: RefUpdateResult[] = updates.map((u) => ({ ref: u.ref }));
    const locks = new Map<string, RefLock>();
    const fail = (i: number, error: string) => (results[i]!.error ??= error);
    try {
      for (const [i, u] of [...updates.entries()].sort(([, a], [, b]) => (a.ref < b.ref ? -1 : 1))) {
        try {
          assertRefName(u.ref);
          if (locks.has(u.ref)) throw new StoreError('EINVAL', `${u.ref} is named twice`);
          locks.set(u.ref, await this.refs.lock(u.ref));
        } catch (err) {
          fail(i, describeError(err));
          continue;
        }
        const current = locks.get(u.ref)!.current();
        if (current !== u.old) fail(i, current === undefined ? 'ref does not exist' : 'ref has moved (fetch first)');
        else if (u.new !== undefined && !this.odb.has(u.new)) fail(i, `object ${u.new} is missing`);
      }
      if (options.atomic === true && results.some((r) => r.error !== undefined)) {
        results.forEach((_, i) => fail(i, 'atomic update failed'));
        return results;
      }
      const refFiles = new StagedFiles();
      const moved: { update: RefUpdate; lock: RefLock }[] = [];
      try {
        updates.forEach((u, i) => {
          if (results[i]!.error !== undefined) return;
          const lock = locks.get(u.ref)!;
          if (u.new === undefined) lock.remove();
          else {
            lock.stage(refFiles, u.new);
            moved.push({ update: u, lock });
          }
        });
        if (this.durability !== 'none') await refFiles.sync();
        for (const { update, lock } of moved) lock.log(update.new!, { who, message: options.message ?? 'push', ...(update.old === undefined ? {} : { oldId: update.old }) });
        refFiles.install();
      } catch (err) {
        refFiles.abort();
        throw err;
      }
      if (this.durability !== 'none') await refFiles.syncDirectories();
      for (const { update } of moved) {
        if (update.ref.startsWith('refs/heads/')) this.notify({ ref: update.ref, before: update.old, commits: [update.new!] });
      }
      return results;
    } finally {
      for (const lock of locks.values()) lock.release();
    }
  }

  /** Packs the loose objects into a new pack (see ObjectDatabase.packLoose); returns how many. */
  packLoose(): Promise<number> {
    // Requests arriving together share one run rather than each packing the same objects.
    this.packingLoose ??= this.odb.packLoose().finally(() => (this.packingLoose = undefined));
    return this.packingLoose;
  }
  private packingLoose: Promise<number> | undefined;

  /** Packs all objects into one pack (keeps every object and all history). */
  async gc() {
    await this.pipeline.idle();
    return this.odb.gc();
  }

  /** Calls back once per commit on `branch` that changes a file under `prefix`. */
  watch(branch: string, prefix: string, callback: (event: WatchEvent) => void): () => void {
    const watcher = { branch, prefix: prefix === '' ? '' : joinPath(splitPath(prefix)), callback };
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /** Waits for queued writes, then releases files and caches. */
  async close(): Promise<void> {
    await this.pipeline.idle();
    this.refs.close();
    this.odb.close();
  }

  /**
   * A line of commits on a ref outside refs/heads/ (e.g. refs/ota/status), with a branch's API:
   * kept out of what clients see as branches, still fetchable by its full name.
   */
  refLine(ref: string): Branch {
    if (!ref.startsWith('refs/') || ref.startsWith('refs/heads/')) throw new StoreError('EBADREF', `refLine wants a ref outside refs/heads/, not '${ref.slice(0, 100)}'`);
    assertRefName(ref);
    return new Branch(this, ref, ref);
  }

  /** @internal Used by Branch: `ref` is checked already. */
  submit<T>(ref: string, build: (head: ObjectId | undefined) => Promise<JobOutcome<T>>) {
    return this.pipeline.submit(ref, build);
  }

  /** @internal The signature for a commit. */
  signatures(info: CommitInfo): { author: Signature; committer: Signature } {
    const date = info.date ?? new Date();
    return { author: signature(info.author ?? this.identity, date), committer: signature(this.identity, date) };
  }

  private notify(update: CommittedUpdate): void {
    const branch = update.ref.slice('refs/heads/'.length);
    const interested = [...this.watchers].filter((w) => w.branch === branch);
    if (interested.length === 0) return;
    let previous = update.before;
    for (const commit of update.commits) {
      const changes = this.diff(previous, commit);
      previous = commit;
      for (const watcher of interested) {
        const paths = changes.map((c) => c.path).filter((p) => isUnder(p, watcher.prefix));
        if (paths.length === 0) continue;
        try {
          watcher.callback({ branch, commit, paths });
        } catch {
          // A failing watcher must not break the writer or the other watchers.
        }
      }
    }
  }
}

export class Branch {
  constructor(
    readonly store: Store,
    readonly name: string,
    /** refs/heads/<name>, checked once; or the full ref of a Store.refLine. */
    readonly ref: string = branchRef(name),
  ) {}

  /** The commit the branch points at; undefined for a branch with no commits yet. */
  head(): ObjectId | undefined {
    return this.store.refs.readBranchHead(this.ref);
  }

  /** A view of the branch as it is now; change it and `commitView` it to commit it whole. */
  view(): TreeView {
    return this.store.snapshot(this.head());
  }

  get(path: string): Buffer | undefined {
    return this.view().get(path);
  }

  exists(path: string): boolean {
    return this.view().exists(path);
  }

  list(prefix = ''): ListEntry[] {
    return this.view().list(prefix);
  }

  async set(path: string, value: Uint8Array | string, info: CommitInfo = {}): Promise<ObjectId> {
    const { commit } = await this.transaction((view) => view.set(path, value), { message: `set ${path}\n`, ...info });
    return commit!;
  }

  async remove(path: string, info: CommitInfo = {}): Promise<ObjectId | undefined> {
    const { commit } = await this.transaction((view) => view.remove(path), { message: `remove ${path}\n`, ...info });
    return commit;
  }

  /**
   * Runs `fn` on a view of the branch's head and commits everything it changed as one commit.
   * Resolves once the commit is durable. `fn` may run again if the head moved meanwhile,
   * so it should only read and write the view.
   */
  async transaction<T>(fn: (view: TreeView) => T | Promise<T>, info: CommitInfo = {}): Promise<{ commit: ObjectId | undefined; result: T }> {
    return this.store.submit<T>(this.ref, async (head) => {
      const view = this.store.snapshot(head);
      const result = await fn(view);
      if (!view.changed) return { result, objects: [] };
      const built = view.build();
      // Writing what is already there (or removing what is not) makes no commit.
      const unchanged = head === undefined ? built.tree === EMPTY_TREE : built.tree === this.store.odb.readCommit(head).tree;
      if (unchanged) return { result, objects: [] };
      const { author, committer } = this.store.signatures(info);
      const message = info.message ?? 'update\n';
      return {
        result,
        objects: built.objects,
        commit: { tree: built.tree, parents: head === undefined ? [] : [head], author, committer, message: message.endsWith('\n') ? message : `${message}\n` },
      };
    });
  }

  /**
   * Commits a view taken earlier with `view()` and changed since, as one commit. If the branch
   * moved meanwhile, the view's changes are replayed on the new head — unless one of the paths
   * the view touched was changed by someone else: then ECONFLICT, and nothing is written.
   */
  async commitView(view: TreeView, info: CommitInfo = {}): Promise<ObjectId | undefined> {
    const touched = view.touchedPaths();
    const { commit } = await this.transaction(
      (current) => {
        if (current.baseTree !== view.baseTree) {
          const clash = touched.find((p) => diffTrees(this.store.odb, view.baseTree, current.baseTree, p).length > 0);
          if (clash !== undefined) throw new StoreError('ECONFLICT', `${clash} changed on ${this.name} since the view was taken`);
        }
        view.replayOnto(current);
      },
      { message: 'update\n', ...info },
    );
    return commit;
  }

  /** Commits that changed `path` (or any commit when omitted), newest first. */
  history(path?: string, options: { limit?: number } = {}): HistoryEntry[] {
    const head = this.head();
    if (head === undefined) return [];
    const limit = options.limit ?? Infinity;
    const target = path === undefined ? undefined : joinPath(splitPath(path));
    const entries: HistoryEntry[] = [];
    for (const { id, commit } of walkCommits(this.store.odb, [head])) {
      if (entries.length >= limit) break;
      if (target !== undefined && this.store.diff(commit.parents[0], id, target).length === 0) continue;
      entries.push({ commit: id, parents: commit.parents, author: commit.author, message: commit.message });
    }
    return entries;
  }
}
