import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  MergeRegistry,
  PathGlob,
  conflict,
  counterType,
  defineContentType,
  jsonType,
  logType,
  merged,
  parseCounter,
  formatCounter,
  setType,
  textType,
  type ContentType,
} from '../../firmware/store/merge-types/index.js';
import { StoreError } from '../../firmware/store/errors.js';

const b = (text: string): Buffer => Buffer.from(text);

test('a literal pattern matches only its path', () => {
  const glob = new PathGlob('config/device.json');
  assert.ok(glob.matches('config/device.json'));
  assert.not.ok(glob.matches('config/device.jsonx'));
  assert.not.ok(glob.matches('config'));
  assert.not.ok(glob.matches('config/device.json/more'));
  assert.not.ok(glob.matches('x/config/device.json'));
});

test('* matches within one segment only', () => {
  const glob = new PathGlob('mail/*/state.json');
  assert.ok(glob.matches('mail/INBOX/state.json'));
  assert.ok(glob.matches('mail/Sent Items/state.json'));
  assert.not.ok(glob.matches('mail/state.json'));
  assert.not.ok(glob.matches('mail/Archive/2024/state.json'));
  const suffix = new PathGlob('stats/*.counter');
  assert.ok(suffix.matches('stats/visits.counter'));
  assert.ok(suffix.matches('stats/.counter'), '* may match nothing, as in git');
  assert.not.ok(suffix.matches('stats/visits.counter.bak'));
  assert.not.ok(suffix.matches('stats/a/visits.counter'));
  assert.ok(new PathGlob('a*b*c').matches('a-b-b-c'));
  assert.not.ok(new PathGlob('a*b*c').matches('a-c-b'));
});

test('regex characters in patterns are literal', () => {
  assert.ok(new PathGlob('a.b/(x)+/*.[ch]').matches('a.b/(x)+/main.[ch]'));
  assert.not.ok(new PathGlob('a.b').matches('aXb'));
  assert.ok(new PathGlob('notes/*').matches('notes/line\nbreak'), '* crosses newlines in a name');
});

test('** matches any number of segments, a trailing one at least one', () => {
  const under = new PathGlob('counters/**');
  assert.ok(under.matches('counters/a'));
  assert.ok(under.matches('counters/a/b/c'));
  assert.not.ok(under.matches('counters'), 'trailing ** is "everything inside", as in .gitignore');
  assert.not.ok(under.matches('counter/a'));
  const anywhere = new PathGlob('**/*.counter');
  assert.ok(anywhere.matches('x.counter'), 'leading ** may match zero segments');
  assert.ok(anywhere.matches('a/b/c/x.counter'));
  assert.not.ok(anywhere.matches('a/b/c/x.counters'));
  const middle = new PathGlob('a/**/z');
  assert.ok(middle.matches('a/z'));
  assert.ok(middle.matches('a/b/c/z'));
  assert.not.ok(middle.matches('a/b/c/z/y'));
  assert.ok(new PathGlob('**').matches('anything/at/all'));
});

test('many ** stay fast on long paths (no exponential backtracking)', () => {
  const glob = new PathGlob('**/a/**/a/**/a/**/a/**/a/**/a/**/a/**/b'); // seconds without memoising
  const path = Array.from({ length: 40 }, () => 'a').join('/');
  const started = process.hrtime.bigint();
  assert.not.ok(glob.matches(path));
  assert.ok(process.hrtime.bigint() - started < 500_000_000n);
});

test('leading, trailing and doubled slashes in a path are ignored', () => {
  assert.ok(new PathGlob('mail/*/state.json').matches('/mail//INBOX/state.json/'));
});

test('malformed patterns throw EINVAL', () => {
  for (const pattern of ['', '/a', 'a/', 'a//b', 'a/**b', 'x**/y', '***']) {
    assert.throws(
      () => new PathGlob(pattern),
      (err: unknown) => err instanceof StoreError && err.code === 'EINVAL',
      pattern,
    );
    assert.throws(() => new MergeRegistry().register(pattern, counterType), undefined, pattern);
  }
});

test('nothing registered, or nothing matching: opaque', () => {
  const registry = new MergeRegistry();
  assert.is(registry.typeFor('a/b').name, 'opaque');
  registry.register('counters/**', counterType);
  assert.is(registry.typeFor('a/b').name, 'opaque');
  assert.is(registry.typeFor('counters/x').name, 'counter');
});

