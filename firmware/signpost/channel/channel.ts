/**
 * The secure channel between the owner's devices, as a runtime service: WireGuard's protocol
 * (https://www.wireguard.com/papers/wireguard.pdf) over one UDP socket, carrying records
 * (datagrams) rather than IP packets, with Noise IK in place of IKpsk2 and SHA-256/HMAC in
 * place of BLAKE2s (see noise.ts, cookie.ts, messages.ts, timers.ts).
 *
 * Records are sealed per event-loop turn in one aead.sealBatch per peer and leave in one
 * sendmmsg (udpBatch), as the DNS server's replies do; each received record is opened with
 * aead.open. Whatever does not authenticate, is replayed, malformed or for an unknown index is
 * dropped without an answer and counted.
 */
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

import { aead, udpBatch, type BatchSocket } from '../../native.js';
import { bindError, type Logger, type Service, type ServiceHealth } from '../../runtime/index.js';
import { CookieChecker } from './cookie.js';
import { consumeInitiation, consumeResponse, createInitiation, createResponse, keypairOf } from './handshake.js';
import type { Keypair } from './keypair.js';
import {
  COOKIE_REPLY_LEN,
  DATA_HEADER_LEN,
  DATA_MIN,
  INITIATION_MAX,
  INITIATION_MIN,
  MAX_DATA_PAYLOAD,
  MAX_HANDSHAKE_PAYLOAD,
  MESSAGE_COOKIE_REPLY,
  MESSAGE_DATA,
  MESSAGE_INITIATION,
  MESSAGE_RESPONSE,
  RESPONSE_MAX,
  RESPONSE_MIN,
  writeDataHeader,
} from './messages.js';
import { DH_LEN, chachaNonce, type KeyPair } from './noise.js';
import { Peer, peerKey, type Endpoint } from './peer.js';
import {
  KEEPALIVE_TIMEOUT_MS,
  MAX_HANDSHAKE_ATTEMPTS,
  MIN_INITIATION_INTERVAL_MS,
  REJECT_AFTER_TIME_MS,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME_MS,
  REKEY_TIMEOUT_MS,
} from './timers.js';

/**
 * WireGuard's interface MTU: 1420-byte records + 32 bytes of channel header and tag + 48 of
 * IPv6 and UDP headers make a 1500-byte packet, the common path MTU, so nothing fragments.
 * Loopback or a known jumbo path can take up to MAX_DATA_PAYLOAD (65475) per record.
 */
export const DEFAULT_MTU = 1420;
/** Initiations per second above which a responder asks for cookies (mac2) before any DH. */
export const DEFAULT_UNDER_LOAD_THRESHOLD = 50;
/** Whitepaper section 5.3: once under load, stay so a second after the rate falls. */
const UNDER_LOAD_AFTER_MS = 1000;
/** Peers learned from initiations that `authorize` accepted, at most. */
const MAX_PEERS = 1024;
/** Records of one peer in one turn before they are sealed and sent without waiting for its end. */
const MAX_OUTGOING_RECORDS = 512;
/** Records per aead.sealBatch call: 256 × 64 KiB stays under the engine's MAX_BATCH_BYTES. */
const SEAL_BATCH = 256;
/** Datagrams dgram may hold back (what sendmmsg could not send at once) before a turn's are dropped. */
const MAX_SEND_QUEUE = 4096;
/** How often timers and key ages are looked at. */
const TICK_MS = 100;
/** A refused key is logged at most this often. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;
const SOCKET_BUFFER_BYTES = 4 << 20;

export interface SecureChannelOptions {
  listen: string;
  /** 0 = any free port (see boundPort()). */
  port: number;
  /** Raw X25519 keys, 32 bytes each. */
  staticPrivate: Uint8Array;
  staticPublic: Uint8Array;
  /**
   * Judges the other side of every handshake that authenticates (its static key and opaque
   * payload), so revocation takes effect at the next handshake: true, or why not (logged).
   */
  authorize(remoteStatic: Uint8Array, payload: Uint8Array): true | string;
  /** The opaque payload our handshake messages carry (≤ 1 KiB), e.g. a device certificate. */
  handshakePayload?: () => Uint8Array;
  log: Logger;
  /** Milliseconds; tests pass a clock they move to exercise rekeying. */
  now?: () => number;
  underLoadThreshold?: number;
  /** Demand cookies from every initiator, as if under load (tests). */
  forceUnderLoad?: boolean;
  /** Largest record per datagram (DEFAULT_MTU). */
  mtu?: number;
}

