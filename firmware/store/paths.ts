/**
 * Paths in the store are slash-separated, like file paths in a git tree. The store refuses
 * any path git or a checkout would choke on or that could escape: `..`, `.`, empty
 * segments, NUL, `.git` in any case, and over-long names.
 */
import { StoreError } from './errors.js';

export const MAX_PATH_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 255;

/** Splits and validates a path; '' (or '/') is the root and gives no segments. */
export function splitPath(path: string, options: { allowRoot?: boolean } = {}): string[] {
  if (typeof path !== 'string') throw new StoreError('EBADPATH', 'path must be a string');
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') {
    if (options.allowRoot === true) return [];
    throw new StoreError('EBADPATH', 'empty path');
  }
  if (Buffer.byteLength(trimmed) > MAX_PATH_BYTES) throw new StoreError('EBADPATH', `path longer than ${MAX_PATH_BYTES} bytes`);
  const segments = trimmed.split('/');
  for (const segment of segments) {
    const problem = segmentProblem(segment);
    if (problem !== undefined) throw new StoreError('EBADPATH', `invalid path '${printable(path)}': ${problem}`);
  }
  return segments;
}

function segmentProblem(segment: string): string | undefined {
  if (segment === '') return 'empty segment';
  if (segment === '.' || segment === '..') return `'${segment}' segment`;
  if (segment.toLowerCase() === '.git') return "'.git' segment";
  if (segment.includes('\0')) return 'NUL byte';
  if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) return `segment longer than ${MAX_SEGMENT_BYTES} bytes`;
  return undefined;
}

export function joinPath(segments: readonly string[]): string {
  return segments.join('/');
}

/** True when `path` is `prefix` or lies below it ('' is everything). */
export function isUnder(path: string, prefix: string): boolean {
  return prefix === '' || path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

function printable(text: string): string {
  return text.replace(/[\0-\x1f]/g, '?').slice(0, 100);
}
