/**
 * Path globs for the merge registry, over '/'-separated store paths:
 *   `**`       a whole segment: any number of segments (zero or more; a trailing `**` needs at
 *              least one, so `mail/**` is everything under mail/, as in .gitignore)
 *   `*`        within a segment: any run of characters except '/', e.g. `*`, `*.counter`
 *   otherwise  literal; there are no `?` or `[...]` classes.
 * Patterns are written by programmers, so a malformed one throws (EINVAL) at registration.
 */
import { StoreError } from '../errors.js';

type SegmentMatcher = { kind: 'globstar' } | { kind: 'literal'; text: string } | { kind: 'wildcard'; regex: RegExp; star: boolean };

/**
 * How specific a pattern is, compared field by field, larger first: literal segments, then
 * partly-wildcard segments (`*.counter`), then `*` segments, then fewer `**`.
 */
export type Specificity = readonly [literal: number, partial: number, star: number, negGlobstar: number];

export class PathGlob {
  readonly pattern: string;
  readonly specificity: Specificity;
  readonly #segments: readonly SegmentMatcher[];

  constructor(pattern: string) {
    const parts = pattern.split('/');
    if (pattern === '' || parts.some((part) => part === '')) {
      throw new StoreError('EINVAL', `merge pattern ${JSON.stringify(pattern)} has an empty segment`);
    }
    this.pattern = pattern;
    this.#segments = parts.map((part) => compileSegment(pattern, part));
    const count = (test: (s: SegmentMatcher) => boolean): number => this.#segments.filter(test).length;
    this.specificity = [
      count((s) => s.kind === 'literal'),
      count((s) => s.kind === 'wildcard' && !s.star),
      count((s) => s.kind === 'wildcard' && s.star),
      -count((s) => s.kind === 'globstar'),
    ];
  }

  /** Empty segments of the path (a leading or doubled '/') are ignored. */
  matches(path: string): boolean {
    const segments = path.split('/').filter((s) => s !== '');
    const patternLength = this.#segments.length;
    // Failed (pattern index, path index) pairs: keeps several `**` from going exponential.
    const failed = new Uint8Array((patternLength + 1) * (segments.length + 1));
    const matchFrom = (p: number, s: number): boolean => {
      if (p === patternLength) return s === segments.length;
      const slot = p * (segments.length + 1) + s;
      if (failed[slot] === 1) return false;
      const matcher = this.#segments[p]!;
      let ok: boolean;
      if (matcher.kind === 'globstar') {
        ok = false;
        const fewest = p === patternLength - 1 ? 1 : 0;
        for (let next = s + fewest; next <= segments.length && !ok; next++) ok = matchFrom(p + 1, next);
      } else {
        const segment = segments[s];
        ok = segment !== undefined && matchSegment(matcher, segment) && matchFrom(p + 1, s + 1);
      }
      if (!ok) failed[slot] = 1;
      return ok;
    };
    return matchFrom(0, 0);
  }
}

/** Positive when `a` is more specific than `b`. */
export function compareSpecificity(a: Specificity, b: Specificity): number {
  for (let i = 0; i < a.length; i++) {
    const difference = a[i]! - b[i]!;
    if (difference !== 0) return difference;
  }
  return 0;
}

function compileSegment(pattern: string, part: string): SegmentMatcher {
  if (part === '**') return { kind: 'globstar' };
  if (part.includes('**')) {
    throw new StoreError('EINVAL', `merge pattern ${JSON.stringify(pattern)}: '**' must be a whole segment`);
  }
  if (!part.includes('*')) return { kind: 'literal', text: part };
  const source = part.split('*').map(escapeRegExp).join('[^/]*');
  return { kind: 'wildcard', regex: new RegExp(`^${source}$`, 's'), star: part === '*' };
}

function matchSegment(matcher: Exclude<SegmentMatcher, { kind: 'globstar' }>, segment: string): boolean {
  return matcher.kind === 'literal' ? matcher.text === segment : matcher.regex.test(segment);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