test('the most specific pattern wins, whatever the registration order', () => {
  const registrations: Array<[string, ContentType]> = [
    ['**', textType],
    ['mail/**', logType],
    ['**/*.counter', counterType],
    ['mail/*/flags', setType],
    ['mail/INBOX/flags', jsonType],
    ['mail/**/*.counter', counterType],
  ];
  const expectations: Array<[string, string]> = [
    ['notes/today.txt', 'text'], // only ** matches
    ['mail/INBOX/1.eml', 'log'], // a literal segment beats none
    ['stats/visits.counter', 'counter'], // *.counter beats **
    ['mail/x.counter', 'counter'], // mail/**/*.counter: literal + partial beats mail/**
    ['mail/Sent/flags', 'set'], // mail/*/flags: 2 literals
    ['mail/INBOX/flags', 'json'], // 3 literals
  ];
  for (const order of [registrations, [...registrations].reverse()]) {
    const registry = new MergeRegistry();
    for (const [pattern, type] of order) registry.register(pattern, type);
    for (const [path, name] of expectations) assert.is(registry.typeFor(path).name, name, path);
  }
});

test('specificity: literal > *.ext > * > fewer **', () => {
  const pairs: Array<[string, string, string]> = [
    // [more specific, less specific, a path both match]
    ['a/b', 'a/*', 'a/b'],
    ['a/*.c', 'a/*', 'a/x.c'],
    ['a/*', 'a/**', 'a/x'],
    ['a/**/c', 'a/**/*', 'a/b/c'],
    ['*/*', '**', 'a/b'],
    ['a/**', '**/*.c', 'a/x.c'],
  ];
  for (const [specific, general, path] of pairs) {
    for (const order of [[specific, general], [general, specific]]) {
      const registry = new MergeRegistry();
      for (const pattern of order) registry.register(pattern, pattern === specific ? counterType : setType);
      assert.is(registry.typeFor(path).name, 'counter', `${specific} over ${general}`);
    }
  }
});

test('equally specific patterns: the later registration wins; re-registering replaces', () => {
  const registry = new MergeRegistry();
  registry.register('a/*', setType);
  registry.register('*/b', counterType);
  assert.is(registry.typeFor('a/b').name, 'counter');
  registry.register('a/*', logType);
  assert.is(registry.typeFor('a/b').name, 'log', 'a/* registered again is now the later one');
  assert.is(registry.typeFor('a/c').name, 'log', 'and the old a/* type is gone');
});

// The app hook: a tiny custom type, the larger of two decimal numbers.
const maxType = defineContentType('max', (_base, ours, theirs) => {
  const [a, c] = [parseCounter(ours), parseCounter(theirs)];
  if (a === undefined || c === undefined) return conflict('max: not a number');
  return merged(formatCounter(a > c ? a : c));
});

test('apps register their own types (a "max" example)', () => {
  const registry = new MergeRegistry();
  registry.register('scores/**', counterType);
  registry.register('scores/high/*', maxType);
  const high = registry.typeFor('scores/high/alice');
  assert.is(high.name, 'max');
  assert.equal(high.merge(b('5\n'), b('9\n'), b('7\n')), merged(b('9\n')));
  assert.equal(high.merge(b('5\n'), b('5\n'), b('3\n')), merged(b('3\n')), 'trivial rule: one side unchanged');
  assert.is(high.merge(b('5\n'), b('x'), b('7\n')).kind, 'conflict');
  assert.is(high.merge(b('5\n'), undefined, b('7\n')).kind, 'conflict', 'delete vs modify');
  assert.equal(registry.typeFor('scores/total').merge(b('5\n'), b('9\n'), b('7\n')), merged(b('11\n')));
});

test('a registered type that throws yields a conflict, not a crash', () => {
  const registry = new MergeRegistry();
  const broken: ContentType = {
    name: 'broken',
    merge() {
      throw new Error('oops\nsecond line');
    },
  };
  registry.register('x/*', broken);
  const outcome = registry.typeFor('x/y').merge(b('1'), b('2'), b('3'));
  assert.equal(outcome, { kind: 'conflict', reason: 'broken: merge failed: oops' });
});

test.run();
