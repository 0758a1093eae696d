/**
 * Property tests of the built-in merge types over seeded random cases: no side's change is
 * lost, merges that should commute do, and merging a change with itself or with nothing
 * changes nothing. Each test draws from its own seed, so a failure names a reproducible case.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Random } from '../_lib/random.js';
import {
  counterType,
  formatJson,
  jsonType,
  logType,
  lwwType,
  opaqueType,
  parseCounter,
  parseJson,
  parseLwwRegister,
  parseStringSet,
  setType,
  textType,
  type ContentType,
  type JsonValue,
  type MergeOutcome,
  type Value,
} from '../../firmware/store/merge-types/index.js';

const CASES = 400;


interface Case {
  base: Value;
  ours: Value;
  theirs: Value;
}

const show = (value: Value): string => (value === undefined ? '<absent>' : JSON.stringify(value.toString('latin1')));
const describe = (c: Case): string => `base=${show(c.base)} ours=${show(c.ours)} theirs=${show(c.theirs)}`;
const same = (a: Value, b: Value): boolean => (a === undefined || b === undefined ? a === b : a.equals(b));

/** The value of a merge that must succeed. */
function mergedValue(type: ContentType, c: Case): Value {
  const outcome = type.merge(c.base, c.ours, c.theirs);
  if (outcome.kind === 'conflict') assert.unreachable(`${outcome.reason}: ${describe(c)}`);
  return outcome.kind === 'merged' ? outcome.value : undefined;
}

function sameOutcome(a: MergeOutcome, b: MergeOutcome, valuesToo: boolean): boolean {
  if (a.kind !== b.kind) return false;
  return !valuesToo || a.kind === 'conflict' || (b.kind === 'merged' && same(a.value, b.value));
}

/**
 * What every type must do with any inputs: merge(b, x, x) = x, merge(b, b, x) = merge(b, x, b)
 * = x, and merge(b, x, y) agrees with merge(b, y, x) — fully, or in the decision only.
 */
function checkAlgebra(type: ContentType, c: Case, commutes: 'fully' | 'decision only'): void {
  for (const side of [c.ours, c.theirs]) {
    assert.equal(type.merge(c.base, side, side), { kind: 'merged', value: side }, `idempotent: ${describe(c)}`);
    assert.equal(type.merge(c.base, c.base, side), { kind: 'merged', value: side }, `unchanged ours: ${describe(c)}`);
    assert.equal(type.merge(c.base, side, c.base), { kind: 'merged', value: side }, `unchanged theirs: ${describe(c)}`);
  }
  const forward = type.merge(c.base, c.ours, c.theirs);
  const backward = type.merge(c.base, c.theirs, c.ours);
  assert.ok(sameOutcome(forward, backward, commutes === 'fully'), `commutes ${commutes}: ${describe(c)} → ${JSON.stringify(forward)} vs ${JSON.stringify(backward)}`);
}

/** The outcome the shared rules fix before a type reads content, or undefined for a divergence. */
function sharedRule(c: Case): 'merged' | 'conflict' | undefined {
  if (same(c.ours, c.theirs) || same(c.base, c.ours) || same(c.base, c.theirs)) return 'merged';
  if (c.ours === undefined || c.theirs === undefined) return 'conflict';
  return undefined;
}

/** Cases whose sides are often absent or unchanged, so the shared rules are exercised too. */
function sidesOf(random: Random, base: Value, change: () => Value): Case {
  const side = (): Value => (random.chance(0.1) ? undefined : random.chance(0.2) ? base : change());
  return { base, ours: side(), theirs: side() };
}

// ---- opaque ---------------------------------------------------------------------------------

test('opaque: follows its rules exactly; decision symmetric; idempotent', () => {
  const random = new Random(1);
  const pool: Value[] = [undefined, Buffer.from('a'), Buffer.from('b'), Buffer.from('c'), Buffer.alloc(0)];
  for (let i = 0; i < CASES; i++) {
    const c = { base: random.pick(pool), ours: random.pick(pool), theirs: random.pick(pool) };
    const outcome = opaqueType.merge(c.base, c.ours, c.theirs);
    const expected = same(c.ours, c.theirs) || same(c.base, c.theirs) ? c.ours : same(c.base, c.ours) ? c.theirs : 'conflict';
    if (expected === 'conflict') assert.is(outcome.kind, 'conflict', describe(c));
    else assert.equal(outcome, { kind: 'merged', value: expected }, describe(c));
    checkAlgebra(opaqueType, c, 'decision only');
  }
});