export interface ChannelCounters {
  datagramsReceived: number;
  datagramsSent: number;
  recordsReceived: number;
  recordsSent: number;
  keepalivesReceived: number;
  handshakesInitiated: number;
  handshakesCompleted: number;
  cookieRepliesSent: number;
  cookieRepliesReceived: number;
  // Dropped on receipt:
  truncated: number;
  oversize: number;
  unknownType: number;
  unknownIndex: number;
  badMac1: number;
  /** Handshake messages and cookie replies that did not authenticate. */
  badHandshake: number;
  /** Data messages that did not authenticate. */
  forged: number;
  /** Data messages already received, or too old for the replay window. */
  replayed: number;
  /** Initiations whose timestamp is not newer than the last from the same peer. */
  replayedInitiations: number;
  initiationsTooFast: number;
  /** Data for a session past REJECT_AFTER_TIME. */
  expired: number;
  refused: number;
  /** Handling a packet threw (a bug): logged, the packet dropped. */
  failed: number;
  // Dropped on sending:
  stagedDropped: number;
  sendDropped: number;
  handshakesAbandoned: number;
}

export interface PeerStatus {
  endpoint: Endpoint | undefined;
  /** A session is usable for sending now. */
  up: boolean;
  /** Completed handshakes (sessions) with this peer since it was added. */
  handshakes: number;
  /** now() when the last one completed. */
  lastHandshakeAt: number | undefined;
  /** Our index of the sending session: changes with every new session. */
  sessionIndex: number | undefined;
  staged: number;
  sentRecords: number;
  sentBytes: number;
  receivedRecords: number;
  receivedBytes: number;
}

export type MessageListener = (publicKey: Buffer, data: Buffer, endpoint: Endpoint) => void;
export type PeerListener = (publicKey: Buffer, event: 'up' | 'down') => void;

/** What a receiver index names: a session of a peer's, or (keypair undefined) our pending initiation. */
interface IndexEntry {
  peer: Peer;
  keypair: Keypair | undefined;
}

const EMPTY = new Uint8Array(0);

export class SecureChannel implements Service {
  readonly name = 'channel';
  readonly counters: ChannelCounters = {
    datagramsReceived: 0, datagramsSent: 0, recordsReceived: 0, recordsSent: 0, keepalivesReceived: 0,
    handshakesInitiated: 0, handshakesCompleted: 0, cookieRepliesSent: 0, cookieRepliesReceived: 0,
    truncated: 0, oversize: 0, unknownType: 0, unknownIndex: 0, badMac1: 0, badHandshake: 0, forged: 0, replayed: 0,
    replayedInitiations: 0, initiationsTooFast: 0, expired: 0, refused: 0, failed: 0,
    stagedDropped: 0, sendDropped: 0, handshakesAbandoned: 0,
  };
  /** The largest record send() takes. */
  readonly maxPayload: number;
  private readonly staticKeys: KeyPair;
  private readonly now: () => number;
  private readonly checker: CookieChecker;
  private readonly log: Logger;
  private readonly peers = new Map<string, Peer>();
  private readonly indices = new Map<number, IndexEntry>();
  private readonly messageListeners: MessageListener[] = [];
  private readonly peerListeners: PeerListener[] = [];
  private udp: BatchSocket | undefined;
  private ticker: NodeJS.Timeout | undefined;
  /** Peers with records sent this turn, and the datagrams made this turn: both go at its end. */
  private readonly flushPeers = new Set<Peer>();
  private readonly outgoing = { datagrams: [] as Buffer[], ports: [] as number[], addresses: [] as string[] };
  private flushScheduled = false;
  private loadWindowStart = 0;
  private initiationsInWindow = 0;
  private underLoadUntil = -Infinity;
  private readonly refusalsLogged = new Map<string, number>();

  constructor(private readonly options: SecureChannelOptions) {
    if (options.staticPrivate.length !== DH_LEN || options.staticPublic.length !== DH_LEN) throw new TypeError('channel: static keys must be raw X25519, 32 bytes each');
    const mtu = options.mtu ?? DEFAULT_MTU;
    if (!Number.isInteger(mtu) || mtu < 1 || mtu > MAX_DATA_PAYLOAD) throw new RangeError(`channel: mtu must be 1..${MAX_DATA_PAYLOAD}`);
    this.maxPayload = mtu;
    this.staticKeys = { privateKey: Buffer.from(options.staticPrivate), publicKey: Buffer.from(options.staticPublic) };
    this.now = options.now ?? Date.now;
    this.checker = new CookieChecker(this.staticKeys.publicKey, this.now);
    this.log = options.log;
  }

