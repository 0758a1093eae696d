/**
 * The short code a person compares on both screens. Taken from the Noise handshake hash
 * alone, a man in the middle could grind its own ephemeral or static keys until the two codes
 * match (10^6 tries of X25519 take seconds). So the code also mixes one random nonce from each
 * side, and the device commits to its nonce before it sees the owner's (the numeric comparison
 * of Bluetooth LE Secure Connections): whoever sits in the middle must fix its own values
 * before the other side's random ones are known, and is left with a one-in-a-million guess.
 */
import crypto from 'node:crypto';

export const PAIRING_NONCE_BYTES = 16;
const COMMIT_LABEL = 'nymote pairing commit v1\n';
const CODE_LABEL = 'nymote pairing code v1\n';
export const CODE_DIGITS = 6;

export function newPairingNonce(): Buffer {
  return crypto.randomBytes(PAIRING_NONCE_BYTES);
}

/** The device's commitment to its nonce, sent inside the second handshake message. */
export function commitToNonce(nonce: Uint8Array): Buffer {
  return crypto.createHash('sha256').update(COMMIT_LABEL).update(nonce).digest();
}

export function commitmentHolds(commitment: Uint8Array, nonce: Uint8Array): boolean {
  const expected = commitToNonce(nonce);
  return commitment.length === expected.length && crypto.timingSafeEqual(commitment, expected);
}

/** Six digits from the handshake hash and both nonces, shown as "123 456". */
export function pairingCode(handshakeHash: Uint8Array, ownerNonce: Uint8Array, deviceNonce: Uint8Array): string {
  const digest = crypto.createHash('sha256').update(CODE_LABEL).update(handshakeHash).update(ownerNonce).update(deviceNonce).digest();
  // 2^64 mod 10^6 is tiny next to 2^64: the digits are uniform for all practical purposes.
  const digits = (digest.readBigUInt64BE(0) % 10n ** BigInt(CODE_DIGITS)).toString().padStart(CODE_DIGITS, '0');
  return `${digits.slice(0, 3)} ${digits.slice(3)}`;
}