// ---- counter --------------------------------------------------------------------------------

test('counter: the deltas of both sides add up; commutes; idempotent', () => {
  const random = new Random(2);
  const scales = [10n, 1_000_000n, 2n ** 80n];
  const number = (): bigint => (BigInt(random.int(2 ** 30)) * random.pick(scales)) / 1_000_000_000n - random.pick(scales) / 2n;
  const write = (n: bigint): Buffer => Buffer.from(random.chance(0.8) ? `${n}\n` : random.pick([`${n}`, ` ${n}\n\n`, `\t${n}`]));
  let checked = 0;
  for (let i = 0; i < CASES; i++) {
    const c = sidesOf(random, random.chance(0.15) ? undefined : write(number()), () => write(number()));
    checkAlgebra(counterType, c, 'fully');
    const rule = sharedRule(c);
    if (rule === 'conflict') assert.is(counterType.merge(c.base, c.ours, c.theirs).kind, 'conflict');
    if (rule !== undefined) continue;
    const base = c.base === undefined ? 0n : parseCounter(c.base)!;
    const result = mergedValue(counterType, c)!;
    const expected = base + (parseCounter(c.ours!)! - base) + (parseCounter(c.theirs!)! - base);
    assert.is(result.toString(), `${expected}\n`, describe(c));
    checked++;
  }
  assert.ok(checked > CASES / 4, `only ${checked} real divergences`);
});

// ---- set ------------------------------------------------------------------------------------

test('set: additions survive, removals stick; commutes; idempotent; canonical', () => {
  const random = new Random(3);
  const universe = ['a', 'b', 'c', 'd', 'e', 'f', 'ü', '', 'a b', '"'];
  const write = (elements: Set<string>): Buffer => {
    const list = [...elements].sort();
    if (random.chance(0.8)) return Buffer.from(`${JSON.stringify(list, null, 2)}\n`);
    return Buffer.from(JSON.stringify(random.shuffle([...list, ...list.filter(() => random.chance(0.3))])));
  };
  let checked = 0;
  for (let i = 0; i < CASES; i++) {
    const baseSet = new Set(universe.filter(() => random.chance(0.4)));
    const mutate = (): Buffer => write(new Set(universe.filter((e) => (baseSet.has(e) ? random.chance(0.7) : random.chance(0.2)))));
    const c = sidesOf(random, random.chance(0.15) ? undefined : write(baseSet), mutate);
    checkAlgebra(setType, c, 'fully');
    const rule = sharedRule(c);
    if (rule === 'conflict') assert.is(setType.merge(c.base, c.ours, c.theirs).kind, 'conflict');
    if (rule !== undefined) continue;
    const base = c.base === undefined ? new Set<string>() : parseStringSet(c.base)!;
    const [ours, theirs] = [parseStringSet(c.ours!)!, parseStringSet(c.theirs!)!];
    const result = mergedValue(setType, c)!;
    const merged = parseStringSet(result)!;
    for (const element of universe) {
      const added = (!base.has(element) && ours.has(element)) || (!base.has(element) && theirs.has(element));
      const removed = base.has(element) && (!ours.has(element) || !theirs.has(element));
      if (added) assert.ok(merged.has(element), `added ${element} lost: ${describe(c)}`);
      if (removed) assert.not.ok(merged.has(element), `removed ${element} back: ${describe(c)}`);
      if (!added && !removed) assert.is(merged.has(element), base.has(element), `${element} untouched: ${describe(c)}`);
    }
    assert.is(result.toString(), `${JSON.stringify([...merged].sort(), null, 2)}\n`, 'sorted, unique, canonical');
    checked++;
  }
  assert.ok(checked > CASES / 4, `only ${checked} real divergences`);
});

// ---- lww ------------------------------------------------------------------------------------

