/**
 * The object database of one repository: loose objects and packs behind one read/write
 * interface, with byte-bounded caches of raw objects and parsed trees and commits so hot
 * reads never touch the disk. Writes are batched: one round of fsyncs covers every object
 * of a group commit (temp file, fsync, rename, fsync the directories — git's order).
 */
import fs from 'node:fs';
import path from 'node:path';
import { sha1 } from '../native.js';
import { StoreError } from './errors.js';
import { StagedFiles } from '../runtime/durable.js';
import { hasLoose, listLoose, readLoose } from './loose.js';
import { ByteLru } from './lru.js';
import {
  decodeCommit,
  decodeTag,
  decodeTree,
  type Commit,
  type ObjectId,
  type ObjectType,
  type RawObject,
  type Tag,
  type TreeEntry,
} from './objects.js';
import { encodePack, encodePackIndex, PackReader, repack, type PackSourceEntry, type RepackStats } from './pack/index.js';


export interface NewObject {
  type: ObjectType;
  content: Buffer;
}

/** A tree parsed once: entries in git order plus a name index. */
export interface ParsedTree {
  entries: readonly TreeEntry[];
  byName: ReadonlyMap<string, TreeEntry>;
}

export interface OdbOptions {
  /** Bytes of raw objects kept in memory; parsed trees and commits take about as much again. */
  cacheBytes?: number;
  /** fsync background work (roll-ups) too; false only for stores that never fsync. */
  durable?: boolean;
}

/** Fewer packs than this are not worth rolling up (a lookup tries each pack's index). */
const ROLL_UP_MIN_PACKS = 24;

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

export class ObjectDatabase {
  readonly objectsDir: string;
  private packs: PackReader[] = [];
  private packDirStamp = '';
  private readonly raw: ByteLru<ObjectId, RawObject>;
  private readonly trees: ByteLru<ObjectId, ParsedTree>;
  private readonly commits: ByteLru<ObjectId, Commit>;
  /** Objects made in memory (merges) that views must read before they are written. */
  private readonly staged = new Map<ObjectId, RawObject>();

  private readonly durable: boolean;
  private readonly closeListeners = new Set<() => void>();

  constructor(gitDir: string, options: OdbOptions = {}) {
    this.objectsDir = path.join(gitDir, 'objects');
    this.durable = options.durable ?? true;
    const bytes = options.cacheBytes ?? 32 * 1024 * 1024;
    this.raw = new ByteLru(bytes, (o) => o.content.length + 64);
    this.trees = new ByteLru(bytes / 2, (t) => 64 + t.entries.length * 120);
    this.commits = new ByteLru(bytes / 8, (c) => 256 + c.message.length);
    this.refreshPacks();
  }

  /** Re-reads objects/pack when it changed (a gc here, or a pack pushed by another process). */
  refreshPacks(): boolean {
    const packDir = path.join(this.objectsDir, 'pack');
    let names: string[];
    try {
      const stat = fs.statSync(packDir);
      const stamp = `${stat.ino}:${stat.mtimeMs}`;
      if (stamp === this.packDirStamp) return false;
      this.packDirStamp = stamp;
      names = fs.readdirSync(packDir);
    } catch {
      return false;
    }
    const wanted = new Set(names.filter((n) => n.startsWith('pack-') && n.endsWith('.idx')).map((n) => path.join(packDir, n.replace(/\.idx$/, '.pack'))));
    const kept = this.packs.filter((p) => wanted.has(p.packFile));
    for (const p of this.packs) if (!wanted.has(p.packFile)) p.close();
    for (const file of wanted) {
      if (kept.some((p) => p.packFile === file)) continue;
      try {
        kept.push(PackReader.open(file));
      } catch (err) {
        // Removed by a concurrent gc between the listing and the open: its objects moved.
        if (fs.existsSync(file)) throw err;
      }
    }
    this.packs = kept;
    return true;
  }

  has(id: ObjectId): boolean {
    if (this.raw.get(id) !== undefined || this.staged.has(id)) return true;
    return this.existsOnDisk(id) || (this.refreshPacks() && this.packs.some((p) => p.has(id)));
  }

  /**
   * The object, or undefined when this repository does not have it. `keep: false` reads
   * without caching: for large blobs read once (mail messages a SEARCH scans), which would
   * only push the trees and commits everyone needs out of the cache.
   */
  read(id: ObjectId, options: { keep?: boolean } = {}): RawObject | undefined {
    const cached = this.raw.get(id) ?? this.staged.get(id);
    if (cached !== undefined) return cached;
    const found = this.readUncached(id) ?? (this.refreshPacks() ? this.readUncached(id) : undefined);
    if (found !== undefined && options.keep !== false) this.raw.set(id, found);
    return found;
  }

