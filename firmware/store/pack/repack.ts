/**
 * gc's repack step: every object, loose or packed, into one new pack with deltas; then the
 * old packs and the loose objects that the new pack holds are deleted. Nothing is pruned, so
 * all history stays, and an object written by someone else during the repack is not in our
 * snapshot, hence not deleted. Loose objects are read through callbacks (the object database
 * owns that format). Packed objects are copied as stored wherever the writer keeps their
 * stored form, so a repack without a delta search copies bytes and checks CRC32s, no more.
 */
import fs from 'node:fs';
import path from 'node:path';

import { StoreError } from '../errors.js';
import { loosePath } from '../loose.js';
import { decodeCommit, decodeTree, type ObjectId, type ObjectType, type RawObject } from '../objects.js';
import { objectTypeOfCode } from './format.js';
import { PackReader, type ObjectInfo, type PackReaderOptions, type ResolveExternal, type StoredRef } from './reader.js';
import { pacer, writePackFromAsync, type PackSourceEntry, type StoredSource, type WritePackOptions } from './writer.js';

export interface RepackOptions extends WritePackOptions {
  listLoose(): Iterable<ObjectId>;
  /** The loose object, or undefined when it is gone. */
  readLoose(id: ObjectId): RawObject | undefined;
  /** Deletes a loose object the new pack holds (default: unlink objects/xx/yyyy…). */
  removeLoose?(id: ObjectId): void;
  reader?: PackReaderOptions;
  /** Only these packs (a roll-up of the small ones); default: every pack not kept by a .keep. */
  packFiles?: readonly string[];
}

export interface RepackStats {
  objects: number;
  packBytes: number;
  deltas: number;
  removedLoose: number;
  removedPacks: number;
  /** The new pack, when there was anything to pack. */
  packFile?: string;
}

/** Files git keeps beside a pack, deleted with it (the .pack goes last). */
const PACK_COMPANIONS = ['.bitmap', '.rev', '.mtimes', '.promisor'];

