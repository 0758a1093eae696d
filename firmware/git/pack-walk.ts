/**
 * The walk of object-walk.ts (`rev-list --objects <wants> --not <haves>`) over the store's
 * packs with objects numbered instead of named: a clone visits every entry of every tree of
 * the history (millions for a big repository), so that loop must not make a hex string, a
 * Buffer or a Set lookup per entry. Objects are handles (pack by pack, each in pack order),
 * marks live in one byte array, and ids are looked up in the pack indexes where they lie.
 *
 * Trees stored as deltas are the other half of the trick: an entry the delta copied whole
 * from its base tree, when that base has been walked already, is an entry the walk has seen,
 * so only what the delta inserted is looked at (git gets the same effect from bitmaps).
 *
 * The walk gives up (undefined) as soon as it meets an object none of the packs hold, a loose
 * object for instance; object-walk.ts then does the walk by name, through the object database.
 */
import { StoreError, type ObjectId } from '../store/index.js';
import { decodeCommit, decodeTag, type ObjectType, type RawObject } from '../store/objects.js';
import { CommitQueue, type QueuedCommit } from '../store/commit-queue.js';
import { deltaCopies, type PackReader } from '../store/pack/index.js';
import type { AdvertisedRef } from './advertise.js';

/** Marks per handle. */
export const ADDED = 1;
/** The client has it (reachable from a have, or from the commits right below what it gets). */
export const UNINTERESTING = 2;
const COMMIT_QUEUED = 4;
const COMMIT_DONE = 8;
const COMMIT_UNINTERESTING = 16;
/** A tree whose entries have all been added or found uninteresting (or are queued to be). */
const TREE_WALKED = 32;
/** A tree whose entries have all been marked uninteresting (or are queued to be). */
const TREE_MARKED = 64;

/** Pack type codes, by handle, of what the walk added. */
export const TYPE_CODES: Readonly<Record<ObjectType, number>> = { commit: 1, tree: 2, blob: 3, tag: 4 };

/** Commits walked past the point where only uninteresting ones are queued (clock skew). */
const SLOP = 5;
/** Entry offsets of walked trees kept for the trees built on them by deltas. */
const TREE_LAYOUT_CACHE_BYTES = 4 * 1024 * 1024;

const MISSING = Symbol('not in the packs');

/** The objects of some packs as handles 0..total-1: pack after pack, each in pack order. */
export class PackObjects {
  readonly total: number;
  private readonly bases: number[] = [];

  constructor(
    readonly readers: readonly PackReader[],
    /** Where a REF_DELTA base outside its pack is found. */
    private readonly resolveExternal: (id: ObjectId) => RawObject | undefined,
  ) {
    let total = 0;
    for (const reader of readers) {
      this.bases.push(total);
      total += reader.objectCount;
    }
    this.total = total;
  }

  /** The handle of the raw id at `bytes[at]` (in the first pack that has it), or -1. */
  find(bytes: Uint8Array, at = 0): number {
    for (let p = 0; p < this.readers.length; p++) {
      const rank = this.readers[p]!.rankOfId(bytes, at);
      if (rank >= 0) return this.bases[p]! + rank;
    }
    return -1;
  }

  findId(id: ObjectId): number {
    return /^[0-9a-f]{40}$/.test(id) ? this.find(Buffer.from(id, 'hex')) : -1;
  }

  packOf(handle: number): number {
    let p = this.bases.length - 1;
    while (this.bases[p]! > handle) p--;
    return p;
  }

  /** The pack of `handle` and its rank there. */
  locate(handle: number): { reader: PackReader; pack: number; rank: number } {
    const pack = this.packOf(handle);
    return { reader: this.readers[pack]!, pack, rank: handle - this.bases[pack]! };
  }

  /** The handle find() gives for the object at `rank` of pack `pack` (an object may be in two packs). */
  canonical(pack: number, rank: number): number {
    if (pack > 0) {
      const id = this.readers[pack]!.idBytesOfRank(rank);
      for (let p = 0; p < pack; p++) {
        const other = this.readers[p]!.rankOfId(id);
        if (other >= 0) return this.bases[p]! + other;
      }
    }
    return this.bases[pack]! + rank;
  }

