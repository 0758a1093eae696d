/**
 * Streams a planned pack to the client: each object becomes a writer source that copies its
 * entry from the store's packs as stored where it can (whole objects, and deltas whose base
 * goes in the same pack) and is loaded and compressed otherwise; the writer's bytes go out
 * in side-band packets as they are made, pausing whenever the socket is full, so neither the
 * pack nor more than a window of objects is ever held in memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ServerResponse } from 'node:http';

import type { ObjectId, Store } from '../store/index.js';
import { PackReader, encodePackSteps, type PackSourceEntry, type WritePackOptions } from '../store/pack/index.js';
import { GitRequestError } from './errors.js';
import type { PlannedObject } from './object-walk.js';
import { reusePackSteps, type ReuseOptions } from './pack-reuse.js';
import type { Closure, PackWalk } from './pack-walk.js';
import { BAND_DATA, BAND_ERROR, BAND_PROGRESS, FLUSH_PKT, sideBand } from './pkt-line.js';

type Odb = Store['odb'];

// ---- the store's packs, for copying entries as stored ------------------------------------

/**
 * The delta base cache of each reader here: a walk reads a delta chain from one end to the
 * other, so a few megabytes hold what it needs; more is memory a board does not have.
 */
const DELTA_BASE_CACHE_BYTES = 4 * 1024 * 1024;

interface OpenPack {
  reader: PackReader;
  users: number;
  gone: boolean;
}

/**
 * Readers of one repository's packs, shared by concurrent fetches. A pack removed by a gc is
 * closed once the last fetch using it has finished (its open descriptor keeps it readable);
 * all of them are once the store closes. Between fetches the readers keep only their indexes.
 */
export class PackSet {
  private readonly packs = new Map<string, OpenPack>();
  /** What the last big clone sent (see pack-walk.ts), while its packs are all here. */
  private closure: Closure | undefined;
  private closed = false;

  constructor(private readonly packDir: string) {}

  /** How many packs are open (for tests: descriptors must not pile up). */
  get openPacks(): number {
    return this.packs.size;
  }

  /** Closes every pack no fetch is using; the others close when their fetches end. */
  close(): void {
    this.closed = true;
    this.closure = undefined;
    for (const pack of this.packs.values()) {
      pack.gone = true;
      this.closeIfUnused(pack);
    }
    this.packs.clear();
  }

  /** The packs as they are now, held open until `release`. */
  acquire(): PackLease {
    this.refresh();
    const held = [...this.packs.values()].filter((pack) => !pack.gone || this.closed);
    for (const pack of held) pack.users++;
    if (this.closed) this.packs.clear();
    let released = false;
    return {
      readers: held.map((pack) => pack.reader),
      closure: () => this.closure,
      keepClosure: (closure) => {
        this.closure = closure;
      },
      find: (id) => held.find((pack) => pack.reader.has(id))?.reader,
      locate: (id) => {
        for (let rank = 0; rank < held.length; rank++) {
          const reader = held[rank]!.reader;
          const offset = reader.offsetOf(id);
          if (offset !== undefined) return { reader, rank, offset };
        }
        return undefined;
      },
      release: () => {
        if (released) return;
        released = true;
        for (const pack of held) {
          pack.users--;
          this.closeIfUnused(pack);
        }
      },
    };
  }

  private refresh(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.packDir);
    } catch {
      names = [];
    }
    const present = new Set(names.filter((name) => /^pack-[0-9a-f]{40}\.idx$/.test(name)).map((name) => path.join(this.packDir, name.replace(/\.idx$/, '.pack'))));
    for (const [file, pack] of this.packs) {
      if (present.has(file)) continue;
      if (this.closure?.readers.includes(pack.reader)) this.closure = undefined;
      pack.gone = true;
      this.packs.delete(file);
      this.closeIfUnused(pack);
    }
    for (const file of present) {
      if (this.packs.has(file)) continue;
      try {
        // A closed set serves a late request with packs that close when it is done.
        this.packs.set(file, { reader: PackReader.open(file, { deltaBaseCacheBytes: DELTA_BASE_CACHE_BYTES }), users: 0, gone: this.closed });
      } catch (error) {
        // Removed between the listing and the open (a gc): its objects are in another pack.
        if (fs.existsSync(file)) throw error;
      }
    }
  }

  private closeIfUnused(pack: OpenPack): void {
    if (pack.users > 0) return;
    if (pack.gone) pack.reader.close();
    // Idle: let go of cached delta bases and read-ahead (a clone's would stay in memory).
    else pack.reader.trim();
  }
}

