import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { StoreError } from '../../firmware/store/errors.js';
import { applyDelta, createDelta, parseDeltaHeader } from '../../firmware/store/pack/index.js';
import { random } from './store-pack-fixtures.js';

const rand = random(42);

function randomBytes(length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => Math.floor(rand() * 256)));
}

/** A text-like buffer (small alphabet) so edits leave long shared runs, like real files. */
function textBytes(length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => 'abcdefgh \n'.charCodeAt(Math.floor(rand() * 10))));
}

/** `base` with a few random inserts, deletes, replacements and a moved block. */
function edit(base: Buffer): Buffer {
  let result = Buffer.from(base);
  const edits = 1 + Math.floor(rand() * 6);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rand() * (result.length + 1));
    const length = Math.floor(rand() * 200);
    const kind = rand();
    if (kind < 0.3) result = Buffer.concat([result.subarray(0, at), randomBytes(length), result.subarray(at)]);
    else if (kind < 0.6) result = Buffer.concat([result.subarray(0, at), result.subarray(at + length)]);
    else if (kind < 0.85) result = Buffer.concat([result.subarray(0, at), randomBytes(length), result.subarray(at + length)]);
    else result = Buffer.concat([result.subarray(at, at + length), result.subarray(0, at), result.subarray(at + length)]);
  }
  return result;
}

function isCorrupt(error: unknown, fragment: string): boolean {
  return error instanceof StoreError && error.code === 'ECORRUPT' && error.message.includes(fragment);
}

test('createDelta then applyDelta gives back the target, for edit-derived inputs', () => {
  let made = 0;
  for (let round = 0; round < 300; round++) {
    const base = round % 2 === 0 ? textBytes(Math.floor(rand() * 20000)) : randomBytes(Math.floor(rand() * 5000));
    const target = edit(base);
    const delta = createDelta(base, target);
    if (delta === undefined) continue;
    made++;
    assert.ok(delta.length <= target.length / 2, 'a delta is only returned when it is at most half the target');
    assert.is(parseDeltaHeader(delta)?.resultSize, target.length);
    assert.ok(applyDelta(base, delta).equals(target), `round ${round}`);
  }
  assert.ok(made > 200, `edits of large bases should almost always delta (made ${made} of 300)`);
});

test('with no size limit, every pair round-trips, random ones included', () => {
  for (let round = 0; round < 300; round++) {
    const base = randomBytes(Math.floor(rand() * 3000));
    const target = rand() < 0.5 ? randomBytes(Math.floor(rand() * 3000)) : edit(base);
    const delta = createDelta(base, target, Infinity);
    assert.ok(delta !== undefined);
    assert.ok(applyDelta(base, delta).equals(target), `round ${round}`);
  }
  // Edge shapes: empty base, empty target, identical, target of repeats of one block.
  const block = textBytes(16);
  const repeated = Buffer.concat(Array.from({ length: 5000 }, () => block));
  for (const [base, target] of [
    [Buffer.alloc(0), textBytes(100)],
    [textBytes(100), Buffer.alloc(0)],
    [repeated, repeated],
    [block, repeated],
    [repeated, Buffer.concat([repeated, repeated, repeated])],
  ] as [Buffer, Buffer][]) {
    const delta = createDelta(base, target, Infinity)!;
    assert.ok(applyDelta(base, delta).equals(target));
  }
});

test('a large copy is split into 64 KiB copy ops and a near-copy is tiny', () => {
  const base = randomBytes(300_000);
  const target = Buffer.concat([base.subarray(0, 150_000), Buffer.from('changed'), base.subarray(150_000)]);
  const delta = createDelta(base, target)!;
  assert.ok(delta.length < 100, `delta is ${delta.length} bytes`);
  assert.ok(applyDelta(base, delta).equals(target));
});

test('createDelta refuses when the delta would not be clearly smaller', () => {
  assert.is(createDelta(randomBytes(4000), randomBytes(4000)), undefined);
  assert.is(createDelta(textBytes(10), textBytes(10)), undefined);
});

test('applyDelta rejects every malformed delta with ECORRUPT', () => {
  const base = Buffer.from('0123456789abcdef');
  const cases: [string, Buffer, string][] = [
    ['copy past the base end', Buffer.from([16, 8, 0x91, 12, 8]), 'past the end of its base'],
    ['reserved op 0', Buffer.from([16, 4, 0]), 'reserved op 0'],
    ['wrong base size', Buffer.from([15, 1, 1, 65]), 'base of 15 bytes'],
    ['result larger than declared', Buffer.from([16, 2, 3, 65, 66, 67]), 'past its declared result size'],
    ['result shorter than declared', Buffer.from([16, 5, 1, 65]), 'declares 5'],
    ['truncated insert', Buffer.from([16, 5, 5, 65]), 'insert op is truncated'],
    ['truncated copy', Buffer.from([16, 5, 0x91, 1]), 'copy op is truncated'],
    ['truncated header', Buffer.from([0x90]), 'header is truncated'],
  ];
  for (const [name, delta, message] of cases) {
    try {
      applyDelta(base, delta, 'object X');
      assert.unreachable(name);
    } catch (error) {
      assert.ok(isCorrupt(error, message), `${name}: ${(error as Error).message}`);
      assert.ok((error as Error).message.startsWith('object X:'), 'the message names the object');
    }
  }
  // A copy with size bytes 0 means 0x10000: fine against a base that long.
  const big = randomBytes(0x10000);
  assert.ok(applyDelta(big, Buffer.from([0x80, 0x80, 0x04, 0x80, 0x80, 0x04, 0x80])).equals(big));
});

test.run();
