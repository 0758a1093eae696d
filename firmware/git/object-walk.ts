/**
 * What a fetch must send: `git rev-list --objects <wants> --not <haves>`. Commits are walked
 * newest first from wants and haves together, the have side marking what the client has
 * and the walk stopping once only such commits are queued; trees and blobs of the commits
 * to send follow, minus everything in the trees of the client's commits they sit on (git's
 * "edges"). The shallow boundary cuts the walk: its commits' parents are not followed.
 */
import { StoreError, type ObjectId, type Store } from '../store/index.js';
import { CommitQueue } from '../store/commit-queue.js';
import type { AdvertisedRef } from './advertise.js';

type Odb = Store['odb'];
export type ObjectKind = 'commit' | 'tree' | 'blob' | 'tag';

export interface PlannedObject {
  id: ObjectId;
  type: ObjectKind;
  /** The path a tree or blob was found under (groups delta candidates, as git does). */
  nameHint?: string;
}

export interface PackPlanRequest {
  wants: readonly ObjectId[];
  /** Objects the client has (the common haves). */
  haves: readonly ObjectId[];
  /** Commits whose parents are not followed (shallow boundaries). */
  boundary: ReadonlySet<ObjectId>;
  /** Annotated tags to add when the object they point at is sent (include-tag). */
  tags?: readonly AdvertisedRef[];
}

export interface PackPlan {
  objects: PlannedObject[];
  commits: number;
}

/**
 * The entries of a raw tree, for the walk: names are decoded only when asked for. Parsing
 * with the store's readTree would build entry objects and a name index for every tree of
 * the history, most of whose entries the walk has seen already; this is the clone's hot loop.
 */
function forEachTreeEntry(odb: Odb, tree: ObjectId, visit: (kind: 'tree' | 'blob', id: ObjectId, name: () => string) => void): void {
  const raw = odb.read(tree);
  if (raw === undefined) throw new StoreError('ENOTFOUND', `tree ${tree} is missing`);
  if (raw.type !== 'tree') throw new StoreError('ECORRUPT', `object ${tree} is a ${raw.type}, expected a tree`);
  const content = raw.content;
  for (let at = 0; at < content.length; ) {
    const space = content.indexOf(0x20, at);
    const nul = space < 0 ? -1 : content.indexOf(0, space);
    if (space < 0 || nul < 0 || nul + 21 > content.length) throw new StoreError('ECORRUPT', `tree ${tree} is truncated`);
    // Modes: 40000 (or 040000) a tree, 160000 a gitlink (another repository's commit), else a blob.
    const isTree = content[at] === 0x34 || (content[at] === 0x30 && content[at + 1] === 0x34);
    const isGitlink = space - at === 6 && content[at] === 0x31 && content[at + 1] === 0x36;
    const nameStart = space + 1;
    if (!isGitlink) visit(isTree ? 'tree' : 'blob', content.toString('hex', nul + 1, nul + 21), () => content.toString('utf8', nameStart, nul));
    at = nul + 21;
  }
}

const UNINTERESTING = 1;
const QUEUED = 2;
const DONE = 4;
/** Commits walked past the point where only uninteresting ones are queued (clock skew). */
const SLOP = 5;

