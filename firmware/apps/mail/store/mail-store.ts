/**
 * A user's mail on their versioned store. Every change is a commit on `main`; changes asked
 * for at the same time (ten clients appending, a STORE and an EXPUNGE) are applied together
 * as one commit, each mailbox touched getting one new modseq. Readers work from a commit
 * (a session's snapshot), so what they see never changes under them.
 */
import { formatStringSet, type Branch, type HistoryEntry, type ObjectId, type Store, type TreeView } from '../../../store/index.js';
import { DELIMITER, INBOX, MAIL_ROOT, InvalidMailboxName, STATE_FILE, SUBSCRIPTIONS_FILE, UIDVALIDITY_FILE, canonicalName, mailboxDir, messagePath, parentName, statePath } from './names.js';
import { MAX_UID, emptyState, formatState, indexOfUid, normalizeFlags, parseState, rememberExpunge, type MailboxState, type MessageRecord } from './state.js';

/** Mailboxes every user has, with their RFC 6154 special use. */
export const DEFAULT_MAILBOXES: readonly { name: string; specialUse?: string }[] = [
  { name: INBOX },
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Junk', specialUse: '\\Junk' },
  { name: 'Trash', specialUse: '\\Trash' },
  { name: 'Archive', specialUse: '\\Archive' },
];
export const SPECIAL_USES = new Set(['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash']);

/** Refusals IMAP answers with NO and the response code given (RFC 5530). */
export class MailError extends Error {
  constructor(
    readonly code: 'NONEXISTENT' | 'TRYCREATE' | 'ALREADYEXISTS' | 'CANNOT' | 'TOOBIG' | 'LIMIT' | 'MODIFIED' | 'USEATTR' | 'CORRUPTION',
    message: string,
  ) {
    super(message);
  }
}

export interface MailboxSnapshot {
  name: string;
  /** The commit this snapshot was read from; messages are read from it too. */
  commit: ObjectId;
  state: MailboxState;
}

export interface MailboxEntry {
  name: string;
  specialUse?: string;
  /** A directory without state: a level of the hierarchy that is not a mailbox (\Noselect). */
  selectable: boolean;
  hasChildren: boolean;
}

export interface NewMessage {
  raw: Buffer;
  flags?: readonly string[];
  internalDate?: number;
}

export type FlagChange = 'add' | 'remove' | 'replace';

/** One operation of a batch: reads and writes only the batch's view and states. */
type Operation<T> = (batch: Batch) => T;

interface Pending {
  op: Operation<unknown>;
  summary: string;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

export class MailStore {
  readonly branch: Branch;
  private readonly parsedStates = new Map<ObjectId, MailboxState>();
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    readonly store: Store,
    private readonly now: () => number = Date.now,
    branch = 'main',
  ) {
    this.branch = store.branch(branch);
  }

  // ------------------------------------------------------------------------- reading

  /** Every mailbox and hierarchy level under mail/, depth first, parents before children. */
  list(): MailboxEntry[] {
    const view = this.branch.view();
    const entries: MailboxEntry[] = [];
    const walk = (dir: string, prefix: string) => {
      for (const child of view.list(dir)) {
        if (child.kind !== 'dir' || child.name.startsWith('.')) continue;
        const name = prefix === '' ? child.name : `${prefix}${DELIMITER}${child.name}`;
        const path = `${dir}/${child.name}`;
        const stateBytes = view.get(`${path}/${STATE_FILE}`);
        const children = view.list(path).some((e) => e.kind === 'dir' && !e.name.startsWith('.'));
        let specialUse: string | undefined;
        if (stateBytes !== undefined) specialUse = this.parseStateBlob(view, `${path}/${STATE_FILE}`, stateBytes).specialUse;
        entries.push({ name, ...(specialUse === undefined ? {} : { specialUse }), selectable: stateBytes !== undefined, hasChildren: children });
        walk(path, name);
      }
    };
    walk(MAIL_ROOT, '');
    return entries;
  }

  /** The mailbox as it is now, or undefined if there is no such mailbox. */
  snapshot(name: string): MailboxSnapshot | undefined {
    const canonical = canonicalName(name);
    const commit = this.branch.head();
    if (commit === undefined) return undefined;
    const state = this.readState(this.store.snapshot(commit), canonical);
    return state === undefined ? undefined : { name: canonical, commit, state };
  }

  /** A message's bytes as of a commit, and its blob id (the key of parse caches). */
  message(commit: ObjectId, mailbox: string, uid: number): { raw: Buffer; blob: ObjectId } | undefined {
    const blob = this.messageBlob(commit, mailbox, uid);
    return blob === undefined ? undefined : { raw: this.readBlob(blob), blob };
  }

