/**
 * The interface shared by the sha1 addon (sha1.c) and its JS twin (twin.ts). Only
 * firmware/native.ts uses it directly; the rest of the firmware sees the engine it exports.
 */

/** Opaque state of one streaming object hash (an N-API external in the addon). */
export interface ObjectHasherHandle {
  readonly __objectHasherHandle: unique symbol;
}

export type Sha1Backend = 'openssl' | 'portable' | 'node:crypto';

export interface Sha1Binding {
  /** sha1("<type> <length>\0" + content) for each content, ids concatenated (20 bytes each). */
  hashObjects(types: string | readonly string[], contents: readonly Uint8Array[]): Buffer;
  /** Starts a streaming object hash of exactly `length` content bytes. */
  createHasher(type: string, length: number): ObjectHasherHandle;
  update(handle: ObjectHasherHandle, chunk: Uint8Array): void;
  /** Throws a RangeError (code ERR_SHA1_LENGTH_MISMATCH) unless `length` bytes were given. */
  digest(handle: ObjectHasherHandle): Buffer;
  /** Plain SHA-1 of the bytes (pack trailers, index checksums). */
  sha1(data: Uint8Array): Buffer;
  /** What computes the hashes. */
  backend(): Sha1Backend;
}

/** The addon's extras, used by tests and benchmarks to reach the portable C code. */
export interface Sha1Addon extends Sha1Binding {
  setBackend(backend: 'openssl' | 'portable'): void;
}

/** Limits and names both implementations agree on. */
export const OBJECT_TYPES: readonly string[] = ['blob', 'tree', 'commit', 'tag'];
export const MAX_BATCH_OBJECTS = 1 << 24;
