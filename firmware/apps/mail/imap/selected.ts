/**
 * The selected mailbox as one session sees it: the message numbers it has announced (a UID
 * per number), the state they were read from, and how to bring the client up to date with a
 * newer state — EXISTS for new messages, FETCH for changed flags, EXPUNGE (or VANISHED with
 * QRESYNC) for removed ones, the latter only where RFC 9051 7.5.1 allows them.
 */
import type { ObjectId } from '../../../store/index.js';
import { indexOfUid, type MailboxSnapshot, type MailboxState, type MessageRecord } from '../store/index.js';
import { formatSequenceSet } from './sequence.js';

export interface SessionModes {
  /** CONDSTORE or QRESYNC enabled: flag updates carry MODSEQ. */
  condstore: boolean;
  /** QRESYNC enabled: VANISHED instead of EXPUNGE. */
  qresync: boolean;
}

export class SelectedMailbox {
  readonly name: string;
  readonly readOnly: boolean;
  commit: ObjectId;
  /** The state updates were last computed from (may hold messages not announced yet). */
  state: MailboxState;
  /** Announced message numbers: uids[msn - 1]. Ascending. */
  uids: number[];
  /** Modseqs this session's own STORE produced: no unsolicited FETCH is owed for them. */
  private readonly ownChanges = new Map<number, number>();

  constructor(snapshot: MailboxSnapshot, readOnly: boolean) {
    this.name = snapshot.name;
    this.readOnly = readOnly;
    this.commit = snapshot.commit;
    this.state = snapshot.state;
    this.uids = snapshot.state.messages.map((m) => m.uid);
  }

  get count(): number {
    return this.uids.length;
  }

  get highestUid(): number {
    return this.uids.length === 0 ? 0 : this.uids[this.uids.length - 1];
  }

  /** Message number of a UID, or 0 when not announced. */
  msnOf(uid: number): number {
    let low = 0;
    let high = this.uids.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (this.uids[mid] === uid) return mid + 1;
      if (this.uids[mid] < uid) low = mid + 1;
      else high = mid - 1;
    }
    return 0;
  }

  /** The record of an announced UID in the current state; undefined once expunged. */
  record(uid: number): MessageRecord | undefined {
    const at = indexOfUid(this.state.messages, uid);
    return at < 0 ? undefined : this.state.messages[at];
  }

  noteOwnChange(record: MessageRecord): void {
    this.ownChanges.set(record.uid, record.modseq);
  }

  /**
   * Moves to `latest` and returns the untagged responses that tell the client. Without
   * `expunges`, removed messages keep their numbers until a later call (during FETCH, STORE
   * and SEARCH the numbers must not shift).
   */
  update(latest: MailboxSnapshot, modes: SessionModes, expunges: boolean): string[] {
    const lines: string[] = [];
    const previous = this.state;
    this.commit = latest.commit;
    this.state = latest.state;
    if (expunges) {
      const gone = this.uids.filter((uid) => indexOfUid(latest.state.messages, uid) < 0);
      if (gone.length > 0) {
        if (modes.qresync) {
          lines.push(`* VANISHED ${formatSequenceSet(gone)}`);
          const goneSet = new Set(gone);
          this.uids = this.uids.filter((uid) => !goneSet.has(uid));
        } else {
          // From the highest number down, so each number is still right when the client reads it.
          for (let msn = this.uids.length; msn >= 1; msn--) {
            if (indexOfUid(latest.state.messages, this.uids[msn - 1]) < 0) {
              lines.push(`* ${msn} EXPUNGE`);
              this.uids.splice(msn - 1, 1);
            }
          }
        }
      }
    }
    for (const uid of this.uids) {
      const before = previous.messages[indexOfUid(previous.messages, uid)];
      const after = this.record(uid);
      if (after === undefined || before === undefined || after.modseq === before.modseq) continue;
      if (this.ownChanges.get(uid) === after.modseq) continue;
      lines.push(flagUpdate(this.msnOf(uid), after, modes.condstore));
    }
    this.ownChanges.clear();
    const highest = this.highestUid;
    const added = latest.state.messages.filter((m) => m.uid > highest).map((m) => m.uid);
    if (added.length > 0) {
      this.uids.push(...added);
      lines.push(`* ${this.uids.length} EXISTS`);
    }
    return lines;
  }
}

/** An unsolicited FETCH of a message's flags (with UID, so clients can match it). */
export function flagUpdate(msn: number, record: MessageRecord, condstore: boolean): string {
  const modseq = condstore ? ` MODSEQ (${record.modseq})` : '';
  return `* ${msn} FETCH (UID ${record.uid} FLAGS (${record.flags.join(' ')})${modseq})`;
}
