/**
 * Upload-pack's side of the want/have negotiation (git's upload-pack.c): which of the
 * client's haves we share, whether they cover every want ("ready"), and the shallow
 * boundary of a shallow fetch (deepen N, deepen-relative, deepen-since, deepen-not).
 */
import type { ObjectId, Store } from '../store/index.js';
import { peel } from './advertise.js';

type Odb = Store['odb'];

/** The client's haves that we have, as upload-pack's THEY_HAVE marks. */
export class CommonHaves {
  /** Haves we have, in the order they came, each once. */
  readonly common: ObjectId[] = [];
  /** Have commits and their parents: git marks both, so a want one step above a have is covered. */
  private readonly theyHave = new Set<ObjectId>();
  private readonly commonSet = new Set<ObjectId>();
  private oldestHave = Infinity;
  /** Per commit: whether it reaches a THEY_HAVE commit (valid until the have set grows). */
  private reaches = new Map<ObjectId, boolean>();

  constructor(private readonly odb: Odb) {}

  /** git's got_oid: 'unknown' when we lack it, 'new' when it is newly common, else 'known'. */
  add(id: ObjectId): 'unknown' | 'new' | 'known' {
    const object = this.odb.read(id);
    if (object === undefined) return 'unknown';
    if (object.type === 'commit') {
      if (this.theyHave.has(id) && this.commonSet.has(id)) return 'known';
      const commit = this.odb.readCommit(id);
      const known = this.theyHave.has(id);
      this.theyHave.add(id);
      for (const parent of commit.parents) this.theyHave.add(parent);
      this.oldestHave = Math.min(this.oldestHave, commit.committer.timestamp);
      this.reaches = new Map();
      if (!this.commonSet.has(id)) this.remember(id);
      return known ? 'known' : 'new';
    }
    if (!this.commonSet.has(id)) this.remember(id);
    return 'new';
  }

  get size(): number {
    return this.common.length;
  }

  /**
   * git's ok_to_give_up: every want commit reaches a commit the client has, looking no
   * further back than the oldest have. Wants that are not commits count as covered.
   */
  coversAll(wants: readonly ObjectId[], store: Store): boolean {
    if (this.common.length === 0) return false;
    return wants.every((want) => {
      const target = peel(store, want);
      return this.odb.read(target)?.type !== 'commit' || this.reachesHave(target);
    });
  }

  private remember(id: ObjectId): void {
    this.commonSet.add(id);
    this.common.push(id);
  }

  /** Depth-first down the parents; stops at the first commit the client has. */
  private reachesHave(start: ObjectId): boolean {
    const memo = this.reaches;
    const known = memo.get(start);
    if (known !== undefined) return known;
    const stack: { parents: readonly ObjectId[]; next: number; id: ObjectId }[] = [];
    const enter = (id: ObjectId): boolean => {
      if (this.theyHave.has(id)) return true;
      memo.set(id, false);
      const commit = this.odb.has(id) ? this.odb.readCommit(id) : undefined;
      if (commit !== undefined && commit.committer.timestamp >= this.oldestHave) stack.push({ id, parents: commit.parents, next: 0 });
      return false;
    };
    let found = enter(start);
    while (!found && stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      if (frame.next >= frame.parents.length) {
        stack.pop();
        continue;
      }
      const parent = frame.parents[frame.next++]!;
      const seen = memo.get(parent);
      if (seen === true) found = true;
      else if (seen === undefined) found = enter(parent);
    }
    if (found) {
      memo.set(start, true);
      for (const frame of stack) memo.set(frame.id, true);
    }
    return found;
  }
}

export type DeepenRequest =
  | { kind: 'depth'; depth: number; relative: boolean }
  | { kind: 'rev-list'; since: number | undefined; notRefs: ObjectId[] };

export interface ShallowPlan {
  /** New shallow commits to tell the client about. */
  shallow: ObjectId[];
  /** Client-shallow commits whose parents this fetch sends. */
  unshallow: ObjectId[];
  /** Commits whose parents the pack walk must not follow (old and new shallow boundaries). */
  boundary: Set<ObjectId>;
  /** Parents of unshallowed commits: wanted as well, so their history gets sent. */
  extraWants: ObjectId[];
}

/** git's "infinite" depth (`fetch --unshallow`). */
export const INFINITE_DEPTH = 0x7fffffff;

/**
 * The shallow boundary of a fetch. `clientShallow` are the client's shallow commits that we
 * have. Returns undefined when a rev-list deepen selects no commit at all (git's error).
 */
export function planShallow(
  store: Store,
  wants: readonly ObjectId[],
  clientShallow: readonly ObjectId[],
  deepen: DeepenRequest | undefined,
): ShallowPlan | undefined {
  const odb = store.odb;
  const clientSet = new Set(clientShallow);
  const boundary = new Set(clientShallow);
  if (deepen === undefined) return { shallow: [], unshallow: [], boundary, extraWants: [] };
  const notShallow = new Set<ObjectId>();
  const shallowSet = new Set<ObjectId>();
  const wantCommits = wants.map((want) => peel(store, want)).filter((id) => odb.read(id)?.type === 'commit');

  if (deepen.kind === 'depth') {
    // Breadth-first, so every commit gets its least depth; starting points are depth 1.
    const starts = deepen.relative ? clientShallow : wantCommits;
    const depth = deepen.relative ? Math.min(INFINITE_DEPTH, deepen.depth + 1) : deepen.depth;
    let level = [...new Set(starts)];
    const seen = new Set(level);
    for (let d = 1; level.length > 0; d++) {
      const next: ObjectId[] = [];
      for (const id of level) {
        const parents = odb.readCommit(id).parents;
        if (d >= depth) {
          if (parents.length > 0) shallowSet.add(id);
          continue;
        }
        notShallow.add(id);
        for (const parent of parents) if (!seen.has(parent)) (seen.add(parent), next.push(parent));
      }
      level = next;
    }
  } else {
    const excluded = new Set<ObjectId>();
    const stack = [...deepen.notRefs];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (excluded.has(id)) continue;
      excluded.add(id);
      stack.push(...odb.readCommit(id).parents);
    }
    const included = (id: ObjectId) =>
      !excluded.has(id) && (deepen.since === undefined || odb.readCommit(id).committer.timestamp >= deepen.since);
    const pending = wantCommits.filter(included);
    for (const id of pending) notShallow.add(id);
    while (pending.length > 0) {
      const id = pending.pop()!;
      for (const parent of odb.readCommit(id).parents) {
        if (notShallow.has(parent) || !included(parent)) continue;
        notShallow.add(parent);
        pending.push(parent);
      }
    }
    if (notShallow.size === 0) return undefined;
    for (const id of notShallow) {
      if (odb.readCommit(id).parents.some((parent) => !notShallow.has(parent))) shallowSet.add(id);
    }
    for (const id of shallowSet) notShallow.delete(id);
  }

  const shallow = [...shallowSet].filter((id) => !clientSet.has(id));
  const unshallow = clientShallow.filter((id) => notShallow.has(id));
  for (const id of shallowSet) boundary.add(id);
  const extraWants = unshallow.flatMap((id) => odb.readCommit(id).parents);
  return { shallow, unshallow, boundary, extraWants };
}
