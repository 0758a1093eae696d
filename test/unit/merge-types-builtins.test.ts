import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  MAX_TEXT_BYTES,
  MAX_TEXT_EDITS,
  MAX_TEXT_LINES,
  counterType,
  formatLwwRegister,
  jsonType,
  logType,
  lwwType,
  opaqueType,
  parseCounter,
  parseLwwRegister,
  parseStringSet,
  setType,
  textType,
  type ContentType,
  type MergeOutcome,
  type Value,
} from '../../firmware/store/merge-types/index.js';

const b = (text: string): Buffer => Buffer.from(text);
const ok = (text: string | undefined): MergeOutcome => ({ kind: 'merged', value: text === undefined ? undefined : b(text) });

function expectMerged(type: ContentType, base: Value, ours: Value, theirs: Value, expected: string | undefined): void {
  const outcome = type.merge(base, ours, theirs);
  assert.equal(outcome, ok(expected), `${type.name}: ${outcome.kind === 'conflict' ? outcome.reason : outcome.value?.toString()}`);
}

function expectConflict(type: ContentType, base: Value, ours: Value, theirs: Value, reason?: RegExp): void {
  const outcome = type.merge(base, ours, theirs);
  assert.is(outcome.kind, 'conflict', `${type.name}: expected a conflict, got ${outcome.kind === 'merged' ? outcome.value?.toString() : ''}`);
  if (reason !== undefined && outcome.kind === 'conflict') assert.match(outcome.reason, reason);
}

const ALL_TYPES = [opaqueType, textType, counterType, setType, lwwType, logType, jsonType];

// ---- rules shared by every built-in type ----------------------------------------------------

test('every type: equal sides, one side unchanged, deletions', () => {
  for (const type of ALL_TYPES) {
    const [x, y, z] = [b('1\n'), b('2\n'), b('3\n')];
    expectMerged(type, x, y, y, '2\n');
    expectMerged(type, x, x, y, '2\n');
    expectMerged(type, x, y, x, '2\n');
    expectMerged(type, undefined, y, y, '2\n'); // add/add of equal content
    expectMerged(type, undefined, undefined, y, '2\n'); // added on one side
    expectMerged(type, x, undefined, undefined, undefined); // deleted on both sides
    expectMerged(type, x, undefined, x, undefined); // deleted vs unchanged
    expectMerged(type, x, x, undefined, undefined);
    expectMerged(type, undefined, undefined, undefined, undefined);
    expectConflict(type, x, undefined, z, /deleted in ours, modified in theirs/);
    expectConflict(type, x, y, undefined, /modified in ours, deleted in theirs/);
  }
});

test('every type: malformed or binary content in a real divergence is a conflict or a merge, never a throw', () => {
  const junk = [b('\u0000\u00ff'), Buffer.from([0xc3, 0x28, 0x0a]), b('{"value":'), b('[1,2'), b('-'), b('NaN'), b('[[[[')];
  for (const type of ALL_TYPES) {
    for (const base of [undefined, ...junk]) {
      for (const ours of junk) {
        for (const theirs of junk) {
          const outcome = type.merge(base, ours, theirs);
          assert.ok(outcome.kind === 'merged' || outcome.kind === 'conflict');
        }
      }
    }
  }
});

// ---- opaque ---------------------------------------------------------------------------------

test('opaque: both sides changed differently → conflict, add/add different → conflict', () => {
  expectConflict(opaqueType, b('a'), b('b'), b('c'), /^opaque: /);
  expectConflict(opaqueType, undefined, b('b'), b('c'));
  expectMerged(opaqueType, b('a'), Buffer.alloc(0), b('a'), '');
});

// ---- text -----------------------------------------------------------------------------------

const lines = (...items: string[]): string => items.map((item) => `${item}\n`).join('');

