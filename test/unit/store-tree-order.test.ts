/**
 * Tree encoding keeps git's entry order: entries given in order are trusted only when they
 * really are in order (the fast path compares strings, not bytes), and any other order is
 * sorted. Checked against git itself: `git mktree` writes the same tree id.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeTree, encodeTree, hashObject, inGitOrder, sortTreeEntries, type TreeEntry } from '../../firmware/store/objects.js';
import { tempDir } from '../_lib/tmp.js';

// Prefixes of each other, '.', '-', '0' and '~' around '/', non-ASCII both below and above the surrogates.
const NAMES = ['a', 'a.b', 'a-b', 'a0', 'a~', 'ab', 'b', 'é', 'éa', '\uffff', '😀', '😀a', 'Z'];
const ID = '0123456789abcdef0123456789abcdef01234567';

function randomEntries(seed: number): TreeEntry[] {
  let state = seed;
  const next = () => ((state = (state * 1103515245 + 12345) >>> 0) >>> 8) / (1 << 24);
  const names = NAMES.filter(() => next() < 0.5);
  return names.map((name) => ({ name, id: ID, mode: next() < 0.5 ? '40000' : '100644' }));
}

test('entries in order are kept as they are, any other order is sorted', () => {
  for (let seed = 1; seed <= 2000; seed++) {
    const entries = randomEntries(seed);
    const sorted = sortTreeEntries(entries);
    assert.equal(inGitOrder(sorted).map((e) => e.name), sorted.map((e) => e.name), `seed ${seed}: sorted input`);
    // One neighbouring pair out of order, everything else in order: the fast path must see it.
    for (let i = 0; i + 1 < sorted.length; i++) {
      const swapped = [...sorted];
      [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
      assert.equal(inGitOrder(swapped).map((e) => e.name), sorted.map((e) => e.name), `seed ${seed}: pair ${i} swapped`);
    }
    const reversed = [...sorted].reverse();
    assert.equal(decodeTree(encodeTree(reversed)).map((e) => e.name), sorted.map((e) => e.name));
  }
});

test('git mktree makes the same tree from the same entries', () => {
  const repo = tempDir('mktree');
  spawnSync('git', ['init', '-q', '--bare', repo]);
  const blob = spawnSync('git', ['--git-dir', repo, 'hash-object', '-w', '--stdin'], { input: 'x', encoding: 'utf8' }).stdout.trim();
  const tree = spawnSync('git', ['--git-dir', repo, 'mktree'], { input: '', encoding: 'utf8' }).stdout.trim();
  for (let seed = 1; seed <= 20; seed++) {
    const entries = randomEntries(seed).map((e) => ({ ...e, id: e.mode === '40000' ? tree : blob }));
    const listing = entries.map((e) => `${e.mode === '40000' ? '040000 tree' : '100644 blob'} ${e.id}\t${e.name}\n`).join('');
    const made = spawnSync('git', ['--git-dir', repo, 'mktree'], { input: listing, encoding: 'utf8' });
    assert.is(made.status, 0, made.stderr);
    assert.is(hashObject('tree', encodeTree([...entries].reverse())), made.stdout.trim(), `seed ${seed}`);
  }
});

test.run();