  /** The blob id of a message as of a commit, without reading it. */
  messageBlob(commit: ObjectId, mailbox: string, uid: number): ObjectId | undefined {
    // Sessions read many messages from one commit: its view (and parsed trees) is kept.
    if (this.lastView?.commit !== commit) this.lastView = { commit, view: this.store.snapshot(commit) };
    return this.lastView.view.baseBlobId(messagePath(mailbox, uid));
  }

  /** A message's bytes; `keep: false` for sweeps (SEARCH reads every message once) that would flush the store's cache. */
  readBlob(blob: ObjectId, options: { keep?: boolean } = {}): Buffer {
    return this.store.odb.readTyped(blob, 'blob', options);
  }
  private lastView: { commit: ObjectId; view: TreeView } | undefined;

  subscriptions(): string[] {
    return this.readSubscriptions(this.branch.view());
  }

  /** Commits that changed a mailbox (or any mailbox), newest first: the mail's history. */
  history(name?: string, limit?: number): HistoryEntry[] {
    return this.branch.history(name === undefined ? MAIL_ROOT : mailboxDir(canonicalName(name)), limit === undefined ? {} : { limit });
  }

  /** The newest commit that changed a mailbox at or before `time` (ms), or undefined. */
  commitAt(name: string, time: number): ObjectId | undefined {
    return this.history(name).find((entry) => entry.author.timestamp * 1000 <= time)?.commit;
  }

  /** Calls back after each commit that changed the mailbox (not its children). */
  watch(name: string, callback: (commit: ObjectId) => void): () => void {
    const state = statePath(name);
    return this.store.watch(this.branch.name, mailboxDir(name), (event) => {
      if (event.paths.includes(state)) callback(event.commit);
    });
  }

  // ------------------------------------------------------------------------- changing

  /** Creates INBOX and the special-use mailboxes that are missing (first use of mail). */
  ensureDefaults(): Promise<void> {
    return this.submit('create the default mailboxes', (batch) => {
      for (const { name, specialUse } of DEFAULT_MAILBOXES) if (batch.state(name) === undefined) batch.createMailbox(name, specialUse);
    });
  }

  create(name: string, specialUse?: string): Promise<void> {
    const canonical = canonicalName(name);
    if (specialUse !== undefined && !SPECIAL_USES.has(specialUse)) return Promise.reject(new MailError('USEATTR', `unknown special use ${specialUse}`));
    return this.submit(`create ${canonical}`, (batch) => {
      if (batch.state(canonical) !== undefined) throw new MailError('ALREADYEXISTS', `mailbox ${canonical} exists`);
      // Missing parents become mailboxes too: clients expect to select what they see listed.
      for (let parent = parentName(canonical); parent !== undefined; parent = parentName(parent)) {
        if (batch.state(parent) === undefined) batch.createMailbox(parent);
      }
      batch.createMailbox(canonical, specialUse);
    });
  }

  /** Deletes a mailbox's messages and state; its children stay (RFC 9051 6.3.5). */
  delete(name: string): Promise<void> {
    const canonical = canonicalName(name);
    if (canonical === INBOX) return Promise.reject(new MailError('CANNOT', 'INBOX cannot be deleted'));
    return this.submit(`delete ${canonical}`, (batch) => {
      if (batch.state(canonical) === undefined) throw new MailError('NONEXISTENT', `no mailbox ${canonical}`);
      batch.removeMailbox(canonical);
    });
  }

  /** Renames a mailbox and its children; renaming INBOX moves its messages and leaves it empty. */
  rename(from: string, to: string): Promise<void> {
    const source = canonicalName(from);
    const target = canonicalName(to);
    return this.submit(`rename ${source} to ${target}`, (batch) => {
      const state = batch.state(source);
      if (state === undefined) throw new MailError('NONEXISTENT', `no mailbox ${source}`);
      if (batch.view.list(mailboxDir(target)).length > 0) throw new MailError('ALREADYEXISTS', `mailbox ${target} exists`);
      if (target === source || target.startsWith(`${source}${DELIMITER}`)) throw new MailError('CANNOT', 'a mailbox cannot be moved into itself');
      for (let parent = parentName(target); parent !== undefined; parent = parentName(parent)) {
        if (batch.state(parent) === undefined) batch.createMailbox(parent);
      }
      if (source === INBOX) {
        const moved = batch.createMailbox(target);
        batch.moveMessages(source, state.messages.map((m) => m.uid), target, moved);
        return;
      }
      const prefix = `${mailboxDir(source)}/`;
      for (const path of [...batch.view.walk(mailboxDir(source))]) {
        batch.view.set(`${mailboxDir(target)}/${path.slice(prefix.length)}`, batch.view.get(path)!);
      }
      batch.view.remove(mailboxDir(source));
      batch.forget(source);
    });
  }

