/**
 * The commit graph: walking history newest first, ancestry, and merge bases — all of them,
 * as git's paint-down algorithm finds them, because criss-cross histories have several.
 */
import { CommitQueue } from './commit-queue.js';
import type { Commit, ObjectId } from './objects.js';
import type { ObjectDatabase } from './odb.js';

/** A queue of commit ids, newest first, reading each commit's time from the database. */
function commitQueue(odb: ObjectDatabase) {
  const queue = new CommitQueue();
  return {
    push: (id: ObjectId) => queue.push({ id, time: odb.readCommit(id).committer.timestamp }),
    pop: () => queue.pop()?.id,
    some: (predicate: (id: ObjectId) => boolean) => queue.some((item) => predicate(item.id)),
  };
}

/** Commits reachable from `starts`, newest first, each once. */
export function* walkCommits(odb: ObjectDatabase, starts: readonly ObjectId[]): Generator<{ id: ObjectId; commit: Commit }> {
  const queue = commitQueue(odb);
  const seen = new Set<ObjectId>();
  for (const id of starts) if (!seen.has(id)) (seen.add(id), queue.push(id));
  for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
    const commit = odb.readCommit(id);
    yield { id, commit };
    for (const parent of commit.parents) if (!seen.has(parent)) (seen.add(parent), queue.push(parent));
  }
}

export function isAncestor(odb: ObjectDatabase, ancestor: ObjectId, descendant: ObjectId): boolean {
  // No cut-off by commit time: boards without a clock may commit with times in 1970.
  for (const { id } of walkCommits(odb, [descendant])) if (id === ancestor) return true;
  return false;
}

const FROM_A = 1;
const FROM_B = 2;
const STALE = 4;

/**
 * Every best common ancestor of a and b (none when unrelated; several for criss-crosses).
 * git's paint_down_to_common: paint ancestors of a and of b, collect commits painted by both,
 * mark what lies below them stale, stop when only stale commits are queued.
 */
export function mergeBases(odb: ObjectDatabase, a: ObjectId, b: ObjectId): ObjectId[] {
  if (a === b) return [a];
  const flags = new Map<ObjectId, number>([
    [a, FROM_A],
    [b, FROM_B],
  ]);
  const queue = commitQueue(odb);
  queue.push(a);
  queue.push(b);
  const candidates: ObjectId[] = [];
  while (queue.some((id) => (flags.get(id)! & STALE) === 0)) {
    const id = queue.pop()!;
    let painted = flags.get(id)! & (FROM_A | FROM_B | STALE);
    if (painted === (FROM_A | FROM_B)) {
      if (!candidates.includes(id)) candidates.push(id);
      painted |= STALE;
    }
    for (const parent of odb.readCommit(id).parents) {
      const parentFlags = flags.get(parent) ?? 0;
      if ((parentFlags & painted) === painted) continue;
      flags.set(parent, parentFlags | painted);
      queue.push(parent);
    }
  }
  // A candidate that is an ancestor of another candidate is not a best common ancestor.
  return candidates.filter((c) => !candidates.some((other) => other !== c && isAncestor(odb, c, other)));
}