function existingPacks(packDir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(packDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const present = new Set(names);
  return names
    .filter((name) => /^pack-[0-9a-f]{40}\.pack$/.test(name))
    .filter((name) => {
      const base = name.slice(0, -'.pack'.length);
      // A .keep file asks gc to leave that pack alone (git's receive-pack uses it mid-push).
      return present.has(`${base}.idx`) && !present.has(`${base}.keep`);
    })
    .sort()
    .map((name) => path.join(packDir, name));
}

/** Deletes a pack and those of its companions listed in `present` (the pack directory's names). */
function removePack(packFile: string, present: ReadonlySet<string>): void {
  const base = packFile.slice(0, -'.pack'.length);
  for (const suffix of ['.idx', ...PACK_COMPANIONS]) {
    if (present.has(path.basename(base + suffix))) unlinkIfPresent(base + suffix);
  }
  unlinkIfPresent(packFile);
}

/** One unlink (rmSync costs an lstat first, and a roll-up deletes dozens of files). */
function unlinkIfPresent(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * A packed object as a writer source: the writer copies its stored entry where it can, and
 * loads it (inflated and checked against its id) where it cannot. A whole entry's header
 * gives its type and size; a delta's need info(), a walk down its chain and an inflation, so
 * they are looked up only if the writer asks, which it does not to copy the delta.
 */
class PackedSource implements PackSourceEntry {
  readonly id: ObjectId;
  readonly stored: StoredSource;
  nameHint?: string;
  private info: ObjectInfo | undefined;

  constructor(
    private readonly reader: PackReader,
    entry: StoredRef,
    private readonly resolveExternal: ResolveExternal,
  ) {
    this.id = entry.id;
    this.stored = { deltaBase: entry.baseId, read: entry.read };
    const type = objectTypeOfCode(entry.typeCode);
    if (type !== undefined) this.info = { type, size: entry.size };
  }

  get type(): ObjectType {
    return this.objectInfo().type;
  }

  get size(): number {
    return this.objectInfo().size;
  }

  load(): Buffer {
    return this.reader.read(this.id, this.resolveExternal)!.content;
  }

  private objectInfo(): ObjectInfo {
    this.info ??= this.reader.info(this.id, this.resolveExternal)!;
    return this.info;
  }
}

export async function repack(objectsDir: string, options: RepackOptions): Promise<RepackStats> {
  const packDir = path.join(objectsDir, 'pack');
  fs.mkdirSync(packDir, { recursive: true });
  const oldPackFiles = options.packFiles ?? existingPacks(packDir);
  const readers: PackReader[] = [];
  const pause = pacer();
  try {
    for (const file of oldPackFiles) readers.push(PackReader.open(file, options.reader));
    // Bases outside a pack: loose, or one level into the other packs (no recursion, so
    // packs that point at each other cannot loop).
    const resolveExternal: ResolveExternal = (id) =>
      options.readLoose(id) ?? readers.find((reader) => reader.has(id))?.read(id);

    const sources = new Map<ObjectId, PackSourceEntry>();
    for (const reader of readers) {
      for (const entry of reader.storedEntries()) {
        if (sources.has(entry.id)) continue;
        const turn = pause();
        if (turn) await turn;
        sources.set(entry.id, new PackedSource(reader, entry, resolveExternal));
      }
    }
    const looseIds = [...options.listLoose()];
    for (const id of looseIds) {
      if (sources.has(id)) continue;
      await pause();
      const object = options.readLoose(id);
      // Gone since it was listed: another gc packed it, into a pack we do not delete.
      if (object === undefined) continue;
      sources.set(id, {
        id,
        type: object.type,
        size: object.content.length,
        load: () => {
          const again = options.readLoose(id);
          if (again === undefined) throw new StoreError('ENOTFOUND', `loose object ${id} vanished during repack`);
          return again.content;
        },
      });
    }
    if (sources.size === 0) return { objects: 0, packBytes: 0, deltas: 0, removedLoose: 0, removedPacks: 0 };
    // Without a delta search the order only decides how fast the copy reads: keep pack order.
    const ordered = options.deltas === false ? [...sources.values()] : await historyOrder(sources, pause);
    const written = await writePackFromAsync(packDir, ordered, options);
    for (const reader of readers) reader.close();
    let removedPacks = 0;
    const present = new Set(fs.readdirSync(packDir));
    for (const file of oldPackFiles) {
      if (file === written.packFile) continue;
      removePack(file, present);
      removedPacks++;
    }
    const removeLoose = options.removeLoose ?? ((id: ObjectId) => fs.rmSync(loosePath(objectsDir, id), { force: true }));
    let removedLoose = 0;
    for (const id of looseIds) {
      if (!sources.has(id)) continue;
      removeLoose(id);
      removedLoose++;
    }
    return {
      objects: written.objectCount,
      packBytes: written.packBytes,
      deltas: written.deltaCount,
      removedLoose,
      removedPacks,
      packFile: written.packFile,
    };
  } finally {
    for (const reader of readers) reader.close();
  }
}

/**
 * The objects in the order `git rev-list --objects` would list them: commits newest first,
 * then the trees and blobs reached from each, named by their path. The writer sorts by type,
 * name and size and keeps this order among equals, so successive versions of one file sit
 * side by side in the delta window, as in git. Objects no commit reaches keep their place
 * at the end.
 */
async function historyOrder(sources: Map<ObjectId, PackSourceEntry>, pause: () => Promise<void> | undefined): Promise<PackSourceEntry[]> {
  const commits: { source: PackSourceEntry; time: number; tree: ObjectId | undefined }[] = [];
  for (const source of sources.values()) {
    if (source.type !== 'commit') continue;
    await pause();
    const content = source.load();
    const commit = decodeOrUndefined(() => decodeCommit(content, source.id));
    commits.push({ source, time: commit?.committer.timestamp ?? 0, tree: commit?.tree });
  }
  commits.sort((a, b) => b.time - a.time);
  const ordered: PackSourceEntry[] = [];
  const placed = new Set<ObjectId>();
  const place = (source: PackSourceEntry): void => {
    placed.add(source.id);
    ordered.push(source);
  };
  for (const { source } of commits) place(source);
  for (const { tree } of commits) {
    const stack: { id: ObjectId; path: string }[] = tree === undefined ? [] : [{ id: tree, path: '' }];
    while (stack.length > 0) {
      const { id, path: objectPath } = stack.pop()!;
      const source = sources.get(id);
      if (source === undefined || placed.has(id)) continue;
      await pause();
      source.nameHint ??= objectPath;
      place(source);
      if (source.type !== 'tree') continue;
      const content = source.load();
      const entries = decodeOrUndefined(() => decodeTree(content, id)) ?? [];
      for (let i = entries.length - 1; i >= 0; i--) {
        const entry = entries[i]!;
        stack.push({ id: entry.id, path: objectPath === '' ? entry.name : `${objectPath}/${entry.name}` });
      }
    }
  }
  for (const source of sources.values()) if (!placed.has(source.id)) ordered.push(source);
  return ordered;
}

/** A malformed (but intact) commit or tree is still packed as it is; it only orders nothing. */
function decodeOrUndefined<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch {
    return undefined;
  }
}
