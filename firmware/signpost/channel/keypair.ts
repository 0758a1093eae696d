/**
 * Session keys and a peer's three keypair slots, as WireGuard's noise.c keeps them (whitepaper
 * section 5.4.6 and 6.2): `current` sends; `previous` still receives what was in flight when
 * a new session began; `next` is a responder's new session, which it may not send on until
 * the initiator has used it (its first data message confirms the handshake reached it).
 */
import { ReplayWindow } from './replay.js';
import { REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME_MS } from './timers.js';

export class Keypair {
  /** The counter of the next data message sent, also its nonce. */
  sendCounter = 0n;
  readonly replay = new ReplayWindow();

  constructor(
    readonly sendKey: Buffer,
    readonly receiveKey: Buffer,
    /** Only the initiator rekeys on age, so both sides do not start handshakes at once. */
    readonly initiator: boolean,
    /** Our index for it: the receiver index of the data the peer sends us. */
    readonly localIndex: number,
    readonly remoteIndex: number,
    readonly createdAt: number,
  ) {}

  expired(now: number): boolean {
    return now - this.createdAt >= REJECT_AFTER_TIME_MS;
  }

  canSend(now: number, count = 1): boolean {
    return !this.expired(now) && this.sendCounter + BigInt(count) <= REJECT_AFTER_MESSAGES;
  }
}

export class Keypairs {
  previous: Keypair | undefined;
  current: Keypair | undefined;
  next: Keypair | undefined;

  /** Installs a new session's keypair; returns the keypairs it displaced, to forget. */
  add(keypair: Keypair): Keypair[] {
    const dropped: Keypair[] = [];
    const drop = (old: Keypair | undefined) => old !== undefined && dropped.push(old);
    if (keypair.initiator) {
      // A pending `next` means the peer finished a handshake of its own: keep it as the one
      // still receiving, rather than the older current.
      if (this.next !== undefined) {
        drop(this.previous);
        drop(this.current);
        this.previous = this.next;
        this.next = undefined;
      } else {
        drop(this.previous);
        this.previous = this.current;
      }
      this.current = keypair;
    } else {
      drop(this.next);
      drop(this.previous);
      this.previous = undefined;
      this.next = keypair;
    }
    return dropped;
  }

  /** Data arrived on `next`: the handshake is confirmed and it becomes current. */
  confirm(): Keypair[] {
    const dropped = this.previous === undefined ? [] : [this.previous];
    this.previous = this.current;
    this.current = this.next;
    this.next = undefined;
    return dropped;
  }

  /** Drops expired keypairs; returns them. */
  expire(now: number): Keypair[] {
    const dropped: Keypair[] = [];
    for (const slot of ['previous', 'current', 'next'] as const) {
      const keypair = this[slot];
      if (keypair !== undefined && keypair.expired(now)) {
        dropped.push(keypair);
        this[slot] = undefined;
      }
    }
    return dropped;
  }

  all(): Keypair[] {
    return [this.previous, this.current, this.next].filter((k): k is Keypair => k !== undefined);
  }

  clear(): Keypair[] {
    const all = this.all();
    this.previous = this.current = this.next = undefined;
    return all;
  }
}
