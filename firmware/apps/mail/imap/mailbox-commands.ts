/**
 * Commands of the authenticated state (also allowed while a mailbox is selected): ENABLE,
 * SELECT/EXAMINE, CREATE, DELETE, RENAME, (UN)SUBSCRIBE, LIST, LSUB, NAMESPACE, STATUS,
 * APPEND, IDLE, COMPRESS.
 */
import { DELIMITER, INBOX, canonicalName, type MailStore, type MailboxEntry, type MailboxState } from '../store/index.js';
import { flagList, list, type Wire } from './encode.js';
import { dateTimeToMillis, type ListCommand, type SelectCommand, type StatusItem } from './parser.js';
import { SelectedMailbox, flagUpdate } from './selected.js';
import { formatSequenceSet, normalizeSpans, spansContain } from './sequence.js';
import { Refusal, type HandlerTable, type Session } from './session.js';

/** Flags offered in FLAGS and PERMANENTFLAGS besides the keywords in use. */
const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

export const mailboxCommands: HandlerTable = {
  ENABLE: async (session, command) => {
    const enabled: string[] = [];
    for (const capability of command.capabilities) {
      if (capability === 'CONDSTORE' || capability === 'QRESYNC') {
        session.enabled.condstore = true;
        if (capability === 'QRESYNC') session.enabled.qresync = true;
      } else if (capability === 'UTF8=ACCEPT') session.enabled.utf8 = true;
      else if (capability === 'IMAP4REV2') session.enabled.rev2 = true;
      else continue;
      enabled.push(capability);
    }
    session.untagged(`ENABLED${enabled.map((c) => ` ${c}`).join('')}`);
    session.tagged(command.tag, 'OK', 'ENABLE completed');
  },

  SELECT: async (session, command) => select(session, command),
  EXAMINE: async (session, command) => select(session, command),

  CREATE: async (session, command) => {
    const name = session.mailboxArgument(command.mailbox);
    if (command.specialUse.length > 1) throw new Refusal('USEATTR', 'one special use per mailbox');
    await mail(session).create(name, command.specialUse[0]);
    session.complete(command, 'CREATE completed');
  },

  DELETE: async (session, command) => {
    const name = canonicalName(session.mailboxArgument(command.mailbox));
    if (session.selected?.name === name) throw new Refusal('CANNOT', 'unselect the mailbox before deleting it');
    await mail(session).delete(name);
    session.complete(command, 'DELETE completed');
  },

  RENAME: async (session, command) => {
    await mail(session).rename(session.mailboxArgument(command.from), session.mailboxArgument(command.to));
    session.complete(command, 'RENAME completed');
  },

  SUBSCRIBE: async (session, command) => {
    await mail(session).subscribe(session.mailboxArgument(command.mailbox), true);
    session.complete(command, 'SUBSCRIBE completed');
  },
  UNSUBSCRIBE: async (session, command) => {
    await mail(session).subscribe(session.mailboxArgument(command.mailbox), false);
    session.complete(command, 'UNSUBSCRIBE completed');
  },

  NAMESPACE: async (session, command) => {
    session.untagged(`NAMESPACE (("" "${DELIMITER}")) NIL NIL`);
    session.tagged(command.tag, 'OK', 'NAMESPACE completed');
  },

  LIST: async (session, command) => listMailboxes(session, command),

  LSUB: async (session, command) => {
    const matcher = patternMatcher(session.mailboxArgument(command.reference), session.mailboxArgument(command.pattern));
    const entries = new Map(mail(session).list().map((e) => [e.name, e]));
    for (const name of mail(session).subscriptions()) {
      if (!matcher(name)) continue;
      const entry = entries.get(name);
      session.send(['* LSUB ', entry === undefined || !entry.selectable ? '(\\Noselect)' : '()', ` "${DELIMITER}" `, ...session.mailboxWire(name), '\r\n']);
    }
    session.complete(command, 'LSUB completed');
  },

  STATUS: async (session, command) => {
    const name = canonicalName(session.mailboxArgument(command.mailbox));
    const snapshot = mail(session).snapshot(name);
    if (snapshot === undefined) throw new Refusal('NONEXISTENT', `no mailbox ${name}`);
    if (command.items.includes('HIGHESTMODSEQ')) session.enabled.condstore = true;
    session.send(statusResponse(session, name, snapshot.state, command.items));
    session.complete(command, 'STATUS completed');
  },

  APPEND: async (session, command) => {
    const name = canonicalName(session.mailboxArgument(command.mailbox));
    for (const message of command.messages) {
      if (message.data.length > session.context.appendLimit) throw new Refusal('TOOBIG', `message larger than APPENDLIMIT ${session.context.appendLimit}`);
      if (message.data.length === 0) throw new Refusal('CANNOT', 'empty message');
    }
    const { uidvalidity, uids } = await mail(session).append(
      name,
      command.messages.map((m) => ({ raw: m.data, flags: m.flags, ...(m.internalDate === undefined ? {} : { internalDate: dateTimeToMillis(m.internalDate) }) })),
    );
    session.complete(command, 'APPEND completed', `[APPENDUID ${uidvalidity} ${formatSequenceSet(uids)}]`);
  },

  IDLE: async (session, command) => session.startIdle(command.tag),

  COMPRESS: async (session, command) => {
    if (session.connection.compressed) throw new Refusal('COMPRESSIONACTIVE', 'DEFLATE is already active');
    if (command.mechanism !== 'DEFLATE') return session.tagged(command.tag, 'BAD', `unknown compression ${command.mechanism.slice(0, 20)}`);
    session.startCompression(command.tag);
  },
};

