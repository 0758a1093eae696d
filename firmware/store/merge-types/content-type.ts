/**
 * The contract between the tree-level merge and the per-value merge functions, and the shared
 * rules every built-in type applies before reading a byte of content.
 */
import { describeError } from '../../runtime/errors.js';

/** A path's content on one side of a merge; undefined = the path does not exist there. */
export type Value = Buffer | undefined;

/**
 * A conflict keeps all sides under conflicts/; at the path stays ours, or `value` when the type
 * could merge everything but a few properties (vobject: both sides' other edits are kept).
 */
export type MergeOutcome = { kind: 'merged'; value: Value } | { kind: 'conflict'; reason: string; value?: Buffer };

export interface ContentType {
  readonly name: string;
  /** 3-way merge of one path. Never throws: content it cannot merge is a conflict. */
  merge(base: Value, ours: Value, theirs: Value): MergeOutcome;
}

/** The files directly in a directory on one side of a merge: name → blob id, read on demand. */
export interface DirectoryFiles {
  readonly ids: ReadonlyMap<string, string>;
  read(name: string): Buffer;
}

/**
 * A merge of a whole directory's files at once, for data whose files depend on each other (a
 * mailbox: its messages are named by UIDs its state hands out). Subdirectories are merged on
 * their own. The result maps each file name to new content or to a blob id to keep; a throw
 * falls back to the path-by-path merge.
 */
export interface DirectoryType {
  readonly name: string;
  merge(base: DirectoryFiles | undefined, ours: DirectoryFiles | undefined, theirs: DirectoryFiles | undefined): Map<string, Buffer | { id: string }>;
}

/** The part of a merge a type really decides: both sides present and changed differently. */
export type DivergentMerge = (base: Buffer | undefined, ours: Buffer, theirs: Buffer) => MergeOutcome;

export function merged(value: Value): MergeOutcome {
  return { kind: 'merged', value };
}

export function conflict(reason: string, value?: Buffer): MergeOutcome {
  return value === undefined ? { kind: 'conflict', reason } : { kind: 'conflict', reason, value };
}

function sameValue(a: Value, b: Value): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

/**
 * The rules of the `opaque` type, on bytes: equal sides → that side; one side unchanged from
 * the base → the other side. These are exactly the shortcuts the tree merge takes on blob ids,
 * so a typed merge agrees with it whether or not it is consulted, and a type's parser only
 * ever runs on a real divergence. Returns undefined when the sides really diverge.
 */
function trivialMerge(base: Value, ours: Value, theirs: Value): MergeOutcome | undefined {
  if (sameValue(ours, theirs)) return merged(ours);
  if (sameValue(base, ours)) return merged(theirs);
  if (sameValue(base, theirs)) return merged(ours);
  return undefined;
}

/**
 * A content type from its divergent-case merge: the trivial rules first, then deletion against
 * modification is a conflict (no built-in type can tell whether the edit should resurrect the
 * path), then `mergeDivergent`, guarded so that a bug or a stack overflow on hostile content
 * becomes a conflict instead of a crash. Apps build their types with this too.
 */
export function defineContentType(name: string, mergeDivergent: DivergentMerge): ContentType {
  return neverThrowing({
    name,
    merge(base, ours, theirs) {
      const trivial = trivialMerge(base, ours, theirs);
      if (trivial !== undefined) return trivial;
      if (ours === undefined) return conflict(`${name}: deleted in ours, modified in theirs`);
      if (theirs === undefined) return conflict(`${name}: modified in ours, deleted in theirs`);
      return mergeDivergent(base, ours, theirs);
    },
  });
}

/** Wraps a type so that an exception from its merge becomes a conflict outcome. */
export function neverThrowing(type: ContentType): ContentType {
  return {
    name: type.name,
    merge(base, ours, theirs) {
      try {
        return type.merge(base, ours, theirs);
      } catch (err) {
        return conflict(`${type.name}: merge failed: ${describeError(err)}`);
      }
    },
  };
}
