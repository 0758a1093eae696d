/**
 * IMAP sequence sets (`1,3:5,7:*`, `$`): parsing, resolution against a mailbox, formatting.
 *
 * A set is kept as the ranges the client wrote, never expanded: `1:*` against 100,000 messages
 * resolves to one span, and resolving against UIDs is a binary search per range, so the cost
 * follows the length of the client's text and the size of the answer, not the numbers in it.
 */

/** A number in a set, or `*` (the largest UID / the last message). */
export type SeqNumber = number | '*';

/** `n` (from === to) or `n:m` as written; `m` may be smaller than `n`. */
export interface SeqRange {
  from: SeqNumber;
  to: SeqNumber;
}

export interface SequenceSet {
  ranges: SeqRange[];
  /** `$` (RFC 5182): the saved search result is part of the set. */
  saved: boolean;
}

/** An inclusive, normalised interval; resolved spans are sorted, disjoint and non-adjacent. */
export interface Span {
  first: number;
  last: number;
}

/** A malformed set or a message number outside the mailbox: the server answers BAD. */
export class SequenceError extends Error {
  override name = 'SequenceError';
}

/** nz-number is 32-bit (RFC 9051 §9). */
export const MAX_SEQ_NUMBER = 4294967295;

const COMMA = 0x2c;
const COLON = 0x3a;
const STAR = 0x2a;
const DOLLAR = 0x24;
const ZERO = 0x30;
const NINE = 0x39;

/** True when `text` is made only of sequence-set characters (digits `:` `,` `*` `$`). */
export function looksLikeSequenceSet(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= ZERO && c <= NINE) || c === COLON || c === COMMA || c === STAR || c === DOLLAR)) return false;
  }
  return true;
}

/** Parses `1,3:5,7:*` or `$`; a hand-written scanner (no regular expressions). */
export function parseSequenceSet(text: string): SequenceSet {
  const ranges: SeqRange[] = [];
  let saved = false;
  let at = 0;
  const number = (): SeqNumber => {
    if (text.charCodeAt(at) === STAR) {
      at++;
      return '*';
    }
    const start = at;
    while (at < text.length && text.charCodeAt(at) >= ZERO && text.charCodeAt(at) <= NINE) at++;
    if (at === start) throw new SequenceError(`invalid sequence set ${quoteForError(text)}`);
    if (text.charCodeAt(start) === ZERO) throw new SequenceError(`invalid message number in ${quoteForError(text)}: numbers start at 1`);
    if (at - start > 10) throw new SequenceError(`message number too large in ${quoteForError(text)}`);
    const value = Number(text.slice(start, at));
    if (value > MAX_SEQ_NUMBER) throw new SequenceError(`message number too large in ${quoteForError(text)}`);
    return value;
  };
  if (text.length === 0) throw new SequenceError('empty sequence set');
  for (;;) {
    if (text.charCodeAt(at) === DOLLAR) {
      // RFC 5182 allows `$` only alone; accepting it as one element is a harmless superset.
      at++;
      saved = true;
    } else {
      const from = number();
      let to = from;
      if (text.charCodeAt(at) === COLON) {
        at++;
        to = number();
      }
      ranges.push({ from, to });
    }
    if (at === text.length) break;
    if (text.charCodeAt(at) !== COMMA) throw new SequenceError(`invalid sequence set ${quoteForError(text)}`);
    at++;
  }
  return { ranges, saved };
}

/** The set written back in wire form (`1:3,5,7:*`). */
export function sequenceSetToString(set: SequenceSet): string {
  const parts = set.ranges.map((r) => (r.from === r.to ? String(r.from) : `${r.from}:${r.to}`));
  if (set.saved) parts.push('$');
  return parts.join(',');
}

/**
 * The set as merged spans, with `*` standing for `star`. `saved` (sorted or not) is merged in
 * when the set contains `$`. Cost: O(r log r) in the number of ranges.
 */
