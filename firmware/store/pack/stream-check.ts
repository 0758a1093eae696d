/**
 * Checks a packfile while it streams in (a push), before anything trusts it: the header and
 * its object count, every entry's header and declared size, every zlib stream inflating to
 * exactly its declared size, every delta's declared result size, and the trailing SHA-1. Pack
 * bombs (a huge declared size, a delta that would build a huge object, a zip bomb, millions
 * of entries) are refused at their header, before any memory is spent on them; a truncated
 * or damaged pack fails here rather than half-way through indexing.
 *
 * Memory: the entry being checked (its compressed bytes and its inflation), no more. Small
 * entries are inflated in one call; a large one is retried as its bytes arrive, the bytes it
 * waits for doubling each time, so the total work stays linear.
 */
import { createHash, type Hash } from 'node:crypto';

import { StoreError, corrupt } from '../errors.js';
import { parseDeltaHeader } from './delta.js';
import {
  MAX_ENTRY_HEADER_BYTES,
  OFS_DELTA,
  PACK_HEADER_BYTES,
  PACK_TRAILER_BYTES,
  REF_DELTA,
  compressedBound,
  inflateExact,
  parseEntryHeader,
  parsePackHeader,
  type EntryHeader,
} from './format.js';

export interface PackStreamLimits {
  /** Most entries a pack may declare. */
  maxObjects: number;
  /** Largest object (or delta result) an entry may declare, in bytes. */
  maxObjectBytes: number;
}

/** The first inflation attempt of a large entry waits for this many compressed bytes. */
const FIRST_ATTEMPT_BYTES = 64 * 1024;

export class PackStreamCheck {
  /** Entries the header declares (known once 12 bytes arrived). */
  objectCount = 0;
  /** Entries checked so far, and of them deltas against an object outside the pack by id. */
  checkedObjects = 0;
  refDeltas = 0;
  private readonly hash: Hash = createHash('sha1');
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  /** Pack offset of the first buffered byte. */
  private position = 0;
  private state: 'header' | 'entry' | 'data' | 'trailer' | 'done' = 'header';
  private entry: EntryHeader | undefined;
  private entryOffset = 0;
  /** Compressed bytes the current entry waits for before the next inflation attempt. */
  private attemptAt = 0;
  /** The pack's trailing SHA-1 (hex), once checked. */
  private checksum = '';

  constructor(
    private readonly limits: PackStreamLimits,
    private readonly name = 'pushed pack',
  ) {}

  /** Takes the next bytes of the pack; throws ECORRUPT or ETOOBIG as soon as they are wrong. */
  update(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.state === 'done') throw corrupt(`${this.name}: data after the pack's checksum`);
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.advance(false);
  }

  /** The input ended: the pack must be complete, its checksum right. Returns the checksum (hex). */
  end(): string {
    this.advance(true);
    if (this.state !== 'done') {
      throw corrupt(`${this.name} is truncated (${this.checkedObjects} of ${this.objectCount} objects arrived)`);
    }
    return this.checksum;
  }


  private advance(ended: boolean): void {
    for (;;) {
      if (this.state === 'header') {
        if (this.buffered < PACK_HEADER_BYTES) return;
        const count = parsePackHeader(this.take(PACK_HEADER_BYTES), this.name);
        if (count > this.limits.maxObjects) {
          throw new StoreError('ETOOBIG', `${this.name} declares ${count} objects; at most ${this.limits.maxObjects} are accepted`);
        }
        this.objectCount = count;
        this.state = count === 0 ? 'trailer' : 'entry';
      } else if (this.state === 'entry') {
        // A header is at most 32 bytes and at least a trailer follows, so wait for 32 unless ended.
        if (this.buffered < MAX_ENTRY_HEADER_BYTES && !ended) return;
        if (this.buffered === 0) return;
        const head = this.peek(Math.min(MAX_ENTRY_HEADER_BYTES, this.buffered));
        const where = `${this.name}: object at offset ${this.position}`;
        const header = parseEntryHeader(head, this.position, where);
        if (header.size > this.limits.maxObjectBytes) {
          throw new StoreError('ETOOBIG', `${where} declares ${header.size} bytes; objects over ${this.limits.maxObjectBytes} bytes are refused`);
        }
        this.entryOffset = this.position;
        this.take(header.dataOffset - this.position);
        this.entry = header;
        this.attemptAt = Math.min(compressedBound(header.size), FIRST_ATTEMPT_BYTES);
        this.state = 'data';
      } else if (this.state === 'data') {
        if (!this.checkEntryData(ended)) return;
      } else if (this.state === 'trailer') {
        if (this.buffered < PACK_TRAILER_BYTES) return;
        const expected = this.hash.digest();
        const trailer = this.peek(PACK_TRAILER_BYTES);
        if (!trailer.equals(expected)) throw corrupt(`${this.name} does not match its checksum (damaged in transit)`);
        this.chunks.length = 0;
        this.checksum = trailer.toString('hex');
        if (this.buffered > PACK_TRAILER_BYTES) throw corrupt(`${this.name}: data after the pack's checksum`);
        this.buffered = 0;
        this.state = 'done';
      } else {
        return;
      }
    }
  }

  /** Inflates the current entry if enough of it is here; false to wait for more bytes. */
  private checkEntryData(ended: boolean): boolean {
    const header = this.entry!;
    const bound = compressedBound(header.size);
    if (this.buffered < this.attemptAt && !ended) return false;
    const where = `${this.name}: object at offset ${this.entryOffset}`;
    const available = this.peek(Math.min(this.buffered, bound));
    const inflated = inflateExact(available, header.size, where);
    if (inflated === 'truncated') {
      if (ended || available.length >= bound) throw corrupt(`${where}: zlib data is truncated`);
      this.attemptAt = Math.min(bound, Math.max(this.attemptAt, available.length) * 2);
      return false;
    }
    if (header.typeCode === OFS_DELTA || header.typeCode === REF_DELTA) {
      const sizes = parseDeltaHeader(inflated.data, where);
      if (sizes === undefined) throw corrupt(`${where}: delta header is truncated`);
      if (sizes.resultSize > this.limits.maxObjectBytes) {
        throw new StoreError('ETOOBIG', `${where}: delta builds an object of ${sizes.resultSize} bytes; objects over ${this.limits.maxObjectBytes} bytes are refused`);
      }
      if (header.typeCode === REF_DELTA) this.refDeltas++;
    }
    this.take(inflated.consumed);
    this.checkedObjects++;
    this.entry = undefined;
    this.state = this.checkedObjects === this.objectCount ? 'trailer' : 'entry';
    return true;
  }

  /** The first `length` buffered bytes, joined into one buffer (kept joined for the next look). */
  private peek(length: number): Buffer {
    if (this.chunks[0]!.length < length) {
      const joined = Buffer.concat(this.chunks, this.buffered);
      this.chunks.length = 0;
      this.chunks.push(joined);
    }
    return this.chunks[0]!.subarray(0, length);
  }

  /** Consumes `length` buffered bytes into the running checksum. */
  private take(length: number): Buffer {
    const bytes = this.peek(length);
    this.hash.update(bytes);
    const first = this.chunks[0]!;
    if (first.length === length) this.chunks.shift();
    else this.chunks[0] = first.subarray(length);
    this.buffered -= length;
    this.position += length;
    return bytes;
  }
}
