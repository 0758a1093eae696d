/**
 * The cross-built sha1 addon (build/<arch>/sha1.node) runs on Debian trixie's ARM nodejs under
 * qemu-user and must give the same ids as the host's JS twin, with the ARM OpenSSL (found by
 * dlsym in libcrypto.so.3) and with the portable C code. Missing qemu or ARM node is a failure
 * that says what to run, never a skip. `make test-cross` builds and fetches both first.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { testBothBackends } from '../_lib/arm-node.js';
import { sha1Twin } from '../../native/sha1/twin.js';
import { sha1Cases } from '../unit/sha1-cases.js';

/**
 * Runs on the ARM node (plain JS, no tsx there; kept inline because uvu would run a helper
 * file as a test). argv: ADDON DATA_FILE, where DATA_FILE repeats
 * [type length: u8][type: ASCII][size: u32 LE][content]. Prints one JSON ArmReport.
 */
const ARM_SCRIPT = `
const fs = require('node:fs');
const [addonFile, dataFile] = process.argv.slice(1);
const holder = { exports: {} };
process.dlopen(holder, addonFile);
const addon = holder.exports;

const data = fs.readFileSync(dataFile);
const types = [];
const contents = [];
for (let offset = 0; offset < data.length; ) {
  const typeLength = data[offset];
  types.push(data.toString('latin1', offset + 1, offset + 1 + typeLength));
  offset += 1 + typeLength;
  const size = data.readUInt32LE(offset);
  offset += 4;
  contents.push(data.subarray(offset, offset + size));
  offset += size;
}

const batched = addon.hashObjects(types, contents);
const streamed = contents.map((content, i) => {
  const handle = addon.createHasher(types[i], content.length);
  // An odd chunk size, so chunks straddle the 64-byte blocks.
  for (let at = 0; at < content.length; at += 7919) addon.update(handle, content.subarray(at, at + 7919));
  return addon.digest(handle).toString('hex');
});

process.stdout.write(JSON.stringify({
  arch: process.arch,
  node: process.version,
  backend: addon.backend(),
  batched: contents.map((_, i) => batched.toString('hex', i * 20, i * 20 + 20)),
  streamed,
  raw: contents.map((content) => addon.sha1(content).toString('hex')),
}));
`;

interface ArmReport {
  arch: string;
  node: string;
  backend: string;
  batched: string[];
  streamed: string[];
  raw: string[];
}

const cases = sha1Cases(0xc0ffee, 24);
const expectedIds = cases.map(({ type, content }) => sha1Twin.hashObjects(type, [content]).toString('hex'));
const expectedRaw = cases.map(({ content }) => sha1Twin.sha1(content).toString('hex'));

const dataFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nymote-sha1-cross-')), 'cases.bin');
fs.writeFileSync(
  dataFile,
  Buffer.concat(
    cases.flatMap(({ type, content }) => {
      const size = Buffer.alloc(4);
      size.writeUInt32LE(content.length);
      return [Buffer.from([type.length]), Buffer.from(type, 'latin1'), size, content];
    }),
  ),
);

function assertSameIds(report: ArmReport): void {
  assert.equal(report.batched, expectedIds, 'hashObjects (one batch)');
  assert.equal(report.streamed, expectedIds, 'createHasher/update/digest');
  assert.equal(report.raw, expectedRaw, 'sha1 (raw)');
}

// With OpenSSL, dlsym must find SHA1_Init in the ARM node's libcrypto.
testBothBackends<ArmReport>(test, { addon: 'sha1', script: ARM_SCRIPT, args: [dataFile], portableEnv: 'NYMOTE_SHA1_PORTABLE', check: assertSameIds });

test.after(() => fs.rmSync(path.dirname(dataFile), { recursive: true, force: true }));

test.run();
