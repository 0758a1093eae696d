/**
 * JSON values as the JSON-based types read and write them: strict UTF-8 in, canonical text
 * out (keys sorted by code unit, 2-space indent, trailing newline) so that equal values are
 * equal bytes and merges are deterministic. Numbers are IEEE doubles, as in JSON.parse:
 * integers beyond 2^53 lose precision when a merge rewrites the document.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** undefined when the bytes are not UTF-8 JSON. */
export function parseJson(bytes: Buffer): JsonValue | undefined {
  try {
    return JSON.parse(strictUtf8.decode(bytes)) as JsonValue;
  } catch {
    return undefined;
  }
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A key's value, or undefined when absent — never an inherited property like `constructor`. */
export function ownValue(object: JsonObject, key: string): JsonValue | undefined {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** A fresh object to fill with untrusted keys: no prototype, so `__proto__` is a plain key. */
export function emptyJsonObject(): JsonObject {
  return Object.create(null) as JsonObject;
}

export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]));
}

export function formatJson(value: JsonValue): Buffer {
  return Buffer.from(`${canonicalText(value, '')}\n`, 'utf8');
}

function canonicalText(value: JsonValue, indent: string): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => inner + canonicalText(item, inner)).join(',\n')}\n${indent}]`;
  }
  const keys = Object.keys(value).sort();
  if (keys.length === 0) return '{}';
  const members = keys.map((key) => `${inner}${JSON.stringify(key)}: ${canonicalText(value[key]!, inner)}`);
  return `{\n${members.join(',\n')}\n${indent}}`;
}