test('text: changes to separate lines merge', () => {
  const base = lines('a', 'b', 'c', 'd', 'e');
  expectMerged(textType, b(base), b(lines('A', 'b', 'c', 'd', 'e')), b(lines('a', 'b', 'c', 'd', 'E')), lines('A', 'b', 'c', 'd', 'E'));
  expectMerged(textType, b(base), b(lines('a', 'b', 'c', 'd')), b(lines('x', 'a', 'b', 'c', 'd', 'e')), lines('x', 'a', 'b', 'c', 'd'));
  expectMerged(textType, b(base), b(lines('a', 'b', 'c', 'new', 'd', 'e')), b(lines('a', 'c', 'd', 'e', 'tail')), lines('a', 'c', 'new', 'd', 'e', 'tail'));
});

test('text: overlapping or touching different changes conflict', () => {
  const base = lines('a', 'b', 'c', 'd');
  expectConflict(textType, b(base), b(lines('a', 'X', 'c', 'd')), b(lines('a', 'Y', 'c', 'd')), /base lines 2–2/);
  expectConflict(textType, b(base), b(lines('a', 'X', 'c', 'd')), b(lines('a', 'b', 'Y', 'd')), /base lines 2–3/); // adjacent, as in git
  expectConflict(textType, b(base), b(lines('a', 'b', 'X', 'c', 'd')), b(lines('a', 'b', 'Y', 'c', 'd'))); // two inserts at one place
  expectConflict(textType, b(base), b(lines('a', 'd')), b(lines('a', 'b', 'C', 'd')));
  expectConflict(textType, b(base), b(lines('a', 'b', 'new', 'c', 'd')), b(lines('a', 'c', 'd'))); // insert next to a deletion
});

test('text: the same change on both sides merges once', () => {
  const base = lines('a', 'b', 'c', 'd', 'e', 'f', 'g');
  expectMerged(
    textType,
    b(base),
    b(lines('a', 'B', 'c', 'd', 'e', 'f', 'g', 'h')),
    b(lines('a', 'B', 'c', 'd', 'E', 'f', 'g')),
    lines('a', 'B', 'c', 'd', 'E', 'f', 'g', 'h'),
  );
});

test('text: absent base is empty, so add/add of different text conflicts', () => {
  expectConflict(textType, undefined, b(lines('a')), b(lines('b')));
  expectMerged(textType, Buffer.alloc(0), b(lines('a')), Buffer.alloc(0), lines('a'));
});

test('text: a missing final newline is part of the last line; CRLF and bytes survive', () => {
  expectMerged(textType, b('a\nb\nc'), b('A\nb\nc'), b('a\nb\nc\n'), 'A\nb\nc\n');
  expectMerged(textType, b('a\r\nb\r\nc\r\n'), b('A\r\nb\r\nc\r\n'), b('a\r\nb\r\nC\r\n'), 'A\r\nb\r\nC\r\n');
  const latin = Buffer.from([0xff, 0x0a, 0x80, 0x0a, 0xfe, 0x0a]);
  const ours = Buffer.from([0x01, 0x0a, 0x80, 0x0a, 0xfe, 0x0a]);
  const theirs = Buffer.from([0xff, 0x0a, 0x80, 0x0a, 0x02, 0x0a]);
  assert.equal(textType.merge(latin, ours, theirs), { kind: 'merged', value: Buffer.from([0x01, 0x0a, 0x80, 0x0a, 0x02, 0x0a]) });
});

test('text: repeated lines still merge what does not overlap', () => {
  const base = lines('x', 'x', 'x', 'y', 'x', 'x', 'x');
  expectMerged(textType, b(base), b(lines('x', 'x', 'x', 'y', 'x', 'x', 'x', 'z')), b(lines('w', 'x', 'x', 'x', 'y', 'x', 'x', 'x')), lines('w', 'x', 'x', 'x', 'y', 'x', 'x', 'x', 'z'));
});

