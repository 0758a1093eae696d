/**
 * The cache of resolved delta bases, keyed by pack offset: objects deep in a delta chain are
 * inflated once, not once per object built on them. A byte-bounded LRU like the store's.
 */
import { ByteLru } from '../lru.js';
import type { RawObject } from '../objects.js';

export const DEFAULT_DELTA_BASE_CACHE_BYTES = 16 * 1024 * 1024;

export class DeltaBaseCache extends ByteLru<number, RawObject> {
  constructor(maxBytes = DEFAULT_DELTA_BASE_CACHE_BYTES) {
    // A cached object may keep the delta it was built from (see PackReader.readRank).
    super(maxBytes, (object) => object.content.length + ((object as { delta?: Buffer }).delta?.length ?? 0));
  }
}
