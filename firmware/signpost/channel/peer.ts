/**
 * What the channel holds for one peer: where it is, its sessions and pending handshake, the
 * replay defences of its initiations, its timers, and the records waiting to be sent.
 */
import { PeerCookie } from './cookie.js';
import { Keypairs } from './keypair.js';
import type { HandshakeState } from './noise.js';
import { PeerTimers } from './timers.js';

export interface Endpoint {
  address: string;
  port: number;
}

/** Records kept while there is no session (WireGuard's MAX_STAGED_PACKETS); the oldest go first. */
export const MAX_STAGED_RECORDS = 128;

export const peerKey = (publicKey: Uint8Array) => Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('base64');

export class Peer {
  readonly publicKey: Buffer;
  readonly key: string;
  /** Where its latest authenticated packet came from (roaming), or where we were told it is. */
  endpoint: Endpoint | undefined;
  readonly keypairs = new Keypairs();
  readonly cookie: PeerCookie;
  readonly timers: PeerTimers;
  /** Our initiation awaiting its response: its Noise state and the index it told the peer. */
  handshake: { state: HandshakeState; localIndex: number } | undefined;
  lastInitiationSentAt = -Infinity;
  /** The newest initiation timestamp accepted from it: older or equal ones are replays. */
  latestTimestamp: Buffer | undefined;
  lastInitiationConsumedAt = -Infinity;
  /** A handshake was started because the session neared REJECT_AFTER_TIME (once per session). */
  sentLastMinuteHandshake = false;
  /** Whether it had a usable session when last looked at, for the up/down events. */
  up = false;
  handshakes = 0;
  lastHandshakeAt: number | undefined;
  /** Waiting for a session. */
  staged: Uint8Array[] = [];
  /** Sent in this event-loop turn, sealed together when it ends. */
  outgoing: Uint8Array[] = [];
  readonly traffic = { sentRecords: 0, sentBytes: 0, receivedRecords: 0, receivedBytes: 0 };

  constructor(publicKey: Uint8Array, endpoint: Endpoint | undefined, now: () => number) {
    this.publicKey = Buffer.from(publicKey);
    this.key = peerKey(publicKey);
    this.endpoint = endpoint;
    this.cookie = new PeerCookie(publicKey, now);
    this.timers = new PeerTimers(now);
  }

  /** Keeps `record` for when a session exists; returns whether an older one was dropped for it. */
  stage(record: Uint8Array): boolean {
    const full = this.staged.length >= MAX_STAGED_RECORDS;
    if (full) this.staged.shift();
    this.staged.push(record);
    return full;
  }
}