test('text: bounds fall back to opaque (conflict when both sides changed)', () => {
  const big = Buffer.alloc(MAX_TEXT_BYTES + 1, 'a');
  expectConflict(textType, big, Buffer.concat([big, b('1')]), Buffer.concat([b('2'), big]), /over 1048576 bytes/);
  expectMerged(textType, big, big, b('small'), 'small');
  const many = lines(...Array.from({ length: MAX_TEXT_LINES + 1 }, (_, i) => String(i)));
  expectConflict(textType, b(many), b(`${many}x\n`), b(`y\n${many}`), /over 20000 lines/);
  const base = Array.from({ length: 2 * MAX_TEXT_EDITS }, (_, i) => String(i));
  const rewritten = base.map((line, i) => (i % 2 === 0 ? `${line}!` : line)); // 1,000 replaced = 2,000 edits
  expectConflict(textType, b(lines(...base)), b(lines(...rewritten)), b(lines(...base, 'end')), /over 1000 lines/);
  const lighter = base.map((line, i) => (i % 4 === 0 ? `${line}!` : line)); // 500 replaced = 1,000 edits
  expectMerged(textType, b(lines(...base)), b(lines(...lighter)), b(lines(...base, 'end')), lines(...lighter, 'end'));
});

// ---- counter --------------------------------------------------------------------------------

test('counter: increments from both sides add up', () => {
  expectMerged(counterType, b('10\n'), b('13\n'), b('11\n'), '14\n');
  expectMerged(counterType, b('10\n'), b('7\n'), b('12\n'), '9\n');
  expectMerged(counterType, undefined, b('3\n'), b('4\n'), '7\n'); // absent base = 0
  expectMerged(counterType, b(' 10 '), b('13'), b('11'), '14\n'); // whitespace tolerated, output canonical
  expectMerged(counterType, b('-5\n'), b('-7\n'), b('0\n'), '-2\n');
});

test('counter: BigInt, no overflow', () => {
  const huge = 2n ** 70n;
  expectMerged(counterType, b('0\n'), b(`${huge}\n`), b(`${huge}\n\n`), `${2n * huge}\n`);
  expectMerged(counterType, b(`${huge}`), b(`${huge + 1n}`), b(`${huge + 2n}`), `${huge + 3n}\n`);
});

test('counter: malformed content conflicts and says where', () => {
  expectConflict(counterType, b('x'), b('1'), b('2'), /base is not a decimal integer/);
  expectConflict(counterType, b('1'), b('1.5'), b('2'), /ours is not/);
  expectConflict(counterType, b('1'), b('2'), b('0x10'), /theirs is not/);
  expectConflict(counterType, b('1'), b('2'), b('1e3'));
  expectConflict(counterType, b('1'), b('2'), b('9'.repeat(1001)));
  expectConflict(counterType, b('1'), b('2'), b('1 2'));
  assert.is(parseCounter(b('-')), undefined);
  assert.is(parseCounter(b('007\n')), 7n);
});

// ---- set ------------------------------------------------------------------------------------

const set = (...elements: string[]): string => `${JSON.stringify(elements, null, 2)}\n`;

test('set: additions and removals from both sides', () => {
  expectMerged(setType, b(set('a', 'b', 'c')), b(set('a', 'b', 'c', 'd')), b(set('b', 'c', 'e')), set('b', 'c', 'd', 'e'));
  expectMerged(setType, b(set('a')), b(set()), b(set('a', 'z')), set('z')); // removed on one side stays removed
  expectMerged(setType, undefined, b(set('b', 'a')), b(set('c')), set('a', 'b', 'c'));
  expectMerged(setType, b('["a"]'), b('["c","b","b","a"]'), b('["a","a","d"]'), set('a', 'b', 'c', 'd')); // unsorted, duplicated input
  assert.is(set(), '[]\n');
});

test('set: malformed content conflicts', () => {
  expectConflict(setType, b('{}'), b(set('a')), b(set('b')), /base is not a JSON array of strings/);
  expectConflict(setType, b(set()), b('[1]'), b(set('b')), /ours/);
  expectConflict(setType, b(set()), b(set('a')), b('["a", null]'), /theirs/);
  expectConflict(setType, b(set()), b(set('a')), Buffer.from([0x5b, 0x22, 0xff, 0x22, 0x5d]), /theirs/); // invalid UTF-8
  assert.equal(parseStringSet(b('["b","a","b"]')), new Set(['a', 'b']));
});

// ---- lww ------------------------------------------------------------------------------------

