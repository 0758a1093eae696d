/**
 * A mailbox's state, `.mailbox.json`: UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, its special use,
 * and one line per message — [uid, modseq, internal date (ms), size, [flags]] — so that a
 * commit's diff shows exactly which messages and flags changed. Recent expunges are kept
 * with their modseq for QRESYNC's VANISHED; older ones are summed up in `forgottenModseq`.
 */

export interface MessageRecord {
  uid: number;
  modseq: number;
  internalDate: number;
  size: number;
  /** System flags (\Seen …) and keywords, sorted, without duplicates; never \Recent. */
  flags: string[];
}

export interface MailboxState {
  uidvalidity: number;
  uidnext: number;
  highestModseq: number;
  specialUse?: string;
  /** Sorted by uid. */
  messages: MessageRecord[];
  /** Expunged UIDs with the modseq of their expunge, oldest first. */
  expunged: { uid: number; modseq: number }[];
  /** Expunges at or below this modseq are no longer listed in `expunged`. */
  forgottenModseq: number;
}

/** How many expunges are remembered for VANISHED (EARLIER); older ones make a client resync. */
export const MAX_REMEMBERED_EXPUNGES = 10_000;
export const MAX_UID = 0xffff_ffff;

export class CorruptState extends Error {}

export function emptyState(uidvalidity: number, specialUse?: string): MailboxState {
  return { uidvalidity, uidnext: 1, highestModseq: 1, ...(specialUse === undefined ? {} : { specialUse }), messages: [], expunged: [], forgottenModseq: 0 };
}

/** Each record's line, made once: records are replaced when they change, never mutated. */
const formattedLines = new WeakMap<MessageRecord, string>();

function formatLine(m: MessageRecord): string {
  let line = formattedLines.get(m);
  if (line === undefined) formattedLines.set(m, (line = JSON.stringify([m.uid, m.modseq, m.internalDate, m.size, m.flags])));
  return line;
}

export function formatState(state: MailboxState): string {
  const head = { uidvalidity: state.uidvalidity, uidnext: state.uidnext, highestmodseq: state.highestModseq, ...(state.specialUse === undefined ? {} : { specialUse: state.specialUse }), forgottenModseq: state.forgottenModseq };
  const lines = state.messages.map(formatLine);
  const expunged = state.expunged.map((e) => `[${e.uid},${e.modseq}]`).join(',');
  const messages = lines.length === 0 ? '' : `\n${lines.join(',\n')}\n`;
  return `${JSON.stringify(head).slice(0, -1)},\n"messages":[${messages}],\n"expunged":[${expunged}]}\n`;
}

export function parseState(bytes: Buffer | string): MailboxState {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString());
  } catch (err) {
    throw new CorruptState(`mailbox state is not JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null) throw new CorruptState('mailbox state is not an object');
  const o = raw as Record<string, unknown>;
  const state: MailboxState = {
    uidvalidity: uint(o.uidvalidity, 'uidvalidity'),
    uidnext: uint(o.uidnext, 'uidnext'),
    highestModseq: uint(o.highestmodseq, 'highestmodseq'),
    messages: [],
    expunged: [],
    forgottenModseq: o.forgottenModseq === undefined ? 0 : uint(o.forgottenModseq, 'forgottenModseq'),
  };
  if (typeof o.specialUse === 'string') state.specialUse = o.specialUse;
  if (!Array.isArray(o.messages)) throw new CorruptState('mailbox state has no message list');
  let previous = 0;
  for (const entry of o.messages) {
    if (!Array.isArray(entry) || entry.length !== 5 || !Array.isArray(entry[4]) || !entry[4].every((f) => typeof f === 'string')) throw new CorruptState('bad message entry in mailbox state');
    const record: MessageRecord = { uid: uint(entry[0], 'uid'), modseq: uint(entry[1], 'modseq'), internalDate: uint(entry[2], 'internal date'), size: uint(entry[3], 'size'), flags: entry[4] as string[] };
    if (record.uid <= previous) throw new CorruptState('message UIDs out of order in mailbox state');
    previous = record.uid;
    state.messages.push(record);
  }
  if (Array.isArray(o.expunged)) {
    for (const entry of o.expunged) {
      if (!Array.isArray(entry) || entry.length !== 2) throw new CorruptState('bad expunge entry in mailbox state');
      state.expunged.push({ uid: uint(entry[0], 'uid'), modseq: uint(entry[1], 'modseq') });
    }
  }
  if (previous >= state.uidnext) throw new CorruptState('a message UID is not below UIDNEXT');
  return state;
}

function uint(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new CorruptState(`bad ${what} in mailbox state`);
  return value;
}

/** Index of the message with `uid` in the sorted list, or -1. */
export function indexOfUid(messages: readonly MessageRecord[], uid: number): number {
  let low = 0;
  let high = messages.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const at = messages[mid].uid;
    if (at === uid) return mid;
    if (at < uid) low = mid + 1;
    else high = mid - 1;
  }
  return -1;
}

/** Records an expunge for VANISHED, forgetting the oldest beyond the limit. */
export function rememberExpunge(state: MailboxState, uid: number, modseq: number): void {
  state.expunged.push({ uid, modseq });
  if (state.expunged.length > MAX_REMEMBERED_EXPUNGES) {
    const dropped = state.expunged.splice(0, state.expunged.length - MAX_REMEMBERED_EXPUNGES);
    state.forgottenModseq = Math.max(state.forgottenModseq, dropped[dropped.length - 1].modseq);
  }
}

/** Canonical flag list: system flags in their RFC spelling, keywords as given, sorted, unique. */
export function normalizeFlags(flags: Iterable<string>): string[] {
  const set = new Set<string>();
  for (const flag of flags) {
    const system = SYSTEM_FLAGS.get(flag.toLowerCase());
    if (system !== undefined) set.add(system);
    else if (!flag.startsWith('\\')) set.add(flag);
  }
  return [...set].sort();
}

export const SYSTEM_FLAGS = new Map(['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'].map((f) => [f.toLowerCase(), f]));
