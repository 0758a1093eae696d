/**
 * An in-memory view of a tree: reads fall through to the base tree, writes collect in an
 * overlay, and `build` turns the overlay into new tree objects in one go. Transactions,
 * merges and the store's single writes are all views committed atomically.
 */
import { StoreError } from './errors.js';
import { encodeTree, inGitOrder, isTreeMode, type ObjectId, type TreeEntry } from './objects.js';
import type { NewObject, ObjectDatabase } from './odb.js';
import { joinPath, splitPath } from './paths.js';

export interface ListEntry {
  name: string;
  kind: 'file' | 'dir';
}

/** The objects a built view needs written, and the root tree id. */
export interface BuiltTree {
  tree: ObjectId;
  objects: (NewObject & { id: ObjectId })[];
}

/** Maximum bytes one value may have: the same bound as a loose object. */
export const MAX_VALUE_BYTES = 64 * 1024 * 1024;

/** The id of the tree with no entries, the same in every git repository. */
export const EMPTY_TREE: ObjectId = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

export class TreeView {
  /** Files written in this view: path → content. */
  private readonly written = new Map<string, Buffer>();
  /** Paths removed with everything under them (a file written later under one re-creates it). */
  private readonly removed = new Set<string>();
  /** Directories that hold something written in this view. */
  private readonly dirtyDirs = new Set<string>();

  constructor(
    private readonly odb: ObjectDatabase,
    readonly baseTree: ObjectId | undefined,
  ) {}

  get changed(): boolean {
    return this.written.size > 0 || this.removed.size > 0;
  }

  /** Paths this view wrote or removed (for optimistic commits and watchers). */
  touchedPaths(): string[] {
    return [...this.written.keys(), ...this.removed];
  }

  get(path: string): Buffer | undefined {
    const id = this.lookupId(splitPath(path));
    if (id === undefined) return undefined;
    if (typeof id !== 'string') return id;
    return this.odb.readTyped(id, 'blob');
  }

  /** The blob id at a path in the base tree (undefined if written in this view, or absent). */
  baseBlobId(path: string): ObjectId | undefined {
    const id = this.lookupId(splitPath(path));
    return typeof id === 'string' ? id : undefined;
  }

  exists(path: string): boolean {
    return this.lookupId(splitPath(path)) !== undefined;
  }

  /** A file's content or its base blob id; undefined when it is absent or a directory. */
  private lookupId(segments: string[]): Buffer | ObjectId | undefined {
    const path = joinPath(segments);
    const own = this.written.get(path);
    if (own !== undefined) return own;
    if (this.dirtyDirs.has(path)) return undefined;
    for (let i = 1; i <= segments.length; i++) {
      const prefix = joinPath(segments.slice(0, i));
      if (this.removed.has(prefix)) return undefined;
      if (i < segments.length && this.written.has(prefix)) return undefined;
    }
    const entry = this.baseEntry(segments);
    return entry !== undefined && !isTreeMode(entry.mode) ? entry.id : undefined;
  }

  private baseEntry(segments: readonly string[]): TreeEntry | undefined {
    let tree = this.baseTree;
    let entry: TreeEntry | undefined;
    for (const segment of segments) {
      if (tree === undefined) return undefined;
      entry = this.odb.readTree(tree).byName.get(segment);
      if (entry === undefined) return undefined;
      tree = isTreeMode(entry.mode) ? entry.id : undefined;
    }
    return entry;
  }

  set(path: string, value: Uint8Array | string): void {
    const segments = splitPath(path);
    const content = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (content.length > MAX_VALUE_BYTES) throw new StoreError('ETOOBIG', `value for ${path} is larger than ${MAX_VALUE_BYTES} bytes`);
    const full = joinPath(segments);
    // A file replaces whatever was at its path, and its ancestors become directories.
    this.forgetBelow(full);
    this.removed.add(full);
    for (let i = 1; i < segments.length; i++) {
      const ancestor = joinPath(segments.slice(0, i));
      this.written.delete(ancestor);
      this.dirtyDirs.add(ancestor);
    }
    this.written.set(full, Buffer.from(content));
  }

  /** Removes a file or a whole directory; removing what is not there is not an error. */
  remove(path: string): void {
    const segments = splitPath(path);
    const full = joinPath(segments);
    this.forgetBelow(full);
    this.written.delete(full);
    this.dirtyDirs.delete(full);
    this.removed.add(full);
    // The directories above must be rebuilt — but only those that are directories here:
    // removing a path below a file leaves the file alone.
    const ancestors: string[] = [];
    for (let i = 1; i < segments.length; i++) {
      const ancestor = segments.slice(0, i);
      if (!this.isDirectory(ancestor)) return;
      ancestors.push(joinPath(ancestor));
    }
    for (const ancestor of ancestors) this.dirtyDirs.add(ancestor);
  }

  private isDirectory(segments: string[]): boolean {
    const path = joinPath(segments);
    if (this.dirtyDirs.has(path)) return true;
    for (let i = 1; i <= segments.length; i++) {
      const prefix = joinPath(segments.slice(0, i));
      if (this.removed.has(prefix) || this.written.has(prefix)) return false;
    }
    const entry = this.baseEntry(segments);
    return entry !== undefined && isTreeMode(entry.mode);
  }

