/**
 * Three-way merge of trees, path by path, with the content type registered for each path.
 * Subtrees equal on two sides are taken whole by id (no reading), so merging two branches
 * costs in proportion to what changed. A conflict never stops the merge: ours stays at the
 * path and both sides (and the base) are recorded under conflicts/<path>/. Several merge
 * bases (criss-cross) are first merged into one virtual base, like git's recursive strategy.
 */
import { isAncestor, mergeBases } from './graph.js';
import type { DirectoryFiles, MergeRegistry } from './merge-types/index.js';
import { encodeTree, isTreeMode, type ObjectId, type TreeEntry } from './objects.js';
import type { NewObject, ObjectDatabase } from './odb.js';
import { TreeView } from './view.js';

export const CONFLICTS_DIR = 'conflicts';

export interface Conflict {
  path: string;
  reason: string;
  base?: Buffer;
  ours?: Buffer;
  theirs?: Buffer;
}

export interface TreeMergeResult {
  tree: ObjectId;
  objects: (NewObject & { id: ObjectId })[];
  conflicts: Conflict[];
}

type Entry = TreeEntry | undefined;

function sameEntry(a: Entry, b: Entry): boolean {
  return a === undefined || b === undefined ? a === b : a.id === b.id && a.mode === b.mode;
}

export function mergeTrees(
  odb: ObjectDatabase,
  registry: MergeRegistry,
  base: ObjectId | undefined,
  ours: ObjectId | undefined,
  theirs: ObjectId | undefined,
  options: { recordConflicts: boolean },
): TreeMergeResult {
  const objects: (NewObject & { id: ObjectId })[] = [];
  const conflicts: Conflict[] = [];
  const blob = (e: Entry) => (e === undefined || isTreeMode(e.mode) ? undefined : odb.readTyped(e.id, 'blob'));
  const treeOf = (e: Entry) => (e !== undefined && isTreeMode(e.mode) ? e.id : undefined);

  const mergeDir = (dir: string, b: ObjectId | undefined, o: ObjectId | undefined, t: ObjectId | undefined): ObjectId | undefined => {
    if (o === t || b === t) return o;
    if (b === o) return t;
    const entriesOf = (id: ObjectId | undefined) => (id === undefined ? new Map<string, TreeEntry>() : odb.readTree(id).byName);
    const [bs, os, ts] = [entriesOf(b), entriesOf(o), entriesOf(t)];
    const result = new Map<string, TreeEntry>();
    const filesMerged = dir === '' ? undefined : mergeFilesTogether(dir, bs, os, ts, b, o, t);
    for (const name of new Set([...bs.keys(), ...os.keys(), ...ts.keys()])) {
      const [be, oe, te] = [bs.get(name), os.get(name), ts.get(name)];
      const isFile = (e: Entry) => e !== undefined && !isTreeMode(e.mode);
      // Files the directory's type merged are placed below; subdirectories merge as usual.
      if (filesMerged !== undefined && (isFile(be) || isFile(oe) || isFile(te)) && ![be, oe, te].some((e) => e !== undefined && isTreeMode(e.mode))) continue;
      const path = dir === '' ? name : `${dir}/${name}`;
      const chosen = mergeEntry(path, name, be, oe, te);
      if (chosen !== undefined) result.set(name, chosen);
    }
    for (const [name, entry] of filesMerged ?? []) result.set(name, entry);
    if (result.size === 0) return undefined;
    const content = encodeTree([...result.values()]);
    const [id] = odb.hashAll([{ type: 'tree', content }]);
    objects.push({ type: 'tree', content, id: id! });
    return id;
  };

  /** The files of a directory merged by its registered DirectoryType, or undefined (none, or it failed). */
  const mergeFilesTogether = (
    dir: string,
    bs: ReadonlyMap<string, TreeEntry>,
    os: ReadonlyMap<string, TreeEntry>,
    ts: ReadonlyMap<string, TreeEntry>,
    b: ObjectId | undefined,
    o: ObjectId | undefined,
    t: ObjectId | undefined,
  ): Map<string, TreeEntry> | undefined => {
    const type = registry.directoryTypeFor(dir);
    if (type === undefined) return undefined;
    const files = (tree: ObjectId | undefined, entries: ReadonlyMap<string, TreeEntry>): DirectoryFiles | undefined => {
      if (tree === undefined) return undefined;
      const ids = new Map([...entries.values()].filter((e) => !isTreeMode(e.mode)).map((e) => [e.name, e.id]));
      return { ids, read: (name) => odb.readTyped(ids.get(name)!, 'blob') };
    };
    let merged: Map<string, Buffer | { id: string }>;
    try {
      merged = type.merge(files(b, bs), files(o, os), files(t, ts));
    } catch {
      return undefined;
    }
    const out = new Map<string, TreeEntry>();
    for (const [name, value] of merged) {
      let id: ObjectId;
      if (Buffer.isBuffer(value)) {
        [id] = odb.hashAll([{ type: 'blob', content: value }]) as [ObjectId];
        objects.push({ type: 'blob', content: value, id });
      } else {
        id = value.id;
      }
      out.set(name, { name, mode: '100644', id });
    }
    return out;
  };

  const mergeEntry = (path: string, name: string, be: Entry, oe: Entry, te: Entry): Entry => {
    if (sameEntry(oe, te) || sameEntry(be, te)) return oe;
    if (sameEntry(be, oe)) return te;
    const anyTree = [be, oe, te].some((e) => e !== undefined && isTreeMode(e.mode));
    const anyFile = [oe, te].some((e) => e !== undefined && !isTreeMode(e.mode));
    if (anyTree && !anyFile) {
      const id = mergeDir(path, treeOf(be), treeOf(oe), treeOf(te));
      return id === undefined ? undefined : { name, mode: '40000', id };
    }
    if (anyTree) {
      // A file on one side and a directory on the other: nothing to merge them with.
      conflicts.push({ path, reason: 'file on one side, directory on the other', ...sides(blob(be), blob(oe), blob(te)) });
      return oe;
    }
    const [bv, ov, tv] = [blob(be), blob(oe), blob(te)];
    const outcome = registry.typeFor(path).merge(bv, ov, tv);
    if (outcome.kind === 'conflict') {
      conflicts.push({ path, reason: outcome.reason, ...sides(bv, ov, tv) });
      if (outcome.value === undefined) return oe;
    }
    if (outcome.value === undefined) return undefined;
    const [id] = odb.hashAll([{ type: 'blob', content: outcome.value }]);
    objects.push({ type: 'blob', content: outcome.value, id: id! });
    return { name, mode: oe?.mode ?? te?.mode ?? '100644', id: id! };
  };

  const merged = mergeDir('', base, ours, theirs);
  if (!options.recordConflicts || conflicts.length === 0) {
    return { tree: merged ?? emptyTree(odb, objects), objects, conflicts };
  }
  // The view reads the merged trees before they are on disk.
  odb.stage(objects);
  const view = new TreeView(odb, merged);
  for (const c of conflicts) {
    const dir = `${CONFLICTS_DIR}/${c.path}`;
    view.remove(dir);
    view.set(`${dir}/reason`, `${c.reason}\n`);
    if (c.base !== undefined) view.set(`${dir}/base`, c.base);
    if (c.ours !== undefined) view.set(`${dir}/ours`, c.ours);
    if (c.theirs !== undefined) view.set(`${dir}/theirs`, c.theirs);
  }
  const built = view.build();
  return { tree: built.tree, objects: [...objects, ...built.objects], conflicts };
}

