/**
 * The interface shared by the aead addon (aead.c) and its JS twin (twin.ts). Only
 * firmware/native.ts uses it directly; the rest of the firmware sees the engine it exports.
 *
 * Algorithms and record layouts:
 *   'chacha20-poly1305'  RFC 8439 (IETF): 32-byte key, 12-byte nonce, optional AAD (≤ 64 KiB).
 *                        sealed = ciphertext || tag(16), as node:crypto gives it.
 *   'xsalsa20-poly1305'  NaCl crypto_secretbox: 32-byte key, 24-byte nonce, no AAD.
 *                        sealed = tag(16) || ciphertext, exactly tweetnacl.secretbox's output.
 * Plaintexts are at most MAX_PLAINTEXT (64 KiB), so sealed records at most MAX_PLAINTEXT + 16.
 *
 * Batches: one key, nonces[i] (and aads[i]) per record; every record is checked before any is
 * sealed or opened, so a bad argument throws with no work done. The addon returns each batch's
 * records as Buffer views into one shared allocation (one allocation per batch is much of what
 * batching buys); copy a record that must outlive the others for long. The twin allocates each.
 *
 * Errors: TypeError (code ERR_INVALID_ARG_TYPE) for wrong argument types, an unknown algorithm
 * or AAD given to xsalsa20-poly1305; RangeError (code ERR_OUT_OF_RANGE) for a wrong key or nonce
 * size, a plaintext or AAD over 64 KiB, more than MAX_BATCH_RECORDS records or MAX_BATCH_BYTES of
 * output in one batch. open never throws for the record itself: a forged, truncated (< 16 bytes)
 * or oversized record opens to null, because such input is normal on a network.
 */

export type AeadAlgorithm = 'chacha20-poly1305' | 'xsalsa20-poly1305';

/** What computes chacha20-poly1305 (xsalsa20-poly1305 is the addon's portable C, or tweetnacl
 * in the twin). */
export type AeadBackend = 'openssl' | 'portable' | 'node:crypto';

export interface AeadBinding {
  /** One record: chacha20-poly1305 → ciphertext || tag; xsalsa20-poly1305 → tag || ciphertext. */
  seal(algorithm: AeadAlgorithm, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Buffer;
  /** The plaintext, or null when the record does not authenticate under key, nonce (and AAD). */
  open(algorithm: AeadAlgorithm, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Buffer | null;
  /** seal for each record under one key, one call: nonces[i] and aads[i] (if given) go with plaintexts[i]. */
  sealBatch(algorithm: AeadAlgorithm, key: Uint8Array, nonces: readonly Uint8Array[], plaintexts: readonly Uint8Array[], aads?: readonly Uint8Array[]): Buffer[];
  /** open for each record under one key, one call; null where a record does not authenticate. */
  openBatch(algorithm: AeadAlgorithm, key: Uint8Array, nonces: readonly Uint8Array[], sealed: readonly Uint8Array[], aads?: readonly Uint8Array[]): Array<Buffer | null>;
  backend(): AeadBackend;
}

/** The addon's extras, used by tests and benchmarks to reach the portable C code. */
export interface AeadAddon extends AeadBinding {
  setBackend(backend: 'openssl' | 'portable'): void;
}

/** Limits and sizes both implementations agree on. */
export const AEAD_ALGORITHMS: readonly AeadAlgorithm[] = ['chacha20-poly1305', 'xsalsa20-poly1305'];
export const KEY_BYTES = 32;
export const TAG_BYTES = 16;
export const NONCE_BYTES: Readonly<Record<AeadAlgorithm, number>> = { 'chacha20-poly1305': 12, 'xsalsa20-poly1305': 24 };
export const MAX_PLAINTEXT = 65536;
export const MAX_AAD = 65536;
export const MAX_BATCH_RECORDS = 65536;
/** Bytes of output (sealed records, or plaintexts) one batch call may produce: 64 MiB. */
export const MAX_BATCH_BYTES = 1 << 26;