export function mail(session: Session): MailStore {
  if (session.mail === undefined) throw new Error('no mail store for an unauthenticated session');
  return session.mail;
}

// ------------------------------------------------------------------------------ SELECT

async function select(session: Session, command: SelectCommand): Promise<void> {
  const readOnly = command.name === 'EXAMINE';
  // A failed SELECT leaves no mailbox selected (RFC 9051 6.3.2).
  if (session.selected !== undefined) {
    session.select(undefined);
    session.untagged('OK [CLOSED] previous mailbox closed');
  }
  if (command.qresync !== undefined && !session.enabled.qresync) return session.tagged(command.tag, 'BAD', 'QRESYNC is not enabled');
  if (command.condstore) session.enabled.condstore = true;
  const name = canonicalName(session.mailboxArgument(command.mailbox));
  const snapshot = mail(session).snapshot(name);
  if (snapshot === undefined) throw new Refusal('NONEXISTENT', `no mailbox ${name}`);
  const selected = new SelectedMailbox(snapshot, readOnly);
  const state = snapshot.state;
  const keywords = new Set<string>();
  for (const m of state.messages) for (const flag of m.flags) if (!flag.startsWith('\\')) keywords.add(flag);
  const flags = flagList([...SYSTEM_FLAGS, ...[...keywords].sort()]);
  session.untagged(`FLAGS ${flags}`);
  session.untagged(`OK [PERMANENTFLAGS ${readOnly ? '()' : flagList([...SYSTEM_FLAGS, ...[...keywords].sort(), '\\*'])}] flags permitted`);
  session.untagged(`${state.messages.length} EXISTS`);
  if (!session.enabled.rev2) {
    session.untagged('0 RECENT');
    const unseen = state.messages.findIndex((m) => !m.flags.includes('\\Seen'));
    if (unseen >= 0) session.untagged(`OK [UNSEEN ${unseen + 1}] first unseen`);
  }
  session.untagged(`OK [UIDVALIDITY ${state.uidvalidity}] UIDs valid`);
  session.untagged(`OK [UIDNEXT ${state.uidnext}] predicted next UID`);
  session.untagged(`OK [HIGHESTMODSEQ ${state.highestModseq}] highest`);
  if (session.enabled.rev2) session.send(['* LIST () "/" ', ...session.mailboxWire(name), '\r\n']);
  if (command.qresync !== undefined && command.qresync.uidValidity === state.uidvalidity) {
    resynchronize(session, selected, state, Number(command.qresync.modseq), command.qresync.knownUids);
  }
  session.select(selected);
  session.tagged(command.tag, 'OK', `${command.name} completed`, readOnly ? '[READ-ONLY]' : '[READ-WRITE]');
}

/** QRESYNC (RFC 7162 3.2.5): what vanished and what changed since the client's modseq. */
function resynchronize(session: Session, selected: SelectedMailbox, state: MailboxState, since: number, known: Parameters<typeof normalizeSpans>[0] | undefined): void {
  const knownSpans = known === undefined ? undefined : normalizeSpans(known, state.uidnext - 1);
  const isKnown = (uid: number) => knownSpans === undefined || spansContain(knownSpans, uid);
  let vanished: number[];
  if (since < state.forgottenModseq) {
    // Expunges that old are forgotten: every known UID not present any more has vanished.
    const present = new Set(state.messages.map((m) => m.uid));
    vanished = [];
    if (knownSpans !== undefined) for (const span of knownSpans) for (let uid = span.first; uid <= Math.min(span.last, state.uidnext - 1); uid++) if (!present.has(uid)) vanished.push(uid);
  } else {
    vanished = state.expunged.filter((e) => e.modseq > since && isKnown(e.uid)).map((e) => e.uid);
  }
  if (vanished.length > 0) session.untagged(`VANISHED (EARLIER) ${formatSequenceSet(vanished)}`);
  for (const record of state.messages) {
    if (record.modseq > since && isKnown(record.uid)) session.untagged(flagUpdate(selected.msnOf(record.uid), record, true).slice(2));
  }
}

// ------------------------------------------------------------------------------ LIST and STATUS

