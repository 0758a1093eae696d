/**
 * `log`, an append-only log: one entry a line, each ending in '\n' (e.g. an ISO timestamp,
 * a space, then text). Merged = the base entries, then the entries appended by either side,
 * sorted by their bytes (timestamps first ⇒ chronological); an entry appended on both sides is
 * kept once (per occurrence: the larger count of the two sides). A side that rewrote or
 * removed base entries instead of appending is a conflict — unless the other side left the log
 * unchanged, in which case the trivial rule takes the rewrite. Lines are compared as bytes
 * (latin1 strings are a lossless stand-in), so any encoding survives.
 */
import { conflict, defineContentType, merged } from './content-type.js';

function entriesOf(bytes: Buffer): string[] {
  if (bytes.length === 0) return [];
  const lines = bytes.toString('latin1').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function formatEntries(entries: readonly string[]): Buffer {
  return Buffer.from(entries.map((entry) => `${entry}\n`).join(''), 'latin1');
}

/** The entries `side` added after `base`, or undefined when `base` is not a prefix of it. */
function appendedEntries(base: readonly string[], side: readonly string[]): string[] | undefined {
  if (side.length < base.length || base.some((entry, i) => entry !== side[i])) return undefined;
  return side.slice(base.length);
}

function countEntries(entries: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const entry of entries) counts.set(entry, (counts.get(entry) ?? 0) + 1);
  return counts;
}

export const logType = defineContentType('log', (base, ours, theirs) => {
  const baseEntries = base === undefined ? [] : entriesOf(base);
  const ourAppends = appendedEntries(baseEntries, entriesOf(ours));
  const theirAppends = appendedEntries(baseEntries, entriesOf(theirs));
  if (ourAppends === undefined) return conflict('log: ours rewrote or removed entries of the base');
  if (theirAppends === undefined) return conflict('log: theirs rewrote or removed entries of the base');
  const ourCounts = countEntries(ourAppends);
  const theirCounts = countEntries(theirAppends);
  const appended: string[] = [];
  for (const entry of new Set([...ourAppends, ...theirAppends])) {
    const copies = Math.max(ourCounts.get(entry) ?? 0, theirCounts.get(entry) ?? 0);
    for (let i = 0; i < copies; i++) appended.push(entry);
  }
  appended.sort();
  return merged(formatEntries([...baseEntries, ...appended]));
});
