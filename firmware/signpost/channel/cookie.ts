/**
 * mac1, mac2 and cookies: WireGuard's denial-of-service defence (whitepaper section 5.3,
 * cookie.c) with HMAC-SHA256 where WireGuard uses keyed BLAKE2s.
 *
 * mac1 = HMAC(SHA256("mac1----" ‖ receiver's static), message up to mac1), 16 bytes: only
 * someone who knows our public key gets a handshake message past it, checked before any DH.
 * Under load a responder wants mac2 as well: HMAC(cookie, message up to mac2), where the
 * cookie, HMAC(secret, source address and port), was sent in a cookie reply to that address.
 * An initiator that gets mac2 right has shown it receives at the address it sends from, so
 * spoofed floods cost the responder one HMAC each, never a DH.
 *
 * The cookie travels sealed with XSalsa20-Poly1305 (NaCl secretbox) where WireGuard uses
 * XChaCha20-Poly1305 with mac1 as associated data: secretbox has no associated data, so the
 * reply is bound to the initiation's mac1 through its key, HMAC(cookie key, mac1), instead.
 */
import crypto from 'node:crypto';

import { aead } from '../../native.js';
import { COOKIE_LEN, COOKIE_NONCE_LEN, COOKIE_REPLY_LEN, MAC_LEN, cookieReply } from './messages.js';
import { hash, hmac } from './noise.js';

/** Whitepaper section 6.6: the responder's secret lives two minutes... */
export const COOKIE_SECRET_MAX_AGE_MS = 120_000;
/** ...and an initiator stops using a cookie a little before, so it never races the rotation. */
const COOKIE_SECRET_LATENCY_MS = 5_000;

const MAC1_LABEL = Buffer.from('mac1----');
const COOKIE_LABEL = Buffer.from('cookie--');

const mac = (key: Uint8Array, data: Uint8Array) => hmac(key, data).subarray(0, MAC_LEN);
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && crypto.timingSafeEqual(a, b);
/** The secretbox key of the reply to the message whose mac1 was `mac1`. */
const replyKey = (cookieKey: Uint8Array, mac1: Uint8Array) => hmac(cookieKey, mac1);

const mac1Range = (message: Buffer) => message.subarray(0, message.length - 2 * MAC_LEN);
const mac1Of = (message: Buffer) => message.subarray(message.length - 2 * MAC_LEN, message.length - MAC_LEN);
const mac2Range = (message: Buffer) => message.subarray(0, message.length - MAC_LEN);
const mac2Of = (message: Buffer) => message.subarray(message.length - MAC_LEN);

/** The responder's side, for handshake messages sent to our static key. */
export class CookieChecker {
  private readonly mac1Key: Buffer;
  private readonly cookieKey: Buffer;
  private secret = crypto.randomBytes(32);
  private secretBornAt: number;

  constructor(
    localStaticPublic: Uint8Array,
    private readonly now: () => number,
  ) {
    this.mac1Key = hash(MAC1_LABEL, localStaticPublic);
    this.cookieKey = hash(COOKIE_LABEL, localStaticPublic);
    this.secretBornAt = now();
  }

  checkMac1(message: Buffer): boolean {
    return sameBytes(mac(this.mac1Key, mac1Range(message)), mac1Of(message));
  }

  /** Whether mac2 was made with the cookie we would give this address now. */
  checkMac2(message: Buffer, address: string, port: number): boolean {
    if (this.now() - this.secretBornAt >= COOKIE_SECRET_MAX_AGE_MS) return false;
    return sameBytes(mac(this.cookie(address, port), mac2Range(message)), mac2Of(message));
  }

  /** A cookie reply (message 3) to `message`, whose sender named itself `senderIndex`. */
  reply(message: Buffer, senderIndex: number, address: string, port: number): Buffer {
    if (this.now() - this.secretBornAt >= COOKIE_SECRET_MAX_AGE_MS) {
      this.secret = crypto.randomBytes(32);
      this.secretBornAt = this.now();
    }
    const nonce = crypto.randomBytes(COOKIE_NONCE_LEN);
    const sealed = aead.seal('xsalsa20-poly1305', replyKey(this.cookieKey, mac1Of(message)), nonce, this.cookie(address, port));
    return cookieReply(senderIndex, nonce, sealed);
  }

  private cookie(address: string, port: number): Buffer {
    const source = Buffer.alloc(2 + Buffer.byteLength(address));
    source.writeUInt16LE(port, 0);
    source.write(address, 2);
    return mac(this.secret, source);
  }
}

/** The initiator's side (and a responder's, for its response): macs for messages to one peer. */
export class PeerCookie {
  private readonly mac1Key: Buffer;
  private readonly cookieKey: Buffer;
  private cookie: Buffer | undefined;
  private cookieReceivedAt = 0;
  /** The mac1 of the last message sent, which a cookie reply must answer; once. */
  private lastMac1: Buffer | undefined;

  constructor(
    peerStaticPublic: Uint8Array,
    private readonly now: () => number,
  ) {
    this.mac1Key = hash(MAC1_LABEL, peerStaticPublic);
    this.cookieKey = hash(COOKIE_LABEL, peerStaticPublic);
  }

  /** Fills in mac1, and mac2 while we hold a fresh cookie (zeros otherwise). */
  addMacs(message: Buffer): void {
    const mac1 = mac(this.mac1Key, mac1Range(message));
    mac1Of(message).set(mac1);
    this.lastMac1 = mac1;
    const fresh = this.cookie !== undefined && this.now() - this.cookieReceivedAt < COOKIE_SECRET_MAX_AGE_MS - COOKIE_SECRET_LATENCY_MS;
    mac2Of(message).set(fresh ? mac(this.cookie!, mac2Range(message)) : Buffer.alloc(MAC_LEN));
  }

  /** Takes the cookie from a reply to our last message; false when it is not one. */
  consumeReply(reply: Buffer): boolean {
    if (this.lastMac1 === undefined || reply.length !== COOKIE_REPLY_LEN) return false;
    const nonce = reply.subarray(8, 8 + COOKIE_NONCE_LEN);
    const cookie = aead.open('xsalsa20-poly1305', replyKey(this.cookieKey, this.lastMac1), nonce, reply.subarray(8 + COOKIE_NONCE_LEN));
    if (cookie === null || cookie.length !== COOKIE_LEN) return false;
    this.cookie = cookie;
    this.cookieReceivedAt = this.now();
    this.lastMac1 = undefined;
    return true;
  }
}
