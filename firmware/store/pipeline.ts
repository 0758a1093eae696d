/**
 * The write path of a store: commits are queued, and each round takes every queued commit,
 * builds them on their branches' heads under the refs' lock files, writes all their objects
 * with one round of fsyncs, then moves the refs — group commit, so concurrent writers share
 * the cost of durability. Nothing is acknowledged before it is on disk (durability 'full' or
 * 'batch'); 'batch' waits a few milliseconds for company before each round.
 */
import { StoreError } from './errors.js';
import { encodeCommit, hashObject, type ObjectId, type Signature } from './objects.js';
import type { NewObject, ObjectDatabase } from './odb.js';
import type { RefLock, RefStore } from './refs.js';
import { StagedFiles } from '../runtime/durable.js';

export type Durability = 'full' | 'batch' | 'none';

/** What one queued job made of its branch's head. */
export interface JobOutcome<T> {
  result: T;
  /** The new commit, or undefined when nothing changed. */
  commit?: { tree: ObjectId; parents: ObjectId[]; message: string; author: Signature; committer: Signature };
  /** Objects the commit needs (blobs, trees) that may not be in the repository yet. */
  objects: (NewObject & { id: ObjectId })[];
  /** Instead of a new commit: move the ref to this existing commit (a fast-forward). */
  moveTo?: ObjectId;
}

export interface CommittedUpdate {
  ref: string;
  before: ObjectId | undefined;
  /** New commits in order, oldest first. */
  commits: ObjectId[];
}

interface Job {
  ref: string;
  build(head: ObjectId | undefined): Promise<JobOutcome<unknown>>;
  resolve(value: { commit: ObjectId | undefined; result: unknown }): void;
  reject(err: unknown): void;
}

const BATCH_WINDOW_MS = 5;

export class CommitPipeline {
  private queue: Job[] = [];
  private draining = false;

  constructor(
    private readonly odb: ObjectDatabase,
    private readonly refs: RefStore,
    private readonly durability: Durability,
    private readonly onCommitted: (update: CommittedUpdate) => void,
    /** Who the reflog names for ref moves that make no commit. */
    private readonly mover: () => Signature,
  ) {}

  /** Queues a job for `ref`; resolves with the ref's head after it, once durable. */
  submit<T>(ref: string, build: (head: ObjectId | undefined) => Promise<JobOutcome<T>>): Promise<{ commit: ObjectId | undefined; result: T }> {
    return new Promise((resolve, reject) => {
      this.queue.push({
        ref,
        build: build as Job['build'],
        resolve: resolve as Job['resolve'],
        reject,
      });
      void this.drain();
    });
  }

  /** Resolves when every queued job is done. */
  async idle(): Promise<void> {
    while (this.draining || this.queue.length > 0) await new Promise((r) => setTimeout(r, 1));
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        if (this.durability === 'batch') await new Promise((r) => setTimeout(r, BATCH_WINDOW_MS));
        const jobs = this.queue;
        this.queue = [];
        await this.round(jobs);
        // Every round adds a small pack; keep their number down between rounds.
        await this.odb.rollUp().catch(() => undefined);
      }
    } finally {
      this.draining = false;
    }
  }

  private async round(jobs: Job[]): Promise<void> {
    const byRef = new Map<string, Job[]>();
    for (const job of jobs) (byRef.get(job.ref) ?? byRef.set(job.ref, []).get(job.ref)!).push(job);
    // Lock in name order, so two processes locking several refs cannot deadlock.
    const refNames = [...byRef.keys()].sort();
    const locks = new Map<string, RefLock>();
    const settled: { job: Job; commit: ObjectId | undefined; result: unknown }[] = [];
    const objects: (NewObject & { id: ObjectId })[] = [];
    const updates: (CommittedUpdate & { lock: RefLock; after: ObjectId | undefined; who?: Signature; message: string })[] = [];
    try {
      for (const ref of refNames) {
        try {
          locks.set(ref, await this.refs.lock(ref));
        } catch (err) {
          for (const job of byRef.get(ref)!) job.reject(err);
          byRef.delete(ref);
        }
      }
      for (const [ref, refJobs] of byRef) {
        const lock = locks.get(ref)!;
        const before = lock.current();
        const update = { ref, before, commits: [] as ObjectId[], lock, after: before, message: '', who: undefined as Signature | undefined };
        for (const job of refJobs) {
          let outcome: JobOutcome<unknown>;
          try {
            outcome = await job.build(update.after);
          } catch (err) {
            job.reject(err);
            continue;
          }
          if (outcome.moveTo !== undefined && outcome.moveTo !== update.after) {
            update.after = outcome.moveTo;
            update.commits.push(outcome.moveTo);
            update.who = this.mover();
            update.message = `fast-forward to ${outcome.moveTo}`;
          } else if (outcome.commit !== undefined) {
            const content = encodeCommit(outcome.commit);
            const id = hashObject('commit', content);
            const made = [...outcome.objects, { type: 'commit' as const, content, id }];
            // Later jobs in this round build on this commit before it is written.
            this.odb.stage(made);
            objects.push(...made);
            update.after = id;
            update.commits.push(id);
            update.who = outcome.commit.committer;
            update.message = `commit: ${outcome.commit.message}`;
          }
          settled.push({ job, commit: update.after, result: outcome.result });
        }
        updates.push(update);
      }
      const durable = this.durability !== 'none';
      // Objects (one pack) and refs go down together: one round of fsyncs for all the files;
      // then the pack and its index are renamed into place, the reflogs appended, the refs
      // renamed — git's order; then one round of fsyncs for the directories.
      const objectFiles = new StagedFiles();
      const refFiles = new StagedFiles();
      try {
        const installed = this.odb.stageWrite(objects, objectFiles);
        const moved = updates.filter((u) => u.after !== u.before && u.after !== undefined);
        for (const u of moved) u.lock.stage(refFiles, u.after!);
        if (durable) await Promise.all([objectFiles.sync(), refFiles.sync()]);
        objectFiles.install();
        installed();
        for (const u of moved) u.lock.log(u.after!, { who: u.who!, message: u.message, ...(u.before === undefined ? {} : { oldId: u.before }) });
        refFiles.install();
      } catch (err) {
        objectFiles.abort();
        refFiles.abort();
        throw err;
      }
      if (durable) await Promise.all([objectFiles.syncDirectories(), refFiles.syncDirectories()]);
      for (const lock of locks.values()) lock.release();
    } catch (err) {
      for (const lock of locks.values()) lock.release();
      this.odb.unstage(objects);
      const failure = err instanceof StoreError ? err : new StoreError('EINVAL', `commit failed: ${(err as Error).message}`, { cause: err });
      for (const { job } of settled) job.reject(failure);
      return;
    }
    for (const { job, commit, result } of settled) job.resolve({ commit, result });
    for (const u of updates) if (u.commits.length > 0) this.onCommitted({ ref: u.ref, before: u.before, commits: u.commits });
  }
}
