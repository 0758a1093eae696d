/**
 * The versioned store (Irmin's model on git's format). One bare repository per user under
 * store/<user>.git; git itself can read, fsck, clone and push them.
 *
 *   const store = Store.open('var/store/alice.git');           // creates it if missing
 *   const main = store.branch('main');
 *   await main.set('contacts/work/bob.vcf', vcard);             // one durable commit
 *   await main.transaction((view) => { view.set(a, x); view.remove(b); });  // many writes, one commit
 *   main.get('contacts/work/bob.vcf'); main.list('contacts'); main.history('contacts', { limit: 10 });
 *   store.watch('main', 'mail/INBOX', ({ commit, paths }) => …); // once per commit, changed paths
 *   await store.merge('laptop', 'main');                          // typed 3-way merge; conflicts kept
 *   store.diff(a, b); await store.tag('v1', 'main', 'note'); await store.gc();
 *
 * Durability: 'full' (default) acknowledges a commit once its objects, directories and ref are
 * fsynced; concurrent writers share one round of fsyncs (group commit). 'batch' waits a few
 * milliseconds to gather more writers per round. 'none' skips fsync (tests, scratch data).
 * Paths: slash-separated; '..', '.', empty segments, NUL and '.git' are refused (EBADPATH).
 * Errors: StoreError with a code (ECORRUPT, ENOTFOUND, EBADPATH, EBADREF, ECONFLICT, ETOOBIG).
 */
export { Store, Branch, branchRef, type StoreOptions, type CommitInfo, type Identity, type HistoryEntry, type MergeResult, type WatchEvent, type RefUpdate, type RefUpdateResult } from './store.js';
export { TreeView, MAX_VALUE_BYTES, type ListEntry } from './view.js';
export { UserStores, FIRMWARE_REPO } from './user-stores.js';
export { StoreError, type StoreErrorCode } from './errors.js';
export { ByteLru } from './lru.js';
export { CONFLICTS_DIR, type Conflict } from './merge.js';
export type { Change } from './diff.js';
export type { Durability } from './pipeline.js';
export type { ObjectId, Signature } from './objects.js';
export { splitPath, MAX_PATH_BYTES } from './paths.js';
export * from './merge-types/index.js';
export { defaultMergeTypes } from './default-types.js';
