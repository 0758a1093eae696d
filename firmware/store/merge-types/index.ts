/**
 * Content-level typed merges of the versioned store: per-value 3-way merge functions and the
 * registry saying which path has which type. The tree-level merge asks
 * `registry.typeFor(path).merge(base, ours, theirs)` for each path both sides changed; a
 * conflict outcome is recorded as data by the caller, never thrown.
 *
 * Built-in types and their byte formats (details in each module):
 *   opaque   any bytes; the default                      opaque.ts
 *   text     lines, diff3-merged                         text.ts (+ line-diff.ts)
 *   counter  `42\n`                                      counter.ts
 *   set      JSON array of strings, sorted, unique       string-set.ts
 *   lww      {"value": …, "time": ms, "writer": "dev"}   lww-register.ts
 *   log      one entry a line, append-only               append-log.ts
 *   json     canonical JSON, merged key by key           json-map.ts (+ json-value.ts)
 *   vobject  iCalendar and vCard, merged by property     vobject.ts
 * Path patterns: path-glob.ts; precedence: registry.ts.
 */
export {
  conflict,
  defineContentType,
  merged,
  type ContentType,
  type DirectoryFiles,
  type DirectoryType,
  type DivergentMerge,
  type MergeOutcome,
  type Value,
} from './content-type.js';
export { MergeRegistry } from './registry.js';
export { PathGlob } from './path-glob.js';
export { opaqueType } from './opaque.js';
export { textType, MAX_TEXT_BYTES, MAX_TEXT_EDITS, MAX_TEXT_LINES } from './text.js';
export { counterType, formatCounter, parseCounter } from './counter.js';
export { setType, formatStringSet, parseStringSet } from './string-set.js';
export { lwwType, formatLwwRegister, parseLwwRegister, type LwwRegister } from './lww-register.js';
export { logType } from './append-log.js';
export { jsonType } from './json-map.js';
export { formatJson, parseJson, type JsonValue, type JsonObject } from './json-value.js';
export { vobjectType, foldLine, unfoldLines, mergeVObject, MAX_VOBJECT_BYTES, MAX_VOBJECT_DEPTH, type VObjectMerge } from './vobject.js';
