/** Differences between two trees, file by file; equal subtrees are skipped by id. */
import { isTreeMode, type ObjectId, type TreeEntry } from './objects.js';
import type { ObjectDatabase } from './odb.js';

export interface Change {
  path: string;
  kind: 'added' | 'removed' | 'modified';
  /** Blob ids before and after (absent for added / removed). */
  before?: ObjectId;
  after?: ObjectId;
}

/** Files that differ between tree a and tree b (either may be absent), below `prefix`. */
export function diffTrees(odb: ObjectDatabase, a: ObjectId | undefined, b: ObjectId | undefined, prefix = ''): Change[] {
  const changes: Change[] = [];
  const walkDown = (tree: ObjectId | undefined, segments: string[]): ObjectId | undefined => {
    for (const segment of segments) {
      if (tree === undefined) return undefined;
      const entry = odb.readTree(tree).byName.get(segment);
      tree = entry !== undefined && isTreeMode(entry.mode) ? entry.id : undefined;
    }
    return tree;
  };
  const segments = prefix === '' ? [] : prefix.split('/');
  compare(odb, walkDown(a, segments), walkDown(b, segments), segments.join('/'), changes);
  // A prefix naming a single file: compare that file.
  if (segments.length > 0 && changes.length === 0) {
    const fileOf = (tree: ObjectId | undefined) => {
      const parent = walkDown(tree, segments.slice(0, -1));
      const entry = parent === undefined ? undefined : odb.readTree(parent).byName.get(segments[segments.length - 1]!);
      return entry !== undefined && !isTreeMode(entry.mode) ? entry.id : undefined;
    };
    const before = fileOf(a);
    const after = fileOf(b);
    if (before !== after) changes.push(change(prefix, before, after));
  }
  return changes;
}

function change(path: string, before: ObjectId | undefined, after: ObjectId | undefined): Change {
  const kind = before === undefined ? 'added' : after === undefined ? 'removed' : 'modified';
  return { path, kind, ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }) };
}

function compare(odb: ObjectDatabase, a: ObjectId | undefined, b: ObjectId | undefined, dir: string, out: Change[]): void {
  if (a === b) return;
  const left = a === undefined ? new Map<string, TreeEntry>() : odb.readTree(a).byName;
  const right = b === undefined ? new Map<string, TreeEntry>() : odb.readTree(b).byName;
  const names = [...new Set([...left.keys(), ...right.keys()])].sort();
  for (const name of names) {
    const l = left.get(name);
    const r = right.get(name);
    if (l?.id === r?.id && l?.mode === r?.mode) continue;
    const path = dir === '' ? name : `${dir}/${name}`;
    const lTree = l !== undefined && isTreeMode(l.mode) ? l.id : undefined;
    const rTree = r !== undefined && isTreeMode(r.mode) ? r.id : undefined;
    const lFile = l !== undefined && !isTreeMode(l.mode) ? l.id : undefined;
    const rFile = r !== undefined && !isTreeMode(r.mode) ? r.id : undefined;
    if (lTree !== undefined || rTree !== undefined) compare(odb, lTree, rTree, path, out);
    if (lFile !== rFile) out.push(change(path, lFile, rFile));
  }
}