  async start(): Promise<void> {
    const { listen, port } = this.options;
    const socket = dgram.createSocket({ type: net.isIPv6(listen) ? 'udp6' : 'udp4', recvBufferSize: SOCKET_BUFFER_BYTES, sendBufferSize: SOCKET_BUFFER_BYTES, lookup: literalLookup });
    try {
      this.udp = await udpBatch.bind(socket, listen, port);
    } catch (error) {
      throw bindError(error as NodeJS.ErrnoException, 'channel', listen, port);
    }
    socket.on('error', (err) => this.log.warn('channel udp error', { error: err.message }));
    socket.on('message', (packet, remote) => this.onDatagram(packet, remote));
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.ticker.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.ticker);
    const udp = this.udp;
    this.udp = undefined;
    for (const peer of this.peers.values()) this.forgetSessions(peer);
    this.flushPeers.clear();
    this.clearOutgoing();
    if (udp !== undefined) await new Promise<void>((resolve) => udp.socket.close(() => resolve()));
  }

  boundPort(): number | undefined {
    return this.udp?.socket.address().port;
  }

  describe(): Omit<ServiceHealth, 'state'> {
    const port = this.boundPort();
    const up = [...this.peers.values()].filter((peer) => peer.up).length;
    const c = this.counters;
    const dropped = c.truncated + c.oversize + c.unknownType + c.unknownIndex + c.badMac1 + c.badHandshake + c.forged + c.replayed + c.replayedInitiations + c.initiationsTooFast + c.expired + c.refused + c.failed;
    return {
      listen: port === undefined ? [] : [`${net.isIPv6(this.options.listen) ? `[${this.options.listen}]` : this.options.listen}:${port} udp`],
      detail: `${this.peers.size} peers, ${up} up; ${c.recordsReceived} records in, ${c.recordsSent} out; ${c.handshakesCompleted} handshakes; ${dropped} packets dropped`,
    };
  }

  /** Adds a peer we may talk to, or updates where an existing one is. */
  addPeer(publicKey: Uint8Array, endpoint?: Endpoint): void {
    if (publicKey.length !== DH_LEN) throw new TypeError('channel: a peer key is a raw X25519 public key, 32 bytes');
    const peer = this.peers.get(peerKey(publicKey));
    if (peer === undefined) this.peers.set(peerKey(publicKey), new Peer(publicKey, endpoint, this.now));
    else if (endpoint !== undefined) peer.endpoint = { ...endpoint };
  }

  removePeer(publicKey: Uint8Array): void {
    const peer = this.peers.get(peerKey(publicKey));
    if (peer === undefined) return;
    this.forgetSessions(peer);
    this.flushPeers.delete(peer);
    this.peers.delete(peer.key);
    this.updateUp(peer);
  }

  /**
   * Sends one record (at most maxPayload bytes) to a known peer. The bytes are read when the
   * turn's records are sealed, at the end of this event-loop turn: do not change them before.
   * Without a session the record waits (the last MAX_STAGED_RECORDS) while one is made.
   */
  send(publicKey: Uint8Array, data: Uint8Array): void {
    if (data.length > this.maxPayload) throw new RangeError(`channel: record of ${data.length} bytes, at most ${this.maxPayload}`);
    const peer = this.peers.get(peerKey(publicKey));
    if (peer === undefined) throw new Error('channel: unknown peer (addPeer first)');
    if (this.udp === undefined) throw new Error('channel: not started');
    this.enqueue(peer, data);
  }

  onMessage(listener: MessageListener): void {
    this.messageListeners.push(listener);
  }

  onPeer(listener: PeerListener): void {
    this.peerListeners.push(listener);
  }

  peerStatus(publicKey: Uint8Array): PeerStatus | undefined {
    const peer = this.peers.get(peerKey(publicKey));
    if (peer === undefined) return undefined;
    const current = peer.keypairs.current;
    return {
      endpoint: peer.endpoint === undefined ? undefined : { ...peer.endpoint },
      up: this.usable(peer),
      handshakes: peer.handshakes,
      lastHandshakeAt: peer.lastHandshakeAt,
      sessionIndex: current?.localIndex,
      staged: peer.staged.length,
      ...peer.traffic,
    };
  }

  // --- receiving ---------------------------------------------------------------------------

  private onDatagram(packet: Buffer, remote: dgram.RemoteInfo): void {
    this.counters.datagramsReceived++;
    try {
      this.receive(packet, { address: remote.address, port: remote.port });
    } catch (error) {
      this.counters.failed++;
      this.log.error('channel packet handling failed', { error: (error as Error).message });
    }
  }

  private receive(packet: Buffer, from: Endpoint): void {
    if (packet.length < 4) {
      this.counters.truncated++;
      return;
    }
    switch (packet.readUInt32LE(0)) {
      case MESSAGE_DATA:
        return this.receiveData(packet, from);
      case MESSAGE_INITIATION:
        return this.receiveInitiation(packet, from);
      case MESSAGE_RESPONSE:
        return this.receiveResponse(packet, from);
      case MESSAGE_COOKIE_REPLY:
        return this.receiveCookieReply(packet);
      default:
        this.counters.unknownType++;
    }
  }

  /** False (and counted) unless min ≤ length ≤ max. */
  private sized(packet: Buffer, min: number, max: number): boolean {
    if (packet.length < min) this.counters.truncated++;
    else if (packet.length > max) this.counters.oversize++;
    else return true;
    return false;
  }

  private receiveData(packet: Buffer, from: Endpoint): void {
    if (!this.sized(packet, DATA_MIN, DATA_MIN + MAX_DATA_PAYLOAD)) return;
    const entry = this.indices.get(packet.readUInt32LE(4));
    if (entry?.keypair === undefined) {
      this.counters.unknownIndex++;
      return;
    }
    const { peer, keypair } = entry;
    const now = this.now();
    if (keypair.expired(now)) {
      this.counters.expired++;
      return;
    }
    const counter = packet.readBigUInt64LE(8);
    const record = aead.open('chacha20-poly1305', keypair.receiveKey, chachaNonce(counter), packet.subarray(DATA_HEADER_LEN));
    if (record === null) {
      this.counters.forged++;
      return;
    }
    if (!keypair.replay.accept(counter)) {
      this.counters.replayed++;
      return;
    }
    peer.endpoint = from;
    peer.timers.anyAuthenticatedPacketReceived();
    if (keypair === peer.keypairs.next) this.confirmSession(peer);
    // receive.c keep_key_fresh: the initiator renews a session nearing REJECT_AFTER_TIME even if it sends nothing.
    if (keypair === peer.keypairs.current && keypair.initiator && !peer.sentLastMinuteHandshake && now - keypair.createdAt >= REJECT_AFTER_TIME_MS - KEEPALIVE_TIMEOUT_MS - REKEY_TIMEOUT_MS) {
      peer.sentLastMinuteHandshake = true;
      this.initiate(peer, false);
    }
    if (record.length === 0) {
      this.counters.keepalivesReceived++;
      return;
    }
    peer.timers.dataReceived();
    this.counters.recordsReceived++;
    peer.traffic.receivedRecords++;
    peer.traffic.receivedBytes += record.length;
    for (const listener of this.messageListeners) listener(peer.publicKey, record, from);
  }

  private receiveInitiation(packet: Buffer, from: Endpoint): void {
    if (!this.sized(packet, INITIATION_MIN, INITIATION_MAX)) return;
    if (!this.checker.checkMac1(packet)) {
      this.counters.badMac1++;
      return;
    }
    if (this.underLoad() && !this.checker.checkMac2(packet, from.address, from.port)) {
      this.queueDatagram(this.checker.reply(packet, packet.readUInt32LE(4), from.address, from.port), from);
      this.counters.cookieRepliesSent++;
      return;
    }
    const initiation = consumeInitiation(this.staticKeys, packet);
    if (initiation === undefined) {
      this.counters.badHandshake++;
      return;
    }
    const now = this.now();
    let peer = this.peers.get(peerKey(initiation.remoteStatic));
    if (peer?.latestTimestamp !== undefined && Buffer.compare(initiation.timestamp, peer.latestTimestamp) <= 0) {
      this.counters.replayedInitiations++;
      return;
    }
    if (peer !== undefined && now - peer.lastInitiationConsumedAt < MIN_INITIATION_INTERVAL_MS) {
      this.counters.initiationsTooFast++;
      return;
    }
    const verdict = peer === undefined && this.peers.size >= MAX_PEERS ? 'too many peers' : this.options.authorize(initiation.remoteStatic, initiation.payload);
    if (verdict !== true) {
      this.refuse(initiation.remoteStatic, verdict, from);
      return;
    }
    if (peer === undefined) {
      peer = new Peer(initiation.remoteStatic, from, this.now);
      this.peers.set(peer.key, peer);
    }
    peer.latestTimestamp = Buffer.from(initiation.timestamp);
    peer.lastInitiationConsumedAt = now;
    peer.endpoint = from;
    const localIndex = this.allocateIndex(peer);
    const response = createResponse(initiation.handshake, localIndex, initiation.senderIndex, this.ownHandshakePayload());
    peer.cookie.addMacs(response);
    const keypair = keypairOf(initiation.handshake, localIndex, initiation.senderIndex, now);
    this.indices.set(localIndex, { peer, keypair });
    for (const dropped of peer.keypairs.add(keypair)) this.indices.delete(dropped.localIndex);
    this.queueDatagram(response, from);
    peer.timers.anyAuthenticatedPacketReceived();
    peer.timers.anyAuthenticatedPacketSent();
  }

  private receiveResponse(packet: Buffer, from: Endpoint): void {
    if (!this.sized(packet, RESPONSE_MIN, RESPONSE_MAX)) return;
    const localIndex = packet.readUInt32LE(8);
    const entry = this.indices.get(localIndex);
    const pending = entry?.peer.handshake;
    if (entry === undefined || entry.keypair !== undefined || pending?.localIndex !== localIndex) {
      this.counters.unknownIndex++;
      return;
    }
    if (!this.checker.checkMac1(packet)) {
      this.counters.badMac1++;
      return;
    }
    const { peer } = entry;
    const payload = consumeResponse(pending.state, packet);
    if (payload === undefined) {
      this.counters.badHandshake++;
      return;
    }
    peer.handshake = undefined;
    const verdict = this.options.authorize(peer.publicKey, payload);
    if (verdict !== true) {
      // No retransmissions: the same peer would be refused again.
      this.indices.delete(localIndex);
      peer.timers.handshakeComplete();
      this.counters.stagedDropped += peer.staged.length;
      peer.staged = [];
      this.refuse(peer.publicKey, verdict, from);
      return;
    }
    const now = this.now();
    const keypair = keypairOf(pending.state, localIndex, packet.readUInt32LE(4), now);
    this.indices.set(localIndex, { peer, keypair });
    for (const dropped of peer.keypairs.add(keypair)) this.indices.delete(dropped.localIndex);
    peer.endpoint = from;
    peer.timers.handshakeComplete();
    peer.timers.anyAuthenticatedPacketReceived();
    this.sessionBegan(peer, now);
    // Our first data confirms the session to the responder: the staged records, or a keepalive.
    if (peer.staged.length === 0) this.enqueue(peer, EMPTY);
  }

  private receiveCookieReply(packet: Buffer): void {
    if (!this.sized(packet, COOKIE_REPLY_LEN, COOKIE_REPLY_LEN)) return;
    const index = packet.readUInt32LE(4);
    const entry = this.indices.get(index);
    if (entry?.peer.handshake?.localIndex !== index) {
      this.counters.unknownIndex++;
      return;
    }
    // The cookie is used from the next retransmission on (whitepaper 5.3): no immediate resend.
    if (entry.peer.cookie.consumeReply(packet)) this.counters.cookieRepliesReceived++;
    else this.counters.badHandshake++;
  }

  /** Counts this initiation and says whether initiations now need a cookie. */
  private underLoad(): boolean {
    if (this.options.forceUnderLoad === true) return true;
    const now = this.now();
    if (now - this.loadWindowStart >= 1000) {
      this.loadWindowStart = now;
      this.initiationsInWindow = 0;
    }
    this.initiationsInWindow++;
    if (this.initiationsInWindow > (this.options.underLoadThreshold ?? DEFAULT_UNDER_LOAD_THRESHOLD)) this.underLoadUntil = now + UNDER_LOAD_AFTER_MS;
    return now < this.underLoadUntil;
  }

  private refuse(remoteStatic: Buffer, reason: string, from: Endpoint): void {
    this.counters.refused++;
    const key = peerKey(remoteStatic);
    const now = this.now();
    const lastLogged = this.refusalsLogged.get(key);
    if (lastLogged !== undefined && now - lastLogged < REFUSAL_LOG_INTERVAL_MS) return;
    if (this.refusalsLogged.size >= MAX_PEERS) this.refusalsLogged.clear();
    this.refusalsLogged.set(key, now);
    this.log.warn('channel peer refused', { peer: key, from: `${from.address}:${from.port}`, reason });
  }

  // --- sessions -----------------------------------------------------------------------------

  /** Data arrived on the responder's new session: it becomes the one we send on. */
  private confirmSession(peer: Peer): void {
    for (const dropped of peer.keypairs.confirm()) this.indices.delete(dropped.localIndex);
    peer.timers.handshakeComplete();
    this.sessionBegan(peer, this.now());
  }

  private sessionBegan(peer: Peer, now: number): void {
    this.counters.handshakesCompleted++;
    peer.handshakes++;
    peer.lastHandshakeAt = now;
    peer.sentLastMinuteHandshake = false;
    this.updateUp(peer);
    const staged = peer.staged;
    peer.staged = [];
    for (const record of staged) this.enqueue(peer, record);
  }

  private usable(peer: Peer): boolean {
    const current = peer.keypairs.current;
    return current !== undefined && current.canSend(this.now());
  }

  /** Tells the listeners when a peer gains or loses a usable session. */
  private updateUp(peer: Peer): void {
    const up = this.usable(peer);
    if (up === peer.up) return;
    peer.up = up;
    for (const listener of this.peerListeners) listener(peer.publicKey, up ? 'up' : 'down');
  }

  /** Starts a handshake (message 1), unless one went out less than REKEY_TIMEOUT ago. */
  private initiate(peer: Peer, retry: boolean): void {
    const now = this.now();
    if (peer.endpoint === undefined || this.udp === undefined || now - peer.lastInitiationSentAt < REKEY_TIMEOUT_MS) return;
    if (!retry) peer.timers.handshakeAttempts = 0;
    this.forgetHandshake(peer);
    const localIndex = this.allocateIndex(peer);
    const { message, handshake } = createInitiation(this.staticKeys, peer.publicKey, localIndex, this.ownHandshakePayload(), now);
    peer.cookie.addMacs(message);
    peer.handshake = { state: handshake, localIndex };
    peer.lastInitiationSentAt = now;
    this.counters.handshakesInitiated++;
    this.queueDatagram(message, peer.endpoint);
    peer.timers.handshakeInitiated();
    peer.timers.anyAuthenticatedPacketSent();
  }

  private ownHandshakePayload(): Uint8Array {
    const payload = this.options.handshakePayload?.() ?? EMPTY;
    if (payload.length > MAX_HANDSHAKE_PAYLOAD) throw new RangeError(`channel: handshake payload of ${payload.length} bytes, at most ${MAX_HANDSHAKE_PAYLOAD}`);
    return payload;
  }

  /** A fresh random index naming one of our handshakes or sessions (reserved at once). */
  private allocateIndex(peer: Peer): number {
    let index: number;
    do index = crypto.randomInt(0x1_0000_0000);
    while (this.indices.has(index));
    this.indices.set(index, { peer, keypair: undefined });
    return index;
  }

  private forgetHandshake(peer: Peer): void {
    if (peer.handshake !== undefined) this.indices.delete(peer.handshake.localIndex);
    peer.handshake = undefined;
  }

  private forgetSessions(peer: Peer): void {
    this.forgetHandshake(peer);
    for (const keypair of peer.keypairs.clear()) this.indices.delete(keypair.localIndex);
    peer.timers.clear();
    peer.staged = [];
    peer.outgoing = [];
    this.updateUp(peer);
  }

  /** WireGuard's timers, and sessions dropped once past REJECT_AFTER_TIME. */
  private tick(): void {
    const now = this.now();
    for (const peer of this.peers.values()) {
      for (const keypair of peer.keypairs.expire(now)) this.indices.delete(keypair.localIndex);
      this.updateUp(peer);
      for (const event of peer.timers.expired()) {
        if (event === 'retransmitHandshake') {
          if (peer.timers.handshakeAttempts >= MAX_HANDSHAKE_ATTEMPTS) {
            this.counters.handshakesAbandoned++;
            this.counters.stagedDropped += peer.staged.length;
            peer.staged = [];
            this.forgetHandshake(peer);
            this.log.debug('channel handshake abandoned', { peer: peer.key });
          } else {
            peer.timers.handshakeAttempts++;
            this.initiate(peer, true);
          }
        } else if (event === 'sendKeepalive') {
          if (this.usable(peer)) this.enqueue(peer, EMPTY);
        } else {
          this.initiate(peer, false);
        }
      }
    }
  }

  // --- sending ------------------------------------------------------------------------------

  private enqueue(peer: Peer, record: Uint8Array): void {
    peer.outgoing.push(record);
    this.flushPeers.add(peer);
    if (peer.outgoing.length >= MAX_OUTGOING_RECORDS) this.flush();
    else this.scheduleFlush();
  }

  private queueDatagram(datagram: Buffer, to: Endpoint): void {
    const { datagrams, ports, addresses } = this.outgoing;
    datagrams.push(datagram);
    ports.push(to.port);
    addresses.push(to.address);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Seals each peer's records of this turn in one batch, then sends every datagram in one sendmmsg. */
  private flush(): void {
    this.flushScheduled = false;
    const now = this.now();
    for (const peer of this.flushPeers) {
      const records = peer.outgoing;
      peer.outgoing = [];
      this.seal(peer, records, now);
    }
    this.flushPeers.clear();
    const udp = this.udp;
    const { datagrams, ports, addresses } = this.outgoing;
    if (udp === undefined || datagrams.length === 0) return this.clearOutgoing();
    if (udp.socket.getSendQueueCount() > MAX_SEND_QUEUE) {
      this.counters.sendDropped += datagrams.length;
    } else {
      udp.sendAll(datagrams, ports, addresses);
      this.counters.datagramsSent += datagrams.length;
    }
    this.clearOutgoing();
  }

  private clearOutgoing(): void {
    const { datagrams, ports, addresses } = this.outgoing;
    datagrams.length = 0;
    ports.length = 0;
    addresses.length = 0;
  }

  private seal(peer: Peer, records: Uint8Array[], now: number): void {
    const keypair = peer.keypairs.current;
    const endpoint = peer.endpoint;
    if (keypair === undefined || endpoint === undefined || !keypair.canSend(now, records.length)) {
      for (const record of records) if (peer.stage(record)) this.counters.stagedDropped++;
      this.initiate(peer, false);
      return;
    }
    let dataSent = false;
    for (let start = 0; start < records.length; start += SEAL_BATCH) {
      const batch = records.slice(start, start + SEAL_BATCH);
      const first = keypair.sendCounter;
      keypair.sendCounter += BigInt(batch.length);
      const sealed = aead.sealBatch('chacha20-poly1305', keypair.sendKey, batch.map((_, i) => chachaNonce(first + BigInt(i))), batch);
      // One allocation for the batch's datagrams: header, then the sealed record.
      let total = 0;
      for (const record of sealed) total += DATA_HEADER_LEN + record.length;
      const block = Buffer.allocUnsafe(total);
      let offset = 0;
      sealed.forEach((record, i) => {
        const datagram = block.subarray(offset, offset + DATA_HEADER_LEN + record.length);
        writeDataHeader(datagram, keypair.remoteIndex, first + BigInt(i));
        record.copy(datagram, DATA_HEADER_LEN);
        offset += datagram.length;
        this.queueDatagram(datagram, endpoint);
        const length = batch[i]!.length;
        if (length === 0) return;
        dataSent = true;
        this.counters.recordsSent++;
        peer.traffic.sentRecords++;
        peer.traffic.sentBytes += length;
      });
    }
    peer.timers.anyAuthenticatedPacketSent();
    if (dataSent) peer.timers.dataSent();
    // send.c keep_key_fresh: the initiator renews on age, either side on message count.
    if (keypair.sendCounter > REKEY_AFTER_MESSAGES || (keypair.initiator && now - keypair.createdAt >= REKEY_AFTER_TIME_MS)) this.initiate(peer, false);
  }
}

/** Datagrams go to IP literals only: skip the resolver call dgram would make for each send. */
const literalLookup = ((address: string, family: number, callback: (error: null, address: string, family: number) => void) =>
  callback(null, address, family)) as unknown as dgram.SocketOptions['lookup'];
