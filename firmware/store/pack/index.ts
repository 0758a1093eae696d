/** git packfiles: read (with delta resolution), write (with deltas), index and repack. */
export { DeltaBaseCache, DEFAULT_DELTA_BASE_CACHE_BYTES } from './cache.js';
export { applyDelta, deltaCopies, createDelta, createDeltaFrom, parseDeltaHeader, DeltaIndex, type DeltaHeader } from './delta.js';
export { indexPack, type IndexedPack, type IndexPackOptions } from './index-pack.js';
export {
  PackReader,
  DEFAULT_MAX_DELTA_DEPTH,
  type ObjectInfo,
  type PackReaderOptions,
  type RankedObject,
  type ResolveExternal,
  type StoredEntry,
  type StoredHeader,
  type StoredRef,
} from './reader.js';
export { repack, type RepackOptions, type RepackStats } from './repack.js';
export {
  encodePack,
  writePack,
  writePackFrom,
  writePackFromAsync,
  type EncodedPack,
  type PackInput,
  type PackSourceEntry,
  type StoredSource,
  type WritePackOptions,
  type WrittenPack,
} from './writer.js';
export { encodePackIndex } from './idx.js';
export { encodePackSteps } from './writer.js';
export { PackStreamCheck, type PackStreamLimits } from './stream-check.js';
export { indexPackFixingThin, type CompletedPack } from './thin.js';
export { removeStaleTemporaries, removeStaleRepositoryTemporaries, temporaryName, STALE_TEMPORARY_MS } from './temporaries.js';
