/**
 * native/aead: the addon (Node's OpenSSL and portable C) and the JS twin (node:crypto,
 * tweetnacl) agree on random keys, nonces, AADs and plaintexts of the lengths that matter
 * (empty, around the 64-byte ChaCha/Salsa block, an MTU-sized record, 16 KiB, the 64 KiB
 * maximum), one record per call and in batches, and open each other's records. Random
 * mutations of records (bit flips, truncation, splices) give null from every implementation.
 * Seeded: a failure names its seed. Needs the host addon (make native).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { AEAD_ADDON_FUNCTIONS, loadAddon } from '../../firmware/native.js';
import { AEAD_ALGORITHMS, NONCE_BYTES, type AeadAddon, type AeadAlgorithm } from '../../native/aead/binding.js';
import { aeadTwin } from '../../native/aead/twin.js';
import { Random } from '../_lib/random.js';

const load = loadAddon<AeadAddon>('aead', AEAD_ADDON_FUNCTIONS);
if (load.addon === undefined) assert.unreachable(`aead addon not loadable (run make native): ${load.reason}`);
const addon = load.addon as AeadAddon;

const SEED = 20251130;
const LENGTHS = [0, 1, 63, 64, 65, 1420, 16384, 65536];
const AAD_LENGTHS = [0, 1, 15, 16, 17, 100, 65536];
const ROUNDS = 4;

function bytes(random: Random, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = random.int(256);
  return out;
}

interface Case {
  key: Buffer;
  nonce: Buffer;
  plaintext: Buffer;
  aad: Buffer | undefined;
}

function randomCase(random: Random, algorithm: AeadAlgorithm, length: number): Case {
  return {
    key: bytes(random, 32),
    nonce: bytes(random, NONCE_BYTES[algorithm]),
    plaintext: bytes(random, length),
    // Sometimes no AAD at all (undefined), which must equal an empty one.
    aad: algorithm === 'chacha20-poly1305' && random.chance(0.8) ? bytes(random, random.pick(AAD_LENGTHS)) : undefined,
  };
}

const twins = suite('aead addon vs JS twin');

for (const backend of ['openssl', 'portable'] as const) {
  for (const algorithm of AEAD_ALGORITHMS) {
    twins(`${backend} ${algorithm}: random records of ${LENGTHS.join(', ')} bytes`, () => {
      addon.setBackend(backend);
      const random = new Random(SEED + LENGTHS.length * (backend === 'openssl' ? 1 : 2) + algorithm.length);
      for (let round = 0; round < ROUNDS; round++) {
        for (const length of LENGTHS) {
          const { key, nonce, plaintext, aad } = randomCase(random, algorithm, length);
          const where = `round ${round}, ${length} B, AAD ${aad?.length ?? 'none'}`;
          const expected = aeadTwin.seal(algorithm, key, nonce, plaintext, aad);
          const sealed = addon.seal(algorithm, key, nonce, plaintext, aad);
          assert.is(sealed.length, length + 16, where);
          assert.ok(sealed.equals(expected), `seal differs: ${where}`);
          assert.ok(addon.open(algorithm, key, nonce, expected, aad)?.equals(plaintext), `addon opens twin's record: ${where}`);
          assert.ok(aeadTwin.open(algorithm, key, nonce, sealed, aad)?.equals(plaintext), `twin opens addon's record: ${where}`);
        }
      }
    });

    twins(`${backend} ${algorithm}: batches of mixed lengths agree with the twin`, () => {
      addon.setBackend(backend);
      const random = new Random(SEED ^ 0x5eed ^ algorithm.length ^ (backend === 'openssl' ? 1 : 2));
      for (let round = 0; round < ROUNDS; round++) {
        const key = bytes(random, 32);
        const count = 1 + random.int(64);
        const cases = Array.from({ length: count }, () => randomCase(random, algorithm, random.chance(0.2) ? random.pick(LENGTHS) : random.int(1500)));
        const nonces = cases.map((c) => c.nonce);
        const plaintexts = cases.map((c) => c.plaintext);
        const aads = algorithm === 'chacha20-poly1305' ? cases.map((c) => c.aad ?? Buffer.alloc(0)) : undefined;
        const sealed = addon.sealBatch(algorithm, key, nonces, plaintexts, aads);
        assert.equal(sealed, aeadTwin.sealBatch(algorithm, key, nonces, plaintexts, aads), `round ${round}`);
        assert.equal(addon.openBatch(algorithm, key, nonces, sealed, aads), plaintexts);
        assert.equal(aeadTwin.openBatch(algorithm, key, nonces, sealed, aads), plaintexts);
      }
    });

    twins(`${backend} ${algorithm}: mutated records open to null everywhere`, () => {
      addon.setBackend(backend);
      const random = new Random(SEED * 7 + algorithm.length);
      let mutations = 0;
      for (let round = 0; round < 200; round++) {
        const { key, nonce, plaintext, aad } = randomCase(random, algorithm, random.int(300));
        const sealed = aeadTwin.seal(algorithm, key, nonce, plaintext, aad);
        const mutated = Buffer.from(sealed);
        switch (random.int(4)) {
          case 0: // a few bit flips anywhere
            for (let n = 1 + random.int(3); n > 0; n--) mutated[random.int(mutated.length)]! ^= 1 << random.int(8);
            break;
          case 1: // truncated
            assert.is(addon.open(algorithm, key, nonce, sealed.subarray(0, random.int(sealed.length)), aad), null);
            mutations++;
            continue;
          case 2: // random bytes of the same length
            bytes(random, mutated.length).copy(mutated);
            break;
          default: {
            // The tag of another record (same key and nonce) spliced in.
            const tagAt = algorithm === 'chacha20-poly1305' ? mutated.length - 16 : 0;
            aeadTwin.seal(algorithm, key, nonce, bytes(random, plaintext.length), aad).copy(mutated, tagAt, tagAt, tagAt + 16);
          }
        }
        if (mutated.equals(sealed)) continue; // flips that cancelled out
        mutations++;
        assert.is(addon.open(algorithm, key, nonce, mutated, aad), null, `round ${round}`);
        assert.is(aeadTwin.open(algorithm, key, nonce, mutated, aad), null, `round ${round}`);
      }
      assert.ok(mutations > 150);
    });
  }
}

twins('openssl and portable give identical records', () => {
  const random = new Random(SEED + 99);
  for (let round = 0; round < 50; round++) {
    const { key, nonce, plaintext, aad } = randomCase(random, 'chacha20-poly1305', random.int(5000));
    addon.setBackend('openssl');
    const viaOpenssl = addon.seal('chacha20-poly1305', key, nonce, plaintext, aad);
    addon.setBackend('portable');
    assert.ok(addon.seal('chacha20-poly1305', key, nonce, plaintext, aad).equals(viaOpenssl), `round ${round}`);
    assert.ok(addon.open('chacha20-poly1305', key, nonce, viaOpenssl, aad)?.equals(plaintext), `round ${round}`);
  }
  addon.setBackend('openssl');
});

twins('inputs are not modified and outputs do not alias them', () => {
  for (const backend of ['openssl', 'portable'] as const) {
    addon.setBackend(backend);
    const random = new Random(SEED + 5);
    for (const algorithm of AEAD_ALGORITHMS) {
      const { key, nonce, plaintext, aad } = randomCase(random, algorithm, 200);
      const copies = [key, nonce, plaintext, aad ?? Buffer.alloc(0)].map((b) => Buffer.from(b));
      const sealed = addon.seal(algorithm, key, nonce, plaintext, aad);
      const sealedCopy = Buffer.from(sealed);
      const opened = addon.open(algorithm, key, nonce, sealed, aad)!;
      assert.equal([key, nonce, plaintext, aad ?? Buffer.alloc(0)], copies);
      assert.ok(sealed.equals(sealedCopy));
      opened.fill(0);
      assert.ok(plaintext.equals(copies[2]!));
      // Views at an offset into a larger buffer.
      const big = Buffer.concat([Buffer.alloc(7), plaintext, Buffer.alloc(9)]);
      assert.ok(addon.seal(algorithm, key, nonce, big.subarray(7, 7 + plaintext.length), aad).equals(sealed));
    }
  }
  addon.setBackend('openssl');
});

twins.run();