const reg = (value: unknown, time: number, writer: string): Buffer => Buffer.from(JSON.stringify({ value, time, writer }));

test('lww: the later write wins, then the larger writer, then the bytes', () => {
  const base = reg('old', 1, 'a');
  const early = reg('early', 5, 'z');
  const late = reg({ nested: [1] }, 6, 'a');
  assert.equal(lwwType.merge(base, early, late), { kind: 'merged', value: late });
  assert.equal(lwwType.merge(base, late, early), { kind: 'merged', value: late });
  const byWriter = [reg('x', 6, 'a'), reg('y', 6, 'b')] as const;
  assert.equal(lwwType.merge(base, byWriter[0], byWriter[1]), { kind: 'merged', value: byWriter[1] });
  assert.equal(lwwType.merge(base, byWriter[1], byWriter[0]), { kind: 'merged', value: byWriter[1] });
  const same = [reg('p', 6, 'a'), reg('q', 6, 'a')] as const;
  assert.equal(lwwType.merge(base, same[0], same[1]), { kind: 'merged', value: same[1] });
  assert.equal(lwwType.merge(base, same[1], same[0]), { kind: 'merged', value: same[1] });
  assert.equal(lwwType.merge(undefined, early, late), { kind: 'merged', value: late });
  assert.equal(lwwType.merge(b('not json'), early, late), { kind: 'merged', value: late }, 'the base is not read');
});

test('lww: a side that did not write yields even to an older clock', () => {
  const base = reg('v1', 100, 'a');
  const older = reg('v2', 50, 'b');
  assert.equal(lwwType.merge(base, base, older), { kind: 'merged', value: older });
});

test('lww: malformed registers conflict; format round-trips', () => {
  const good = reg(1, 2, 'w');
  expectConflict(lwwType, undefined, b('{"time":1,"writer":"w"}'), good, /ours is not a \{value, time, writer\} register/);
  expectConflict(lwwType, undefined, good, b('{"value":1,"time":"1","writer":"w"}'), /theirs/);
  expectConflict(lwwType, undefined, good, b('{"value":1,"time":1,"writer":7}'));
  expectConflict(lwwType, undefined, good, b('[1,2,"w"]'));
  expectConflict(lwwType, undefined, good, b('null'));
  const register = { value: { a: [1, null] }, time: 1700000000000, writer: 'phone' };
  assert.equal(parseLwwRegister(formatLwwRegister(register)), register);
  assert.equal(parseLwwRegister(b('{"value":null,"time":0,"writer":"","extra":1}')), { value: null, time: 0, writer: '' });
});

// ---- log ------------------------------------------------------------------------------------

test('log: appends from both sides follow the base, sorted, shared ones once', () => {
  const base = lines('2024-01-01T00:00Z boot');
  expectMerged(
    logType,
    b(base),
    b(lines('2024-01-01T00:00Z boot', '2024-01-03T00:00Z c', '2024-01-02T00:00Z b')),
    b(lines('2024-01-01T00:00Z boot', '2024-01-02T00:00Z b', '2024-01-04T00:00Z d')),
    lines('2024-01-01T00:00Z boot', '2024-01-02T00:00Z b', '2024-01-03T00:00Z c', '2024-01-04T00:00Z d'),
  );
  expectMerged(logType, undefined, b(lines('2', '1')), b(lines('3')), lines('1', '2', '3'));
  expectMerged(logType, b(lines('z')), b(lines('z', 'a', 'a')), b(lines('z', 'a', 'b')), lines('z', 'a', 'a', 'b')); // larger count per entry
  expectMerged(logType, b('z'), b('z\na\n'), b('z\nb'), lines('z', 'a', 'b')); // final newline optional on reading
});

test('log: a side that rewrote or removed base entries conflicts', () => {
  const base = lines('1', '2');
  expectConflict(logType, b(base), b(lines('1', 'X', '3')), b(lines('1', '2', '4')), /ours rewrote or removed entries of the base/);
  expectConflict(logType, b(base), b(lines('1', '2', '3')), b(lines('1')), /theirs/);
  expectConflict(logType, b(base), b(lines('1', '2', '3')), b(lines('2', '1', '4')), /theirs/);
  expectMerged(logType, b(base), b(base), b(lines('0')), lines('0')); // the other side unchanged: trivial rule
});

