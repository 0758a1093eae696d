/** Errors of the store: a code, a one-line message, and the object or path they concern. */
import { NymoteError } from '../runtime/errors.js';

export type StoreErrorCode =
  | 'ECORRUPT' // an object, pack, index or ref does not decode or its hash does not match
  | 'ENOTFOUND' // an object or ref that should exist does not
  | 'EBADPATH' // a path the store refuses (.., empty segments, NUL, .git, over-long)
  | 'EBADREF' // a branch or ref name git would refuse
  | 'ECONFLICT' // a compare-and-swap on a ref lost the race
  | 'ETOOBIG' // an input over a documented bound
  | 'EINVAL'; // anything else the caller got wrong

export class StoreError extends NymoteError {
  override readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

export function corrupt(what: string, cause?: unknown): StoreError {
  return new StoreError('ECORRUPT', what, { cause });
}
