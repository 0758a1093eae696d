/**
 * The Noise Protocol Framework, revision 34 (https://noiseprotocol.org/noise.html): CipherState,
 * SymmetricState and HandshakeState (section 5) driven by a table of handshake patterns holding
 * the two the firmware uses: IK (the secure channel, as in WireGuard) and XX (pairing, where
 * neither side knows the other's static key yet). One suite: 25519 + ChaChaPoly + SHA256.
 *
 * SHA-256 rather than WireGuard's BLAKE2s: node:crypto (the Node's OpenSSL) gives SHA-256 and
 * HMAC-SHA256 natively and fast, and no keyed BLAKE2s. X25519 is node:crypto too, ChaChaPoly
 * the aead engine (native/aead).
 */
import crypto from 'node:crypto';

import { aead } from '../../native.js';

export const DH_LEN = 32;
export const HASH_LEN = 32;
export const KEY_LEN = 32;
export const TAG_LEN = 16;

export interface KeyPair {
  readonly publicKey: Buffer;
  readonly privateKey: Buffer;
}

/** A message or ciphertext that does not authenticate (Noise's "error"): normal input from a network. */
export class NoiseError extends Error {
  override readonly name = 'NoiseError';
}

// DER wrappings of raw X25519 keys (RFC 8410): the fixed prefix, then the 32 key bytes.
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

/**
 * Importing a raw private key costs about ten X25519s (OpenSSL's decoders), so KeyObjects are
 * kept: for keys made here (ephemerals) by the key's own object, so they go with it; for the
 * others (a device's static key, test vectors) by their bytes, a handful at most.
 */
const madeHere = new WeakMap<Uint8Array, crypto.KeyObject>();
const imported = new Map<string, crypto.KeyObject>();
const MAX_IMPORTED_KEYS = 16;

function privateKeyObject(privateKey: Uint8Array): crypto.KeyObject {
  const made = madeHere.get(privateKey);
  if (made !== undefined) return made;
  const id = Buffer.from(privateKey).toString('hex');
  let key = imported.get(id);
  if (key === undefined) {
    key = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_X25519, privateKey]), format: 'der', type: 'pkcs8' });
    if (imported.size >= MAX_IMPORTED_KEYS) imported.delete(imported.keys().next().value!);
    imported.set(id, key);
  }
  return key;
}

export function publicKeyOf(privateKey: Uint8Array): Buffer {
  return crypto.createPublicKey(privateKeyObject(privateKey)).export({ format: 'der', type: 'spki' }).subarray(SPKI_X25519.length);
}

export function generateKeyPair(): KeyPair {
  const key = crypto.generateKeyPairSync('x25519').privateKey;
  const jwk = key.export({ format: 'jwk' });
  const privateKey = Buffer.from(jwk.d!, 'base64url');
  madeHere.set(privateKey, key);
  return { publicKey: Buffer.from(jwk.x!, 'base64url'), privateKey };
}

/**
 * X25519 (RFC 7748), or undefined for a public key of small order: OpenSSL refuses an all-zero
 * result, which Noise (section 12.1) allows and WireGuard requires us to treat as failure.
 */
export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Buffer | undefined {
  if (publicKey.length !== DH_LEN) return undefined;
  try {
    // A JWK imports in a tenth of the time of the same key as DER.
    const publicObject = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
    return crypto.diffieHellman({ privateKey: privateKeyObject(privateKey), publicKey: publicObject });
  } catch {
    return undefined;
  }
}

export function hash(...parts: Uint8Array[]): Buffer {
  const h = crypto.createHash('sha256');
  for (const part of parts) h.update(part);
  return h.digest();
}

export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = crypto.createHmac('sha256', key);
  for (const part of parts) h.update(part);
  return h.digest();
}

/** Noise's HKDF (section 4.3): two or three outputs chained from one HMAC of the input. */
export function hkdf(chainingKey: Uint8Array, inputKeyMaterial: Uint8Array, outputs: 2 | 3): Buffer[] {
  const tempKey = hmac(chainingKey, inputKeyMaterial);
  const result = [hmac(tempKey, ONE)];
  result.push(hmac(tempKey, result[0]!, TWO));
  if (outputs === 3) result.push(hmac(tempKey, result[1]!, THREE));
  return result;
}

const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);
const THREE = Uint8Array.of(3);
const EMPTY = new Uint8Array(0);

/** ChaChaPoly's nonce (section 12.3): 32 bits of zeros, then the 64-bit counter little-endian. */
export function chachaNonce(counter: bigint): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64LE(counter, 4);
  return nonce;
}

/** Section 5.1: a key (or none yet) and its nonce counter. */
export class CipherState {
  constructor(
    private readonly k: Buffer | undefined = undefined,
    private nonce = 0n,
  ) {}

  clone(): CipherState {
    return new CipherState(this.k, this.nonce);
  }

  hasKey(): boolean {
    return this.k !== undefined;
  }