  /** Packs first (an in-memory index lookup), then a loose file (as git and pushes leave them). */
  private readUncached(id: ObjectId): RawObject | undefined {
    for (const pack of this.packs) {
      if (pack.has(id)) return pack.read(id, this.resolveDeltaBase);
    }
    return readLoose(this.objectsDir, id);
  }

  /**
   * A ref-delta's base from outside its pack, one level deep: a base that is itself a
   * ref-delta into yet another pack is resolved by that pack alone, so packs whose deltas
   * point at each other cannot recurse without end.
   */
  private readonly resolveDeltaBase = (base: ObjectId): RawObject | undefined => {
    const cached = this.raw.get(base) ?? this.staged.get(base);
    if (cached !== undefined) return cached;
    for (const pack of this.packs) if (pack.has(base)) return pack.read(base);
    return readLoose(this.objectsDir, base);
  };

  /** The object, which must exist and be of `type`. */
  readTyped(id: ObjectId, type: ObjectType, options: { keep?: boolean } = {}): Buffer {
    const object = this.read(id, options);
    if (object === undefined) throw new StoreError('ENOTFOUND', `object ${id} is missing`);
    if (object.type !== type) throw new StoreError('ECORRUPT', `object ${id} is a ${object.type}, expected a ${type}`);
    return object.content;
  }

  readTree(id: ObjectId): ParsedTree {
    const cached = this.trees.get(id);
    if (cached !== undefined) return cached;
    const entries = decodeTree(this.readTyped(id, 'tree'), id);
    const tree = { entries, byName: new Map(entries.map((e) => [e.name, e])) };
    this.trees.set(id, tree);
    return tree;
  }

  /** Caches a tree parsed elsewhere (just built), so reading it back decodes nothing. */
  rememberTree(id: ObjectId, tree: ParsedTree): void {
    this.trees.set(id, tree);
  }

  readCommit(id: ObjectId): Commit {
    const cached = this.commits.get(id);
    if (cached !== undefined) return cached;
    const commit = decodeCommit(this.readTyped(id, 'commit'), id);
    this.commits.set(id, commit);
    return commit;
  }

  readTag(id: ObjectId): Tag {
    return decodeTag(this.readTyped(id, 'tag'), id);
  }

  /** Makes objects readable before they are written; `write` of the same ids un-stages them. */
  stage(objects: readonly (NewObject & { id: ObjectId })[]): void {
    for (const o of objects) this.staged.set(o.id, { type: o.type, content: o.content });
  }

  /** Forgets staged objects that will not be written (an abandoned merge). */
  unstage(objects: readonly { id: ObjectId }[]): void {
    for (const o of objects) this.staged.delete(o.id);
  }

  /** Ids of a batch, hashed in one native call. */
  hashAll(objects: readonly NewObject[]): ObjectId[] {
    if (objects.length === 0) return [];
    const digests = sha1.hashObjects(
      objects.map((o) => o.type),
      objects.map((o) => o.content),
    );
    const ids: ObjectId[] = [];
    for (let i = 0; i < objects.length; i++) ids.push(digests.toString('hex', i * 20, i * 20 + 20));
    return ids;
  }

  /**
   * Stages the objects not yet in the repository as one new pack (and its index) in `staged`:
   * one file for any number of objects, so a group commit costs two rounds of fsyncs however
   * much it wrote. Returns what to call once the staged files are installed.
   */
  stageWrite(objects: readonly (NewObject & { id: ObjectId })[], staged: StagedFiles): () => void {
    const fresh = new Map<ObjectId, NewObject>();
    for (const object of objects) {
      this.raw.set(object.id, { type: object.type, content: object.content });
      if (!fresh.has(object.id) && !this.existsOnDisk(object.id)) fresh.set(object.id, object);
    }
    const written = [...objects.map((o) => o.id)];
    if (fresh.size === 0) return () => this.unstage(written.map((id) => ({ id })));
    const sources: PackSourceEntry[] = [...fresh].map(([id, o]) => ({ id, type: o.type, size: o.content.length, load: () => o.content }));
    const chunks: Buffer[] = [];
    // No delta search on the hot path; rolling small packs up later finds the deltas.
    const encoded = encodePack(sources, { deltas: false, compressionLevel: 1 }, (chunk) => chunks.push(chunk));
    const name = path.join(this.objectsDir, 'pack', `pack-${encoded.checksum.toString('hex')}`);
    fs.mkdirSync(path.dirname(name), { recursive: true });
    // The pack before its index: a reader never finds an index without its pack.
    staged.add(`${name}.pack`, Buffer.concat(chunks), 0o444);
    const index = encodePackIndex(encoded.entries, encoded.checksum);
    staged.add(`${name}.idx`, index, 0o444);
    return () => {
      if (!this.packs.some((p) => p.packFile === `${name}.pack`)) this.packs.unshift(PackReader.open(`${name}.pack`, {}, index));
      this.unstage(written.map((id) => ({ id })));
    };
  }

