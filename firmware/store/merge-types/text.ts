/**
 * `text`: lines of any encoding, compared as bytes; a line ends after '\n' (a last line
 * without one is a different line from the same text with one). A diff3 merge like git
 * merge-file: each side is diffed against the base (Myers, line-diff.ts); changes that neither
 * overlap nor touch (no unchanged line between them) merge, identical changes on both sides
 * merge once, others conflict. An absent base is empty text, so add/add differs → conflict.
 * Bounded, falling back to opaque behaviour (a conflict, as both sides changed): any input over
 * 1 MiB or 20,000 lines, or a side changing more than 1,000 lines against the base.
 */
import { conflict, defineContentType, merged } from './content-type.js';
import { diffHunks, type Hunk } from './line-diff.js';

export const MAX_TEXT_BYTES = 1024 * 1024;
export const MAX_TEXT_LINES = 20_000;
export const MAX_TEXT_EDITS = 1_000;

type Side = 'ours' | 'theirs';

interface SideHunk extends Hunk {
  side: Side;
}

/** Lines with their '\n'; latin1 keeps every byte as one code unit, so nothing is lost. */
function splitLines(bytes: Buffer): string[] {
  const text = bytes.toString('latin1');
  const lines: string[] = [];
  let start = 0;
  while (start < text.length) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 ? text.length : newline + 1;
    lines.push(text.slice(start, end));
    start = end;
  }
  return lines;
}

export const textType = defineContentType('text', (base, ours, theirs) => {
  const inputs = [base ?? Buffer.alloc(0), ours, theirs];
  if (inputs.some((input) => input.length > MAX_TEXT_BYTES)) {
    return conflict(`text: over ${MAX_TEXT_BYTES} bytes, merged as opaque: both sides changed`);
  }
  const [baseLines, ourLines, theirLines] = inputs.map(splitLines) as [string[], string[], string[]];
  if ([baseLines, ourLines, theirLines].some((lines) => lines.length > MAX_TEXT_LINES)) {
    return conflict(`text: over ${MAX_TEXT_LINES} lines, merged as opaque: both sides changed`);
  }
  const ids = new Map<string, number>();
  const intern = (lines: string[]): number[] =>
    lines.map((line) => {
      let id = ids.get(line);
      if (id === undefined) ids.set(line, (id = ids.size));
      return id;
    });
  const baseIds = intern(baseLines);
  const ourHunks = diffHunks(baseIds, intern(ourLines), MAX_TEXT_EDITS);
  const theirHunks = diffHunks(baseIds, intern(theirLines), MAX_TEXT_EDITS);
  if (ourHunks === undefined || theirHunks === undefined) {
    return conflict(`text: a side changed over ${MAX_TEXT_EDITS} lines, merged as opaque: both sides changed`);
  }
  const output: string[] = [];
  let copiedUpTo = 0;
  for (const group of overlappingGroups(ourHunks, theirHunks)) {
    const start = group[0]!.baseStart;
    const end = Math.max(...group.map((hunk) => hunk.baseEnd));
    const ourText = replacement(group, 'ours', baseLines, ourLines, start, end);
    const theirText = replacement(group, 'theirs', baseLines, theirLines, start, end);
    let chosen: string[];
    if (ourText === undefined || theirText === undefined) chosen = ourText ?? theirText ?? [];
    else if (ourText.length === theirText.length && ourText.every((line, i) => line === theirText[i])) chosen = ourText;
    else return conflict(`text: both sides changed base lines ${start + 1}–${Math.max(end, start + 1)} differently`);
    appendRange(output, baseLines, copiedUpTo, start);
    appendRange(output, chosen, 0, chosen.length);
    copiedUpTo = end;
  }
  appendRange(output, baseLines, copiedUpTo, baseLines.length);
  return merged(Buffer.from(output.join(''), 'latin1'));
});

/** Hunks of both sides in base order, grouped when they overlap or touch. */
function overlappingGroups(ourHunks: Hunk[], theirHunks: Hunk[]): SideHunk[][] {
  const all: SideHunk[] = [
    ...ourHunks.map((hunk): SideHunk => ({ ...hunk, side: 'ours' })),
    ...theirHunks.map((hunk): SideHunk => ({ ...hunk, side: 'theirs' })),
  ].sort((a, b) => a.baseStart - b.baseStart || a.baseEnd - b.baseEnd);
  const groups: SideHunk[][] = [];
  let groupEnd = -1;
  for (const hunk of all) {
    const current = groups.at(-1);
    if (current !== undefined && hunk.baseStart <= groupEnd) current.push(hunk);
    else groups.push([hunk]);
    groupEnd = Math.max(groupEnd, hunk.baseEnd);
  }
  return groups;
}

/** What `side` made of base lines [start, end), or undefined when it left them alone. */
function replacement(group: SideHunk[], side: Side, baseLines: string[], lines: string[], start: number, end: number): string[] | undefined {
  const hunks = group.filter((hunk) => hunk.side === side);
  if (hunks.length === 0) return undefined;
  const result: string[] = [];
  let position = start;
  for (const hunk of hunks) {
    appendRange(result, baseLines, position, hunk.baseStart);
    appendRange(result, lines, hunk.sideStart, hunk.sideEnd);
    position = hunk.baseEnd;
  }
  appendRange(result, baseLines, position, end);
  return result;
}

/** A loop, not push(...slice): spreading 20,000 lines as arguments risks the stack. */
function appendRange(target: string[], source: readonly string[], from: number, to: number): void {
  for (let i = from; i < to; i++) target.push(source[i]!);
}