  subscribe(name: string, subscribed: boolean): Promise<void> {
    const canonical = canonicalName(name);
    return this.submit(`${subscribed ? 'subscribe' : 'unsubscribe'} ${canonical}`, (batch) => {
      const list = new Set(this.readSubscriptions(batch.view));
      if (subscribed) list.add(canonical);
      else list.delete(canonical);
      batch.view.set(SUBSCRIPTIONS_FILE, formatStringSet(list));
    });
  }

  /** Appends messages (MULTIAPPEND: all or none) and returns their UIDs. */
  append(name: string, messages: readonly NewMessage[]): Promise<{ uidvalidity: number; uids: number[] }> {
    const canonical = canonicalName(name);
    return this.submit(`append ${messages.length} to ${canonical}`, (batch) => {
      if (batch.state(canonical) === undefined) throw new MailError('TRYCREATE', `no mailbox ${canonical}`);
      const state = batch.mutableState(canonical);
      if (state.uidnext + messages.length - 1 > MAX_UID) throw new MailError('LIMIT', `mailbox ${canonical} has used up its UIDs`);
      const uids = messages.map((message) => batch.addMessage(canonical, state, message.raw, normalizeFlags(message.flags ?? []), message.internalDate ?? this.now()));
      return { uidvalidity: state.uidvalidity, uids };
    });
  }

  /**
   * Changes flags of the messages with these UIDs. With `unchangedSince` (CONDSTORE), messages
   * changed after it are left alone and returned in `modified`.
   */
  storeFlags(name: string, uids: readonly number[], change: FlagChange, flags: readonly string[], unchangedSince?: number): Promise<{ changed: MessageRecord[]; modified: number[] }> {
    const canonical = canonicalName(name);
    const given = normalizeFlags(flags);
    return this.submit(`flags of ${uids.length} in ${canonical}`, (batch) => {
      const state = batch.mutableState(canonical);
      const changed: MessageRecord[] = [];
      const modified: number[] = [];
      for (const uid of uids) {
        const at = indexOfUid(state.messages, uid);
        if (at < 0) continue;
        const record = state.messages[at];
        if (unchangedSince !== undefined && record.modseq > unchangedSince) {
          modified.push(uid);
          continue;
        }
        const next = change === 'replace' ? given : change === 'add' ? normalizeFlags([...record.flags, ...given]) : record.flags.filter((f) => !given.includes(f));
        if (next.length === record.flags.length && next.every((f, i) => f === record.flags[i])) continue;
        const updated = { ...record, flags: next, modseq: batch.modseq(canonical, state) };
        state.messages[at] = updated;
        changed.push(updated);
      }
      return { changed, modified };
    });
  }

  /** Removes the messages flagged \Deleted (only those in `uids`, when given); returns their UIDs. */
  expunge(name: string, uids?: readonly number[]): Promise<number[]> {
    const canonical = canonicalName(name);
    return this.submit(`expunge ${canonical}`, (batch) => {
      const state = batch.mutableState(canonical);
      const only = uids === undefined ? undefined : new Set(uids);
      const gone = state.messages.filter((m) => m.flags.includes('\\Deleted') && (only === undefined || only.has(m.uid))).map((m) => m.uid);
      batch.removeMessages(canonical, state, gone);
      return gone;
    });
  }

  /** Copies (or moves: copy and expunge in one commit) messages; returns source → new UID pairs. */
  copy(from: string, uids: readonly number[], to: string, move = false): Promise<{ uidvalidity: number; pairs: [number, number][] }> {
    const source = canonicalName(from);
    const target = canonicalName(to);
    return this.submit(`${move ? 'move' : 'copy'} ${uids.length} from ${source} to ${target}`, (batch) => {
      const sourceState = batch.state(source);
      if (sourceState === undefined) throw new MailError('NONEXISTENT', `no mailbox ${source}`);
      const targetState = batch.state(target);
      if (targetState === undefined) throw new MailError('TRYCREATE', `no mailbox ${target}`);
      const present = uids.filter((uid) => indexOfUid(sourceState.messages, uid) >= 0);
      if (targetState.uidnext + present.length - 1 > MAX_UID) throw new MailError('LIMIT', `mailbox ${target} has used up its UIDs`);
      if (move) return { uidvalidity: targetState.uidvalidity, pairs: batch.moveMessages(source, present, target, batch.mutableState(target)) };
      const into = batch.mutableState(target);
      const pairs: [number, number][] = present.map((uid) => {
        const record = sourceState.messages[indexOfUid(sourceState.messages, uid)];
        return [uid, batch.addMessage(target, into, batch.view.get(messagePath(source, uid))!, record.flags, record.internalDate)];
      });
      return { uidvalidity: into.uidvalidity, pairs };
    });
  }