export function normalizeSpans(set: SequenceSet, star: number, saved?: readonly number[]): Span[] {
  const spans: Span[] = [];
  for (const r of set.ranges) {
    const a = r.from === '*' ? star : r.from;
    const b = r.to === '*' ? star : r.to;
    if (a === 0 && b === 0) continue; // `*` in an empty mailbox
    spans.push(a <= b ? { first: Math.max(a, 1), last: b } : { first: Math.max(b, 1), last: a });
  }
  if (set.saved && saved !== undefined) for (const n of saved) spans.push({ first: n, last: n });
  return mergeSpans(spans);
}

function mergeSpans(spans: Span[]): Span[] {
  spans.sort((x, y) => x.first - y.first);
  const merged: Span[] = [];
  for (const s of spans) {
    const last = merged[merged.length - 1];
    if (last !== undefined && s.first <= last.last + 1) {
      if (s.last > last.last) last.last = s.last;
    } else {
      merged.push({ first: s.first, last: s.last });
    }
  }
  return merged;
}

/**
 * Message numbers as spans for a mailbox of `count` messages. A number above `count` (or `*`
 * in an empty mailbox) is a SequenceError, which RFC 9051 §6.4.4 answers with BAD. Saved
 * numbers past the end are dropped (they name messages expunged since).
 */
export function messageSpans(set: SequenceSet, count: number, saved?: readonly number[]): Span[] {
  for (const r of set.ranges) {
    for (const n of [r.from, r.to]) {
      if (n === '*' ? count === 0 : n > count) {
        throw new SequenceError(count === 0 ? 'the mailbox is empty' : `message number out of range (the mailbox has ${count})`);
      }
    }
  }
  const inRange = saved?.filter((n) => n >= 1 && n <= count);
  return normalizeSpans(set, count, inRange);
}

/** Message numbers in ascending order (see messageSpans for errors). */
export function resolveMessageNumbers(set: SequenceSet, count: number, saved?: readonly number[]): number[] {
  const out: number[] = [];
  for (const s of messageSpans(set, count, saved)) for (let n = s.first; n <= s.last; n++) out.push(n);
  return out;
}

/**
 * Index ranges [start, end) into `uids` (sorted ascending, unique) of the UIDs the set names.
 * UIDs in the set that do not exist are simply absent; `*` is the largest UID.
 */
export function uidIndexRanges(set: SequenceSet, uids: ArrayLike<number>, saved?: readonly number[]): Array<[number, number]> {
  const star = uids.length === 0 ? 0 : uids[uids.length - 1]!;
  const out: Array<[number, number]> = [];
  for (const span of normalizeSpans(set, star, saved)) {
    const start = lowerBound(uids, span.first);
    const end = lowerBound(uids, span.last + 1);
    if (start < end) out.push([start, end]);
  }
  return out;
}

/** The existing UIDs the set names, ascending. */
export function resolveUids(set: SequenceSet, uids: ArrayLike<number>, saved?: readonly number[]): number[] {
  const out: number[] = [];
  for (const [start, end] of uidIndexRanges(set, uids, saved)) for (let i = start; i < end; i++) out.push(uids[i]!);
  return out;
}

/** Whether `n` lies in the sorted, disjoint spans (binary search), e.g. for SEARCH UID keys. */
export function spansContain(spans: readonly Span[], n: number): boolean {
  let lo = 0;
  let hi = spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const s = spans[mid]!;
    if (n < s.first) hi = mid;
    else if (n > s.last) lo = mid + 1;
    else return true;
  }
  return false;
}

/** First index whose value is >= `value`. */
function lowerBound(sorted: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Compact wire form of a list of numbers (`1:3,5`), e.g. for COPYUID, VANISHED, ESEARCH ALL. */
export function formatSequenceSet(numbers: Iterable<number>): string {
  const sorted = Array.from(numbers).sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const first = sorted[i]!;
    let last = first;
    while (i + 1 < sorted.length && sorted[i + 1]! <= last + 1) last = sorted[++i]!;
    parts.push(first === last ? String(first) : `${first}:${last}`);
    i++;
  }
  return parts.join(',');
}

/** Wire form of spans. */
export function formatSpans(spans: readonly Span[]): string {
  return spans.map((s) => (s.first === s.last ? String(s.first) : `${s.first}:${s.last}`)).join(',');
}

function quoteForError(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