  private forgetBelow(path: string): void {
    // Only a directory of this view has anything below it; a file or a fresh path has not.
    if (!this.dirtyDirs.has(path)) return;
    const below = `${path}/`;
    for (const key of this.written.keys()) if (key.startsWith(below)) this.written.delete(key);
    for (const key of this.removed) if (key.startsWith(below)) this.removed.delete(key);
    for (const key of this.dirtyDirs) if (key.startsWith(below)) this.dirtyDirs.delete(key);
  }

  /** Applies this view's writes and removals, in effect, to another view (a newer base). */
  replayOnto(target: TreeView): void {
    for (const removed of this.removed) if (!this.written.has(removed)) target.remove(removed);
    for (const [path, content] of this.written) target.set(path, content);
  }

  /** The direct children of a directory ('' is the root), sorted by name. */
  list(path = ''): ListEntry[] {
    const segments = splitPath(path, { allowRoot: true });
    const dir = joinPath(segments);
    const children = new Map<string, ListEntry['kind']>();
    const baseDirGone = segments.some((_, i) => {
      const prefix = joinPath(segments.slice(0, i + 1));
      return this.removed.has(prefix) || (i < segments.length && this.written.has(prefix));
    });
    if (!baseDirGone) {
      const entry = segments.length === 0 ? undefined : this.baseEntry(segments);
      const tree = segments.length === 0 ? this.baseTree : entry !== undefined && isTreeMode(entry.mode) ? entry.id : undefined;
      if (tree !== undefined) {
        for (const e of this.odb.readTree(tree).entries) {
          if (this.removed.has(dir === '' ? e.name : `${dir}/${e.name}`)) continue;
          children.set(e.name, isTreeMode(e.mode) ? 'dir' : 'file');
        }
      }
    }
    const prefix = dir === '' ? '' : `${dir}/`;
    for (const key of this.written.keys()) {
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      children.set(slash < 0 ? rest : rest.slice(0, slash), slash < 0 ? 'file' : 'dir');
    }
    return [...children]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, kind]) => ({ name, kind }));
  }

  /** Every file below a directory, as full paths, in order (a recursive list). */
  *walk(path = ''): Generator<string> {
    const dir = joinPath(splitPath(path, { allowRoot: true }));
    for (const child of this.list(dir)) {
      const full = dir === '' ? child.name : `${dir}/${child.name}`;
      if (child.kind === 'dir') yield* this.walk(full);
      else yield full;
    }
  }

  /** New tree objects for this view; the root id is the base when nothing changed. */
  build(): BuiltTree {
    const objects: (NewObject & { id: ObjectId })[] = [];
    const paths = [...this.written.keys()];
    const blobs = [...this.written.values()];
    const blobIds = this.odb.hashAll(blobs.map((content) => ({ type: 'blob' as const, content })));
    // Group what changed by parent directory once, so each directory is visited once.
    const filesByDir = new Map<string, [string, ObjectId][]>();
    paths.forEach((path, i) => {
      objects.push({ type: 'blob', content: blobs[i]!, id: blobIds[i]! });
      const slash = path.lastIndexOf('/');
      const dir = slash < 0 ? '' : path.slice(0, slash);
      const files = filesByDir.get(dir) ?? filesByDir.set(dir, []).get(dir)!;
      files.push([path.slice(slash + 1), blobIds[i]!]);
    });
    const subdirsByDir = new Map<string, string[]>();
    for (const sub of this.dirtyDirs) {
      const slash = sub.lastIndexOf('/');
      const dir = slash < 0 ? '' : sub.slice(0, slash);
      const subdirs = subdirsByDir.get(dir) ?? subdirsByDir.set(dir, []).get(dir)!;
      subdirs.push(sub.slice(slash + 1));
    }
    const buildDir = (dir: string, base: ObjectId | undefined): ObjectId | undefined => {
      const prefix = dir === '' ? '' : `${dir}/`;
      const baseTree = base === undefined ? undefined : this.odb.readTree(base);
      const entries = new Map<string, TreeEntry>();
      for (const e of baseTree?.entries ?? []) if (!this.removed.has(prefix + e.name)) entries.set(e.name, e);
      for (const [name, id] of filesByDir.get(dir) ?? []) {
        // An executable file stays executable when its content changes.
        const mode = baseTree?.byName.get(name)?.mode === '100755' ? '100755' : '100644';
        entries.set(name, { name, mode, id });
      }
      for (const name of subdirsByDir.get(dir) ?? []) {
        const old = this.removed.has(prefix + name) ? undefined : baseTree?.byName.get(name);
        const subTree = buildDir(prefix + name, old !== undefined && isTreeMode(old.mode) ? old.id : undefined);
        if (subTree === undefined) entries.delete(name);
        else entries.set(name, { name, mode: '40000', id: subTree });
      }
      if (entries.size === 0) return undefined;
      const ordered = inGitOrder([...entries.values()]);
      const content = encodeTree(ordered);
      const [id] = this.odb.hashAll([{ type: 'tree', content }]);
      objects.push({ type: 'tree', content, id: id! });
      // The next commit on this branch starts from this tree: keep it parsed.
      this.odb.rememberTree(id!, { entries: ordered, byName: entries });
      return id!;
    };
    const tree = this.changed ? (buildDir('', this.baseTree) ?? this.emptyTree(objects)) : (this.baseTree ?? this.emptyTree(objects));
    return { tree, objects };
  }

  private emptyTree(objects: (NewObject & { id: ObjectId })[]): ObjectId {
    objects.push({ type: 'tree', content: Buffer.alloc(0), id: EMPTY_TREE });
    return EMPTY_TREE;
  }
}
