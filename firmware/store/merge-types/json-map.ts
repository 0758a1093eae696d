/**
 * `json`: a JSON document merged key by key. Objects on both sides are merged per key,
 * recursively (an absent key = deleted; a base that was not an object counts as `{}`);
 * anything else — scalars, arrays, an object against a non-object — merges opaque-style
 * (equal, or one side unchanged from the base), else the whole merge is a conflict naming the
 * first conflicting key path. The result is canonical JSON (see json-value.ts).
 */
import { conflict, defineContentType, merged } from './content-type.js';
import { emptyJsonObject, formatJson, isJsonObject, jsonEqual, ownValue, parseJson, type JsonValue } from './json-value.js';

type Slot = JsonValue | undefined;
type SlotMerge = { ok: true; value: Slot } | { ok: false; at: string };

function mergeSlot(base: Slot, ours: Slot, theirs: Slot, at: string): SlotMerge {
  if (jsonEqual(ours, theirs) || jsonEqual(base, theirs)) return { ok: true, value: ours };
  if (jsonEqual(base, ours)) return { ok: true, value: theirs };
  if (!isJsonObject(ours) || !isJsonObject(theirs)) return { ok: false, at };
  const baseObject = isJsonObject(base) ? base : emptyJsonObject();
  const result = emptyJsonObject();
  const keys = new Set([...Object.keys(ours), ...Object.keys(theirs), ...Object.keys(baseObject)]);
  for (const key of [...keys].sort()) {
    const slot = mergeSlot(ownValue(baseObject, key), ownValue(ours, key), ownValue(theirs, key), `${at}/${key}`);
    if (!slot.ok) return slot;
    if (slot.value !== undefined) result[key] = slot.value;
  }
  return { ok: true, value: result };
}

export const jsonType = defineContentType('json', (base, ours, theirs) => {
  const baseValue = base === undefined ? undefined : parseJson(base);
  const ourValue = parseJson(ours);
  const theirValue = parseJson(theirs);
  if (base !== undefined && baseValue === undefined) return conflict('json: base is not UTF-8 JSON');
  if (ourValue === undefined) return conflict('json: ours is not UTF-8 JSON');
  if (theirValue === undefined) return conflict('json: theirs is not UTF-8 JSON');
  const result = mergeSlot(baseValue, ourValue, theirValue, '');
  if (!result.ok) return conflict(`json: both sides changed ${result.at === '' ? 'the document' : result.at} differently`);
  // Both sides present, so the merged document is too (only a key's slot can come out absent).
  return merged(formatJson(result.value!));
});