test('lww: the larger (time, writer) wins byte for byte; commutes; idempotent', () => {
  const random = new Random(4);
  const write = (): Buffer =>
    Buffer.from(JSON.stringify({ value: random.pick([1, 'x', null, [1, 2], { a: random.int(3) }]), time: random.int(4), writer: random.pick(['a', 'b', 'c']) }));
  let checked = 0;
  for (let i = 0; i < CASES; i++) {
    const c = sidesOf(random, random.chance(0.15) ? undefined : write(), write);
    checkAlgebra(lwwType, c, 'fully');
    const rule = sharedRule(c);
    if (rule === 'conflict') assert.is(lwwType.merge(c.base, c.ours, c.theirs).kind, 'conflict');
    if (rule !== undefined) continue;
    const result = mergedValue(lwwType, c)!;
    const [ours, theirs] = [parseLwwRegister(c.ours!)!, parseLwwRegister(c.theirs!)!];
    const loser = result.equals(c.ours!) ? theirs : result.equals(c.theirs!) ? ours : undefined;
    assert.ok(loser !== undefined, `result is one side: ${describe(c)}`);
    const winner = parseLwwRegister(result)!;
    assert.ok(winner.time > loser.time || (winner.time === loser.time && winner.writer >= loser.writer), describe(c));
    checked++;
  }
  assert.ok(checked > CASES / 4, `only ${checked} real divergences`);
});

// ---- log ------------------------------------------------------------------------------------

test('log: base stays a prefix, every append lands once, in order; rewrites conflict', () => {
  const random = new Random(5);
  const pool = Array.from({ length: 8 }, (_, i) => `2024-05-0${i + 1}T12:00:00Z event ${i % 3}`);
  const write = (entries: string[]): Buffer => Buffer.from(entries.map((e) => `${e}\n`).join(''));
  const entriesOf = (bytes: Buffer): string[] => bytes.toString().split('\n').slice(0, -1);
  const count = (entries: string[], entry: string): number => entries.filter((e) => e === entry).length;
  let checked = 0;
  let rewrites = 0;
  for (let i = 0; i < CASES; i++) {
    const baseEntries = Array.from({ length: random.int(5) }, () => random.pick(pool));
    const change = (): Buffer => {
      if (baseEntries.length > 0 && random.chance(0.15)) {
        const rewritten = [...baseEntries];
        if (random.chance(0.5)) rewritten.splice(random.int(rewritten.length), 1);
        else rewritten[random.int(rewritten.length)] = 'rewritten';
        return write([...rewritten, ...Array.from({ length: random.int(2) }, () => random.pick(pool))]);
      }
      return write([...baseEntries, ...Array.from({ length: 1 + random.int(4) }, () => random.pick(pool))]);
    };
    const c = sidesOf(random, random.chance(0.15) ? undefined : write(baseEntries), change);
    checkAlgebra(logType, c, 'fully');
    const rule = sharedRule(c);
    if (rule === 'conflict') assert.is(logType.merge(c.base, c.ours, c.theirs).kind, 'conflict');
    if (rule !== undefined) continue;
    const base = c.base === undefined ? [] : baseEntries;
    const [ours, theirs] = [entriesOf(c.ours!), entriesOf(c.theirs!)];
    const isAppend = (side: string[]): boolean => base.every((entry, j) => side[j] === entry) && side.length >= base.length;
    if (!isAppend(ours) || !isAppend(theirs)) {
      assert.is(logType.merge(c.base, c.ours, c.theirs).kind, 'conflict', describe(c));
      rewrites++;
      continue;
    }
    const result = entriesOf(mergedValue(logType, c)!);
    assert.equal(result.slice(0, base.length), base, `base is a prefix: ${describe(c)}`);
    const tail = result.slice(base.length);
    assert.equal(tail, [...tail].sort(), `appends sorted: ${describe(c)}`);
    const [ourAppends, theirAppends] = [ours.slice(base.length), theirs.slice(base.length)];
    for (const entry of new Set([...ourAppends, ...theirAppends, ...tail])) {
      assert.is(count(tail, entry), Math.max(count(ourAppends, entry), count(theirAppends, entry)), `${entry}: ${describe(c)}`);
    }
    checked++;
  }
  assert.ok(checked > CASES / 5 && rewrites > CASES / 20, `only ${checked} appends, ${rewrites} rewrites`);
});

// ---- json -----------------------------------------------------------------------------------

