/**
 * AEAD record sealing and opening, MB/s of plaintext at 64 B, 1420 B (an MTU-sized record)
 * and 16 KiB, 64 records per run, one key, a nonce per record:
 *   - the addon, one sealBatch/openBatch call per 64 records: ChaCha20-Poly1305 with the
 *     Node's OpenSSL and with the portable C, XSalsa20-Poly1305 (always the portable C);
 *   - node:crypto createCipheriv('chacha20-poly1305') per record (the JS twin's way; the
 *     baseline), and createDecipheriv for opening;
 *   - tweetnacl secretbox / secretbox.open per record (the twin's XSalsa20-Poly1305).
 * µs per record = record bytes / (MB/s).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import nacl from 'tweetnacl';

import { AEAD_ADDON_FUNCTIONS, loadAddon } from '../firmware/native.js';
import type { AeadAddon } from '../native/aead/binding.js';
import type { Bench, BenchCase } from './harness.js';

const BATCH = 64;
const SIZES: ReadonlyArray<[label: string, bytes: number]> = [
  ['64 B', 64],
  ['1420 B', 1420],
  ['16 KiB', 16 * 1024],
];
const BASELINE = 'node:crypto chacha20-poly1305 seal';

function randomBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

function nodeSeal(key: Buffer, nonce: Buffer, plaintext: Buffer): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function nodeOpen(key: Buffer, nonce: Buffer, sealed: Buffer): Buffer {
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const plain = decipher.update(sealed.subarray(0, sealed.length - 16));
  decipher.final();
  return plain;
}

const bench: Bench = {
  name: 'aead',
  unit: 'MB/s',
  baseline: BASELINE,
  cases() {
    const load = loadAddon<AeadAddon>('aead', AEAD_ADDON_FUNCTIONS);
    if (load.addon === undefined) throw new Error(`aead addon not loadable (make native): ${load.reason}`);
    const addon = load.addon;
    const key = randomBytes(32, 1);
    return SIZES.flatMap(([label, bytes]): BenchCase[] => {
      const megabytes = (BATCH * bytes) / 1e6;
      const plaintexts = Array.from({ length: BATCH }, (_, i) => randomBytes(bytes, 100 + i));
      const chachaNonces = Array.from({ length: BATCH }, (_, i) => randomBytes(12, 1000 + i));
      const xsalsaNonces = Array.from({ length: BATCH }, (_, i) => randomBytes(24, 2000 + i));
      const chachaSealed = plaintexts.map((p, i) => nodeSeal(key, chachaNonces[i]!, p));
      const boxes = plaintexts.map((p, i) => Buffer.from(nacl.secretbox(p, xsalsaNonces[i]!, key)));
      const openssl = () => addon.setBackend('openssl');
      const portable = () => addon.setBackend('portable');
      return [
        { case: label, implementation: 'addon chacha20 sealBatch (OpenSSL)', unitsPerRun: megabytes, setup: openssl, run: () => addon.sealBatch('chacha20-poly1305', key, chachaNonces, plaintexts) },
        { case: label, implementation: 'addon chacha20 openBatch (OpenSSL)', unitsPerRun: megabytes, setup: openssl, run: () => addon.openBatch('chacha20-poly1305', key, chachaNonces, chachaSealed) },
        {
          case: label,
          implementation: 'addon chacha20 seal per record (OpenSSL)',
          unitsPerRun: megabytes,
          setup: openssl,
          run: () => {
            for (let i = 0; i < BATCH; i++) addon.seal('chacha20-poly1305', key, chachaNonces[i]!, plaintexts[i]!);
          },
        },
        { case: label, implementation: 'addon chacha20 sealBatch (portable C)', unitsPerRun: megabytes, setup: portable, run: () => addon.sealBatch('chacha20-poly1305', key, chachaNonces, plaintexts) },
        { case: label, implementation: 'addon chacha20 openBatch (portable C)', unitsPerRun: megabytes, setup: portable, run: () => addon.openBatch('chacha20-poly1305', key, chachaNonces, chachaSealed) },
        { case: label, implementation: 'addon xsalsa20 sealBatch (portable C)', unitsPerRun: megabytes, run: () => addon.sealBatch('xsalsa20-poly1305', key, xsalsaNonces, plaintexts) },
        { case: label, implementation: 'addon xsalsa20 openBatch (portable C)', unitsPerRun: megabytes, run: () => addon.openBatch('xsalsa20-poly1305', key, xsalsaNonces, boxes) },
        {
          case: label,
          implementation: BASELINE,
          unitsPerRun: megabytes,
          run: () => {
            for (let i = 0; i < BATCH; i++) nodeSeal(key, chachaNonces[i]!, plaintexts[i]!);
          },
        },
        {
          case: label,
          implementation: 'node:crypto chacha20-poly1305 open',
          unitsPerRun: megabytes,
          run: () => {
            for (let i = 0; i < BATCH; i++) nodeOpen(key, chachaNonces[i]!, chachaSealed[i]!);
          },
        },
        {
          case: label,
          implementation: 'tweetnacl secretbox',
          unitsPerRun: megabytes,
          run: () => {
            for (let i = 0; i < BATCH; i++) nacl.secretbox(plaintexts[i]!, xsalsaNonces[i]!, key);
          },
        },
        {
          case: label,
          implementation: 'tweetnacl secretbox.open',
          unitsPerRun: megabytes,
          run: () => {
            for (let i = 0; i < BATCH; i++) nacl.secretbox.open(boxes[i]!, xsalsaNonces[i]!, key);
          },
        },
      ];
    });
  },
};

export default bench;
