/**
 * The versioned store against isomorphic-git and the git CLI, same machine, same run:
 *   - commits/s, one key per commit: the store with full durability (every commit fsynced)
 *     vs isomorphic-git (writeBlob/writeTree/writeCommit/writeRef; it never fsyncs);
 *   - the same without fsync on both sides (isomorphic-git never fsyncs);
 *   - commits/s with 8 and 32 concurrent writers: the store's group commit;
 *   - writes/s in batched transactions of 1,000 keys: the store (durable) vs git fast-import
 *     (one process per batch, the batched reference) vs isomorphic-git;
 *   - reads/s: cached (hot path) and cold (no object cache, objects from a gc'd pack);
 *   - merges/s of two branches with 1,000 changed keys each: the store vs
 *     `git merge-tree --write-tree` + commit-tree + update-ref vs isomorphic-git's merge.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';

import { Store } from '../firmware/store/index.js';
import type { Bench, BenchCase } from './harness.js';

const AUTHOR = { name: 'Bench', email: 'bench@example.test', timestamp: 1_700_000_000, timezoneOffset: 0 };
const ENV = { ...process.env, GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'b@x' };
const KEYS_PER_BATCH = 1000;
const MERGES_PER_ROUND = 4;

function tempRepo(name: string): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nybench-')), `${name}.git`);
}

function gitCli(gitDir: string, args: string[], input?: string): string {
  const result = spawnSync('git', ['--git-dir', gitDir, ...args], { input, encoding: 'utf8', env: ENV, maxBuffer: 1 << 28 });
  if (result.status !== 0) throw new Error(`git ${args[0]}: ${result.stderr}`);
  return result.stdout;
}

/** isomorphic-git committing one tree; the tree is kept in memory between commits (its best case). */
class IsoGitWriter {
  readonly gitdir = tempRepo('iso');
  private entries = new Map<string, string>();
  private parent: string | undefined;
  private readonly ready = git.init({ fs, dir: this.gitdir, gitdir: this.gitdir, bare: true, defaultBranch: 'main' });

  async commit(files: [string, string][]): Promise<void> {
    await this.ready;
    for (const [name, value] of files) {
      this.entries.set(name, await git.writeBlob({ fs, gitdir: this.gitdir, blob: Buffer.from(value) }));
    }
    const tree = await git.writeTree({
      fs,
      gitdir: this.gitdir,
      tree: [...this.entries].map(([p, oid]) => ({ mode: '100644', path: p, oid, type: 'blob' as const })),
    });
    this.parent = await git.writeCommit({
      fs,
      gitdir: this.gitdir,
      commit: { message: 'bench\n', tree, parent: this.parent === undefined ? [] : [this.parent], author: AUTHOR, committer: AUTHOR },
    });
    await git.writeRef({ fs, gitdir: this.gitdir, ref: 'refs/heads/main', value: this.parent, force: true });
  }
}

/** git fast-import: one process, one commit of `count` inline blobs. */
function fastImportBatch(gitDir: string, round: number, count: number): void {
  let stream = `commit refs/heads/main\ncommitter Bench <b@x> 1700000000 +0000\ndata 6\nbatch\n`;
  if (round > 0) stream += `from refs/heads/main^0\n`;
  for (let i = 0; i < count; i++) {
    const value = `value ${round} ${i}\n`;
    stream += `M 100644 inline k/${i % 100}/${i}\ndata ${Buffer.byteLength(value)}\n${value}`;
  }
  gitCli(gitDir, ['fast-import', '--quiet', '--done'], `${stream}done\n`);
}

/**
 * Branch pairs forked from main, each side changing KEYS_PER_BATCH keys of its own, spread over
 * the same 50 directories (even keys on one side, odd on the other), so that every directory
 * needs a real three-way merge rather than a whole-subtree shortcut.
 */