  idOf(handle: number): ObjectId {
    const { reader, rank } = this.locate(handle);
    return reader.idOfRank(rank);
  }

  idBytesOf(handle: number): Buffer {
    const { reader, rank } = this.locate(handle);
    return reader.idBytesOfRank(rank);
  }

  /** The object, and when it was just built from a delta on a base in its pack, that delta and base. */
  read(handle: number, options: { verify: boolean; keep: boolean; delta?: boolean }): RawObject & { delta?: Buffer; baseHandle?: number } {
    const { reader, pack, rank } = this.locate(handle);
    const object = reader.readRank(rank, { ...options, resolveExternal: this.resolveExternal });
    if (object.baseRank === undefined) return object;
    return { type: object.type, content: object.content, delta: object.delta!, baseHandle: this.canonical(pack, object.baseRank) };
  }
}

export interface PackWalkRequest {
  wants: readonly ObjectId[];
  haves: readonly ObjectId[];
  boundary: ReadonlySet<ObjectId>;
  tags?: readonly AdvertisedRef[];
}

/**
 * What a clone sent, kept for the next one (git keeps bitmaps for this): the commits it
 * started from and every commit, tree and blob reachable from them, by handle. Valid while
 * the packs it numbered are the first packs, in the same order (packs added later do not
 * renumber them).
 */
export interface Closure {
  readers: readonly PackReader[];
  tips: Uint32Array;
  /** Sorted handles, and the pack type code of each. */
  handles: Uint32Array;
  types: Uint8Array;
  commits: number;
}

export interface PackWalk {
  objects: PackObjects;
  /** What to send, in rev-list order: commits newest first, then trees and blobs, then tags. */
  order: number[];
  /** The path each object of `order` was found under (trees and blobs). */
  names: (string | undefined)[];
  /** Per handle: ADDED, UNINTERESTING (and the walk's own marks). */
  marks: Uint8Array;
  /** Per handle: the pack type code of what was added. */
  types: Uint8Array;
  commits: number;
  /** The walk as a closure for later clones (a clone that wanted only commits). */
  closure?: Closure;
}

/**
 * The walk over the packs, or undefined when it meets an object they do not hold. With the
 * closure of an earlier clone whose commits the wants still reach (a clone after a push), only
 * what is new is walked; a clone that no longer reaches one of them is walked in full.
 */
export function walkPacks(objects: PackObjects, request: PackWalkRequest, closure?: Closure): PackWalk | undefined {
  try {
    const usable = closure !== undefined && request.haves.length === 0 && request.boundary.size === 0 && sharesPacks(closure, objects) ? closure : undefined;
    if (usable !== undefined) {
      try {
        return new Walk(objects).run(request, usable);
      } catch (error) {
        if (error !== UNREACHED) throw error;
      }
    }
    return new Walk(objects).run(request);
  } catch (error) {
    if (error === MISSING) return undefined;
    throw error;
  }
}

function sharesPacks(closure: Closure, objects: PackObjects): boolean {
  return closure.readers.length <= objects.readers.length && closure.readers.every((reader, i) => objects.readers[i] === reader);
}

const UNREACHED = Symbol('a commit of the closure is not reached');

interface WalkCommit {
  id: ObjectId;
  tree: number;
  parents: number[];
  time: number;
}

interface QueuedPackCommit extends QueuedCommit {
  handle: number;
}

/**
 * What the walk remembers of the trees it walked, within a byte budget: where each entry
 * starts (then the tree's length), and for a tree stored as a delta, the delta's copies, filed
 * under its base, so that the base, walked later, can skip what the delta took from it.
 * Two generations: when the young one fills half the budget, the old one is dropped.
 */
class TreeLayouts {
  private young = new Map<number, Uint32Array>();
  private old = new Map<number, Uint32Array>();
  private youngDependents = new Map<number, { handle: number; copies: number[] }>();
  private oldDependents = new Map<number, { handle: number; copies: number[] }>();
  private youngBytes = 0;

  layout(handle: number): Uint32Array | undefined {
    return this.young.get(handle) ?? this.old.get(handle);
  }

