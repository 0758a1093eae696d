/**
 * The channel's four messages on the wire, laid out as WireGuard's (whitepaper section 5.4;
 * integers little-endian, the type's three following bytes zero):
 *
 *   1 initiation  type(4) sender(4) ephemeral(32) static(32+16) payload(12+n+16) mac1(16) mac2(16)
 *                 payload = TAI64N timestamp ‖ the application's opaque handshake payload (n ≤ 1 KiB)
 *   2 response    type(4) sender(4) receiver(4) ephemeral(32) payload(n+16) mac1(16) mac2(16)
 *   3 cookie      type(4) receiver(4) nonce(24) cookie(16+16)
 *   4 data        type(4) receiver(4) counter(8) sealed(n+16)
 *
 * Indices are random 32-bit names each side gives its handshakes and sessions, so a packet
 * finds its keys with one lookup and says nothing about who sent it.
 */
import { DH_LEN, TAG_LEN } from './noise.js';

export const MESSAGE_INITIATION = 1;
export const MESSAGE_RESPONSE = 2;
export const MESSAGE_COOKIE_REPLY = 3;
export const MESSAGE_DATA = 4;

export const MAC_LEN = 16;
export const TIMESTAMP_LEN = 12;
/** The application's opaque payload in a handshake message (a device certificate, say). */
export const MAX_HANDSHAKE_PAYLOAD = 1024;

export const INITIATION_NOISE_OFFSET = 8;
/** Initiation with an empty application payload: 148 bytes, WireGuard's size. */
export const INITIATION_MIN = INITIATION_NOISE_OFFSET + DH_LEN + DH_LEN + TAG_LEN + TIMESTAMP_LEN + TAG_LEN + 2 * MAC_LEN;
export const INITIATION_MAX = INITIATION_MIN + MAX_HANDSHAKE_PAYLOAD;

export const RESPONSE_NOISE_OFFSET = 12;
/** Response with an empty payload: 92 bytes, WireGuard's size. */
export const RESPONSE_MIN = RESPONSE_NOISE_OFFSET + DH_LEN + TAG_LEN + 2 * MAC_LEN;
export const RESPONSE_MAX = RESPONSE_MIN + MAX_HANDSHAKE_PAYLOAD;

export const COOKIE_NONCE_LEN = 24;
export const COOKIE_LEN = 16;
export const COOKIE_REPLY_LEN = 8 + COOKIE_NONCE_LEN + COOKIE_LEN + TAG_LEN;

export const DATA_HEADER_LEN = 16;
export const DATA_MIN = DATA_HEADER_LEN + TAG_LEN;
/** The largest UDP payload over IPv4 (65535 - 20 - 8): every datagram must fit it. */
export const MAX_DATAGRAM = 65507;
/** The largest plaintext one data message can carry. */
export const MAX_DATA_PAYLOAD = MAX_DATAGRAM - DATA_MIN;

function header(type: number, length: number): Buffer {
  const message = Buffer.alloc(length);
  message.writeUInt32LE(type, 0);
  return message;
}

/** An initiation around Noise's first IK message; the macs are left zero for cookie.ts. */
export function initiation(senderIndex: number, noiseMessage: Uint8Array): Buffer {
  const message = header(MESSAGE_INITIATION, INITIATION_NOISE_OFFSET + noiseMessage.length + 2 * MAC_LEN);
  message.writeUInt32LE(senderIndex, 4);
  message.set(noiseMessage, INITIATION_NOISE_OFFSET);
  return message;
}

export function response(senderIndex: number, receiverIndex: number, noiseMessage: Uint8Array): Buffer {
  const message = header(MESSAGE_RESPONSE, RESPONSE_NOISE_OFFSET + noiseMessage.length + 2 * MAC_LEN);
  message.writeUInt32LE(senderIndex, 4);
  message.writeUInt32LE(receiverIndex, 8);
  message.set(noiseMessage, RESPONSE_NOISE_OFFSET);
  return message;
}

export function cookieReply(receiverIndex: number, nonce: Uint8Array, sealedCookie: Uint8Array): Buffer {
  const message = header(MESSAGE_COOKIE_REPLY, COOKIE_REPLY_LEN);
  message.writeUInt32LE(receiverIndex, 4);
  message.set(nonce, 8);
  message.set(sealedCookie, 8 + COOKIE_NONCE_LEN);
  return message;
}

/** The data header, written into `datagram` (which already holds the sealed payload at 16). */
export function writeDataHeader(datagram: Buffer, receiverIndex: number, counter: bigint): void {
  datagram.writeUInt32LE(MESSAGE_DATA, 0);
  datagram.writeUInt32LE(receiverIndex, 4);
  datagram.writeBigUInt64LE(counter, 8);
}

/** The Noise message inside an initiation or response: between the indices and the macs. */
export const noiseMessageOf = (message: Buffer, offset: number) => message.subarray(offset, message.length - 2 * MAC_LEN);

// TAI64N (https://cr.yp.to/libtai/tai64.html): 2^62 + 10 + Unix seconds, then nanoseconds,
// big-endian. Nanoseconds are rounded down to 2^24 ns (~17 ms), as WireGuard does, so the
// timestamp says when a handshake began but not the sender's clock to the nanosecond.
const TAI64_EPOCH = (1n << 62n) + 10n;
const WHITENING_NS = 1 << 24;

export function tai64n(nowMs: number): Buffer {
  const stamp = Buffer.alloc(TIMESTAMP_LEN);
  const seconds = Math.floor(nowMs / 1000);
  const nanoseconds = Math.round((nowMs - seconds * 1000) * 1e6);
  stamp.writeBigUInt64BE(TAI64_EPOCH + BigInt(seconds), 0);
  stamp.writeUInt32BE(nanoseconds - (nanoseconds % WHITENING_NS), 8);
  return stamp;
}
