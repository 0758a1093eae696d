/** IMAP sequence sets: parsing, resolution against UIDs and message counts, formatting. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import {
  formatSequenceSet,
  formatSpans,
  looksLikeSequenceSet,
  messageSpans,
  normalizeSpans,
  parseSequenceSet,
  resolveMessageNumbers,
  resolveUids,
  SequenceError,
  sequenceSetToString,
  spansContain,
  uidIndexRanges,
} from '../../firmware/apps/mail/imap/sequence.js';

test('parses numbers, ranges, stars and $', () => {
  assert.equal(parseSequenceSet('1,3:5,7:*,$'), {
    ranges: [
      { from: 1, to: 1 },
      { from: 3, to: 5 },
      { from: 7, to: '*' },
    ],
    saved: true,
  });
  assert.equal(parseSequenceSet('*'), { ranges: [{ from: '*', to: '*' }], saved: false });
  assert.equal(parseSequenceSet('$'), { ranges: [], saved: true });
  assert.equal(parseSequenceSet('5:2'), { ranges: [{ from: 5, to: 2 }], saved: false });
  assert.equal(parseSequenceSet('4294967295'), { ranges: [{ from: 4294967295, to: 4294967295 }], saved: false });
  assert.is(sequenceSetToString(parseSequenceSet('1,3:5,*:7,$')), '1,3:5,*:7,$');
  assert.ok(looksLikeSequenceSet('1:*,$'));
  assert.not.ok(looksLikeSequenceSet('1a'));
  assert.not.ok(looksLikeSequenceSet(''));
});

test('refuses malformed sets', () => {
  for (const bad of ['', ',', '1,', ',1', '1::2', '1:2:3', '0', '1:0', '01', '4294967296', '99999999999', 'a', '1 2', ':5', '**', '1$']) {
    assert.throws(() => parseSequenceSet(bad), (e: unknown) => e instanceof SequenceError, bad);
  }
});

test('message numbers: resolved in order, reversed ranges and overlaps merged', () => {
  assert.equal(resolveMessageNumbers(parseSequenceSet('5:3,1,4,*'), 10), [1, 3, 4, 5, 10]);
  assert.equal(messageSpans(parseSequenceSet('1:*'), 100_000), [{ first: 1, last: 100_000 }]);
  assert.equal(messageSpans(parseSequenceSet('2,3,4,8:9,10'), 10), [
    { first: 2, last: 4 },
    { first: 8, last: 10 },
  ]);
  assert.equal(resolveMessageNumbers(parseSequenceSet('*:3'), 4), [3, 4]);
});

test('message numbers past the end (and * in an empty mailbox) are errors for BAD', () => {
  assert.throws(() => messageSpans(parseSequenceSet('11'), 10), (e: unknown) => e instanceof SequenceError && /out of range/.test((e as Error).message));
  assert.throws(() => messageSpans(parseSequenceSet('1:11'), 10), (e: unknown) => e instanceof SequenceError);
  assert.throws(() => messageSpans(parseSequenceSet('*'), 0), (e: unknown) => e instanceof SequenceError && /empty/.test((e as Error).message));
  assert.throws(() => messageSpans(parseSequenceSet('1'), 0), (e: unknown) => e instanceof SequenceError);
});

test('$ takes the saved result; saved numbers past the end are dropped', () => {
  assert.equal(resolveMessageNumbers(parseSequenceSet('$'), 10, [9, 2, 12]), [2, 9]);
  assert.equal(resolveMessageNumbers(parseSequenceSet('$'), 10), []);
  assert.equal(resolveMessageNumbers(parseSequenceSet('1,$'), 10, [3]), [1, 3]);
  assert.equal(resolveUids(parseSequenceSet('$'), [1, 5, 9], [5, 7]), [5]);
});

test('UIDs: absent UIDs are skipped, * is the largest, n:* past the end is the largest', () => {
  const uids = [2, 4, 6, 8, 10];
  assert.equal(resolveUids(parseSequenceSet('1:5'), uids), [2, 4]);
  assert.equal(resolveUids(parseSequenceSet('3,7,11'), uids), []);
  assert.equal(resolveUids(parseSequenceSet('*'), uids), [10]);
  assert.equal(resolveUids(parseSequenceSet('20:*'), uids), [10]);
  assert.equal(resolveUids(parseSequenceSet('6:*'), uids), [6, 8, 10]);
  assert.equal(resolveUids(parseSequenceSet('10:1'), uids), uids);
  assert.equal(resolveUids(parseSequenceSet('1:*'), []), []);
  assert.equal(resolveUids(parseSequenceSet('*'), []), []);
  assert.equal(uidIndexRanges(parseSequenceSet('4:6,9:*'), uids), [
    [1, 3],
    [4, 5],
  ]);
});

test('100,000 messages: 1:* and scattered sets resolve quickly without expanding the number space', () => {
  const uids = Uint32Array.from({ length: 100_000 }, (_, i) => i * 3 + 1);
  const started = performance.now();
  assert.equal(uidIndexRanges(parseSequenceSet('1:*'), uids), [[0, 100_000]]);
  assert.is(resolveUids(parseSequenceSet('1:4294967295'), uids).length, 100_000);
  const scattered = Array.from({ length: 10_000 }, (_, i) => `${i * 30 + 1}:${i * 30 + 4}`).join(',');
  assert.is(resolveUids(parseSequenceSet(scattered), uids).length, 20_000);
  assert.equal(messageSpans(parseSequenceSet('1:*,5,7:9'), 100_000), [{ first: 1, last: 100_000 }]);
  assert.ok(performance.now() - started < 1000, 'fast');
});

test('spansContain answers membership by binary search', () => {
  const spans = normalizeSpans(parseSequenceSet('1:3,10,20:*'), 25);
  assert.equal(spans, [
    { first: 1, last: 3 },
    { first: 10, last: 10 },
    { first: 20, last: 25 },
  ]);
  for (const n of [1, 3, 10, 20, 25]) assert.ok(spansContain(spans, n), String(n));
  for (const n of [0, 4, 9, 11, 19, 26]) assert.not.ok(spansContain(spans, n), String(n));
  assert.not.ok(spansContain([], 1));
});

test('formats numbers compactly for COPYUID, VANISHED and ESEARCH', () => {
  assert.is(formatSequenceSet([5, 1, 2, 3, 9, 10, 3]), '1:3,5,9:10');
  assert.is(formatSequenceSet([]), '');
  assert.is(formatSequenceSet([7]), '7');
  assert.is(formatSpans([{ first: 1, last: 1 }, { first: 4, last: 8 }]), '1,4:8');
});

test.run();
