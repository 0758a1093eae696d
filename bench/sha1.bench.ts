/**
 * Git object hashing, objects/s at 64 B, 1 KiB and 64 KiB, 256 objects per run:
 *   - the addon, one call per batch of 256, with the Node's OpenSSL and with its portable C;
 *   - the addon, one call per object (what batching saves);
 *   - node:crypto createHash per object (the JS twin's way; the baseline);
 *   - isomorphic-git's public hashBlob, awaited per object. Its internal shasum() is not
 *     exported; hashBlob is exactly GitObject.wrap + shasum, which in Node 20 goes to
 *     crypto.subtle.digest('SHA-1') (sha.js only where subtle lacks SHA-1).
 */
import { createHash } from 'node:crypto';
import git from 'isomorphic-git';

import { SHA1_ADDON_FUNCTIONS, loadAddon } from '../firmware/native.js';
import type { Sha1Addon } from '../native/sha1/binding.js';
import type { Bench, BenchCase } from './harness.js';

const BATCH = 256;
const SIZES: ReadonlyArray<[label: string, bytes: number]> = [
  ['64 B', 64],
  ['1 KiB', 1024],
  ['64 KiB', 64 * 1024],
];
const BASELINE = 'node:crypto createHash';

function batchOf(bytes: number): Buffer[] {
  // Distinct contents, so nothing can be cached between objects.
  return Array.from({ length: BATCH }, (_, i) => Buffer.alloc(bytes, i));
}

const bench: Bench = {
  name: 'sha1',
  unit: 'objects/s',
  baseline: BASELINE,
  cases() {
    const load = loadAddon<Sha1Addon>('sha1', SHA1_ADDON_FUNCTIONS);
    if (load.addon === undefined) throw new Error(`sha1 addon not loadable (make native): ${load.reason}`);
    const addon = load.addon;
    return SIZES.flatMap(([label, bytes]): BenchCase[] => {
      const contents = batchOf(bytes);
      return [
        {
          case: label,
          implementation: 'addon batched (OpenSSL)',
          unitsPerRun: BATCH,
          setup: () => addon.setBackend('openssl'),
          run: () => addon.hashObjects('blob', contents),
        },
        {
          case: label,
          implementation: 'addon batched (portable C)',
          unitsPerRun: BATCH,
          setup: () => addon.setBackend('portable'),
          run: () => addon.hashObjects('blob', contents),
        },
        {
          case: label,
          implementation: 'addon per object (OpenSSL)',
          unitsPerRun: BATCH,
          setup: () => addon.setBackend('openssl'),
          run: () => {
            for (const content of contents) addon.hashObjects('blob', [content]);
          },
        },
        {
          case: label,
          implementation: BASELINE,
          unitsPerRun: BATCH,
          run: () => {
            for (const content of contents) createHash('sha1').update(`blob ${content.length}\0`).update(content).digest();
          },
        },
        {
          case: label,
          implementation: 'isomorphic-git hashBlob',
          unitsPerRun: BATCH,
          run: async () => {
            for (const content of contents) await git.hashBlob({ object: content });
          },
        },
      ];
    });
  },
};

export default bench;