async function makeMergePairs(store: Store, prefix: string, count: number, start: number): Promise<[string, string][]> {
  const pairs: [string, string][] = [];
  for (let n = start; n < start + count; n++) {
    const [ours, theirs] = [`${prefix}-ours-${n}`, `${prefix}-theirs-${n}`];
    await store.createBranch(ours, 'main');
    await store.createBranch(theirs, 'main');
    await store.branch(ours).transaction((v) => {
      for (let i = 0; i < 2 * KEYS_PER_BATCH; i += 2) v.set(`shared/${i % 50}/${i}`, `ours ${n} ${i}`);
    });
    await store.branch(theirs).transaction((v) => {
      for (let i = 1; i < 2 * KEYS_PER_BATCH; i += 2) v.set(`shared/${i % 50}/${i}`, `theirs ${n} ${i}`);
    });
    pairs.push([ours, theirs]);
  }
  return pairs;
}

/** A pool of merge pairs refilled before each round (setup is not timed). */
function mergePool(store: Store, prefix: string, perRound: number) {
  let made = 0;
  const pool: [string, string][] = [];
  return {
    async refill() {
      const fresh = await makeMergePairs(store, prefix, perRound - pool.length, made);
      made += fresh.length;
      pool.push(...fresh);
    },
    take(): [string, string] {
      const pair = pool.shift();
      if (pair === undefined) throw new Error('merge pool ran dry: raise perRound');
      return pair;
    },
  };
}