export interface PackLease {
  /** The leased packs, newest listing order. */
  readers: readonly PackReader[];
  /** What an earlier clone sent, to start the next from. */
  closure(): Closure | undefined;
  keepClosure(closure: Closure): void;
  find(id: ObjectId): PackReader | undefined;
  /** The pack holding `id`, its place among the leased packs, and the entry's offset. */
  locate(id: ObjectId): { reader: PackReader; rank: number; offset: number } | undefined;
  release(): void;
}

const packSets = new WeakMap<Store, PackSet>();

export function packSetOf(store: Store): PackSet {
  let set = packSets.get(store);
  if (set === undefined) {
    const created = new PackSet(path.join(store.gitDir, 'objects', 'pack'));
    packSets.set(store, created);
    // The store's close closes these too: no descriptor outlives it.
    store.odb.onClose(() => created.close());
    set = created;
  }
  return set;
}

/**
 * Writer sources for planned objects. `ofsDelta` false: no stored delta is copied (the client
 * cannot read OFS_DELTA). `packOrder`: sources come in the order of their entries in the
 * store's packs, so stored entries are read sequentially (the writer keeps the order when it
 * searches no deltas).
 */
export function packSources(objects: readonly PlannedObject[], odb: Odb, lease: PackLease, options: { ofsDelta: boolean; packOrder: boolean }): PackSourceEntry[] {
  const located = objects.map((object) => {
    const found = lease.locate(object.id);
    return { object, reader: found?.reader, rank: found?.rank ?? Infinity, offset: found?.offset ?? 0 };
  });
  if (options.packOrder) located.sort((a, b) => a.rank - b.rank || a.offset - b.offset);
  return located.map(({ object, reader }) => packSource(object, odb, reader, options.ofsDelta));
}

function packSource(object: PlannedObject, odb: Odb, reader: PackReader | undefined, ofsDelta: boolean): PackSourceEntry {
  const load = (): Buffer => {
    const raw = odb.read(object.id);
    if (raw === undefined) throw new GitRequestError('EPROTO', `object ${object.id} vanished while packing`);
    return raw.content;
  };
  const stored = reader?.storedHeader(object.id);
  let size: number | undefined = stored !== undefined && stored.baseId === undefined ? stored.size : undefined;
  const source: PackSourceEntry = {
    id: object.id,
    type: object.type,
    get size(): number {
      size ??= reader?.info(object.id, (id) => odb.read(id))?.size ?? load().length;
      return size;
    },
    load,
  };
  if (object.nameHint !== undefined) source.nameHint = object.nameHint;
  if (reader !== undefined && stored !== undefined && (stored.baseId === undefined || ofsDelta)) {
    source.stored = { read: () => reader.storedEntry(object.id)!, ...(stored.baseId === undefined ? {} : { deltaBase: stored.baseId }) };
  }
  return source;
}

// ---- the response ----------------------------------------------------------------------

export type SideBandMode = 'side-band-64k' | 'side-band' | 'none';

const PACKET_BYTES: Readonly<Record<Exclude<SideBandMode, 'none'>, number>> = { 'side-band-64k': 65520, 'side-band': 1000 };
/** Pack bytes gathered before they are framed and written. */
const WRITE_BATCH_BYTES = 256 * 1024;
/** CPU time the encoder may take before it lets other requests run. */
const SLICE_MS = 20;

