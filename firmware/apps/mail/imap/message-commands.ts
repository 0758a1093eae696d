/**
 * Commands of the selected state: CHECK, CLOSE, UNSELECT, EXPUNGE, SEARCH, FETCH, STORE,
 * COPY, MOVE, SORT and THREAD, with their UID forms. Message numbers and UIDs are resolved
 * against what the session has announced (SelectedMailbox), never against newer state.
 */
import type { MessageRecord } from '../store/index.js';
import { fetchResponse, needsMessage, setsSeen } from './fetch.js';
import { mail } from './mailbox-commands.js';
import type { LoadedMessage } from './messages.js';
import type { CopyMoveCommand, FetchCommand, SearchCommand, StoreCommand, ThreadCommand } from './parser.js';
import { compileSearch } from './search.js';
import type { SelectedMailbox } from './selected.js';
import { formatSequenceSet, messageSpans, resolveUids, type SequenceSet } from './sequence.js';
import { Refusal, type HandlerTable, type Session } from './session.js';
import { sortMessages } from './sort.js';
import { threadMessages } from './thread.js';

/** Messages handled between yields to the event loop in long FETCH and SEARCH runs. */
const BATCH = 256;

export const messageCommands: HandlerTable = {
  CHECK: async (session, command) => session.complete(command, 'CHECK completed'),

  CLOSE: async (session, command) => {
    const selected = selectedOf(session);
    // CLOSE expunges silently (RFC 9051 6.4.1): no EXPUNGE responses.
    if (!selected.readOnly) await mail(session).expunge(selected.name);
    session.select(undefined);
    session.tagged(command.tag, 'OK', 'CLOSE completed');
  },

  UNSELECT: async (session, command) => {
    session.select(undefined);
    session.tagged(command.tag, 'OK', 'UNSELECT completed');
  },

  EXPUNGE: async (session, command) => {
    const selected = writable(session);
    const uids = command.uid ? resolveUids(command.sequence, selected.uids, session.savedUids) : undefined;
    await mail(session).expunge(selected.name, uids);
    session.complete(command, 'EXPUNGE completed');
  },

  FETCH: async (session, command) => fetch(session, command),
  STORE: async (session, command) => store(session, command),
  COPY: async (session, command) => copy(session, command),
  MOVE: async (session, command) => copy(session, command),
  SEARCH: async (session, command) => search(session, command),

  SORT: async (session, command) => {
    const matches = await searchUids(session, command.search);
    const selected = selectedOf(session);
    const sorted = sortMessages(matches, command.criteria, (uid) => load(session, selected, uid));
    const numbers = command.uid ? sorted : sorted.map((uid) => selected.msnOf(uid));
    session.untagged(`SORT${numbers.map((n) => ` ${n}`).join('')}`);
    session.complete(command, 'SORT completed');
  },

  THREAD: async (session, command: ThreadCommand) => {
    if (command.algorithm !== 'REFERENCES' && command.algorithm !== 'ORDEREDSUBJECT') return session.tagged(command.tag, 'BAD', `unknown thread algorithm ${command.algorithm.slice(0, 20)}`);
    const matches = await searchUids(session, command.search);
    const selected = selectedOf(session);
    const threads = threadMessages(command.algorithm, matches, (uid) => load(session, selected, uid));
    const number = (uid: number) => (command.uid ? uid : selected.msnOf(uid));
    session.untagged(`THREAD ${threads.map((tree) => tree.render(number)).join('')}`);
    session.complete(command, 'THREAD completed');
  },
};

function selectedOf(session: Session): SelectedMailbox {
  if (session.selected === undefined) throw new Error('no mailbox selected');
  return session.selected;
}

function writable(session: Session): SelectedMailbox {
  const selected = selectedOf(session);
  if (selected.readOnly) throw new Refusal('READ-ONLY', 'the mailbox is selected read-only (EXAMINE)');
  return selected;
}

/** UIDs a command's set names, in ascending order (message numbers: BAD when out of range). */
function targets(session: Session, set: SequenceSet, uid: boolean): number[] {
  const selected = selectedOf(session);
  if (uid) return resolveUids(set, selected.uids, session.savedUids);
  // `1:*` in an empty mailbox names nothing (clients send it blindly); not an error.
  if (selected.count === 0) return [];
  const savedMsns = session.savedUids.map((u) => selected.msnOf(u)).filter((n) => n > 0);
  const uids: number[] = [];
  for (const span of messageSpans(set, selected.count, savedMsns)) for (let msn = span.first; msn <= span.last; msn++) uids.push(selected.uids[msn - 1]);
  return uids;
}

