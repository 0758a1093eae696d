/**
 * Deterministic inputs for the sha1 tests (unit and cross): edge sizes around SHA-1's 64-byte
 * block and 56-byte padding boundary, plus pseudo-random sizes up to 1 MiB, over all four
 * git object types. The same seed always gives the same bytes, so failures reproduce.
 */
import type { GitObjectType } from '../../firmware/native.js';

export interface Sha1Case {
  readonly type: GitObjectType;
  readonly content: Buffer;
}

export const OBJECT_TYPES: readonly GitObjectType[] = ['blob', 'tree', 'commit', 'tag'];
export const EDGE_SIZES = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 4095, 4096, 65535, 65536, 65537, 1 << 20];

/** xorshift32: small, fast, and identical on every platform. */
export function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

export function randomBytes(next: () => number, size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) bytes[i] = next() & 0xff;
  return bytes;
}

/** Edge sizes plus `randomCount` sizes spread log-uniformly over 0..1 MiB. */
export function sha1Cases(seed: number, randomCount: number): Sha1Case[] {
  const next = prng(seed);
  const sizes = [...EDGE_SIZES];
  for (let i = 0; i < randomCount; i++) sizes.push(Math.min(1 << 20, Math.floor(2 ** ((next() % 2100) / 100))));
  return sizes.map((size, i) => ({ type: OBJECT_TYPES[i % OBJECT_TYPES.length]!, content: randomBytes(next, size) }));
}