/**
 * The response of upload-pack once negotiation is over: pack data multiplexed on band 1
 * (raw without side-band), progress on band 2, a fatal error on band 3.
 */
export class PackChannel {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly mode: SideBandMode,
    private readonly showProgress: boolean,
  ) {
    res.once('close', () => (this.closed = true));
  }

  get clientGone(): boolean {
    return this.closed || this.res.destroyed;
  }

  data(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= WRITE_BATCH_BYTES) this.flushData();
  }

  progress(text: string): void {
    if (!this.showProgress || this.mode === 'none') return;
    this.flushData();
    this.write(Buffer.concat(sideBand(BAND_PROGRESS, Buffer.from(text, 'utf8'), PACKET_BYTES[this.mode])));
  }

  /** Ends the stream with an error the client prints (band 3), or just ends it without side-band. */
  fail(message: string): void {
    this.pending = [];
    this.pendingBytes = 0;
    if (this.mode !== 'none') this.write(Buffer.concat(sideBand(BAND_ERROR, Buffer.from(`${message}\n`, 'utf8'), PACKET_BYTES[this.mode])));
    this.res.end();
  }

  /** Waits while the socket is full. */
  async drained(): Promise<void> {
    if (!this.res.writableNeedDrain || this.clientGone) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  end(): void {
    this.flushData();
    this.res.end(this.mode === 'none' ? undefined : FLUSH_PKT);
  }

  /**
   * Writes the pending data in packets without copying it: each packet's header, then the
   * slices of the pending chunks it holds, corked into one write of the socket.
   */
  private flushData(): void {
    if (this.pendingBytes === 0) return;
    const pending = this.pending;
    let left = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    if (this.clientGone) return;
    const res = this.res;
    res.cork();
    if (this.mode === 'none') {
      for (const chunk of pending) res.write(chunk);
    } else {
      const room = PACKET_BYTES[this.mode] - 5;
      let chunk = 0;
      let at = 0;
      while (left > 0) {
        const size = Math.min(room, left);
        const header = Buffer.allocUnsafe(5);
        header.write((size + 5).toString(16).padStart(4, '0'), 0, 'latin1');
        header[4] = BAND_DATA;
        res.write(header);
        for (let need = size; need > 0; ) {
          const piece = pending[chunk]!;
          const take = Math.min(need, piece.length - at);
          if (take > 0) res.write(piece.subarray(at, at + take));
          at += take;
          need -= take;
          if (at === piece.length) {
            chunk++;
            at = 0;
          }
        }
        left -= size;
      }
    }
    res.uncork();
  }

  private write(bytes: Buffer): void {
    if (!this.clientGone) this.res.write(bytes);
  }
}

export interface PackStats {
  objects: number;
  deltas: number;
  bytes: number;
}

/** Encodes `sources` into `channel`, yielding to the event loop and to a full socket. */
export async function streamPack(sources: readonly PackSourceEntry[], options: WritePackOptions, channel: PackChannel): Promise<PackStats> {
  const steps = encodePackSteps(sources, { ...options, durable: false }, (chunk) => channel.data(chunk));
  const encoded = await runSteps(steps, channel);
  return { objects: sources.length, deltas: encoded.deltaCount, bytes: encoded.packBytes };
}

/** Streams the walked objects as the store has them (see pack-reuse.ts). */
export function streamReusedPack(walk: PackWalk, options: ReuseOptions, channel: PackChannel): Promise<PackStats> {
  return runSteps(reusePackSteps(walk, options, (chunk) => channel.data(chunk)), channel);
}

async function runSteps<T>(steps: Generator<void, T>, channel: PackChannel): Promise<T> {
  let sliceStart = Date.now();
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
    if (channel.clientGone) {
      steps.return(undefined as never);
      throw new GitRequestError('ECLOSED', 'the client went away during the pack');
    }
    await channel.drained();
    if (Date.now() - sliceStart >= SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = Date.now();
    }
  }
}
