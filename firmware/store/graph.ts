/**
 * The commit graph: walking history newest first, ancestry, and merge bases — all of them,
 * as git's paint-down algorithm finds them, because criss-cross histories have several.
 */
import type { Commit, ObjectId } from './objects.js';
import type { ObjectDatabase } from './odb.js';

/** A max-heap of commits by committer time (then id, so the order is deterministic). */
class CommitQueue {
  private readonly heap: { id: ObjectId; time: number }[] = [];

  constructor(private readonly odb: ObjectDatabase) {}

  get size(): number {
    return this.heap.length;
  }

  push(id: ObjectId): void {
    this.heap.push({ id, time: this.odb.readCommit(id).committer.timestamp });
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      [this.heap[i], this.heap[parent]] = [this.heap[parent]!, this.heap[i]!];
      i = parent;
    }
  }

  some(predicate: (id: ObjectId) => boolean): boolean {
    return this.heap.some((entry) => predicate(entry.id));
  }

  pop(): ObjectId | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (top === undefined || last === undefined) return undefined;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < this.heap.length && this.before(l, best)) best = l;
        if (r < this.heap.length && this.before(r, best)) best = r;
        if (best === i) break;
        [this.heap[i], this.heap[best]] = [this.heap[best]!, this.heap[i]!];
        i = best;
      }
    }
    return top.id;
  }

  private before(a: number, b: number): boolean {
    const x = this.heap[a]!;
    const y = this.heap[b]!;
    return x.time !== y.time ? x.time > y.time : x.id > y.id;
  }
}

/** Commits reachable from `starts`, newest first, each once. */
export function* walkCommits(odb: ObjectDatabase, starts: readonly ObjectId[]): Generator<{ id: ObjectId; commit: Commit }> {
  const queue = new CommitQueue(odb);
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
  const queue = new CommitQueue(odb);
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