  /** The key itself, for a transport that keeps its own counters (the channel's keypairs). */
  get key(): Buffer | undefined {
    return this.k;
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Buffer {
    if (this.k === undefined) return Buffer.from(plaintext);
    const sealed = aead.seal('chacha20-poly1305', this.k, chachaNonce(this.nextNonce()), plaintext, ad);
    this.nonce++;
    return sealed;
  }

  /** The plaintext; a NoiseError when it does not authenticate (the nonce then stays put). */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Buffer {
    if (this.k === undefined) return Buffer.from(ciphertext);
    const opened = aead.open('chacha20-poly1305', this.k, chachaNonce(this.nextNonce()), ciphertext, ad);
    if (opened === null) throw new NoiseError('noise: ciphertext does not authenticate');
    this.nonce++;
    return opened;
  }

  private nextNonce(): bigint {
    // 2^64 - 1 is reserved (section 5.1).
    if (this.nonce >= MAX_NONCE) throw new RangeError('noise: nonce exhausted, rekey or start a new session');
    return this.nonce;
  }
}

const MAX_NONCE = (1n << 64n) - 1n;

/** Section 5.2: the chaining key and handshake hash, and the cipher they key. */
export class SymmetricState {
  private cipher = new CipherState();
  private ck: Buffer;
  private h: Buffer;

  constructor(protocolName: string) {
    const name = Buffer.from(protocolName, 'ascii');
    this.h = name.length <= HASH_LEN ? Buffer.concat([name, Buffer.alloc(HASH_LEN - name.length)]) : hash(name);
    this.ck = this.h;
  }

  get handshakeHash(): Buffer {
    return Buffer.from(this.h);
  }

  hasKey(): boolean {
    return this.cipher.hasKey();
  }

  clone(): SymmetricState {
    const copy = Object.create(SymmetricState.prototype) as SymmetricState;
    Object.assign(copy, { cipher: this.cipher.clone(), ck: this.ck, h: this.h });
    return copy;
  }

  mixKey(inputKeyMaterial: Uint8Array): void {
    const [ck, tempK] = hkdf(this.ck, inputKeyMaterial, 2);
    this.ck = ck!;
    this.cipher = new CipherState(tempK!);
  }

  mixHash(data: Uint8Array): void {
    this.h = hash(this.h, data);
  }

