/** The pack layer's push helpers: the streaming pack check and thin-pack completion. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { Store, StoreError } from '../../firmware/store/index.js';
import { createDelta, PackReader, PackStreamCheck, indexPackFixingThin } from '../../firmware/store/pack/index.js';
import { encodeEntryHeader } from '../../firmware/store/pack/format.js';
import { git } from '../_lib/git.js';
import { tempDir } from '../_lib/tmp.js';

function pack(entries: Buffer[]): Buffer {
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(entries.length, 8);
  const body = Buffer.concat([header, ...entries]);
  return Buffer.concat([body, createHash('sha1').update(body).digest()]);
}

const blob = (text: string) => Buffer.concat([encodeEntryHeader(3, Buffer.byteLength(text)), zlib.deflateSync(Buffer.from(text))]);
const limits = { maxObjects: 100, maxObjectBytes: 1 << 20 };

test('accepts a valid pack fed in any chunking, and names its checksum', () => {
  const bytes = pack([blob('one\n'), blob('two '.repeat(5000)), blob('')]);
  for (const chunk of [1, 7, 64, bytes.length]) {
    const check = new PackStreamCheck(limits);
    for (let at = 0; at < bytes.length; at += chunk) check.update(bytes.subarray(at, at + chunk));
    assert.is(check.end(), bytes.subarray(-20).toString('hex'));
    assert.is(check.checkedObjects, 3);
  }
});

test('refuses oversized declarations, bombs, damage and trailing data', () => {
  const refuse = (bytes: Buffer, code: string) => {
    const check = new PackStreamCheck(limits);
    assert.throws(() => (check.update(bytes), check.end()), (err: unknown) => err instanceof StoreError && err.code === code);
  };
  refuse(pack([Buffer.concat([encodeEntryHeader(3, 2 << 20), zlib.deflateSync(Buffer.from('x'))])]), 'ETOOBIG');
  refuse(pack(Array.from({ length: 101 }, () => blob('x'))), 'ETOOBIG');
  refuse(pack([Buffer.concat([encodeEntryHeader(3, 10), zlib.deflateSync(Buffer.alloc(5000))])]), 'ECORRUPT');
  const flipped = pack([blob('hello there\n')]);
  flipped[flipped.length - 1] ^= 1;
  refuse(flipped, 'ECORRUPT');
  refuse(Buffer.concat([pack([blob('a')]), Buffer.from('x')]), 'ECORRUPT');
  refuse(pack([blob('a'), blob('b')]).subarray(0, 30), 'ECORRUPT');
});

test('a thin pack gets its outside base appended; git verify-pack accepts the result', async () => {
  const gitDir = path.join(tempDir('gt'), 'r.git');
  const store = Store.open(gitDir, { durability: 'none' });
  const base = Array.from({ length: 200 }, (_, i) => `line ${i}\n`).join('');
  await store.branch().set('f.txt', base);
  const target = base.replace('line 100', 'line one hundred');
  const baseBlobId = createHash('sha1').update(`blob ${Buffer.byteLength(base)}\0${base}`).digest('hex');
  const delta = createDelta(Buffer.from(base), Buffer.from(target))!;
  const refDelta = Buffer.concat([encodeEntryHeader(7, delta.length), Buffer.from(baseBlobId, 'hex'), zlib.deflateSync(delta)]);
  const file = path.join(gitDir, 'objects', 'pack', 'tmp_test.pack');
  fs.writeFileSync(file, pack([refDelta, blob('unrelated\n')]));
  const completed = indexPackFixingThin(file, (id) => store.odb.read(id), { durable: false });
  assert.is(completed.appendedBases, 1);
  assert.is(completed.objectCount, 3);
  const reader = PackReader.open(file);
  const targetId = createHash('sha1').update(`blob ${Buffer.byteLength(target)}\0${target}`).digest('hex');
  assert.is(reader.read(targetId)?.content.toString(), target);
  assert.ok(reader.has(baseBlobId));
  reader.close();
  git(gitDir, ['verify-pack', file.replace(/\.pack$/, '.idx')]);
  await store.close();
});

test.run();
