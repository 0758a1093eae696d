/**
 * A user's DAV space: how URLs map onto the store and what each path is.
 *
 *   /dav/                         the root (tells a client its principal)
 *   /dav/<user>/                  the principal
 *   /dav/<user>/<home>/           a home (one per kind): store directory <home>/
 *   /dav/<user>/<home>/<a>/<b>    collections and members below it: store path <home>/<a>/<b>
 *
 * A collection is a directory holding `.props.json` (its own and its members' dead
 * properties), which also keeps an empty collection in git, which has no empty directories.
 */
import { formatJson, parseJson, type JsonObject, type TreeView, type ObjectId, type Store } from '../../store/index.js';
import { DavError } from './errors.js';
import { escapeXml, parseXml } from './xml.js';
import type { DavKind, DeadProperties, IndexedMember, ParsedMember } from './kinds.js';

export const DAV_PREFIX = '/dav';
/** Dead properties of a collection ('' key) and its members (their names), as a store file. */
export const PROPS_FILE = '.props.json';
export const BRANCH = 'main';

export type Resource =
  | { type: 'root' }
  | { type: 'principal'; user: string }
  | { type: 'home'; user: string; kind: DavKind; path: string }
  | { type: 'collection'; user: string; kind: DavKind; path: string; typed: boolean }
  | { type: 'member'; user: string; kind: DavKind; path: string; id: ObjectId }
  | { type: 'missing'; user: string; kind: DavKind; path: string };

/** A parsed request path: the user and the store path (undefined for the root and principal). */
export interface DavTarget {
  user: string | undefined;
  kind: DavKind | undefined;
  /** Store path, e.g. 'calendar/work/x.ics'; '' for the principal. */
  path: string;
  /** The path names a collection (ends with '/'). */
  slash: boolean;
}

export class DavSpace {
  private readonly kinds = new Map<string, DavKind>();
  private readonly parentHrefs = new Map<string, string>();
  private readonly indexes = new WeakMap<Store, Map<string, CollectionIndex<ParsedMember>>>();
  /** Blob sizes by id: a PROPFIND over a big collection asks for every member's length. */
  private readonly sizes = new Map<ObjectId, number>();

  constructor(kinds: readonly DavKind[]) {
    for (const kind of kinds) this.kinds.set(kind.home, kind);
  }

  allKinds(): DavKind[] {
    return [...this.kinds.values()];
  }

