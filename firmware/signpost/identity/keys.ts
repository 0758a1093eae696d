/**
 * Signpost's private keys, in secrets/signpost/ (0700, files 0600), made from the kernel's RNG
 * by node:crypto and kept as PKCS#8 PEM (openssl reads them). A device has two: an Ed25519 key
 * that signs, which the owner certifies, and the X25519 static key of the secure channel's
 * Noise handshake. The owner's Ed25519 key, made on a laptop by `nymote owner init`,
 * certifies the devices. A key file that does not read back is an error, never a reason to
 * make new keys: a new key is a stranger to every device that knew the old one.
 */
import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NymoteError, readFileIfExists, withFileLock, writeFileDurable } from '../../runtime/index.js';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** What signs a certificate or a revocation: the owner's key, or a stand-in in tests. */
export interface Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** secrets/signpost/, Signpost's private files. */
export function signpostSecrets(secretsDir: string): string {
  return path.join(secretsDir, 'signpost');
}

/** A short stable name for an Ed25519 public key: base32 of the first 10 bytes of its SHA-256. */
export function keyId(publicKey: Uint8Array): string {
  const digest = crypto.createHash('sha256').update(publicKey).digest().subarray(0, 10);
  let id = '';
  for (let bit = 0; bit < digest.length * 8; bit += 5) {
    const pair = (digest[bit >> 3]! << 8) | (digest[(bit >> 3) + 1] ?? 0);
    id += BASE32[(pair >> (11 - (bit & 7))) & 31];
  }
  return id;
}

/** True when `signature` is `publicKey`'s (raw 32-byte Ed25519) signature of `message`. */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    const key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
    return crypto.verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** This device's Ed25519 signing key and X25519 channel key, in secrets/signpost/device.key. */
export class DeviceKeys {
  /** The device's id: keyId(signPublic). */
  readonly id: string;
  readonly signPublic: Uint8Array;
  readonly dhPublic: Uint8Array;
  /** The raw X25519 private key, for the Noise handshake (it does its own DH). */
  readonly dhPrivate: Uint8Array;

  private constructor(
    private readonly signKey: KeyObject,
    dhKey: KeyObject,
  ) {
    this.signPublic = rawKey(signKey, 'x');
    this.dhPublic = rawKey(dhKey, 'x');
    this.dhPrivate = rawKey(dhKey, 'd');
    this.id = keyId(this.signPublic);
  }

  static file(secretsDir: string): string {
    return path.join(signpostSecrets(secretsDir), 'device.key');
  }

  /** The device's keys, made at the first call. */
  static loadOrCreate(secretsDir: string): DeviceKeys {
    const file = DeviceKeys.file(secretsDir);
    makeSecretsDir(file);
    const [signKey, dhKey] = withFileLock(file, () => {
      const existing = readKeyFile(file, ['ed25519', 'x25519']);
      if (existing !== undefined) return existing;
      const made = [crypto.generateKeyPairSync('ed25519').privateKey, crypto.generateKeyPairSync('x25519').privateKey];
      writeKeyFile(file, made);
      return made;
    }) as [KeyObject, KeyObject];
    return new DeviceKeys(signKey, dhKey);
  }

  sign(message: Uint8Array): Uint8Array {
    return crypto.sign(null, message, this.signKey);
  }
}

/**
 * A person's Ed25519 key in one file (0600): the owner's, a release key. Made once and never
 * replaced by accident: making one where a file exists is refused, since everything it signed
 * (devices, releases) would be orphaned.
 */
export class SigningKey implements Signer {
  readonly publicKey: Uint8Array;
  /** keyId(publicKey). */
  readonly id: string;

  private constructor(private readonly key: KeyObject) {
    this.publicKey = rawKey(key, 'x');
    this.id = keyId(this.publicKey);
  }

  /** Makes a key in `file`; `what` names it in the refusal ("an owner key"). */
  static create(file: string, what: string): SigningKey {
    makeSecretsDir(file);
    return withFileLock(file, () => {
      if (fs.existsSync(file)) throw new NymoteError('EEXIST', `${what} already exists in ${file}`);
      const key = crypto.generateKeyPairSync('ed25519').privateKey;
      writeKeyFile(file, [key]);
      return new SigningKey(key);
    });
  }

  /** The key in `file`, or undefined where there is none. */
  static open(file: string): SigningKey | undefined {
    const keys = readKeyFile(file, ['ed25519']);
    return keys === undefined ? undefined : new SigningKey(keys[0]!);
  }

  sign(message: Uint8Array): Uint8Array {
    return crypto.sign(null, message, this.key);
  }
}

/** The owner's key, in secrets/signpost/owner.key of the owner's laptop. */
export type OwnerKey = SigningKey;
export const OwnerKey = {
  file: (secretsDir: string): string => path.join(signpostSecrets(secretsDir), 'owner.key'),
  /** Makes the owner's key; refuses when there is one already (it would orphan every device). */
  init: (secretsDir: string): OwnerKey => SigningKey.create(OwnerKey.file(secretsDir), 'an owner key'),
  /** The owner's key, or undefined where there is none (a device, or before `owner init`). */
  load: (secretsDir: string): OwnerKey | undefined => SigningKey.open(OwnerKey.file(secretsDir)),
};

function rawKey(key: KeyObject, part: 'x' | 'd'): Uint8Array {
  const jwk = (part === 'x' ? crypto.createPublicKey(key) : key).export({ format: 'jwk' });
  return Buffer.from(jwk[part]!, 'base64url');
}

function makeSecretsDir(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.chmodSync(path.dirname(file), 0o700);
}

/** The private keys of `file`, of these types in this order; undefined when there is no file. */
function readKeyFile(file: string, types: readonly string[]): KeyObject[] | undefined {
  const text = readFileIfExists(file);
  if (text === undefined) return undefined;
  const blocks = text.match(/-----BEGIN PRIVATE KEY-----[^-]*-----END PRIVATE KEY-----/g) ?? [];
  let keys: KeyObject[] = [];
  try {
    keys = blocks.map((block) => crypto.createPrivateKey(block));
  } catch {
    // reported below with the rest
  }
  if (keys.length !== types.length || keys.some((key, i) => key.asymmetricKeyType !== types[i])) {
    throw new NymoteError('EBADKEY', `${file} is damaged (expected ${types.join(' and ')} private keys); restore it from a backup, or move it away to make new keys`);
  }
  return keys;
}

function writeKeyFile(file: string, keys: KeyObject[]): void {
  writeFileDurable(file, keys.map((key) => key.export({ type: 'pkcs8', format: 'pem' }) as string).join(''), 0o600);
}