  /** A walked tree stored as a delta on `base`, and that delta's copies. */
  dependent(base: number): { handle: number; copies: number[] } | undefined {
    return this.youngDependents.get(base) ?? this.oldDependents.get(base);
  }

  set(handle: number, layout: Uint32Array, delta?: { base: number; copies: number[] }): void {
    if (this.youngBytes > TREE_LAYOUT_CACHE_BYTES / 2) {
      this.old = this.young;
      this.oldDependents = this.youngDependents;
      this.young = new Map();
      this.youngDependents = new Map();
      this.youngBytes = 0;
    }
    this.young.set(handle, layout);
    this.youngBytes += layout.byteLength + 64;
    if (delta !== undefined) {
      this.youngDependents.set(delta.base, { handle, copies: delta.copies });
      this.youngBytes += delta.copies.length * 8 + 64;
    }
  }
}

/** A delta's copies [to, from, length] seen from its base: [from, to, length], by `from`. */
function fromBase(copies: readonly number[]): number[] {
  const order: number[] = [];
  for (let i = 0; i < copies.length; i += 3) order.push(i);
  order.sort((a, b) => copies[a + 1]! - copies[b + 1]! || copies[b + 2]! - copies[a + 2]!);
  const swapped: number[] = [];
  for (const i of order) swapped.push(copies[i + 1]!, copies[i]!, copies[i + 2]!);
  return swapped;
}