  /** Parses `/dav/<user>/<home>/…` (percent-decoded, UTF-8); 400 on bad encoding, 404 on an unknown home. */
  target(pathname: string): DavTarget {
    if (pathname === DAV_PREFIX || pathname === `${DAV_PREFIX}/`) return { user: undefined, kind: undefined, path: '', slash: true };
    const raw = pathname.slice(DAV_PREFIX.length + 1).split('/');
    const slash = raw.at(-1) === '';
    if (slash) raw.pop();
    const segments = raw.map((segment) => {
      let decoded: string;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        throw new DavError(400, 'malformed percent-encoding in the path');
      }
      if (decoded === '' || decoded === '.' || decoded === '..' || decoded.includes('/') || /[\u0000-\u001f\u007f]/.test(decoded)) {
        throw new DavError(400, `invalid path segment '${segment.slice(0, 60)}'`);
      }
      if (decoded === PROPS_FILE) throw new DavError(403, `${PROPS_FILE} is reserved`);
      return decoded;
    });
    const [user, home] = segments;
    if (home === undefined) return { user, kind: undefined, path: '', slash: true };
    const kind = this.kinds.get(home);
    if (kind === undefined) throw new DavError(404, `no home '${home.slice(0, 40)}' (${[...this.kinds.keys()].join(', ')})`);
    return { user, kind, path: segments.slice(1).join('/'), slash };
  }

  /** What a target is in a view of the store. */
  resolve(target: DavTarget, view: TreeView): Resource {
    const { user, kind, path } = target;
    if (user === undefined) return { type: 'root' };
    if (kind === undefined) return { type: 'principal', user };
    const depth = path.split('/').length - 1;
    if (depth === 0) return { type: 'home', user, kind, path };
    const id = view.baseBlobId(path);
    if (id !== undefined) {
      // In a collections home, members live exactly one level below a collection.
      if (kind.layout === 'collections' && depth !== 2) return { type: 'missing', user, kind, path };
      return { type: 'member', user, kind, path, id };
    }
    if (view.exists(`${path}/${PROPS_FILE}`)) {
      if (kind.layout === 'collections' && depth !== 1) return { type: 'missing', user, kind, path };
      return { type: 'collection', user, kind, path, typed: kind.layout === 'collections' };
    }
    return { type: 'missing', user, kind, path };
  }

  /** The URL of a store path (segments percent-encoded), with a trailing slash for collections. */
  href(user: string, path: string, collection: boolean): string {
    const slash = path.lastIndexOf('/');
    const last = encodeSegment(path.slice(slash + 1));
    return `${this.encodedParent(user, slash < 0 ? '' : path.slice(0, slash))}${last === '' ? '' : `${last}${collection ? '/' : ''}`}`;
  }

  /** `/dav/<user>/<parent>/`, encoded; remembered, as a listing asks for it once per member. */
  private encodedParent(user: string, parent: string): string {
    const key = `${user}/${parent}`;
    let encoded = this.parentHrefs.get(key);
    if (encoded === undefined) {
      encoded = `${DAV_PREFIX}/${[user, ...(parent === '' ? [] : parent.split('/'))].map(encodeSegment).join('/')}/`;
      if (this.parentHrefs.size >= 1024) this.parentHrefs.clear();
      this.parentHrefs.set(key, encoded);
    }
    return encoded;
  }

  /**
   * The collections and members directly in a collection, home or principal's home, read from
   * the tree itself (ids included) rather than path by path.
   */
  children(store: Store, view: TreeView, parent: { user: string; kind: DavKind; path: string }): Extract<Resource, { type: 'member' | 'collection' }>[] {
    const { user, kind, path } = parent;
    const tree = treeIdOf(store, view, path);
    if (tree === undefined) return [];
    const depth = path.split('/').length;
    const found: Extract<Resource, { type: 'member' | 'collection' }>[] = [];
    for (const entry of store.odb.readTree(tree).entries) {
      if (entry.name === PROPS_FILE) continue;
      const childPath = `${path}/${entry.name}`;
      if (entry.mode !== '40000') {
        if (kind.layout === 'tree' || depth === 2) found.push({ type: 'member', user, kind, path: childPath, id: entry.id });
      } else if (store.odb.readTree(entry.id).byName.has(PROPS_FILE) && (kind.layout === 'tree' || depth === 1)) {
        found.push({ type: 'collection', user, kind, path: childPath, typed: kind.layout === 'collections' });
      }
    }
    return found;
  }

  /**
   * The members of a collection, parsed by the kind, kept between requests: the index follows
   * the collection's tree id and re-parses only members whose blob id changed.
   */
  index<T extends ParsedMember>(store: Store, view: TreeView, path: string, kind: DavKind<T>): IndexedMember<T>[] {
    let byPath = this.indexes.get(store);
    if (byPath === undefined) this.indexes.set(store, (byPath = new Map()));
    let index = byPath.get(path) as CollectionIndex<T> | undefined;
    if (index === undefined) byPath.set(path, (index = new CollectionIndex<T>()) as unknown as CollectionIndex<ParsedMember>);
    return index.refresh(store, view, path, kind);
  }

  blobSize(store: Store, id: ObjectId): number {
    let size = this.sizes.get(id);
    if (size === undefined) {
      size = store.odb.readTyped(id, 'blob').length;
      if (this.sizes.size >= 50_000) this.sizes.clear();
      this.sizes.set(id, size);
    }
    return size;
  }
}

export function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%40/g, '@').replace(/%2B/g, '+').replace(/%3A/g, ':');
}

/** The members of one collection with their parsed form, refreshed by blob id. */
class CollectionIndex<T extends ParsedMember> {
  private tree: ObjectId | undefined;
  private members: IndexedMember<T>[] = [];