const bench: Bench = {
  name: 'store',
  unit: 'ops/s',
  baseline: 'nymote store',
  async cases(): Promise<BenchCase[]> {
    let counter = 0;
    const durable = Store.open(tempRepo('durable'), { durability: 'full' });
    const durableMain = durable.branch();
    const iso = new IsoGitWriter();

    const concurrent = Store.open(tempRepo('concurrent'), { durability: 'full' }).branch();
    // Like for like with isomorphic-git, which never fsyncs: the store without fsync either.
    const unsynced = Store.open(tempRepo('unsynced'), { durability: 'none' }).branch();

    const batchStore = Store.open(tempRepo('batch'), { durability: 'full' }).branch();
    const fastImportRepo = tempRepo('fastimport');
    gitCli(fastImportRepo, ['init', '-q', '--bare', fastImportRepo]);
    let fastImportRound = 0;
    const isoBatch = new IsoGitWriter();

    // Reads: 1,000 keys, then gc so that cold reads come from a pack.
    const readRepo = tempRepo('reads');
    const readStore = Store.open(readRepo, { durability: 'none' });
    await readStore.branch().transaction((v) => {
      for (let i = 0; i < 1000; i++) v.set(`k/${i % 50}/${i}`, `value ${i}\n`.repeat(4));
    });
    await readStore.gc();
    const hot = readStore.branch();
    const coldStore = Store.open(readRepo, { durability: 'none', cacheBytes: 0 });
    const cold = coldStore.branch();
    const isoHead = gitCli(readRepo, ['rev-parse', 'main']).trim();
    const isoCache = {};

    const mergeStore = Store.open(tempRepo('merge'), { durability: 'none' });
    await mergeStore.branch().transaction((v) => {
      for (let i = 0; i < 2 * KEYS_PER_BATCH; i++) v.set(`shared/${i % 50}/${i}`, `base ${i}`);
    });
    const nymotePairs = mergePool(mergeStore, 'ny', MERGES_PER_ROUND);
    const gitPairs = mergePool(mergeStore, 'git', MERGES_PER_ROUND);
    const isoPairs = mergePool(mergeStore, 'iso', MERGES_PER_ROUND);

    const key = () => `k${counter++ % 256}`;
    return [
      { case: 'commit, 1 key (durable)', implementation: 'nymote store', unitsPerRun: 1, run: () => durableMain.set(key(), `value ${counter}`) },
      { case: 'commit, 1 key (durable)', implementation: 'isomorphic-git (no fsync)', unitsPerRun: 1, run: () => iso.commit([[key(), `value ${counter}`]]) },
      { case: 'commit, 1 key (no fsync)', implementation: 'nymote store', unitsPerRun: 1, run: () => unsynced.set(key(), `value ${counter}`) },
      { case: 'commit, 1 key (no fsync)', implementation: 'isomorphic-git (no fsync)', unitsPerRun: 1, run: () => iso.commit([[key(), `value ${counter}`]]) },
      ...[8, 32].map((writers) => ({
        case: `commit, 1 key, ${writers} writers (durable)`,
        implementation: 'nymote store',
        unitsPerRun: writers,
        run: () => Promise.all(Array.from({ length: writers }, () => concurrent.set(key(), `value ${counter}`))),
      })),
      {
        case: `writes in ${KEYS_PER_BATCH}-key commits`,
        implementation: 'nymote store',
        unitsPerRun: KEYS_PER_BATCH,
        run: () => {
          const round = counter++;
          return batchStore.transaction((v) => {
            for (let i = 0; i < KEYS_PER_BATCH; i++) v.set(`k/${i % 100}/${i}`, `value ${round} ${i}\n`);
          });
        },
      },
      {
        case: `writes in ${KEYS_PER_BATCH}-key commits`,
        implementation: 'git fast-import',
        unitsPerRun: KEYS_PER_BATCH,
        run: () => fastImportBatch(fastImportRepo, fastImportRound++, KEYS_PER_BATCH),
      },
      {
        case: `writes in ${KEYS_PER_BATCH}-key commits`,
        implementation: 'isomorphic-git (no fsync)',
        unitsPerRun: KEYS_PER_BATCH,
        run: () => {
          const round = counter++;
          return isoBatch.commit(Array.from({ length: KEYS_PER_BATCH }, (_, i): [string, string] => [`k${i}`, `value ${round} ${i}\n`]));
        },
      },
      { case: 'read, cached', implementation: 'nymote store', unitsPerRun: 1, run: () => hot.get(`k/${counter % 50}/${counter++ % 1000}`) },
      {
        case: 'read, cached',
        implementation: 'isomorphic-git (cache object)',
        unitsPerRun: 1,
        run: () => git.readBlob({ fs, gitdir: readRepo, oid: isoHead, filepath: `k/${counter % 50}/${counter++ % 1000}`, cache: isoCache }),
      },
      { case: 'read, cold (from pack)', implementation: 'nymote store', unitsPerRun: 1, run: () => cold.get(`k/${counter % 50}/${counter++ % 1000}`) },
      {
        case: 'read, cold (from pack)',
        implementation: 'isomorphic-git',
        unitsPerRun: 1,
        run: () => git.readBlob({ fs, gitdir: readRepo, oid: isoHead, filepath: `k/${counter % 50}/${counter++ % 1000}` }),
      },
      {
        case: `merge, ${KEYS_PER_BATCH} changed keys each side`,
        implementation: 'nymote store',
        unitsPerRun: 1,
        setup: () => nymotePairs.refill(),
        runsPerRound: MERGES_PER_ROUND,
        run: async () => {
          const [ours, theirs] = nymotePairs.take();
          const result = await mergeStore.merge(theirs, ours);
          if (result.kind !== 'merge' || result.conflicts.length > 0) throw new Error('unexpected merge result');
        },
      },
      {
        case: `merge, ${KEYS_PER_BATCH} changed keys each side`,
        implementation: 'git merge-tree + commit-tree',
        unitsPerRun: 1,
        setup: () => gitPairs.refill(),
        runsPerRound: MERGES_PER_ROUND,
        run: () => {
          const [ours, theirs] = gitPairs.take();
          const tree = gitCli(mergeStore.gitDir, ['merge-tree', '--write-tree', ours, theirs]).trim();
          const commit = gitCli(mergeStore.gitDir, ['commit-tree', tree, '-p', ours, '-p', theirs, '-m', 'merge']).trim();
          gitCli(mergeStore.gitDir, ['update-ref', `refs/heads/${ours}`, commit]);
        },
      },
      {
        case: `merge, ${KEYS_PER_BATCH} changed keys each side`,
        implementation: 'isomorphic-git',
        unitsPerRun: 1,
        setup: () => isoPairs.refill(),
        runsPerRound: MERGES_PER_ROUND,
        run: async () => {
          const [ours, theirs] = isoPairs.take();
          await git.merge({ fs, gitdir: mergeStore.gitDir, ours, theirs, author: AUTHOR, fastForward: false });
        },
      },
    ];
  },
};

export default bench;
