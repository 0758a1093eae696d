/**
 * The mailbox merge: two devices that changed one mailbox while apart are merged without
 * losing a message or a flag change, and without breaking what IMAP promises their clients.
 *
 * - A message either side added is kept. Its UID stays unless the other side also used that
 *   number (for another message, or one since expunged): then it moves to a fresh UID above
 *   both sides' UIDNEXT and the old number is reported expunged, so no client ever sees one
 *   UID name two messages.
 * - A message either side expunged (present at the base) is gone.
 * - Flags merge three-way, flag by flag: a change on one side wins over no change.
 * - Every record that differs from either side's gets a modseq above both sides' highest, so
 *   CONDSTORE clients of both devices see the change.
 * A mailbox deleted on one side and changed on the other comes back with the changes.
 */
import { counterType, setType, type DirectoryFiles, type DirectoryType, type MergeRegistry } from '../../../store/index.js';
import { MAIL_ROOT, STATE_FILE, SUBSCRIPTIONS_FILE, UIDVALIDITY_FILE, uidOfFile } from './names.js';
import { formatState, parseState, rememberExpunge, type MailboxState, type MessageRecord } from './state.js';

type Side = DirectoryFiles | undefined;
type Files = Map<string, Buffer | { id: string }>;

export const mailboxMergeType: DirectoryType = {
  name: 'mailbox',
  merge(base, ours, theirs) {
    const [b, o, t] = [stateOf(base), stateOf(ours), stateOf(theirs)];
    // No state on either side: a level of the hierarchy, not a mailbox.
    if (o === undefined && t === undefined) return keep(ours ?? theirs);
    // Deleted on one side: gone if the other left it alone, else back with the other's changes.
    if (t === undefined) return unchanged(base, ours) ? keep(theirs) : keep(ours);
    if (o === undefined) return unchanged(base, theirs) ? keep(ours) : keep(theirs);
    // A mailbox recreated on one side (new UIDVALIDITY): the base says nothing about it.
    const sameMailbox = o.uidvalidity === t.uidvalidity;
    return mergeStates(sameMailbox && b?.uidvalidity === o.uidvalidity ? b : undefined, o, t, ours!, theirs!, sameMailbox);
  },
};

/** Mail's merge types: mailboxes as wholes; UIDVALIDITY only grows; subscriptions are a set. */
export function registerMailMergeTypes(registry: MergeRegistry): void {
  registry.registerDirectory(`${MAIL_ROOT}/**`, mailboxMergeType);
  registry.register(UIDVALIDITY_FILE, counterType);
  registry.register(SUBSCRIPTIONS_FILE, setType);
}

function stateOf(side: Side): MailboxState | undefined {
  return side?.ids.has(STATE_FILE) ? parseState(side.read(STATE_FILE)) : undefined;
}

function unchanged(a: Side, b: Side): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.ids.size !== b.ids.size) return false;
  for (const [name, id] of a.ids) if (b.ids.get(name) !== id) return false;
  return true;
}

function keep(side: Side): Files {
  return new Map([...(side?.ids ?? [])].map(([name, id]) => [name, { id }]));
}

interface Kept {
  record: MessageRecord;
  blob: string;
}

