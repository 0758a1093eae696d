/**
 * The cross-built aead addon (build/<arch>/aead.node) runs on Debian trixie's ARM nodejs under
 * qemu-user and must seal exactly what the host's JS twin (node:crypto, tweetnacl) seals, and
 * open it back, with the ARM OpenSSL (dlsym finds EVP ChaCha20-Poly1305 in libcrypto.so.3) and
 * with the portable C, on 32-bit and 64-bit ARM: both algorithms, one record per call and in a
 * batch, and forged records open to null. Missing qemu or ARM node is a failure that says what
 * to run, never a skip. `make test-cross` builds and fetches both first.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { testBothBackends } from '../_lib/arm-node.js';
import { AEAD_ALGORITHMS, NONCE_BYTES, type AeadAlgorithm } from '../../native/aead/binding.js';
import { aeadTwin } from '../../native/aead/twin.js';
import { Random } from '../_lib/random.js';

/**
 * Runs on the ARM node (plain JS, no tsx there; kept inline because uvu would run a helper
 * file as a test). argv: ADDON DATA_FILE, where DATA_FILE is JSON: an array of cases
 * { algorithm, key, nonce, plaintext, aad? } in hex. Prints one JSON ArmReport.
 */
const ARM_SCRIPT = `
const fs = require('node:fs');
const [addonFile, dataFile] = process.argv.slice(1);
const holder = { exports: {} };
process.dlopen(holder, addonFile);
const addon = holder.exports;
const hex = (text) => Buffer.from(text, 'hex');
const cases = JSON.parse(fs.readFileSync(dataFile, 'utf8')).map((c) => ({
  algorithm: c.algorithm, key: hex(c.key), nonce: hex(c.nonce), plaintext: hex(c.plaintext), aad: c.aad === undefined ? undefined : hex(c.aad),
}));
const sealed = cases.map((c) => addon.seal(c.algorithm, c.key, c.nonce, c.plaintext, c.aad));
const opened = cases.map((c, i) => addon.open(c.algorithm, c.key, c.nonce, sealed[i], c.aad));
const forged = cases.map((c, i) => {
  const copy = Buffer.from(sealed[i]);
  copy[i % copy.length] ^= 0x80;
  return addon.open(c.algorithm, c.key, c.nonce, copy, c.aad);
});
// One batch per algorithm, under the first case's key.
const batches = {};
for (const algorithm of ['chacha20-poly1305', 'xsalsa20-poly1305']) {
  const mine = cases.filter((c) => c.algorithm === algorithm);
  const key = mine[0].key;
  const aads = algorithm === 'chacha20-poly1305' ? mine.map((c) => c.aad ?? Buffer.alloc(0)) : undefined;
  const records = addon.sealBatch(algorithm, key, mine.map((c) => c.nonce), mine.map((c) => c.plaintext), aads);
  const back = addon.openBatch(algorithm, key, mine.map((c) => c.nonce), records, aads);
  batches[algorithm] = { sealed: records.map((r) => r.toString('hex')), opened: back.map((p) => (p === null ? null : p.toString('hex'))) };
}
process.stdout.write(JSON.stringify({
  arch: process.arch,
  node: process.version,
  backend: addon.backend(),
  sealed: sealed.map((r) => r.toString('hex')),
  opened: opened.map((p) => (p === null ? null : p.toString('hex'))),
  forged,
  batches,
}));
`;

interface ArmReport {
  arch: string;
  node: string;
  backend: string;
  sealed: string[];
  opened: Array<string | null>;
  forged: unknown[];
  batches: Record<AeadAlgorithm, { sealed: string[]; opened: Array<string | null> }>;
}

interface Case {
  algorithm: AeadAlgorithm;
  key: Buffer;
  nonce: Buffer;
  plaintext: Buffer;
  aad: Buffer | undefined;
}

const LENGTHS = [0, 1, 63, 64, 65, 1420, 16384, 65536];
const random = new Random(0xa12e);
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => random.int(256)));
const cases: Case[] = AEAD_ALGORITHMS.flatMap((algorithm) =>
  LENGTHS.map((length) => ({
    algorithm,
    key: bytes(32),
    nonce: bytes(NONCE_BYTES[algorithm]),
    plaintext: bytes(length),
    aad: algorithm === 'chacha20-poly1305' ? bytes(random.pick([0, 1, 16, 17, 200])) : undefined,
  })),
);
const expectedSealed = cases.map((c) => aeadTwin.seal(c.algorithm, c.key, c.nonce, c.plaintext, c.aad).toString('hex'));
const expectedBatches = Object.fromEntries(
  AEAD_ALGORITHMS.map((algorithm) => {
    const mine = cases.filter((c) => c.algorithm === algorithm);
    const aads = algorithm === 'chacha20-poly1305' ? mine.map((c) => c.aad ?? Buffer.alloc(0)) : undefined;
    const records = aeadTwin.sealBatch(algorithm, mine[0]!.key, mine.map((c) => c.nonce), mine.map((c) => c.plaintext), aads);
    return [algorithm, { sealed: records.map((r) => r.toString('hex')), opened: mine.map((c) => c.plaintext.toString('hex')) }];
  }),
);

const dataFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nymote-aead-cross-')), 'cases.json');
fs.writeFileSync(
  dataFile,
  JSON.stringify(
    cases.map((c) => ({
      algorithm: c.algorithm,
      key: c.key.toString('hex'),
      nonce: c.nonce.toString('hex'),
      plaintext: c.plaintext.toString('hex'),
      ...(c.aad === undefined ? {} : { aad: c.aad.toString('hex') }),
    })),
  ),
);

function assertSameRecords(report: ArmReport): void {
  assert.equal(report.sealed, expectedSealed, 'seal');
  assert.equal(report.opened, cases.map((c) => c.plaintext.toString('hex')), 'open(seal(x))');
  assert.equal(report.forged, cases.map(() => null), 'open of a forged record');
  assert.equal(report.batches, expectedBatches, 'sealBatch / openBatch');
}

// With OpenSSL, dlsym must find EVP_CIPHER_fetch and friends in the ARM node's libcrypto.
testBothBackends<ArmReport>(test, { addon: 'aead', script: ARM_SCRIPT, args: [dataFile], portableEnv: 'NYMOTE_AEAD_PORTABLE', check: assertSameRecords });

test.after(() => fs.rmSync(path.dirname(dataFile), { recursive: true, force: true }));

test.run();