// ---- json -----------------------------------------------------------------------------------

const doc = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const canonical = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

test('json: keys merge independently, recursively, deletions included', () => {
  const base = { name: 'Ann', tags: ['a'], address: { city: 'Paris', zip: '75001' }, old: 1 };
  const ours = { name: 'Anne', tags: ['a'], address: { city: 'Paris', zip: '75002' }, old: 1, added: true };
  const theirs = { name: 'Ann', tags: ['a', 'b'], address: { city: 'Lyon', zip: '75001' } };
  expectMerged(jsonType, doc(base), doc(ours), doc(theirs), canonical({ added: true, address: { city: 'Lyon', zip: '75002' }, name: 'Anne', tags: ['a', 'b'] }));
});

test('json: conflicting keys conflict and are named', () => {
  expectConflict(jsonType, doc({ a: { b: 1 } }), doc({ a: { b: 2 } }), doc({ a: { b: 3 } }), /json: both sides changed \/a\/b differently/);
  expectConflict(jsonType, doc({ a: 1 }), doc({}), doc({ a: 2 }), /\/a/); // delete vs modify of a key
  expectConflict(jsonType, doc({ a: [1] }), doc({ a: [1, 2] }), doc({ a: [0, 1] }), /\/a/); // arrays are opaque
  expectConflict(jsonType, doc({ a: { b: 1 } }), doc({ a: 5 }), doc({ a: { b: 2 } }), /\/a/);
  expectConflict(jsonType, doc(1), doc(2), doc(3), /the document/);
  expectConflict(jsonType, undefined, doc({ a: 1 }), doc({ a: 2 }));
});

test('json: equal changes, add/add of disjoint keys, non-object base', () => {
  expectMerged(jsonType, doc({ a: 1 }), doc({ a: 2, b: 1 }), doc({ a: 2, c: 1 }), canonical({ a: 2, b: 1, c: 1 }));
  expectMerged(jsonType, undefined, doc({ a: 1 }), doc({ b: 2 }), canonical({ a: 1, b: 2 }));
  expectMerged(jsonType, doc([1]), doc({ a: 1 }), doc({ b: 2 }), canonical({ a: 1, b: 2 }));
  expectMerged(jsonType, doc({ a: 1, b: 2 }), doc({ b: 2 }), doc({ a: 1 }), '{}\n'); // each side deleted a key
});

test('json: output is canonical — sorted keys by code unit, 2-space indent', () => {
  expectMerged(jsonType, doc({}), doc({ b: 1, '10': 1, '2': 1 }), doc({ a: [] }), '{\n  "10": 1,\n  "2": 1,\n  "a": [],\n  "b": 1\n}\n');
});

test('json: inherited-looking keys are plain keys', () => {
  expectMerged(jsonType, b('{}'), b('{"__proto__": {"x": 1}}'), b('{"constructor": 2}'), '{\n  "__proto__": {\n    "x": 1\n  },\n  "constructor": 2\n}\n');
  expectMerged(jsonType, b('{"toString": 1}'), b('{"toString": 1, "a": 1}'), b('{}'), '{\n  "a": 1\n}\n');
});

test('json: invalid JSON or UTF-8, and absurd nesting, conflict', () => {
  expectConflict(jsonType, b('{'), doc({ a: 1 }), doc({ b: 1 }), /base is not UTF-8 JSON/);
  expectConflict(jsonType, doc({}), b('{"a":}'), doc({ b: 1 }), /ours/);
  expectConflict(jsonType, doc({}), doc({ a: 1 }), Buffer.from([0x22, 0xff, 0x22]), /theirs/);
  const deep = (n: number, leaf: string): Buffer => b(`${'{"k":'.repeat(n)}${leaf}${'}'.repeat(n)}`);
  const outcome = jsonType.merge(deep(200_000, '0'), deep(200_000, '1'), deep(200_000, '2'));
  assert.is(outcome.kind, 'conflict');
});

test.run();