  /** Writes objects now (outside a group commit: tags, tests). */
  async write(objects: readonly (NewObject & { id: ObjectId })[], durable: boolean): Promise<void> {
    const staged = new StagedFiles();
    try {
      const installed = this.stageWrite(objects, staged);
      if (durable) await staged.sync();
      staged.install();
      installed();
    } catch (err) {
      staged.abort();
      throw err;
    }
    if (durable) await staged.syncDirectories();
  }

  private existsOnDisk(id: ObjectId): boolean {
    return this.packs.some((p) => p.has(id)) || hasLoose(this.objectsDir, id);
  }

  /** Every object id, loose and packed (for gc, fsck-like checks and tests). */
  *allIds(): Generator<ObjectId> {
    const seen = new Set<ObjectId>();
    for (const id of listLoose(this.objectsDir)) if (!seen.has(id)) (seen.add(id), yield id);
    for (const pack of this.packs) for (const id of pack.ids()) if (!seen.has(id)) (seen.add(id), yield id);
  }

  /**
   * The small packs to roll into one, by git's geometric rule: after the roll-up every pack
   * is at least twice the size of all smaller ones together, so each object is rewritten
   * O(log n) times however many small commits arrive. Empty when there is nothing worth it.
   */
  rollUpCandidates(): string[] {
    if (this.packs.length < ROLL_UP_MIN_PACKS) return [];
    const bySize = this.packs
      .map((p) => ({ file: p.packFile, bytes: fileSize(p.packFile) }))
      .sort((a, b) => a.bytes - b.bytes);
    let smaller = bySize[0]!.bytes;
    let count = 1;
    for (let i = 1; i < bySize.length; i++) {
      if (bySize[i]!.bytes < 2 * smaller) count = i + 1;
      smaller += bySize[i]!.bytes;
    }
    return count >= 2 ? bySize.slice(0, count).map((p) => p.file) : [];
  }

  /** Rolls the small packs up (see rollUpCandidates); every object stays readable throughout. */
  async rollUp(): Promise<void> {
    const packFiles = this.rollUpCandidates();
    if (packFiles.length === 0) return;
    // No delta search: a roll-up must be cheap; gc() is the place for finding deltas.
    await repack(this.objectsDir, { packFiles, listLoose: () => [], readLoose: () => undefined, deltas: false, durable: this.durable });
    this.packDirStamp = '';
    this.refreshPacks();
  }

  /**
   * Packs the loose objects (what the git CLI or an old push left) into one new pack and
   * removes them, as `git gc --auto` would; the packs stay as they are. Returns how many.
   */
  async packLoose(): Promise<number> {
    if (listLoose(this.objectsDir).next().done === true) return 0;
    const stats = await repack(this.objectsDir, {
      packFiles: [],
      listLoose: () => listLoose(this.objectsDir),
      readLoose: (id: ObjectId) => readLoose(this.objectsDir, id),
      durable: this.durable,
    });
    this.packDirStamp = '';
    this.refreshPacks();
    return stats.removedLoose;
  }

  /** Packs every object (loose and packed) into one pack; keeps all of them. */
  async gc(): Promise<RepackStats> {
    const stats = await repack(this.objectsDir, {
      listLoose: () => listLoose(this.objectsDir),
      readLoose: (id: ObjectId) => readLoose(this.objectsDir, id),
    });
    this.packDirStamp = '';
    this.refreshPacks();
    return stats;
  }

  /** Calls `listener` when the database closes: for pack readers kept outside it (the git server's). */
  onClose(listener: () => void): void {
    this.closeListeners.add(listener);
  }

  close(): void {
    for (const listener of this.closeListeners) listener();
    this.closeListeners.clear();
    for (const pack of this.packs) pack.close();
    this.packs = [];
    this.raw.clear();
    this.trees.clear();
    this.commits.clear();
  }
}