type Json = JsonValue;
type JsonMap = { [key: string]: Json };
const isMap = (value: Json | undefined): value is JsonMap => typeof value === 'object' && value !== null && !Array.isArray(value);
const own = (map: JsonMap, key: string): Json | undefined => (Object.hasOwn(map, key) ? map[key] : undefined);
const jsonSame = (a: Json | undefined, b: Json | undefined): boolean =>
  a === undefined || b === undefined ? a === b : formatJson(a).equals(formatJson(b));

class JsonGenerator {
  readonly keys = ['a', 'b', 'c', 'd', 'constructor', '10'];
  constructor(readonly random: Random) {}
  value(depth: number): Json {
    const r = this.random;
    switch (r.int(depth > 0 ? 6 : 4)) {
      case 0:
        return r.int(4);
      case 1:
        return r.pick(['x', 'y', '']);
      case 2:
        return r.pick([null, true, false]);
      case 3:
        return Array.from({ length: r.int(3) }, () => r.int(3));
      default:
        return this.object(depth - 1);
    }
  }
  object(depth: number, keys: readonly string[] = this.keys): JsonMap {
    const map: JsonMap = {};
    for (const key of keys) if (this.random.chance(0.5)) map[key] = this.value(depth);
    return map;
  }
  /** A changed copy of `map` touching only `keys`: values replaced, keys added or deleted, nested maps recursed. */
  mutate(map: JsonMap, depth: number, keys: readonly string[] = this.keys): JsonMap {
    const r = this.random;
    const copy: JsonMap = { ...map };
    for (const key of keys) {
      const current = own(copy, key);
      if (!r.chance(0.4)) continue;
      if (isMap(current) && depth > 0 && r.chance(0.6)) copy[key] = this.mutate(current, depth - 1);
      else if (current !== undefined && r.chance(0.3)) delete copy[key];
      else copy[key] = this.value(depth);
    }
    return copy;
  }
}

/** Every key changed by one side only has that side's value in the result, at every depth. */
function checkJsonKeys(base: Json | undefined, ours: JsonMap, theirs: JsonMap, result: JsonMap, where: string): void {
  const baseMap = isMap(base) ? base : {};
  for (const key of new Set([...Object.keys(baseMap), ...Object.keys(ours), ...Object.keys(theirs), ...Object.keys(result)])) {
    const [b, o, t, r] = [own(baseMap, key), own(ours, key), own(theirs, key), own(result, key)];
    if (jsonSame(o, b)) assert.ok(jsonSame(r, t), `${where}/${key} changed only by theirs`);
    else if (jsonSame(t, b)) assert.ok(jsonSame(r, o), `${where}/${key} changed only by ours`);
    else if (jsonSame(o, t)) assert.ok(jsonSame(r, o), `${where}/${key} changed alike`);
    else if (isMap(o) && isMap(t) && isMap(r)) checkJsonKeys(b, o, t, r, `${where}/${key}`);
    else assert.unreachable(`${where}/${key} changed differently on both sides yet merged`);
  }
}

test('json: keys changed by one side keep its value; disjoint changes always merge; commutes; canonical', () => {
  const random = new Random(6);
  const generate = new JsonGenerator(random);
  const write = (value: Json): Buffer => Buffer.from(random.chance(0.5) ? JSON.stringify(value) : JSON.stringify(value, null, 1));
  let mergedCount = 0;
  for (let i = 0; i < CASES; i++) {
    const baseMap = generate.object(2);
    const disjoint = random.chance(0.5);
    const split = random.shuffle(generate.keys);
    const ourKeys = disjoint ? split.slice(0, 3) : generate.keys;
    const theirKeys = disjoint ? split.slice(3) : generate.keys;
    const base = random.chance(0.1) ? undefined : write(baseMap);
    const ourMap = generate.mutate(base === undefined ? {} : baseMap, 2, ourKeys);
    const theirMap = generate.mutate(base === undefined ? {} : baseMap, 2, theirKeys);
    const c: Case = { base, ours: write(ourMap), theirs: write(theirMap) };
    checkAlgebra(jsonType, c, 'fully');
    const outcome = jsonType.merge(c.base, c.ours, c.theirs);
    if (disjoint) assert.is(outcome.kind, 'merged', `disjoint keys: ${describe(c)}`);
    if (outcome.kind === 'conflict' || sharedRule(c) !== undefined) continue;
    const result = outcome.value!;
    const resultMap = parseJson(result);
    assert.ok(isMap(resultMap), describe(c));
    checkJsonKeys(base === undefined ? undefined : baseMap, ourMap, theirMap, resultMap, describe(c));
    assert.ok(formatJson(resultMap).equals(result), 'canonical output');
    mergedCount++;
  }
  assert.ok(mergedCount > CASES / 3, `only ${mergedCount} real merges`);
});

