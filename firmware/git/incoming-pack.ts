/**
 * A pushed pack on its way into a repository. It streams to a temporary file in
 * objects/pack (a name the object database does not read) while PackStreamCheck refuses
 * anything malformed or oversized as it arrives; then it is indexed and, if thin, completed
 * from the repository (index-pack --fix-thin). Only then is it installed under its real name,
 * pack before index, so no reader ever sees part of it. Until installed, and whenever it is
 * discarded, it is invisible; discard() removes every file it made.
 */
import fs from 'node:fs';
import path from 'node:path';

import { fsyncDirectory } from '../runtime/index.js';
import type { ObjectId, Store } from '../store/index.js';
import { PackReader, PackStreamCheck, indexPackFixingThin, temporaryName, type PackStreamLimits } from '../store/pack/index.js';

export interface IncomingPackLimits extends PackStreamLimits {
  /** Longest delta chain indexing follows before it calls the pack corrupt. */
  maxDeltaDepth: number;
}

export class IncomingPack {
  readonly packDir: string;
  /** Pack bytes received. */
  bytes = 0;
  objectCount = 0;
  appendedBases = 0;
  private readonly tempPack: string;
  private readonly check: PackStreamCheck;
  private handle: fs.promises.FileHandle | undefined;
  /** Where it was installed; `owned` is false when an identical pack was there already. */
  private installed: { pack: string; idx: string; owned: boolean } | undefined;
  private checksum = '';

  private constructor(
    store: Store,
    private readonly limits: IncomingPackLimits,
  ) {
    this.packDir = path.join(store.gitDir, 'objects', 'pack');
    this.tempPack = path.join(this.packDir, temporaryName('push', '.pack'));
    this.check = new PackStreamCheck(limits);
  }

  static async create(store: Store, limits: IncomingPackLimits): Promise<IncomingPack> {
    const pack = new IncomingPack(store, limits);
    fs.mkdirSync(pack.packDir, { recursive: true });
    pack.handle = await fs.promises.open(pack.tempPack, 'wx', 0o444);
    return pack;
  }

  private get tempIdx(): string {
    return `${this.tempPack.slice(0, -'.pack'.length)}.idx`;
  }

  /** The next bytes of the pack: checked, then written. */
  async write(chunk: Buffer): Promise<void> {
    this.check.update(chunk);
    this.bytes += chunk.length;
    for (let done = 0; done < chunk.length; ) done += (await this.handle!.write(chunk, done)).bytesWritten;
  }

  /** The body ended: the pack must be whole; it is made durable, indexed and completed. */
  async finish(store: Store): Promise<void> {
    this.checksum = this.check.end();
    await this.handle!.sync();
    await this.handle!.close();
    this.handle = undefined;
    const indexed = indexPackFixingThin(this.tempPack, (id) => store.odb.read(id), { maxDeltaDepth: this.limits.maxDeltaDepth });
    this.checksum = indexed.checksum;
    this.objectCount = indexed.objectCount;
    this.appendedBases = indexed.appendedBases;
  }

  /** Opens the (indexed) pack for reading, to check what it holds. */
  open(): PackReader {
    return PackReader.open(this.installed?.pack ?? this.tempPack);
  }

  /** Renames the pack, then its index, into place; the object database picks them up. */
  install(): void {
    const base = path.join(this.packDir, `pack-${this.checksum}`);
    if (fs.existsSync(`${base}.idx`)) {
      // The same pack arrived before: its objects are there already, and that pack is not ours.
      this.removeTemp();
      this.installed = { pack: `${base}.pack`, idx: `${base}.idx`, owned: false };
      return;
    }
    fs.renameSync(this.tempPack, `${base}.pack`);
    fs.renameSync(this.tempIdx, `${base}.idx`);
    this.installed = { pack: `${base}.pack`, idx: `${base}.idx`, owned: true };
    fsyncDirectory(this.packDir);
    // The object database notices new packs by the directory's mtime; two renames within one
    // clock tick of its last look could hide them, so the mtime is moved on explicitly.
    const now = new Date();
    fs.utimesSync(this.packDir, now, now);
  }

  /** Removes the pack whether installed or not (index first, so no reader finds half of it). */
  async discard(): Promise<void> {
    if (this.handle !== undefined) {
      await this.handle.close().catch(() => undefined);
      this.handle = undefined;
    }
    if (this.installed?.owned === true) {
      fs.rmSync(this.installed.idx, { force: true });
      fs.rmSync(this.installed.pack, { force: true });
      const now = new Date();
      fs.utimesSync(this.packDir, now, now);
    }
    this.installed = undefined;
    this.removeTemp();
  }

  private removeTemp(): void {
    fs.rmSync(this.tempIdx, { force: true });
    fs.rmSync(this.tempPack, { force: true });
  }
}

/** Whether an object is on disk now, loose or packed (ignoring what any cache remembers). */
export function looseObjectExists(store: Store, id: ObjectId): boolean {
  // git's loose layout: objects/<first two hex digits>/<the other 38>.
  return fs.existsSync(path.join(store.gitDir, 'objects', id.slice(0, 2), id.slice(2)));
}