  /**
   * Brings back what a mailbox held at `commit` and has lost since: those messages return with
   * their flags and dates of then, under new UIDs; messages that came since stay. A message
   * whose content is in the mailbox now is not restored twice. Returns the new UIDs.
   */
  restore(name: string, commit: ObjectId): Promise<number[]> {
    const canonical = canonicalName(name);
    const then = this.store.snapshot(commit);
    const old = this.readState(then, canonical);
    if (old === undefined) return Promise.reject(new MailError('NONEXISTENT', `no mailbox ${canonical} at ${commit.slice(0, 12)}`));
    return this.submit(`restore ${canonical} from ${commit.slice(0, 12)}`, (batch) => {
      const state = batch.state(canonical) === undefined ? batch.createMailbox(canonical, old.specialUse) : batch.mutableState(canonical);
      const present = new Set(state.messages.map((m) => batch.view.baseBlobId(messagePath(canonical, m.uid))));
      const uids: number[] = [];
      for (const record of old.messages) {
        const blob = then.baseBlobId(messagePath(canonical, record.uid));
        if (blob === undefined || present.has(blob)) continue;
        present.add(blob);
        uids.push(batch.addMessage(canonical, state, then.get(messagePath(canonical, record.uid))!, record.flags, record.internalDate));
      }
      return uids;
    });
  }

  // ------------------------------------------------------------------------- internals

  private submit<T>(summary: string, op: Operation<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, summary, resolve: resolve as (value: unknown) => void, reject });
      this.flushing ??= this.flush();
    });
  }

  /** Applies everything queued as one commit, then whatever was queued meanwhile. */
  private async flush(): Promise<void> {
    // Let operations asked for in the same turn of the event loop join this batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      const pending = this.queue;
      this.queue = [];
      let outcomes: { ok: boolean; value: unknown }[] = [];
      let written: [Buffer, MailboxState][] = [];
      try {
        await this.branch.transaction(
          (view) => {
            // May run again if the head moved (a sync merged meanwhile): start from scratch.
            const batch = new Batch(view, this, this.now);
            outcomes = pending.map(({ op }) => batch.run(op));
            written = batch.writeStates();
          },
          { message: `mail: ${summarize(pending.map((p) => p.summary))}\n` },
        );
      } catch (err) {
        for (const p of pending) p.reject(err);
        continue;
      }
      // The next batch (and every session) reads these states again: known by their blob ids, they are not parsed again.
      const ids = this.store.odb.hashAll(written.map(([content]) => ({ type: 'blob' as const, content })));
      written.forEach(([, state], i) => this.rememberState(ids[i], state));
      pending.forEach((p, i) => (outcomes[i].ok ? p.resolve(outcomes[i].value) : p.reject(outcomes[i].value)));
    }
    this.flushing = undefined;
  }

  /** The state of a mailbox in a view, parsed once per blob. */
  readState(view: TreeView, name: string): MailboxState | undefined {
    const path = statePath(name);
    const bytes = view.get(path);
    return bytes === undefined ? undefined : this.parseStateBlob(view, path, bytes);
  }

  private parseStateBlob(view: TreeView, path: string, bytes: Buffer): MailboxState {
    const blob = view.baseBlobId(path);
    const cached = blob === undefined ? undefined : this.parsedStates.get(blob);
    if (cached !== undefined) return cached;
    const state = parseState(bytes);
    if (blob !== undefined) this.rememberState(blob, state);
    return state;
  }

  private rememberState(blob: ObjectId, state: MailboxState): void {
    // States of a few mailboxes in use; old ones are dropped rather than tracked in an LRU.
    if (this.parsedStates.size >= 64) this.parsedStates.clear();
    this.parsedStates.set(blob, state);
  }

  private readSubscriptions(view: TreeView): string[] {
    const bytes = view.get(SUBSCRIPTIONS_FILE);
    if (bytes === undefined) return [];
    try {
      const list = JSON.parse(bytes.toString());
      return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
    } catch {
      return [];
    }
  }
}