test('json: documents with absent sides and non-object values obey the shared rules', () => {
  const random = new Random(7);
  const generate = new JsonGenerator(random);
  for (let i = 0; i < CASES; i++) {
    const write = (): Buffer => Buffer.from(JSON.stringify(generate.value(2)));
    const c = sidesOf(random, random.chance(0.2) ? undefined : write(), write);
    checkAlgebra(jsonType, c, 'fully');
    if (sharedRule(c) === 'conflict') assert.is(jsonType.merge(c.base, c.ours, c.theirs).kind, 'conflict');
  }
});

// ---- text -----------------------------------------------------------------------------------

interface Region {
  start: number;
  end: number;
  lines: string[];
}

function applyRegions(base: string[], regions: Region[]): string[] {
  const out: string[] = [];
  let at = 0;
  for (const region of [...regions].sort((a, b) => a.start - b.start)) {
    out.push(...base.slice(at, region.start), ...region.lines);
    at = region.end;
  }
  return [...out, ...base.slice(at)];
}

test('text: changes separated by an unchanged line all land; commutes; idempotent', () => {
  const random = new Random(8);
  const write = (lines: string[]): Buffer => Buffer.from(lines.map((line) => `${line}\n`).join(''));
  let fresh = 0;
  for (let i = 0; i < CASES; i++) {
    const base = Array.from({ length: random.int(40) }, (_, j) => `line ${j}`);
    // Regions in base order, each followed by at least one unchanged line, dealt to the sides.
    const regions: Array<Region & { side: 'ours' | 'theirs' }> = [];
    let at = random.int(3);
    while (at <= base.length) {
      const end = Math.min(base.length, at + random.int(4));
      const lines = Array.from({ length: (end === at ? 1 : 0) + random.int(3) }, () => `new ${fresh++}`);
      regions.push({ start: at, end, lines, side: random.chance(0.5) ? 'ours' : 'theirs' });
      at = end + 1 + random.int(4);
    }
    const ourRegions = regions.filter((r) => r.side === 'ours');
    const theirRegions = regions.filter((r) => r.side === 'theirs');
    const c: Case = { base: write(base), ours: write(applyRegions(base, ourRegions)), theirs: write(applyRegions(base, theirRegions)) };
    assert.is(mergedValue(textType, c)!.toString(), write(applyRegions(base, regions)).toString(), describe(c));
    checkAlgebra(textType, c, 'fully');
  }
});

test('text: random edits on repetitive text — never throws, commutes, idempotent', () => {
  const random = new Random(9);
  const write = (lines: string[]): Buffer => Buffer.from(lines.map((line) => `${line}\n`).join(''));
  const edit = (lines: string[]): string[] => {
    const copy = [...lines];
    for (let n = 1 + random.int(3); n > 0; n--) {
      const at = random.int(copy.length + 1);
      copy.splice(at, random.int(3), ...Array.from({ length: random.int(3) }, () => random.pick(['x', 'y', 'z'])));
    }
    return copy;
  };
  let merges = 0;
  let conflicts = 0;
  for (let i = 0; i < CASES; i++) {
    const base = Array.from({ length: random.int(30) }, () => random.pick(['x', 'y', 'z']));
    const c = sidesOf(random, random.chance(0.1) ? undefined : write(base), () => write(edit(base)));
    checkAlgebra(textType, c, 'fully');
    const outcome = textType.merge(c.base, c.ours, c.theirs);
    if (outcome.kind === 'merged') merges++;
    else conflicts++;
  }
  assert.ok(merges > CASES / 4 && conflicts > CASES / 20, `${merges} merges, ${conflicts} conflicts`);
});

test.run();