/** LIST (RFC 9051 6.3.9) with LIST-EXTENDED selection and return options and LIST-STATUS. */
function listMailboxes(session: Session, command: ListCommand): void {
  const store = mail(session);
  const reference = session.mailboxArgument(command.reference);
  if (command.patterns.length === 1 && command.patterns[0] === '') {
    // The hierarchy delimiter and root, asked with an empty pattern.
    session.untagged(`LIST (\\Noselect) "${DELIMITER}" ""`);
    return session.complete(command, 'LIST completed');
  }
  const matchers = command.patterns.map((pattern) => patternMatcher(reference, session.mailboxArgument(pattern)));
  const matches = (name: string) => matchers.some((m) => m(name));
  const subscribed = new Set(store.subscriptions());
  const entries: MailboxEntry[] = store.list();
  const known = new Set(entries.map((e) => e.name));
  const { selection, returns } = command;
  const rows: { name: string; attributes: string[] }[] = [];
  for (const entry of entries) {
    if (!matches(entry.name)) continue;
    if (selection.subscribed && !subscribed.has(entry.name)) continue;
    if (selection.specialUse && entry.specialUse === undefined) continue;
    const attributes = [entry.hasChildren ? '\\HasChildren' : '\\HasNoChildren'];
    if (!entry.selectable) attributes.push('\\Noselect');
    if (entry.specialUse !== undefined) attributes.push(entry.specialUse);
    if ((selection.subscribed || returns.subscribed) && subscribed.has(entry.name)) attributes.push('\\Subscribed');
    rows.push({ name: entry.name, attributes });
  }
  if (selection.subscribed) {
    // Subscriptions to mailboxes that no longer exist are listed as such (RFC 5258 3.1).
    for (const name of subscribed) if (!known.has(name) && matches(name)) rows.push({ name, attributes: ['\\NonExistent', '\\Subscribed'] });
  }
  for (const row of rows) {
    session.send(['* LIST (', row.attributes.join(' '), `) "${DELIMITER}" `, ...session.mailboxWire(row.name), '\r\n']);
    if (returns.status !== undefined && !row.attributes.includes('\\Noselect') && !row.attributes.includes('\\NonExistent')) {
      const snapshot = store.snapshot(row.name);
      if (snapshot !== undefined) session.send(statusResponse(session, row.name, snapshot.state, returns.status));
    }
  }
  session.complete(command, 'LIST completed');
}

function statusResponse(session: Session, name: string, state: MailboxState, items: readonly StatusItem[]): Wire {
  const values = items.map((item) => `${item} ${statusValue(session, state, item)}`);
  return ['* STATUS ', ...session.mailboxWire(name), ' ', ...list(values), '\r\n'];
}

function statusValue(session: Session, state: MailboxState, item: StatusItem): number {
  switch (item) {
    case 'MESSAGES':
      return state.messages.length;
    case 'RECENT':
      return 0;
    case 'UIDNEXT':
      return state.uidnext;
    case 'UIDVALIDITY':
      return state.uidvalidity;
    case 'UNSEEN':
      return state.messages.filter((m) => !m.flags.includes('\\Seen')).length;
    case 'DELETED':
      return state.messages.filter((m) => m.flags.includes('\\Deleted')).length;
    case 'SIZE':
      return state.messages.reduce((sum, m) => sum + m.size, 0);
    case 'HIGHESTMODSEQ':
      return state.highestModseq;
    case 'APPENDLIMIT':
      return session.context.appendLimit;
  }
}

/**
 * LIST's wildcards on reference + pattern: `*` matches anything, `%` anything but the
 * delimiter. Matching is a small backtracking-free walk (no regular expression built from
 * client input).
 */
export function patternMatcher(reference: string, pattern: string): (name: string) => boolean {
  let full = reference === '' || pattern.startsWith(DELIMITER) ? pattern : `${reference.endsWith(DELIMITER) ? reference : `${reference}${DELIMITER}`}${pattern}`;
  if (full.toUpperCase() === INBOX || full.toUpperCase().startsWith(`${INBOX}${DELIMITER}`)) full = `${INBOX}${full.slice(INBOX.length)}`;
  return (name) => wildcardMatch(full, name);
}

function wildcardMatch(pattern: string, name: string): boolean {
  // Dynamic programming over positions: O(pattern × name), no exponential backtracking.
  let states = new Uint8Array(name.length + 1);
  states[0] = 1;
  for (const ch of pattern) {
    const next = new Uint8Array(name.length + 1);
    if (ch === '*' || ch === '%') {
      let reachable = false;
      for (let i = 0; i <= name.length; i++) {
        if (states[i]) reachable = true;
        if (reachable) next[i] = 1;
        if (ch === '%' && name[i] === DELIMITER) reachable = false;
      }
    } else {
      for (let i = 0; i < name.length; i++) if (states[i] && name[i] === ch) next[i + 1] = 1;
    }
    states = next;
  }
  return states[name.length] === 1;
}