/** The first index of `sorted` (ascending) holding a value >= `value`. */
function lowerBound(sorted: Uint32Array, value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

type EntryVisitor = (handle: number, isTree: boolean, content: Buffer, nameStart: number, nameEnd: number) => void;

let scratch: Uint32Array = new Uint32Array(1024);
const rawId = Buffer.alloc(20);
/** Lowercase hex digit values; 0x10 marks anything else. */
const HEX_VALUES = Uint8Array.from({ length: 256 }, (_, c) => (c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : 0x10));

/** What walks over trees share: marks by handle, and the scan that skips what deltas kept. */
abstract class TreeScanner {
  protected marks: Uint8Array;
  protected layouts = new TreeLayouts();

  constructor(protected readonly objects: PackObjects) {
    this.marks = new Uint8Array(objects.total);
  }

  /** A tree entry none of the packs hold (its raw id at `content[at]`): throw, or return to pass it by. */
  protected abstract missingEntry(content: Buffer, at: number): void;

  /**
   * Visits the entries of a tree (gitlinks aside). A tree stored as a delta shares most of its
   * bytes with its base; when the other of the two has been walked (has one of the marks
   * `walked`), the entries that lie whole in a shared run of bytes are that tree's entries,
   * byte for byte, and were taken care of with it: they are skipped.
   */
  protected scanTree(handle: number, walked: number, visit: EntryVisitor): void {
    const marks = this.marks;
    const object = this.objects.read(handle, { verify: false, keep: true, delta: true });
    if (object.type !== 'tree') throw new StoreError('ECORRUPT', `object ${this.objects.idOf(handle)} is a ${object.type}, expected a tree`);
    const content = object.content;
    const length = content.length;
    // The walked partner's layout, and the shared runs as [here, there, length], by `here`.
    let partner: Uint32Array | undefined;
    let shared: readonly number[] = [];
    const copies = object.delta !== undefined && object.baseHandle !== undefined ? deltaCopies(object.delta) : undefined;
    if (copies !== undefined && marks[object.baseHandle!]! & walked) {
      partner = this.layouts.layout(object.baseHandle!);
      shared = copies;
    }
    if (partner === undefined) {
      const dependent = this.layouts.dependent(handle);
      if (dependent !== undefined && marks[dependent.handle]! & walked) {
        partner = this.layouts.layout(dependent.handle);
        if (partner !== undefined) shared = fromBase(dependent.copies);
      }
    }
    let starts = scratch;
    let count = 0;
    let run = 0;
    for (let at = 0; at < length; ) {
      if (partner !== undefined) {
        while (run < shared.length && shared[run]! + shared[run + 2]! <= at) run += 3;
        if (run < shared.length && shared[run]! <= at) {
          const there = shared[run + 1]! + (at - shared[run]!);
          const runEnd = shared[run + 1]! + shared[run + 2]!;
          const first = lowerBound(partner, there);
          if (first < partner.length - 1 && partner[first] === there) {
            // Entries first..last-1 of the partner lie whole inside the run.
            const last = Math.min(lowerBound(partner, runEnd + 1), partner.length) - 1;
            if (last > first) {
              if (count + (last - first) + 1 > starts.length) starts = scratch = grow(starts, count + (last - first) + 1);
              const shift = at - there;
              for (let i = first; i < last; i++) starts[count++] = partner[i]! + shift;
              at += partner[last]! - there;
              continue;
            }
          }
        }
      }
      // mode SP name NUL id (20 bytes)
      let space = at;
      while (space < length && content[space] !== 0x20) space++;
      let nul = space + 1;
      while (nul < length && content[nul] !== 0) nul++;
      if (space >= length || nul + 21 > length) throw new StoreError('ECORRUPT', `tree ${this.objects.idOf(handle)} is truncated`);
      if (count + 1 >= starts.length) starts = scratch = grow(starts, count + 2);
      starts[count++] = at;
      // Modes: 40000 (or 040000) a tree, 160000 a gitlink (another repository's commit), else a blob.
      const isTree = content[at] === 0x34 || (content[at] === 0x30 && content[at + 1] === 0x34);
      const isGitlink = space - at === 6 && content[at] === 0x31 && content[at + 1] === 0x36;
      if (!isGitlink) {
        const entry = this.objects.find(content, nul + 1);
        if (entry < 0) this.missingEntry(content, nul + 1);
        else visit(entry, isTree, content, space + 1, nul);
      }
      at = nul + 21;
    }
    starts[count++] = length;
    this.layouts.set(handle, starts.slice(0, count), copies === undefined ? undefined : { base: object.baseHandle!, copies });
  }
}

class Walk extends TreeScanner {
  private readonly types: Uint8Array;
  private readonly commitCache = new Map<number, WalkCommit>();
  private readonly order: number[] = [];
  private readonly names: (string | undefined)[] = [];
  private boundary = new Set<number>();

  constructor(objects: PackObjects) {
    super(objects);
    this.types = new Uint8Array(objects.total);
  }

  protected missingEntry(): void {
    throw MISSING;
  }

  run(request: PackWalkRequest, closure?: Closure): PackWalk {
    const marks = this.marks;
    /** The commits the wants peel to, and whether every want is (or peels to) a commit. */
    const wantedCommits: number[] = [];
    let onlyCommits = true;
    for (const id of request.boundary) {
      const handle = this.objects.findId(id);
      if (handle >= 0) this.boundary.add(handle);
    }
    const queue = new CommitQueue<QueuedPackCommit>();
    let interestingQueued = 0;
    const rootTrees: { handle: number; path: string }[] = [];

    const markUninteresting = (start: number): void => {
      const stack = [start];
      while (stack.length > 0) {
        const handle = stack.pop()!;
        const mark = marks[handle]!;
        if (mark & COMMIT_UNINTERESTING) continue;
        marks[handle] = mark | COMMIT_UNINTERESTING;
        if (mark & COMMIT_QUEUED && !(mark & COMMIT_DONE)) interestingQueued--;
        if (mark & COMMIT_DONE) stack.push(...this.parentsOf(handle));
      }
    };
    const enqueue = (handle: number, uninteresting: boolean): void => {
      const mark = marks[handle]!;
      if (mark & COMMIT_QUEUED) {
        if (uninteresting) markUninteresting(handle);
        return;
      }
      marks[handle] = mark | COMMIT_QUEUED | (uninteresting ? COMMIT_UNINTERESTING : 0);
      if (!uninteresting) interestingQueued++;
      const commit = this.commit(handle);
      queue.push({ handle, id: commit.id, time: commit.time });
    };
    // Starting points: tags peel to what they point at; trees and blobs are wanted as they are.
    const start = (id: ObjectId, uninteresting: boolean): void => {
      let handle = this.need(id);
      for (let depth = 0; depth < 16; depth++) {
        const object = this.objects.read(handle, { verify: true, keep: false });
        if (object.type === 'commit') {
          if (!uninteresting) wantedCommits.push(handle);
          return enqueue(handle, uninteresting);
        }
        if (!uninteresting && object.type !== 'tag') onlyCommits = false;
        if (object.type === 'tree') {
          if (uninteresting) this.markTreeUninteresting(handle);
          else rootTrees.push({ handle, path: '' });
          return;
        }
        if (uninteresting) marks[handle] |= UNINTERESTING;
        else this.add(handle, object.type);
        if (object.type !== 'tag') return;
        handle = this.need(decodeTag(object.content, this.objects.idOf(handle)).object);
      }
    };

    for (const have of request.haves) start(have, true);
    for (const want of request.wants) start(want, false);
    // The closure's commits bound the walk like haves: what they reach is in the closure.
    for (const tip of closure?.tips ?? []) enqueue(tip, true);

    const walked: number[] = [];
    let slop = SLOP;
    while (queue.size > 0) {
      if (interestingQueued === 0 && --slop < 0) break;
      if (interestingQueued > 0) slop = SLOP;
      const { handle } = queue.pop()!;
      const mark = marks[handle]!;
      marks[handle] = mark | COMMIT_DONE;
      const uninteresting = (mark & COMMIT_UNINTERESTING) !== 0;
      if (!uninteresting) {
        interestingQueued--;
        walked.push(handle);
      }
      for (const parent of this.parentsOf(handle)) enqueue(parent, uninteresting);
    }
    const commits = walked.filter((handle) => !(marks[handle]! & COMMIT_UNINTERESTING));

    if (closure !== undefined) {
      // Each commit of the closure must be wanted, or a parent of a commit that is sent:
      // else the closure holds objects the wants may no longer reach.
      const reached = new Set(wantedCommits);
      for (const handle of commits) for (const parent of this.parentsOf(handle)) reached.add(parent);
      if (!closure.tips.every((tip) => reached.has(tip))) throw UNREACHED;
      for (let i = 0; i < closure.handles.length; i++) {
        const handle = closure.handles[i]!;
        marks[handle] = (marks[handle]! & ~UNINTERESTING) | ADDED;
        this.types[handle] = closure.types[i]!;
        this.order.push(handle);
        this.names.push(undefined);
      }
    } else {
      // Edges: what the client has right below what it gets; their trees are not sent again.
      for (const handle of commits) {
        for (const parent of this.parentsOf(handle)) {
          if (marks[parent]! & COMMIT_UNINTERESTING) this.markTreeUninteresting(this.commit(parent).tree);
        }
      }
    }
    for (const handle of commits) {
      this.add(handle, 'commit');
      rootTrees.push({ handle: this.commit(handle).tree, path: '' });
    }
    for (const root of rootTrees) this.addTree(root.handle, root.path);
    const total = commits.length + (closure?.commits ?? 0);
    // Before the tags: a closure is what the commits reach, whatever tags come and go.
    const kept = request.haves.length === 0 && request.boundary.size === 0 && onlyCommits ? this.closure(wantedCommits, total) : undefined;
    for (const tag of request.tags ?? []) this.addTagIfTargetSent(tag);
    const walk: PackWalk = { objects: this.objects, order: this.order, names: this.names, marks, types: this.types, commits: total };
    if (kept !== undefined) walk.closure = kept;
    return walk;
  }

  private closure(tips: readonly number[], commits: number): Closure {
    const handles = new Uint32Array(this.order.length);
    let count = 0;
    for (const handle of this.order) if (this.types[handle] !== TYPE_CODES.tag) handles[count++] = handle;
    const sorted = handles.subarray(0, count).sort();
    const types = new Uint8Array(count);
    for (let i = 0; i < count; i++) types[i] = this.types[sorted[i]!]!;
    return { readers: this.objects.readers, tips: Uint32Array.from(tips), handles: sorted.slice(), types, commits };
  }

  private need(id: ObjectId): number {
    const handle = this.objects.findId(id);
    if (handle < 0) throw MISSING;
    return handle;
  }

  private add(handle: number, type: ObjectType, name?: string): void {
    if (this.marks[handle]! & (ADDED | UNINTERESTING)) return;
    this.marks[handle] |= ADDED;
    this.types[handle] = TYPE_CODES[type];
    this.order.push(handle);
    this.names.push(name);
  }

  private commit(handle: number): WalkCommit {
    const cached = this.commitCache.get(handle);
    if (cached !== undefined) return cached;
    const id = this.objects.idOf(handle);
    const object = this.objects.read(handle, { verify: false, keep: false });
    if (object.type !== 'commit') throw new StoreError('ECORRUPT', `object ${id} is a ${object.type}, expected a commit`);
    const commit = this.parseCommit(id, object.content);
    this.commitCache.set(handle, commit);
    return commit;
  }

  /** The tree, parents and commit time, read off the bytes; the store's decoder for anything unusual. */
  private parseCommit(id: ObjectId, content: Buffer): WalkCommit {
    const tree = this.hexAt(content, 5);
    const parents: number[] = [];
    let at = 46;
    let fast = tree >= 0 && content.toString('latin1', 0, 5) === 'tree ' && content[45] === 0x0a;
    while (fast && content.toString('latin1', at, at + 7) === 'parent ') {
      const parent = this.hexAt(content, at + 7);
      if (parent < 0 || content[at + 47] !== 0x0a) fast = false;
      parents.push(parent);
      at += 48;
    }
    const committer = fast ? content.indexOf('\ncommitter ', at - 1) : -1;
    const lineEnd = committer < 0 ? -1 : content.indexOf(0x0a, committer + 1);
    const time = lineEnd < 0 ? undefined : /> (-?\d+) [+-]\d{4}$/.exec(content.toString('latin1', committer + 11, lineEnd))?.[1];
    if (time !== undefined) return { id, tree, parents, time: Number(time) };
    const decoded = decodeCommit(content, id);
    return { id, tree: this.need(decoded.tree), parents: decoded.parents.map((parent) => this.need(parent)), time: decoded.committer.timestamp };
  }

  /** The handle of the 40 lowercase hex digits at `content[at]`; -1 if they are not that (or missing). */
  private hexAt(content: Buffer, at: number): number {
    const raw = rawId;
    if (at + 40 > content.length) return -1;
    for (let i = 0; i < 20; i++) {
      const high = HEX_VALUES[content[at + 2 * i]!]!;
      const low = HEX_VALUES[content[at + 2 * i + 1]!]!;
      if ((high | low) & 0x10) return -1;
      raw[i] = (high << 4) | low;
    }
    const handle = this.objects.find(raw);
    if (handle < 0) throw MISSING;
    return handle;
  }

  private parentsOf(handle: number): readonly number[] {
    return this.boundary.has(handle) ? [] : this.commit(handle).parents;
  }

  /** Depth-first in tree order, like rev-list: a subtree's objects follow it. */
  private addTree(root: number, rootPath: string): void {
    const marks = this.marks;
    const stack = [{ handle: root, path: rootPath }];
    while (stack.length > 0) {
      const { handle, path } = stack.pop()!;
      if (marks[handle]! & (ADDED | UNINTERESTING)) continue;
      this.add(handle, 'tree', path);
      const subtrees: { handle: number; path: string }[] = [];
      this.scanTree(handle, TREE_WALKED | TREE_MARKED, (entry, isTree, content, nameStart, nameEnd) => {
        if (marks[entry]! & (ADDED | UNINTERESTING)) return;
        const name = content.toString('utf8', nameStart, nameEnd);
        const entryPath = path === '' ? name : `${path}/${name}`;
        if (isTree) subtrees.push({ handle: entry, path: entryPath });
        else this.add(entry, 'blob', entryPath);
      });
      marks[handle] |= TREE_WALKED;
      for (let i = subtrees.length - 1; i >= 0; i--) stack.push(subtrees[i]!);
    }
  }

  private markTreeUninteresting(tree: number): void {
    const marks = this.marks;
    const stack = [tree];
    while (stack.length > 0) {
      const handle = stack.pop()!;
      if (marks[handle]! & UNINTERESTING) continue;
      marks[handle] |= UNINTERESTING;
      this.scanTree(handle, TREE_MARKED, (entry, isTree) => {
        if (isTree) stack.push(entry);
        else marks[entry] |= UNINTERESTING;
      });
      marks[handle] |= TREE_MARKED;
    }
  }

  /** include-tag: an annotated tag (and the tags it points through) goes along with its target. */
  private addTagIfTargetSent(tag: AdvertisedRef): void {
    if (tag.peeled === undefined || !tag.name.startsWith('refs/tags/')) return;
    const target = this.objects.findId(tag.peeled);
    if (target < 0 || !(this.marks[target]! & ADDED)) return;
    let current = tag.id;
    for (let depth = 0; depth < 16 && current !== tag.peeled; depth++) {
      const handle = this.need(current);
      this.add(handle, 'tag');
      const object = this.objects.read(handle, { verify: true, keep: false });
      if (object.type !== 'tag') throw new StoreError('ECORRUPT', `object ${current} is a ${object.type}, expected a tag`);
      current = decodeTag(object.content, current).object;
    }
  }
}

function grow(array: Uint32Array, needed: number): Uint32Array {
  const bigger = new Uint32Array(Math.max(needed, array.length * 2));
  bigger.set(array);
  return bigger;
}

const INCOMPLETE = Symbol('an object is missing');
const CHECKED = 1;
const TREE_CHECKED = 2;

/**
 * receive-pack's connectivity check on handles: everything a new tip reaches must be on disk.
 * The walk follows what the pushed pack (`fresh`, an index into the readers) brought and stops
 * at objects the repository had (it was complete before). Blobs are looked up, never read;
 * trees stored as deltas are scanned only where they differ from a tree already checked.
 */
export class PackConnectivity extends TreeScanner {
  constructor(
    objects: PackObjects,
    private readonly fresh: number,
    /** Whether an object the packs lack is on disk anyway (a loose object). */
    private readonly elsewhere: (id: ObjectId) => boolean,
    private readonly resolveExternal: (id: ObjectId) => RawObject | undefined,
  ) {
    super(objects);
  }

  protected missingEntry(content: Buffer, at: number): void {
    if (!this.elsewhere(content.toString('hex', at, at + 20))) throw INCOMPLETE;
  }

  /** Whether every object `tip` reaches is on disk. */
  complete(tip: ObjectId): boolean {
    try {
      const start = this.handleOf(tip);
      if (start >= 0) this.check(start);
      return true;
    } catch (error) {
      if (error !== INCOMPLETE) throw error;
      // Trees marked checked on the way may have entries never looked at: start afresh next time.
      this.marks = new Uint8Array(this.objects.total);
      this.layouts = new TreeLayouts();
      return false;
    }
  }

  /** The handle of `id`; -1 when only a loose object has it; INCOMPLETE when nothing does. */
  private handleOf(id: ObjectId): number {
    const handle = this.objects.findId(id);
    if (handle >= 0) return handle;
    if (this.elsewhere(id)) return -1;
    throw INCOMPLETE;
  }

  private check(start: number): void {
    const marks = this.marks;
    const stack = [start];
    const push = (id: ObjectId): void => {
      const handle = this.handleOf(id);
      if (handle >= 0) stack.push(handle);
    };
    while (stack.length > 0) {
      const handle = stack.pop()!;
      if (marks[handle]! & CHECKED) continue;
      marks[handle] |= CHECKED;
      const { reader, pack, rank } = this.objects.locate(handle);
      if (pack !== this.fresh) continue;
      const id = reader.idOfRank(rank);
      // The type from the entry headers: blobs, most of a big push, are never inflated here.
      const type = reader.info(id, this.resolveExternal)?.type;
      if (type === 'commit') {
        const commit = decodeCommit(this.objects.read(handle, { verify: true, keep: false }).content, id);
        push(commit.tree);
        for (const parent of commit.parents) push(parent);
      } else if (type === 'tree') {
        this.scanTree(handle, TREE_CHECKED, (entry, isTree) => {
          if (marks[entry]! & CHECKED) return;
          if (isTree) stack.push(entry);
          else marks[entry] |= CHECKED;
        });
        marks[handle] |= TREE_CHECKED;
      } else if (type === 'tag') {
        push(decodeTag(this.objects.read(handle, { verify: true, keep: false }).content, id).object);
      }
    }
  }
}
