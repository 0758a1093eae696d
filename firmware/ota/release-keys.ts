/**
 * Release keys: Ed25519 keys that sign releases, made on the laptop with `nymote release-key
 * init` (secrets/release/release.key, 0600), and the list of them a device trusts, which is
 * built into its image: release-keys.json, `{"keys": ["<base64url>", …]}`.
 */
import path from 'node:path';
import { NymoteError } from '../runtime/index.js';
import { SigningKey, isBase64url } from '../signpost/index.js';

const MAX_TRUSTED_KEYS = 16;

export type ReleaseKey = SigningKey;
export const ReleaseKey = {
  file: (secretsDir: string): string => path.join(secretsDir, 'release', 'release.key'),
  /** Makes a release key; refuses when there is one (devices trust it: replace it by rotation). */
  init: (secretsDir: string): ReleaseKey => SigningKey.create(ReleaseKey.file(secretsDir), 'a release key'),
  load: (secretsDir: string): ReleaseKey | undefined => SigningKey.open(ReleaseKey.file(secretsDir)),
};

/** The trusted release keys from release-keys.json; NymoteError naming the problem. */
export function parseTrustedKeys(text: string): Uint8Array[] {
  let keys: unknown;
  try {
    keys = (JSON.parse(text) as { keys?: unknown }).keys;
  } catch {
    throw new NymoteError('EBADKEYS', 'release-keys.json is not JSON');
  }
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_TRUSTED_KEYS || !keys.every((key) => isBase64url(key, 32))) {
    throw new NymoteError('EBADKEYS', `release-keys.json must list 1 to ${MAX_TRUSTED_KEYS} Ed25519 public keys (base64url)`);
  }
  return keys.map((key: string) => Buffer.from(key, 'base64url'));
}

export function formatTrustedKeys(keys: readonly Uint8Array[]): string {
  return `${JSON.stringify({ keys: keys.map((key) => Buffer.from(key).toString('base64url')) })}\n`;
}
