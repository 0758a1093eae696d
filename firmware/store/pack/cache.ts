/**
 * A byte-bounded LRU of resolved delta bases, keyed by pack offset: objects deep in a delta
 * chain are inflated once, not once per object built on them.
 */
import type { RawObject } from '../objects.js';

export const DEFAULT_DELTA_BASE_CACHE_BYTES = 16 * 1024 * 1024;

export class DeltaBaseCache {
  readonly maxBytes: number;
  private bytes = 0;
  // A Map iterates in insertion order: re-inserting on use keeps the oldest first.
  private readonly entries = new Map<number, RawObject>();

  constructor(maxBytes = DEFAULT_DELTA_BASE_CACHE_BYTES) {
    this.maxBytes = maxBytes;
  }

  get(offset: number): RawObject | undefined {
    const entry = this.entries.get(offset);
    if (entry !== undefined) {
      this.entries.delete(offset);
      this.entries.set(offset, entry);
    }
    return entry;
  }

  set(offset: number, object: RawObject): void {
    // One object bigger than a quarter of the budget would flush everything else.
    if (object.content.length > this.maxBytes / 4) return;
    const old = this.entries.get(offset);
    if (old !== undefined) {
      this.entries.delete(offset);
      this.bytes -= old.content.length;
    }
    this.entries.set(offset, object);
    this.bytes += object.content.length;
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(key);
      this.bytes -= entry.content.length;
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
