/**
 * WireGuard's protocol constants (whitepaper section 6.1, messages.h) and its per-peer timers
 * (section 6, timers.c) as deadlines on the channel's clock. The channel looks at every
 * peer's deadlines on a short tick instead of arming one OS timer per peer and event, so an
 * injected clock (tests) moves the timers as well as the key ages.
 */

export const REKEY_AFTER_MESSAGES = 1n << 60n;
export const REJECT_AFTER_MESSAGES = (1n << 64n) - (1n << 13n) - 1n;
export const REKEY_AFTER_TIME_MS = 120_000;
export const REJECT_AFTER_TIME_MS = 180_000;
export const REKEY_ATTEMPT_TIME_MS = 90_000;
export const REKEY_TIMEOUT_MS = 5_000;
/** Retransmissions are spread by up to a third of a second so peers do not stay in step. */
export const REKEY_TIMEOUT_JITTER_MS = 333;
export const KEEPALIVE_TIMEOUT_MS = 10_000;
/** Whitepaper section 5.1: a peer's initiations faster than 50 a second are dropped. */
export const MIN_INITIATION_INTERVAL_MS = 1000 / 50;
/** Retransmissions before giving up: REKEY_ATTEMPT_TIME / REKEY_TIMEOUT. */
export const MAX_HANDSHAKE_ATTEMPTS = REKEY_ATTEMPT_TIME_MS / REKEY_TIMEOUT_MS;

export type TimerEvent = 'retransmitHandshake' | 'sendKeepalive' | 'newHandshake';

const jitter = () => Math.floor(Math.random() * REKEY_TIMEOUT_JITTER_MS);

/** One peer's timers; each method is the timers.c hook of the same name. */
export class PeerTimers {
  private readonly deadlines = new Map<TimerEvent, number>();
  /** Retransmissions of the current handshake so far. */
  handshakeAttempts = 0;

  constructor(private readonly now: () => number) {}

  /** An initiation went out: retransmit it unless a response comes within REKEY_TIMEOUT. */
  handshakeInitiated(): void {
    this.deadlines.set('retransmitHandshake', this.now() + REKEY_TIMEOUT_MS + jitter());
  }

  handshakeComplete(): void {
    this.deadlines.delete('retransmitHandshake');
    this.handshakeAttempts = 0;
  }

  /** Data went out: if nothing comes back within KEEPALIVE + REKEY_TIMEOUT, the session is presumed dead. */
  dataSent(): void {
    if (!this.deadlines.has('newHandshake')) this.deadlines.set('newHandshake', this.now() + KEEPALIVE_TIMEOUT_MS + REKEY_TIMEOUT_MS + jitter());
  }

  /** Data came in: answer with a keepalive unless we send something within KEEPALIVE_TIMEOUT. */
  dataReceived(): void {
    if (!this.deadlines.has('sendKeepalive')) this.deadlines.set('sendKeepalive', this.now() + KEEPALIVE_TIMEOUT_MS);
  }

  anyAuthenticatedPacketSent(): void {
    this.deadlines.delete('sendKeepalive');
  }

  anyAuthenticatedPacketReceived(): void {
    this.deadlines.delete('newHandshake');
  }

  /** The timers that are due, each removed as it is returned. */
  expired(): TimerEvent[] {
    const now = this.now();
    const due: TimerEvent[] = [];
    for (const [event, deadline] of this.deadlines) {
      if (deadline > now) continue;
      this.deadlines.delete(event);
      due.push(event);
    }
    return due;
  }

  clear(): void {
    this.deadlines.clear();
    this.handshakeAttempts = 0;
  }
}