function load(session: Session, selected: SelectedMailbox, uid: number, sweep = false): LoadedMessage | undefined {
  return session.context.messages.load(mail(session), selected.commit, selected.name, uid, sweep);
}

const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));

// ------------------------------------------------------------------------------ FETCH

async function fetch(session: Session, command: FetchCommand): Promise<void> {
  const selected = selectedOf(session);
  if (command.changedSince !== undefined || command.items.some((i) => i.kind === 'attribute' && i.name === 'MODSEQ')) session.enabled.condstore = true;
  if (command.vanished && (!command.uid || !session.enabled.qresync || command.changedSince === undefined)) {
    return session.tagged(command.tag, 'BAD', 'VANISHED needs UID FETCH with CHANGEDSINCE and QRESYNC enabled');
  }
  let uids = targets(session, command.sequence, command.uid);
  if (command.vanished) {
    const since = Number(command.changedSince);
    const inSet = new Set(resolveUids(command.sequence, selected.state.expunged.map((e) => e.uid).sort((a, b) => a - b)));
    const vanished = selected.state.expunged.filter((e) => e.modseq > since && inSet.has(e.uid)).map((e) => e.uid);
    if (vanished.length > 0) session.untagged(`VANISHED (EARLIER) ${formatSequenceSet(vanished)}`);
  }
  if (command.changedSince !== undefined) {
    const since = Number(command.changedSince);
    uids = uids.filter((uid) => (selected.record(uid)?.modseq ?? 0) > since);
  }
  // Reading a body without PEEK sets \Seen first, in one commit, and shows the new flags.
  const updated = new Map<number, MessageRecord>();
  if (!selected.readOnly && command.items.some(setsSeen)) {
    const unseen = uids.filter((uid) => selected.record(uid)?.flags.includes('\\Seen') === false);
    if (unseen.length > 0) {
      const { changed } = await mail(session).storeFlags(selected.name, unseen, 'add', ['\\Seen']);
      for (const record of changed) {
        updated.set(record.uid, record);
        selected.noteOwnChange(record);
      }
    }
  }
  const withFlags = [...command.items, { kind: 'attribute' as const, name: 'FLAGS' as const, label: 'FLAGS' }];
  const options = { utf8: session.enabled.utf8 || session.enabled.rev2, condstore: session.enabled.condstore, uid: command.uid };
  const readMessage = command.items.some(needsMessage);
  let count = 0;
  for (const uid of uids) {
    const record = updated.get(uid) ?? selected.record(uid);
    // Expunged by another session and not yet announced: nothing to send for it.
    if (record === undefined) continue;
    const message = readMessage ? load(session, selected, uid) : undefined;
    if (readMessage && message === undefined) continue;
    const items = updated.has(uid) ? withFlags : command.items;
    if (!session.send(fetchResponse(selected.msnOf(uid), record, items, message, options))) await session.connection.drained();
    if (++count % BATCH === 0) await yieldToLoop();
  }
  session.complete(command, 'FETCH completed');
}

// ------------------------------------------------------------------------------ STORE

async function store(session: Session, command: StoreCommand): Promise<void> {
  const selected = writable(session);
  if (command.unchangedSince !== undefined) session.enabled.condstore = true;
  const uids = targets(session, command.sequence, command.uid);
  const action = command.action === 'set' ? 'replace' : command.action;
  const unchangedSince = command.unchangedSince === undefined ? undefined : Number(command.unchangedSince);
  const { changed, modified } = await mail(session).storeFlags(selected.name, uids, action, command.flags, unchangedSince);
  const byUid = new Map(changed.map((record) => [record.uid, record]));
  for (const record of changed) selected.noteOwnChange(record);
  if (!command.silent) {
    const refused = new Set(modified);
    for (const uid of uids) {
      if (refused.has(uid)) continue;
      const record = byUid.get(uid) ?? selected.record(uid);
      if (record === undefined) continue;
      const uidPart = command.uid ? `UID ${uid} ` : '';
      const modseq = session.enabled.condstore ? ` MODSEQ (${record.modseq})` : '';
      session.untagged(`${selected.msnOf(uid)} FETCH (${uidPart}FLAGS (${record.flags.join(' ')})${modseq})`);
    }
  }
  const code = modified.length === 0 ? undefined : `[MODIFIED ${formatSequenceSet(command.uid ? modified : modified.map((uid) => selected.msnOf(uid)))}]`;
  session.complete(command, code === undefined ? 'STORE completed' : 'some messages were changed meanwhile', code);
}