/** The working set of one commit: the view and the states changed in it, each bumped once. */
class Batch {
  private readonly states = new Map<string, MailboxState | undefined>();
  private readonly dirty = new Set<string>();
  private readonly bumped = new Set<string>();

  constructor(
    readonly view: TreeView,
    private readonly mail: MailStore,
    private readonly now: () => number,
  ) {}

  /**
   * Runs one operation. Operations check everything before they change anything, so a
   * refusal (a thrown MailError) leaves the view and the states as they were.
   */
  run(op: Operation<unknown>): { ok: boolean; value: unknown } {
    try {
      return { ok: true, value: op(this) };
    } catch (err) {
      return { ok: false, value: err };
    }
  }

  /** The state as this batch sees it (read-only: use mutableState to change it). */
  state(name: string): MailboxState | undefined {
    if (!this.states.has(name)) this.states.set(name, this.mail.readState(this.view, name));
    return this.states.get(name);
  }

  mutableState(name: string): MailboxState {
    const state = this.state(name);
    if (state === undefined) throw new MailError('NONEXISTENT', `no mailbox ${name}`);
    if (!this.dirty.has(name)) {
      // A private copy: the parsed state is shared through the cache and by open sessions.
      const copy: MailboxState = { ...state, messages: state.messages.slice(), expunged: state.expunged.slice() };
      this.states.set(name, copy);
      this.dirty.add(name);
      return copy;
    }
    return state;
  }

  /** The modseq of this batch's changes to a mailbox: one above its highest, once per batch. */
  modseq(name: string, state: MailboxState): number {
    if (!this.bumped.has(name)) {
      state.highestModseq += 1;
      this.bumped.add(name);
    }
    return state.highestModseq;
  }

  createMailbox(name: string, specialUse?: string): MailboxState {
    const last = Number(this.view.get(UIDVALIDITY_FILE)?.toString() ?? 0) || 0;
    const uidvalidity = Math.max(Math.floor(this.now() / 1000), last + 1) >>> 0;
    this.view.set(UIDVALIDITY_FILE, `${uidvalidity}\n`);
    const state = emptyState(uidvalidity, specialUse);
    this.states.set(name, state);
    this.dirty.add(name);
    this.bumped.add(name);
    return state;
  }

  removeMailbox(name: string): void {
    const dir = mailboxDir(name);
    for (const child of this.view.list(dir)) {
      if (child.kind === 'file') this.view.remove(`${dir}/${child.name}`);
    }
    this.forget(name);
  }

  forget(name: string): void {
    this.states.set(name, undefined);
    this.dirty.delete(name);
  }

  addMessage(name: string, state: MailboxState, raw: Buffer, flags: string[], internalDate: number): number {
    const uid = state.uidnext;
    state.uidnext += 1;
    state.messages.push({ uid, modseq: this.modseq(name, state), internalDate, size: raw.length, flags });
    this.view.set(messagePath(name, uid), raw);
    return uid;
  }

  removeMessages(name: string, state: MailboxState, uids: readonly number[]): void {
    if (uids.length === 0) return;
    const gone = new Set(uids);
    const modseq = this.modseq(name, state);
    state.messages = state.messages.filter((m) => !gone.has(m.uid));
    for (const uid of uids) {
      rememberExpunge(state, uid, modseq);
      this.view.remove(messagePath(name, uid));
    }
  }

  moveMessages(from: string, uids: readonly number[], to: string, into: MailboxState): [number, number][] {
    const source = this.mutableState(from);
    const pairs: [number, number][] = uids.map((uid) => {
      const record = source.messages[indexOfUid(source.messages, uid)];
      return [uid, this.addMessage(to, into, this.view.get(messagePath(from, uid))!, record.flags, record.internalDate)];
    });
    this.removeMessages(from, source, uids);
    return pairs;
  }

  /** Writes the changed states into the view; returns each one's content with it. */
  writeStates(): [Buffer, MailboxState][] {
    const written: [Buffer, MailboxState][] = [];
    for (const name of this.dirty) {
      const state = this.states.get(name);
      if (state === undefined) continue;
      const content = Buffer.from(formatState(state));
      this.view.set(statePath(name), content);
      written.push([content, state]);
    }
    return written;
  }
}

function summarize(summaries: string[]): string {
  if (summaries.length <= 3) return summaries.join('; ');
  return `${summaries.slice(0, 3).join('; ')} and ${summaries.length - 3} more`;
}

export { InvalidMailboxName };