function sides(base: Buffer | undefined, ours: Buffer | undefined, theirs: Buffer | undefined) {
  return {
    ...(base === undefined ? {} : { base }),
    ...(ours === undefined ? {} : { ours }),
    ...(theirs === undefined ? {} : { theirs }),
  };
}

function emptyTree(odb: ObjectDatabase, objects: (NewObject & { id: ObjectId })[]): ObjectId {
  const [id] = odb.hashAll([{ type: 'tree', content: Buffer.alloc(0) }]);
  objects.push({ type: 'tree', content: Buffer.alloc(0), id: id! });
  return id!;
}

export type CommitMergePlan =
  | { kind: 'up-to-date' }
  | { kind: 'fast-forward'; commit: ObjectId }
  | { kind: 'merge'; bases: ObjectId[]; result: TreeMergeResult };

/** How to bring `theirs` into `ours`: nothing, a fast-forward, or a merge commit's tree. */
export function planMerge(odb: ObjectDatabase, registry: MergeRegistry, ours: ObjectId | undefined, theirs: ObjectId): CommitMergePlan {
  if (ours === undefined) return { kind: 'fast-forward', commit: theirs };
  if (ours === theirs || isAncestor(odb, theirs, ours)) return { kind: 'up-to-date' };
  if (isAncestor(odb, ours, theirs)) return { kind: 'fast-forward', commit: theirs };
  const bases = mergeBases(odb, ours, theirs);
  const baseTree = virtualBaseTree(odb, registry, bases, 0);
  const result = mergeTrees(odb, registry, baseTree, odb.readCommit(ours).tree, odb.readCommit(theirs).tree, { recordConflicts: true });
  return { kind: 'merge', bases, result };
}

const MAX_VIRTUAL_DEPTH = 8;

/**
 * One base tree from several merge bases: merge them pairwise, each pair against its own
 * merge bases, recursively (git's recursive strategy). Conflicts inside the virtual base
 * keep the first side; they surface, if at all, in the real merge.
 */
function virtualBaseTree(odb: ObjectDatabase, registry: MergeRegistry, bases: ObjectId[], depth: number): ObjectId | undefined {
  if (bases.length === 0) return undefined;
  let tree = odb.readCommit(bases[0]!).tree;
  for (const next of bases.slice(1)) {
    const inner = depth < MAX_VIRTUAL_DEPTH ? virtualBaseTree(odb, registry, mergeBases(odb, bases[0]!, next), depth + 1) : undefined;
    const merged = mergeTrees(odb, registry, inner, tree, odb.readCommit(next).tree, { recordConflicts: false });
    odb.stage(merged.objects);
    tree = merged.tree;
  }
  return tree;
}