  refresh(store: Store, view: TreeView, path: string, kind: DavKind<T>): IndexedMember<T>[] {
    const tree = treeIdOf(store, view, path);
    if (tree === this.tree) return this.members;
    const previous = new Map(this.members.map((m) => [m.name, m]));
    const dead = readDeadProperties(view, path)[''] ?? {};
    const members: IndexedMember<T>[] = [];
    if (tree !== undefined) {
      for (const entry of store.odb.readTree(tree).entries) {
        if (entry.name === PROPS_FILE || entry.mode === '40000') continue;
        const known = previous.get(entry.name);
        if (known !== undefined && known.id === entry.id) {
          members.push(known);
          continue;
        }
        members.push({ name: entry.name, id: entry.id, parsed: parseStored(store, entry.id, kind, dead) });
      }
    }
    this.tree = tree;
    this.members = members;
    return members;
  }
}

/** A stored member parsed again; one that no longer parses (pushed by git, say) still lists, unparsed. */
function parseStored<T extends ParsedMember>(store: Store, id: ObjectId, kind: DavKind<T>, dead: DeadProperties): T | undefined {
  if (kind.parse === undefined) return undefined;
  try {
    return kind.parse(store.odb.readTyped(id, 'blob'), dead);
  } catch {
    return undefined;
  }
}

/** The tree id of a directory in a view's base commit. */
export function treeIdOf(store: Store, view: TreeView, path: string): ObjectId | undefined {
  let tree = view.baseTree;
  for (const segment of path.split('/')) {
    if (tree === undefined) return undefined;
    const entry = store.odb.readTree(tree).byName.get(segment);
    tree = entry !== undefined && entry.mode === '40000' ? entry.id : undefined;
  }
  return tree;
}

/** Dead properties of a collection's members ('' = the collection itself). */
export function readDeadProperties(view: TreeView, collectionPath: string): Record<string, DeadProperties> {
  const bytes = view.get(`${collectionPath}/${PROPS_FILE}`);
  const value = bytes === undefined ? undefined : parseJson(bytes);
  if (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  return value as Record<string, DeadProperties>;
}

export function writeDeadProperties(view: TreeView, collectionPath: string, properties: Record<string, DeadProperties>): void {
  const kept = Object.fromEntries(Object.entries(properties).filter(([name, props]) => name === '' || Object.keys(props).length > 0));
  view.set(`${collectionPath}/${PROPS_FILE}`, formatJson(kept as JsonObject));
}

/** Removes a member and its dead properties (its entry in the collection's `.props.json`). */
export function removeMember(view: TreeView, path: string): void {
  view.remove(path);
  const { parent, name } = splitParent(path);
  const all = readDeadProperties(view, parent);
  if (all[name] === undefined) return;
  delete all[name];
  writeDeadProperties(view, parent, all);
}

/** The collections directly in a home (or any directory): its subdirectories holding a `.props.json`. */
export function collectionNames(view: TreeView, home: string): string[] {
  return view
    .list(home)
    .filter((entry) => entry.kind === 'dir' && view.exists(`${home}/${entry.name}/${PROPS_FILE}`))
    .map((entry) => entry.name);
}

/** A collection's DAV:displayname as text; its name when it has none that reads. */
export function collectionDisplayName(view: TreeView, home: string, name: string): string {
  const xml = readDeadProperties(view, `${home}/${name}`)['']?.['{DAV:}displayname'];
  if (xml === undefined) return name;
  try {
    return parseXml(xml).text.trim() || name;
  } catch {
    return name; // a display name a client stored as XML we do not read
  }
}

/** A kind's home as it is made on first use: its `.props.json` (unless there) and its default collection. */
export function makeHome(view: TreeView, kind: Pick<DavKind, 'home' | 'defaultCollection'>): void {
  if (!view.exists(`${kind.home}/${PROPS_FILE}`)) writeDeadProperties(view, kind.home, {});
  const made = kind.defaultCollection;
  if (made === undefined) return;
  const displayName = `<D:displayname xmlns:D="DAV:">${escapeXml(made.displayName)}</D:displayname>`;
  writeDeadProperties(view, `${kind.home}/${made.name}`, { '': { '{DAV:}displayname': displayName } });
}

/** Splits a store path into its parent collection and its name. */
export function splitParent(path: string): { parent: string; name: string } {
  const slash = path.lastIndexOf('/');
  return { parent: path.slice(0, slash), name: path.slice(slash + 1) };
}
