/**
 * `set`: a set of strings as a JSON array, written sorted (by code unit) and without
 * duplicates, one element a line: `[\n  "a",\n  "b"\n]\n` (unsorted or repeated elements are
 * accepted on reading). Merged = (base ∩ ours ∩ theirs) ∪ (ours − base) ∪ (theirs − base):
 * an element removed on either side stays removed, one added on either side is present.
 */
import { conflict, defineContentType, merged } from './content-type.js';
import { formatJson, parseJson } from './json-value.js';

/** undefined when the bytes are not a JSON array of strings. */
export function parseStringSet(bytes: Buffer): Set<string> | undefined {
  const value = parseJson(bytes);
  if (!Array.isArray(value)) return undefined;
  const elements = new Set<string>();
  for (const element of value) {
    if (typeof element !== 'string') return undefined;
    elements.add(element);
  }
  return elements;
}

export function formatStringSet(elements: Iterable<string>): Buffer {
  return formatJson([...new Set(elements)].sort());
}

export const setType = defineContentType('set', (base, ours, theirs) => {
  const baseSet = base === undefined ? new Set<string>() : parseStringSet(base);
  const ourSet = parseStringSet(ours);
  const theirSet = parseStringSet(theirs);
  if (baseSet === undefined) return conflict('set: base is not a JSON array of strings');
  if (ourSet === undefined) return conflict('set: ours is not a JSON array of strings');
  if (theirSet === undefined) return conflict('set: theirs is not a JSON array of strings');
  const result = [...baseSet].filter((element) => ourSet.has(element) && theirSet.has(element));
  for (const side of [ourSet, theirSet]) {
    for (const element of side) if (!baseSet.has(element)) result.push(element);
  }
  return merged(formatStringSet(result));
});
