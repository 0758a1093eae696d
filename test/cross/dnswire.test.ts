/**
 * The cross-built dnswire and udpbatch addons (build/<arch>/) run on Debian trixie's ARM nodejs
 * under qemu-user. dnswire must decode and re-encode real messages (native/fuzz/seeds-dnswire)
 * and their truncations exactly as the host's JS twin does — results and error codes — on
 * 32-bit and 64-bit ARM; udpbatch must send a batch over loopback. Missing qemu or ARM node is
 * a failure that says what to run, never a skip. `make test-cross` builds and fetches both.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { ARM_ARCHES, runOnArmNode } from '../_lib/arm-node.js';
import { dnswireTwin } from '../../native/dnswire/twin.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs on the ARM node (plain JS). argv: DNSWIRE UDPBATCH DATA_FILE, where DATA_FILE repeats
 * [size: u16 LE][message]. Prints one JSON line: per message its outcome, then the batch's.
 */
const ARM_SCRIPT = `
const fs = require('node:fs');
const dgram = require('node:dgram');
const load = (file) => { const holder = { exports: {} }; process.dlopen(holder, file); return holder.exports; };
const [dnswireFile, udpbatchFile, dataFile] = process.argv.slice(1);
const dnswire = load(dnswireFile);
const udpbatch = load(udpbatchFile);
const data = fs.readFileSync(dataFile);
const outcomes = [];
for (let at = 0; at < data.length; ) {
  const size = data.readUInt16LE(at);
  const wire = data.subarray(at + 2, at + 2 + size);
  at += 2 + size;
  try {
    const message = dnswire.decode(wire);
    outcomes.push(JSON.stringify(message, (k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)) + ' ' + dnswire.encode(message).toString('hex'));
  } catch (error) {
    outcomes.push(error.code);
  }
}
const receiver = dgram.createSocket('udp4');
const received = [];
receiver.on('message', (m) => received.push(m.toString()));
receiver.bind(0, '127.0.0.1', () => {
  const fd = udpbatch.openUdp('127.0.0.1', 0);
  const port = receiver.address().port;
  const sent = udpbatch.sendBatch(fd, [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')], [port, port, port], ['127.0.0.1', '127.0.0.1', '127.0.0.1']);
  setTimeout(() => {
    process.stdout.write(JSON.stringify({ arch: process.arch, outcomes, sent, received }));
    process.exit(0);
  }, 500);
});
`;

// Real messages and every truncation of each: the error paths matter as much as the parses.
const seedDir = path.join(repo, 'native/fuzz/seeds-dnswire');
const seeds = fs.readdirSync(seedDir).map((file) => fs.readFileSync(path.join(seedDir, file)));
const messages = seeds.flatMap((seed) => [seed, ...Array.from({ length: Math.min(seed.length, 64) }, (_, cut) => seed.subarray(0, cut))]);
const expected = messages.map((wire): string => {
  try {
    const message = dnswireTwin.decode(wire);
    return JSON.stringify(message, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)) + ' ' + dnswireTwin.encode(message).toString('hex');
  } catch (error) {
    return String((error as NodeJS.ErrnoException).code);
  }
});
const dataFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nymote-dnswire-cross-')), 'messages.bin');
fs.writeFileSync(
  dataFile,
  Buffer.concat(
    messages.flatMap((wire) => {
      const size = Buffer.alloc(2);
      size.writeUInt16LE(wire.length);
      return [size, wire];
    }),
  ),
);

for (const arch of ARM_ARCHES) {
  test(`${arch.arch}: dnswire matches the JS twin on real messages and their truncations; udpbatch sends a batch`, async () => {
    const stdout = await runOnArmNode(arch, ARM_SCRIPT, ['dnswire', 'udpbatch'], [dataFile]);
    const report = JSON.parse(stdout) as { arch: string; outcomes: string[]; sent: number; received: string[] };
    assert.is(report.arch, arch.nodeArch);
    assert.is(report.outcomes.length, expected.length);
    report.outcomes.forEach((outcome, i) => assert.is(outcome, expected[i], `message ${i}`));
    assert.ok(expected.some((outcome) => outcome.startsWith('{')) && expected.some((outcome) => outcome.startsWith('ERR_')), 'both parses and errors compared');
    assert.is(report.sent, 3);
    assert.equal(report.received, ['a', 'b', 'c']);
  });
}

test.run();