export function planPack(odb: Odb, request: PackPlanRequest): PackPlan {
  const flags = new Map<ObjectId, number>();
  const queue = new CommitQueue();
  /** Queued commits not (yet) known to be uninteresting: the walk ends when none are left. */
  let interestingQueued = 0;
  const objects: PlannedObject[] = [];
  const added = new Set<ObjectId>();
  const uninterestingObjects = new Set<ObjectId>();
  const rootTrees: { id: ObjectId; path: string }[] = [];
  const add = (id: ObjectId, type: ObjectKind, nameHint?: string): void => {
    if (added.has(id) || uninterestingObjects.has(id)) return;
    added.add(id);
    objects.push(nameHint === undefined ? { id, type } : { id, type, nameHint });
  };

  const parentsOf = (id: ObjectId): readonly ObjectId[] => (request.boundary.has(id) ? [] : odb.readCommit(id).parents);
  const enqueue = (id: ObjectId, uninteresting: boolean): void => {
    const flag = flags.get(id) ?? 0;
    if (flag & QUEUED) {
      if (uninteresting) markUninteresting(id);
      return;
    }
    flags.set(id, flag | QUEUED | (uninteresting ? UNINTERESTING : 0));
    if (!uninteresting) interestingQueued++;
    queue.push({ id, time: odb.readCommit(id).committer.timestamp });
  };
  /** Marks a commit uninteresting, and everything below it already walked (git's mark_parents_uninteresting). */
  const markUninteresting = (start: ObjectId): void => {
    const stack = [start];
    while (stack.length > 0) {
      const id = stack.pop()!;
      const flag = flags.get(id) ?? 0;
      if (flag & UNINTERESTING) continue;
      flags.set(id, flag | UNINTERESTING);
      if (flag & QUEUED && !(flag & DONE)) interestingQueued--;
      if (flag & DONE) stack.push(...parentsOf(id));
    }
  };

  // Starting points: tags peel to what they point at; trees and blobs are wanted as they are.
  const start = (id: ObjectId, uninteresting: boolean): void => {
    let current = id;
    for (let depth = 0; depth < 16; depth++) {
      const object = odb.read(current);
      if (object === undefined) return;
      if (object.type === 'commit') return enqueue(current, uninteresting);
      if (uninteresting) uninterestingObjects.add(current);
      else if (object.type !== 'tree') add(current, object.type);
      if (object.type === 'tree') {
        if (uninteresting) markTreeUninteresting(current);
        else rootTrees.push({ id: current, path: '' });
      }
      if (object.type !== 'tag') return;
      current = odb.readTag(current).object;
    }
  };
  const markTreeUninteresting = (tree: ObjectId): void => {
    const stack = [tree];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (uninterestingObjects.has(id)) continue;
      uninterestingObjects.add(id);
      forEachTreeEntry(odb, id, (kind, entryId) => {
        if (kind === 'tree') stack.push(entryId);
        else uninterestingObjects.add(entryId);
      });
    }
  };

  for (const have of request.haves) start(have, true);
  for (const want of request.wants) start(want, false);

  const walked: ObjectId[] = [];
  let slop = SLOP;
  while (queue.size > 0) {
    if (interestingQueued === 0 && --slop < 0) break;
    if (interestingQueued > 0) slop = SLOP;
    const { id } = queue.pop()!;
    const flag = flags.get(id)!;
    flags.set(id, flag | DONE);
    const uninteresting = (flag & UNINTERESTING) !== 0;
    if (!uninteresting) {
      interestingQueued--;
      walked.push(id);
    }
    for (const parent of parentsOf(id)) enqueue(parent, uninteresting);
  }
  const commits = walked.filter((id) => !(flags.get(id)! & UNINTERESTING));

  // Edges: what the client has right below what it gets; their trees are not sent again.
  for (const id of commits) {
    for (const parent of parentsOf(id)) {
      if ((flags.get(parent) ?? 0) & UNINTERESTING) markTreeUninteresting(odb.readCommit(parent).tree);
    }
  }
  for (const id of commits) {
    add(id, 'commit');
    rootTrees.push({ id: odb.readCommit(id).tree, path: '' });
  }
  for (const root of rootTrees) {
    const stack = [root];
    while (stack.length > 0) {
      const { id, path } = stack.pop()!;
      if (added.has(id) || uninterestingObjects.has(id)) continue;
      add(id, 'tree', path);
      const subtrees: { id: ObjectId; path: string }[] = [];
      forEachTreeEntry(odb, id, (kind, entryId, name) => {
        if (added.has(entryId) || uninterestingObjects.has(entryId)) return;
        const entryPath = path === '' ? name() : `${path}/${name()}`;
        if (kind === 'tree') subtrees.push({ id: entryId, path: entryPath });
        else add(entryId, 'blob', entryPath);
      });
      // Depth-first in tree order, like rev-list: a subtree's objects follow it.
      for (let i = subtrees.length - 1; i >= 0; i--) stack.push(subtrees[i]!);
    }
  }
  for (const tag of request.tags ?? []) addTagIfTargetSent(odb, tag, added, add);
  return { objects, commits: commits.length };
}

/** include-tag: an annotated tag (and the tags it points through) goes along with its target. */
function addTagIfTargetSent(odb: Odb, tag: AdvertisedRef, added: ReadonlySet<ObjectId>, add: (id: ObjectId, type: ObjectKind) => void): void {
  if (tag.peeled === undefined || !tag.name.startsWith('refs/tags/') || !added.has(tag.peeled)) return;
  let current = tag.id;
  for (let depth = 0; depth < 16 && current !== tag.peeled; depth++) {
    add(current, 'tag');
    current = odb.readTag(current).object;
  }
}