  encryptAndHash(plaintext: Uint8Array): Buffer {
    const ciphertext = this.cipher.encryptWithAd(this.h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Uint8Array): Buffer {
    const plaintext = this.cipher.decryptWithAd(this.h, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  split(): [CipherState, CipherState] {
    const [k1, k2] = hkdf(this.ck, EMPTY, 2);
    return [new CipherState(k1!), new CipherState(k2!)];
  }
}

type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss';

interface HandshakePattern {
  /** Keys known before the first message (section 7.1), initiator's then responder's. */
  readonly preMessages: { readonly initiator: readonly 's'[]; readonly responder: readonly 's'[] };
  /** Messages alternate, initiator first. */
  readonly messages: readonly (readonly Token[])[];
}

/** Section 7.5, the two patterns in use. */
export const HANDSHAKE_PATTERNS = {
  IK: { preMessages: { initiator: [], responder: ['s'] }, messages: [['e', 'es', 's', 'ss'], ['e', 'ee', 'se']] },
  XX: { preMessages: { initiator: [], responder: [] }, messages: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']] },
} as const satisfies Record<string, HandshakePattern>;

export type PatternName = keyof typeof HANDSHAKE_PATTERNS;

export const protocolName = (pattern: PatternName) => `Noise_${pattern}_25519_ChaChaPoly_SHA256`;

export interface HandshakeOptions {
  pattern: PatternName;
  initiator: boolean;
  prologue?: Uint8Array;
  /** This side's static X25519 key pair, raw. */
  staticPrivate: Uint8Array;
  staticPublic: Uint8Array;
  /** The responder's static public key, which an IK initiator knows beforehand. */
  remoteStatic?: Uint8Array;
  /** A fixed ephemeral key pair, for test vectors only; otherwise each handshake makes one. */
  ephemeral?: KeyPair;
}

/**
 * Section 5.3: one side of one handshake. writeMessage and readMessage alternate as the
 * pattern says; after the last message, split() gives the transport ciphers. A message that
 * does not authenticate throws a NoiseError and leaves the state as it was, as WireGuard's
 * consume functions do: a forged message on the wire must not spoil the genuine one after it.
 */
export class HandshakeState {
  readonly pattern: PatternName;
  readonly initiator: boolean;
  private symmetric: SymmetricState;
  private readonly s: KeyPair;
  private e: KeyPair | undefined;
  private rs: Buffer | undefined;
  private re: Buffer | undefined;
  private readonly fixedEphemeral: KeyPair | undefined;
  private messageIndex = 0;

  constructor(options: HandshakeOptions) {
    this.pattern = options.pattern;
    this.initiator = options.initiator;
    this.s = { privateKey: Buffer.from(options.staticPrivate), publicKey: Buffer.from(options.staticPublic) };
    this.fixedEphemeral = options.ephemeral;
    this.rs = options.remoteStatic === undefined ? undefined : Buffer.from(options.remoteStatic);
    this.symmetric = new SymmetricState(protocolName(options.pattern));
    this.symmetric.mixHash(options.prologue ?? EMPTY);
    const { preMessages } = HANDSHAKE_PATTERNS[this.pattern];
    for (const side of ['initiator', 'responder'] as const) {
      if (preMessages[side].length === 0) continue;
      const key = (side === 'initiator') === this.initiator ? this.s.publicKey : this.rs;
      if (key === undefined || key.length !== DH_LEN) throw new TypeError(`noise ${this.pattern}: the ${side}'s static key must be known beforehand`);
      this.symmetric.mixHash(key);
    }
  }

  private get messages(): readonly (readonly Token[])[] {
    return HANDSHAKE_PATTERNS[this.pattern].messages;
  }

  isComplete(): boolean {
    return this.messageIndex === this.messages.length;
  }

  /** Whether the next message is ours to write. */
  isMyTurn(): boolean {
    return !this.isComplete() && this.messageIndex % 2 === (this.initiator ? 0 : 1);
  }

  /** The other side's static public key; throws before the handshake has told it. */
  remoteStatic(): Buffer {
    if (this.rs === undefined) throw new Error(`noise ${this.pattern}: the remote static key is not known yet`);
    return Buffer.from(this.rs);
  }

  /** GetHandshakeHash (section 5.3): h, binding everything sent so far; final once complete. */
  handshakeHash(): Buffer {
    return this.symmetric.handshakeHash;
  }

  writeMessage(payload: Uint8Array): Buffer {
    if (!this.isMyTurn()) throw new Error(`noise ${this.pattern}: not our turn to write`);
    const parts: Buffer[] = [];
    for (const token of this.messages[this.messageIndex]!) {
      if (token === 'e') {
        this.e = this.fixedEphemeral ?? generateKeyPair();
        parts.push(this.e.publicKey);
        this.symmetric.mixHash(this.e.publicKey);
      } else if (token === 's') {
        parts.push(this.symmetric.encryptAndHash(this.s.publicKey));
      } else if (!this.mixDh(token)) {
        throw new NoiseError(`noise ${this.pattern}: the remote key is of small order`);
      }
    }
    parts.push(this.symmetric.encryptAndHash(payload));
    this.messageIndex++;
    return Buffer.concat(parts);
  }

  /** The payload; a NoiseError (state unchanged) when the message is short or does not authenticate. */
  readMessage(message: Uint8Array): Buffer {
    if (this.isComplete() || this.isMyTurn()) throw new Error(`noise ${this.pattern}: not expecting a message`);
    const saved = { symmetric: this.symmetric.clone(), rs: this.rs, re: this.re };
    try {
      const offset = this.readTokens(message);
      const payload = this.symmetric.decryptAndHash(message.subarray(offset));
      this.messageIndex++;
      return payload;
    } catch (error) {
      ({ symmetric: this.symmetric, rs: this.rs, re: this.re } = saved);
      throw error;
    }
  }

  /** Processes the message's tokens; returns where its payload starts. */
  private readTokens(message: Uint8Array): number {
    let offset = 0;
    const take = (length: number): Buffer => {
      if (message.length - offset < length) throw new NoiseError(`noise ${this.pattern}: message too short`);
      const bytes = Buffer.from(message.subarray(offset, offset + length));
      offset += length;
      return bytes;
    };
    for (const token of this.messages[this.messageIndex]!) {
      if (token === 'e') {
        this.re = take(DH_LEN);
        this.symmetric.mixHash(this.re);
      } else if (token === 's') {
        this.rs = this.symmetric.decryptAndHash(take(DH_LEN + (this.symmetric.hasKey() ? TAG_LEN : 0)));
      } else if (!this.mixDh(token)) {
        throw new NoiseError(`noise ${this.pattern}: the remote key is of small order`);
      }
    }
    return offset;
  }

  /** MixKey(DH(...)) for ee, es, se, ss from this side's point of view; false on a small-order key. */
  private mixDh(token: 'ee' | 'es' | 'se' | 'ss'): boolean {
    // The first letter is the initiator's key, the second the responder's.
    const [initiatorKey, responderKey] = [token[0], token[1]] as ['e' | 's', 'e' | 's'];
    const local = this.initiator ? initiatorKey : responderKey;
    const remote = this.initiator ? responderKey : initiatorKey;
    const privateKey = local === 'e' ? this.e?.privateKey : this.s.privateKey;
    const publicKey = remote === 'e' ? this.re : this.rs;
    const shared = privateKey === undefined || publicKey === undefined ? undefined : dh(privateKey, publicKey);
    if (shared === undefined) return false;
    this.symmetric.mixKey(shared);
    return true;
  }

  /**
   * Section 5.2 Split: [c1, c2], c1 carrying initiator to responder and c2 back. So the
   * initiator sends with c1 and the responder with c2.
   */
  split(): [CipherState, CipherState] {
    if (!this.isComplete()) throw new Error(`noise ${this.pattern}: split before the handshake completed`);
    return this.symmetric.split();
  }
}
