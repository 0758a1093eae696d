/**
 * JS twin of the sha1 addon on node:crypto: the same functions, the same validation, the same
 * errors. Used when the addon is missing (or NYMOTE_NATIVE=js) and as the reference in tests.
 */
import { createHash, type Hash } from 'node:crypto';
import { types as utilTypes } from 'node:util';

import { MAX_BATCH_OBJECTS, OBJECT_TYPES, type ObjectHasherHandle, type Sha1Binding } from './binding.js';

const DIGEST_BYTES = 20;

interface TwinHasherState {
  readonly hash: Hash;
  readonly declaredLength: number;
  receivedLength: number;
  digested: boolean;
}

// Handles are plain tokens; the state lives here so callers cannot forge or alter it.
const hasherStates = new WeakMap<object, TwinHasherState>();

function typeError(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_TYPE' });
}

function rangeError(code: string, message: string): RangeError {
  return Object.assign(new RangeError(message), { code });
}

/** What napi_is_array accepts: a real array, not a Proxy over one. */
function isPlainArray(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && !utilTypes.isProxy(value);
}

function isObjectType(value: unknown): value is string {
  return typeof value === 'string' && OBJECT_TYPES.includes(value);
}

function objectHeader(type: string, length: number): string {
  return `${type} ${length}\0`;
}

function hashObject(type: string, content: Uint8Array, out: Buffer, offset: number): void {
  createHash('sha1').update(objectHeader(type, content.byteLength)).update(content).digest().copy(out, offset);
}

function stateOf(handle: unknown): TwinHasherState {
  const state = typeof handle === 'object' && handle !== null ? hasherStates.get(handle) : undefined;
  if (state === undefined) throw typeError('handle must come from createHasher');
  if (state.digested) throw Object.assign(new Error('hasher already digested'), { code: 'ERR_SHA1_DIGESTED' });
  return state;
}

export const sha1Twin: Sha1Binding = {
  hashObjects(types, contents) {
    if (!isPlainArray(contents)) throw typeError('contents must be an array of Uint8Array');
    const count = contents.length;
    if (count > MAX_BATCH_OBJECTS) throw rangeError('ERR_OUT_OF_RANGE', 'too many objects in one batch');
    const perObjectTypes = isPlainArray(types);
    if (perObjectTypes) {
      if (types.length !== count) throw typeError('types and contents must have the same length');
    } else if (!isObjectType(types)) {
      throw typeError('type must be one of blob, tree, commit, tag');
    }
    const out = Buffer.allocUnsafe(count * DIGEST_BYTES);
    for (let i = 0; i < count; i++) {
      const type: unknown = perObjectTypes ? (types as readonly unknown[])[i] : types;
      if (!isObjectType(type)) throw typeError(`types[${i}] must be one of blob, tree, commit, tag`);
      const content: unknown = contents[i];
      if (!utilTypes.isUint8Array(content)) throw typeError(`contents[${i}] must be a Uint8Array`);
      hashObject(type, content, out, i * DIGEST_BYTES);
    }
    return out;
  },

  createHasher(type, length) {
    if (!isObjectType(type)) throw typeError('type must be one of blob, tree, commit, tag');
    if (typeof length !== 'number') throw typeError('length must be a number');
    if (!Number.isSafeInteger(length) || length < 0) {
      throw rangeError('ERR_OUT_OF_RANGE', 'length must be a non-negative safe integer');
    }
    const handle = Object.freeze({}) as unknown as ObjectHasherHandle;
    const hash = createHash('sha1').update(objectHeader(type, length));
    hasherStates.set(handle, { hash, declaredLength: length, receivedLength: 0, digested: false });
    return handle;
  },

  update(handle, chunk) {
    const state = stateOf(handle);
    if (!utilTypes.isUint8Array(chunk)) throw typeError('chunk must be a Uint8Array');
    if (chunk.byteLength > state.declaredLength - state.receivedLength) {
      throw rangeError('ERR_SHA1_LENGTH_MISMATCH', 'chunk goes past the length declared to createHasher');
    }
    state.receivedLength += chunk.byteLength;
    state.hash.update(chunk);
  },

  digest(handle) {
    const state = stateOf(handle);
    if (state.receivedLength !== state.declaredLength) {
      throw rangeError('ERR_SHA1_LENGTH_MISMATCH', 'fewer bytes than the length declared to createHasher');
    }
    state.digested = true;
    return state.hash.digest();
  },

  sha1(data) {
    if (!utilTypes.isUint8Array(data)) throw typeError('data must be a Uint8Array');
    return createHash('sha1').update(data).digest();
  },

  backend: () => 'node:crypto',
};
