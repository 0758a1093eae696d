/**
 * Myers' O(ND) diff over sequences of line numbers (lines interned to integers by the caller),
 * reporting the hunks where `side` departs from `base`. Bounded: more than `maxEdits` inserted
 * plus deleted lines gives up (undefined), since the trace kept for backtracking grows as the
 * square of the edit distance.
 */

/** base[baseStart, baseEnd) was replaced by side[sideStart, sideEnd); either may be empty. */
export interface Hunk {
  baseStart: number;
  baseEnd: number;
  sideStart: number;
  sideEnd: number;
}

export function diffHunks(base: readonly number[], side: readonly number[], maxEdits: number): Hunk[] | undefined {
  // A common prefix and suffix are matched without search: most edits are local.
  let prefix = 0;
  while (prefix < base.length && prefix < side.length && base[prefix] === side[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix < base.length - prefix &&
    suffix < side.length - prefix &&
    base[base.length - 1 - suffix] === side[side.length - 1 - suffix]
  ) {
    suffix++;
  }
  const baseMiddle = base.slice(prefix, base.length - suffix);
  const sideMiddle = side.slice(prefix, side.length - suffix);
  const matches = matchedPairs(baseMiddle, sideMiddle, maxEdits);
  if (matches === undefined) return undefined;
  // Hunks are the gaps between consecutive matched pairs, with a sentinel pair at the end.
  const hunks: Hunk[] = [];
  let nextBase = 0;
  let nextSide = 0;
  for (const [baseIndex, sideIndex] of [...matches, [baseMiddle.length, sideMiddle.length] as const]) {
    if (baseIndex > nextBase || sideIndex > nextSide) {
      hunks.push({ baseStart: prefix + nextBase, baseEnd: prefix + baseIndex, sideStart: prefix + nextSide, sideEnd: prefix + sideIndex });
    }
    nextBase = baseIndex + 1;
    nextSide = sideIndex + 1;
  }
  return hunks;
}

/** The (base, side) index pairs of a longest common subsequence, ascending. */
function matchedPairs(a: readonly number[], b: readonly number[], maxEdits: number): Array<readonly [number, number]> | undefined {
  const n = a.length;
  const m = b.length;
  const limit = Math.min(n + m, maxEdits);
  // furthest[k + offset] = the furthest x reached on diagonal k = x − y.
  const offset = limit + 1;
  const furthest = new Int32Array(2 * limit + 3);
  // trace[d] holds `furthest` on diagonals −d−1 … d+1 as it stood before step d.
  const trace: Int32Array[] = [];
  for (let d = 0; d <= limit; d++) {
    trace.push(furthest.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && furthest[offset + k - 1]! < furthest[offset + k + 1]!);
      let x = down ? furthest[offset + k + 1]! : furthest[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      furthest[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, n, m);
    }
  }
  return undefined;
}

function backtrack(trace: readonly Int32Array[], n: number, m: number): Array<readonly [number, number]> {
  const pairs: Array<readonly [number, number]> = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d > 0; d--) {
    const before = trace[d]!;
    const at = (k: number): number => before[k + d + 1]!;
    const k = x - y;
    const previousK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const previousX = at(previousK);
    const previousY = previousX - previousK;
    while (x > previousX && y > previousY) pairs.push([--x, --y]);
    x = previousX;
    y = previousY;
  }
  while (x > 0 && y > 0) pairs.push([--x, --y]);
  return pairs.reverse();
}