// ------------------------------------------------------------------------------ COPY, MOVE

async function copy(session: Session, command: CopyMoveCommand): Promise<void> {
  const selected = command.name === 'MOVE' ? writable(session) : selectedOf(session);
  const target = session.mailboxArgument(command.mailbox);
  const uids = targets(session, command.sequence, command.uid);
  const { uidvalidity, pairs } = await mail(session).copy(selected.name, uids, target, command.name === 'MOVE');
  const code = pairs.length === 0 ? undefined : `[COPYUID ${uidvalidity} ${formatSequenceSet(pairs.map(([from]) => from))} ${formatSequenceSet(pairs.map(([, to]) => to))}]`;
  if (command.name === 'MOVE') {
    // RFC 6851: COPYUID comes in an untagged OK before the EXPUNGE responses.
    if (code !== undefined) session.untagged(`OK ${code} moved`);
    return session.complete(command, 'MOVE completed');
  }
  session.complete(command, 'COPY completed', code);
}

// ------------------------------------------------------------------------------ SEARCH

/** The UIDs of announced, present messages matching `key`, ascending. */
async function searchUids(session: Session, key: SearchCommand['criteria']): Promise<number[]> {
  const selected = selectedOf(session);
  const savedMsns = session.savedUids.map((u) => selected.msnOf(u)).filter((n) => n > 0);
  const predicate = compileSearch(key, { count: selected.count, highestUid: selected.highestUid, savedMsns, savedUids: session.savedUids });
  const matches: number[] = [];
  let count = 0;
  for (let msn = 1; msn <= selected.count; msn++) {
    const uid = selected.uids[msn - 1];
    const record = selected.record(uid);
    if (record === undefined) continue;
    if (predicate({ msn, record, load: () => load(session, selected, uid, true) })) matches.push(uid);
    if (++count % BATCH === 0) await yieldToLoop();
  }
  return matches;
}

async function search(session: Session, command: SearchCommand): Promise<void> {
  const selected = selectedOf(session);
  if (usesModseq(command.criteria)) session.enabled.condstore = true;
  const uids = await searchUids(session, command.criteria);
  const numbers = command.uid ? uids : uids.map((uid) => selected.msnOf(uid));
  const highestModseq = usesModseq(command.criteria) && uids.length > 0 ? Math.max(...uids.map((uid) => selected.record(uid)?.modseq ?? 0)) : undefined;
  const returns = command.returns ?? (session.enabled.rev2 ? { min: false, max: false, all: true, count: false, save: false } : undefined);
  if (returns === undefined) {
    session.untagged(`SEARCH${numbers.map((n) => ` ${n}`).join('')}${highestModseq === undefined ? '' : ` (MODSEQ ${highestModseq})`}`);
    return session.complete(command, 'SEARCH completed');
  }
  if (returns.save) session.savedUids = uids;
  const onlySave = returns.save && !returns.min && !returns.max && !returns.all && !returns.count;
  if (!onlySave) {
    const parts = [`(TAG "${command.tag}")`];
    if (command.uid) parts.push('UID');
    if (returns.min && numbers.length > 0) parts.push(`MIN ${numbers[0]}`);
    if (returns.max && numbers.length > 0) parts.push(`MAX ${numbers[numbers.length - 1]}`);
    if (returns.all && numbers.length > 0) parts.push(`ALL ${formatSequenceSet(numbers)}`);
    if (returns.count) parts.push(`COUNT ${numbers.length}`);
    if (highestModseq !== undefined) parts.push(`MODSEQ ${highestModseq}`);
    session.untagged(`ESEARCH ${parts.join(' ')}`);
  }
  session.complete(command, 'SEARCH completed');
}

function usesModseq(key: SearchCommand['criteria']): boolean {
  switch (key.type) {
    case 'modseq':
      return true;
    case 'and':
      return key.keys.some(usesModseq);
    case 'or':
      return usesModseq(key.left) || usesModseq(key.right);
    case 'not':
      return usesModseq(key.key);
    default:
      return false;
  }
}