function mergeStates(base: MailboxState | undefined, o: MailboxState, t: MailboxState, ours: DirectoryFiles, theirs: DirectoryFiles, sameMailbox: boolean): Files {
  const blobOf = (side: DirectoryFiles, uid: number) => side.ids.get(`${uid}.eml`);
  const index = (messages: readonly MessageRecord[]) => new Map(messages.map((m) => [m.uid, m]));
  const [inBase, inOurs, inTheirs] = [index(base?.messages ?? []), index(o.messages), index(t.messages)];
  const modseq = Math.max(o.highestModseq, t.highestModseq) + 1;
  const kept = new Map<number, Kept>();
  const moved: Kept[] = [];
  const gone = new Set<number>();

  // Ours first: the UIDs ours' clients know keep their meaning wherever possible.
  for (const record of o.messages) {
    const blob = blobOf(ours, record.uid);
    if (blob === undefined) continue;
    const atBase = inBase.get(record.uid);
    const other = inTheirs.get(record.uid);
    if (atBase !== undefined) {
      if (other === undefined) gone.add(record.uid); // expunged by theirs
      else kept.set(record.uid, { record: { ...record, flags: mergeFlags(atBase.flags, record.flags, other.flags) }, blob });
    } else if (sameMailbox && other !== undefined && blobOf(theirs, record.uid) === blob) {
      kept.set(record.uid, { record: { ...record, flags: mergeFlags([], record.flags, other.flags) }, blob });
    } else if (sameMailbox && record.uid < t.uidnext) {
      moved.push({ record, blob }); // theirs used this UID for something else
      gone.add(record.uid);
    } else {
      kept.set(record.uid, { record, blob });
    }
  }
  for (const record of t.messages) {
    if (kept.has(record.uid) && kept.get(record.uid)!.blob === blobOf(theirs, record.uid)) continue;
    const blob = blobOf(theirs, record.uid);
    if (blob === undefined) continue;
    if (inBase.has(record.uid)) continue; // at the base and not kept: expunged by ours
    if (!sameMailbox || record.uid < o.uidnext || kept.has(record.uid)) {
      moved.push({ record, blob });
      if (sameMailbox) gone.add(record.uid);
    } else {
      kept.set(record.uid, { record, blob });
    }
  }

  const state: MailboxState = {
    uidvalidity: o.uidvalidity,
    uidnext: Math.max(o.uidnext, t.uidnext),
    highestModseq: modseq,
    ...(o.specialUse === undefined ? (t.specialUse === undefined ? {} : { specialUse: t.specialUse }) : { specialUse: o.specialUse }),
    messages: [],
    expunged: [...o.expunged],
    forgottenModseq: Math.max(o.forgottenModseq, t.forgottenModseq),
  };
  const known = new Set(state.expunged.map((e) => e.uid));
  for (const e of t.expunged) if (!known.has(e.uid)) state.expunged.push(e);
  const present = new Set([...kept.values()].map((k) => k.blob));
  for (const { record, blob } of moved) {
    // The same message added on both sides under different UIDs is kept once.
    if (present.has(blob)) continue;
    present.add(blob);
    const uid = state.uidnext++;
    kept.set(uid, { record: { ...record, uid }, blob });
  }
  for (const uid of [...gone].sort((a, b) => a - b)) if (!kept.has(uid)) rememberExpunge(state, uid, modseq);

  const files: Files = new Map();
  for (const [uid, { record, blob }] of [...kept].sort(([a], [b]) => a - b)) {
    // Unchanged for both sides' clients: the modseq can stay; otherwise both must see it as new.
    const mine = inOurs.get(uid);
    const other = inTheirs.get(uid);
    const settled = mine !== undefined && other !== undefined && blobOf(ours, uid) === blob && blobOf(theirs, uid) === blob && sameFlags(mine.flags, record.flags) && sameFlags(other.flags, record.flags);
    state.messages.push({ ...record, modseq: settled ? Math.max(mine.modseq, other.modseq) : modseq });
    files.set(`${uid}.eml`, { id: blob });
  }
  // Anything else in the directory (not messages, not the state) is kept from either side.
  for (const side of [theirs, ours]) for (const [name, id] of side.ids) if (name !== STATE_FILE && uidOfFile(name) === undefined) files.set(name, { id });
  files.set(STATE_FILE, Buffer.from(formatState(state)));
  return files;
}

/** Flag by flag: a side that changed it from the base wins; both changed alike, or neither: as is. */
function mergeFlags(base: readonly string[], ours: readonly string[], theirs: readonly string[]): string[] {
  const all = new Set([...base, ...ours, ...theirs]);
  const result: string[] = [];
  for (const flag of all) {
    const [b, o, t] = [base.includes(flag), ours.includes(flag), theirs.includes(flag)];
    if (o === t ? o : o === b ? t : o) result.push(flag);
  }
  return result.sort();
}

function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}
