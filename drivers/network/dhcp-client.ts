/**
 * The DHCP client state machine of RFC 2131 §4.4: INIT → SELECTING → REQUESTING → BOUND, then
 * RENEWING at T1 (unicast to the server), REBINDING at T2 (broadcast to any server), and back
 * to INIT when the lease expires or a server NAKs. It owns no socket and runs no commands:
 * packets go through a DhcpTransport and addresses are applied by LeaseHooks, so the same
 * code runs against a real server on a device and an in-process fake in unit tests.
 *
 * Timers are Node timers, which run on the monotonic clock: the clock driver stepping the
 * system time from 1970 to today in the middle of a lease does not expire it.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { NymoteError, describeError } from '../../firmware/runtime/errors.js';
import type { Logger } from '../../firmware/runtime/log.js';
import {
  CLIENT_PARAMETER_REQUEST,
  encodeDhcpMessage,
  parseDhcpMessage,
  type DhcpMessage,
  type DhcpMessageKind,
  type DhcpOptions,
} from './dhcp-packet.js';
import { ipv4ToNumber, maskFromPrefix, prefixFromMask } from './ipv4.js';

export type DhcpState = 'init' | 'selecting' | 'requesting' | 'bound' | 'renewing' | 'rebinding' | 'stopped';

export interface DhcpLease {
  address: string;
  prefix: number;
  subnetMask: string;
  /** First router of option 3, if any. */
  gateway?: string;
  dnsServers: string[];
  domainName?: string;
  serverId: string;
  /** Lease time, T1 and T2 in seconds; Infinity for an infinite lease (0xffffffff). */
  leaseSeconds: number;
  renewalSeconds: number;
  rebindingSeconds: number;
  /** performance.now() when the REQUEST that earned this lease was first sent (RFC 2131 §4.4.1). */
  startedAtMs: number;
}

export interface DhcpTransport {
  /** Sends to the server port (67) of `address` (255.255.255.255 to broadcast). */
  send(packet: Buffer, address: string): Promise<void>;
  /** Registers the one receiver of every datagram that arrives on the client port. */
  onMessage(receive: (packet: Buffer, from: string) => void): void;
  close(): Promise<void>;
}

/** What the client asks of whoever owns the interface; errors are logged and retried. */
export interface LeaseHooks {
  /** About to broadcast DISCOVERs (make sure broadcasts can leave by this interface). */
  discovering(): Promise<void>;
  /** A lease was obtained or renewed; `previous` is the lease it replaces, if any. */
  bound(lease: DhcpLease, previous: DhcpLease | undefined): Promise<void>;
  /** The lease is gone (expired, NAKed or released): unconfigure its address. */
  unbound(lease: DhcpLease): Promise<void>;
}

export interface RetransmitTiming {
  /** First retransmission delay; RFC 2131 §4.1 suggests 4 s, doubling up to 64 s. */
  initialMs: number;
  maxMs: number;
  /** Each delay is moved by a uniform random amount in ±jitterMs (RFC: ±1 s). */
  jitterMs: number;
}

export const DEFAULT_RETRANSMIT: RetransmitTiming = { initialMs: 4000, maxMs: 64_000, jitterMs: 1000 };

export interface DhcpClientOptions {
  hardwareAddress: Buffer;
  transport: DhcpTransport;
  hooks: LeaseHooks;
  retransmit?: Partial<RetransmitTiming>;
  /** RENEWING/REBINDING wait half the time left to T2/expiry, but at least this (RFC: 60 s). */
  minLeaseRetryMs?: number;
  /** REQUESTs sent for one OFFER before discovery starts again. */
  requestAttempts?: number;
  /** Pause after a NAK or a failed hook before discovering again, so a broken server is not flooded. */
  restartDelayMs?: number;
  /** Sent as option 12 so the server (and its DNS) knows the device by name. */
  hostname?: string;
  random?: () => number;
  log?: Logger;
  onChange?: (state: DhcpState, lease: DhcpLease | undefined) => void;
}

/** Exponential back-off with jitter: initial·2^attempt capped at max, ± jitter, never negative. */
export function retransmitDelayMs(attempt: number, timing: RetransmitTiming, random: () => number = Math.random): number {
  const base = Math.min(timing.maxMs, timing.initialMs * 2 ** Math.min(attempt, 30));
  return Math.max(0, Math.round(base + (random() * 2 - 1) * timing.jitterMs));
}

/** RFC 2131 §4.4.5 defaults (T1 = 0.5, T2 = 0.875 of the lease) unless the server's are consistent. */
export function leaseTimes(options: Pick<DhcpOptions, 'leaseSeconds' | 'renewalSeconds' | 'rebindingSeconds'>): {
  leaseSeconds: number;
  renewalSeconds: number;
  rebindingSeconds: number;
} {
  const given = options.leaseSeconds ?? 0;
  if (given === 0xffffffff) return { leaseSeconds: Infinity, renewalSeconds: Infinity, rebindingSeconds: Infinity };
  // A lease of a few seconds would have us hammer the server; two seconds is the floor.
  const leaseSeconds = Math.max(2, given);
  let renewalSeconds = options.renewalSeconds ?? leaseSeconds * 0.5;
  let rebindingSeconds = options.rebindingSeconds ?? leaseSeconds * 0.875;
  if (!(renewalSeconds > 0 && renewalSeconds < rebindingSeconds && rebindingSeconds < leaseSeconds)) {
    renewalSeconds = leaseSeconds * 0.5;
    rebindingSeconds = leaseSeconds * 0.875;
  }
  return { leaseSeconds, renewalSeconds, rebindingSeconds };
}

/** The classful mask RFC 2131 falls back to when a server sends no (or a broken) subnet mask. */
function classfulPrefix(address: string): number {
  const first = ipv4ToNumber(address) >>> 24;
  return first < 128 ? 8 : first < 192 ? 16 : 24;
}

export function leaseFromAck(ack: DhcpMessage, startedAtMs: number): DhcpLease {
  const serverId = ack.options.serverId;
  if (serverId === undefined) throw new NymoteError('EDHCPLEASE', 'DHCPACK without a server identifier');
  if (ack.options.leaseSeconds === undefined) throw new NymoteError('EDHCPLEASE', 'DHCPACK without a lease time');
  if (ack.yiaddr === '0.0.0.0' || ack.yiaddr === '255.255.255.255') {
    throw new NymoteError('EDHCPLEASE', `DHCPACK offers the unusable address ${ack.yiaddr}`);
  }
  const maskPrefix = ack.options.subnetMask === undefined ? undefined : prefixFromMask(ack.options.subnetMask);
  const prefix = maskPrefix !== undefined && maskPrefix > 0 && maskPrefix < 32 ? maskPrefix : classfulPrefix(ack.yiaddr);
  const gateway = ack.options.routers?.find((router) => router !== '0.0.0.0');
  const lease: DhcpLease = {
    address: ack.yiaddr,
    prefix,
    subnetMask: maskFromPrefix(prefix),
    dnsServers: ack.options.dnsServers?.filter((server) => server !== '0.0.0.0') ?? [],
    serverId,
    ...leaseTimes(ack.options),
    startedAtMs,
  };
  if (gateway !== undefined) lease.gateway = gateway;
  if (ack.options.domainName !== undefined) lease.domainName = ack.options.domainName;
  return lease;
}

const BROADCAST = '255.255.255.255';

export class DhcpClient {
  private stateNow: DhcpState = 'stopped';
  private leaseNow: DhcpLease | undefined;
  private xid = 0;
  private attempt = 0;
  /** performance.now() when the current exchange began: the `secs` field counts from here. */
  private exchangeStartedAtMs = 0;
  /** performance.now() when the exchange's first REQUEST went out: a lease granted by it counts from here. */
  private requestedAtMs = 0;
  private offer: DhcpMessage | undefined;
  private retransmitTimer: NodeJS.Timeout | undefined;
  private leaseTimers: NodeJS.Timeout[] = [];
  /** Every event (datagram, timer) runs in order on this chain, so hooks never overlap. */
  private queue: Promise<void> = Promise.resolve();
  private readonly retransmit: RetransmitTiming;
  private readonly random: () => number;
  renewals = 0;

  constructor(private readonly options: DhcpClientOptions) {
    if (options.hardwareAddress.length !== 6) {
      throw new NymoteError('EDHCPHWADDR', `need a 6-byte Ethernet address, not ${options.hardwareAddress.length} bytes`);
    }
    this.retransmit = { ...DEFAULT_RETRANSMIT, ...options.retransmit };
    this.random = options.random ?? Math.random;
    options.transport.onMessage((packet, from) => this.enqueue(() => this.receive(packet, from)));
  }

  get state(): DhcpState {
    return this.stateNow;
  }

  get lease(): DhcpLease | undefined {
    return this.leaseNow;
  }

  start(): void {
    if (this.stateNow !== 'stopped') return;
    this.enqueue(() => this.discover());
  }

  /** Stops every timer; with `release`, gives a held lease back to its server and unbinds it. */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.enqueue(async () => {
      const lease = this.leaseNow;
      this.clearTimers();
      this.setState('stopped', undefined);
      if (lease !== undefined && options.release === true) {
        await this.send('release', lease.serverId, { ciaddr: lease.address, serverId: lease.serverId, newXid: true });
        await this.options.hooks.unbound(lease);
      }
    });
    await this.queue;
  }

  // ------------------------------------------------------------------------------ plumbing

  private enqueue(step: () => Promise<void>): void {
    this.queue = this.queue.then(step).catch((err: unknown) => {
      this.options.log?.error('dhcp step failed', { error: describeError(err) });
    });
  }

  private setState(state: DhcpState, lease: DhcpLease | undefined): void {
    const changed = state !== this.stateNow || lease !== this.leaseNow;
    this.stateNow = state;
    this.leaseNow = lease;
    if (changed) this.options.onChange?.(state, lease);
  }

  private clearTimers(): void {
    if (this.retransmitTimer !== undefined) clearTimeout(this.retransmitTimer);
    this.retransmitTimer = undefined;
    for (const timer of this.leaseTimers) clearTimeout(timer);
    this.leaseTimers = [];
  }

  /** Runs `step` after `ms`, on the event chain, unless the client was stopped meanwhile. */
  private after(ms: number, step: () => Promise<void>): NodeJS.Timeout {
    const timer = setTimeout(() => this.enqueue(() => (this.stateNow === 'stopped' ? Promise.resolve() : step())), ms);
    timer.unref();
    return timer;
  }

  private newXid(): void {
    this.xid = randomBytes(4).readUInt32BE(0);
  }

  private async send(
    type: DhcpMessageKind,
    to: string,
    fields: { ciaddr?: string; requestedAddress?: string; serverId?: string; newXid?: boolean } = {},
  ): Promise<void> {
    if (fields.newXid === true) this.newXid();
    const options: DhcpOptions = {};
    if (fields.requestedAddress !== undefined) options.requestedAddress = fields.requestedAddress;
    if (fields.serverId !== undefined) options.serverId = fields.serverId;
    if (type === 'discover' || type === 'request') {
      options.parameterRequestList = CLIENT_PARAMETER_REQUEST;
      if (this.options.hostname !== undefined) options.hostname = this.options.hostname;
    }
    const packet = encodeDhcpMessage({
      op: 'request',
      type,
      xid: this.xid,
      secs: type === 'release' ? 0 : (performance.now() - this.exchangeStartedAtMs) / 1000,
      // Without an address we cannot receive a unicast answer: ask for a broadcast one.
      broadcast: fields.ciaddr === undefined,
      ciaddr: fields.ciaddr ?? '0.0.0.0',
      chaddr: this.options.hardwareAddress,
      options,
    });
    try {
      await this.options.transport.send(packet, to);
      this.options.log?.debug('dhcp sent', { type, to, xid: this.xid.toString(16) });
    } catch (err) {
      // A send that fails (no route yet, link down) is retried by the retransmission timer.
      this.options.log?.warn('dhcp send failed', { type, to, error: describeError(err) });
    }
  }

  // --------------------------------------------------------------------------- the states

  private async discover(): Promise<void> {
    this.clearTimers();
    this.offer = undefined;
    this.setState('init', undefined);
    try {
      await this.options.hooks.discovering();
    } catch (err) {
      this.options.log?.warn('dhcp: preparing the interface failed', { error: describeError(err) });
    }
    this.newXid();
    this.attempt = 0;
    this.exchangeStartedAtMs = performance.now();
    this.setState('selecting', undefined);
    await this.sendDiscover();
  }

  private async sendDiscover(): Promise<void> {
    await this.send('discover', BROADCAST);
    // SELECTING retries for as long as it takes, at the capped interval once the back-off tops out.
    this.retransmitTimer = this.after(retransmitDelayMs(this.attempt++, this.retransmit, this.random), () => this.sendDiscover());
  }

  private async sendRequest(): Promise<void> {
    const offer = this.offer as DhcpMessage;
    if (this.attempt >= (this.options.requestAttempts ?? 4)) {
      this.options.log?.warn('dhcp: no answer to REQUEST, discovering again', { server: offer.options.serverId });
      return this.discover();
    }
    await this.send('request', BROADCAST, { requestedAddress: offer.yiaddr, serverId: offer.options.serverId as string });
    this.retransmitTimer = this.after(retransmitDelayMs(this.attempt++, this.retransmit, this.random), () => this.sendRequest());
  }

  /** RENEWING and REBINDING: retry at half the time left before `deadlineMs` (RFC 2131 §4.4.5). */
  private async sendLeaseRequest(to: string, deadlineMs: number): Promise<void> {
    const lease = this.leaseNow as DhcpLease;
    await this.send('request', to, { ciaddr: lease.address });
    const left = deadlineMs - performance.now();
    const wait = Math.max(left / 2, this.options.minLeaseRetryMs ?? 60_000);
    if (wait < left) this.retransmitTimer = this.after(wait, () => this.sendLeaseRequest(to, deadlineMs));
  }

  private scheduleLease(lease: DhcpLease): void {
    this.clearTimers();
    if (lease.leaseSeconds === Infinity) return;
    const sinceStart = performance.now() - lease.startedAtMs;
    const at = (seconds: number): number => Math.max(0, seconds * 1000 - sinceStart);
    const t2AtMs = lease.startedAtMs + lease.rebindingSeconds * 1000;
    const expiresAtMs = lease.startedAtMs + lease.leaseSeconds * 1000;
    this.leaseTimers.push(
      this.after(at(lease.renewalSeconds), async () => {
        this.clearRetransmit();
        this.newXid();
        this.exchangeStartedAtMs = performance.now();
        this.requestedAtMs = this.exchangeStartedAtMs;
        this.setState('renewing', lease);
        await this.sendLeaseRequest(lease.serverId, t2AtMs);
      }),
      this.after(at(lease.rebindingSeconds), async () => {
        this.clearRetransmit();
        this.newXid();
        this.requestedAtMs = performance.now();
        this.setState('rebinding', lease);
        await this.sendLeaseRequest(BROADCAST, expiresAtMs);
      }),
      this.after(at(lease.leaseSeconds), async () => {
        this.options.log?.warn('dhcp lease expired', { address: lease.address });
        this.clearTimers();
        await this.unbind(lease);
        await this.discover();
      }),
    );
  }

  private clearRetransmit(): void {
    if (this.retransmitTimer !== undefined) clearTimeout(this.retransmitTimer);
    this.retransmitTimer = undefined;
  }

  /** Takes the address off the interface first, then reports the loss: a listener never sees a stale address. */
  private async unbind(lease: DhcpLease): Promise<void> {
    try {
      await this.options.hooks.unbound(lease);
    } catch (err) {
      this.options.log?.warn('dhcp: removing the address failed', { address: lease.address, error: describeError(err) });
    }
    this.setState('init', undefined);
  }

  // ------------------------------------------------------------------------------ replies

  /** Whether `reply` answers our current exchange; anything else is dropped silently. */
  private isOurs(reply: DhcpMessage): boolean {
    return reply.op === 'reply' && reply.xid === this.xid && reply.chaddr.equals(this.options.hardwareAddress);
  }

  private async receive(packet: Buffer, from: string): Promise<void> {
    let reply: DhcpMessage;
    try {
      reply = parseDhcpMessage(packet);
    } catch (err) {
      this.options.log?.debug('dhcp: dropped a malformed datagram', { from, error: describeError(err) });
      return;
    }
    if (!this.isOurs(reply)) return;
    const state = this.stateNow;
    if (state === 'selecting' && reply.type === 'offer') return this.takeOffer(reply);
    if (state === 'requesting' || state === 'renewing' || state === 'rebinding') {
      // While REQUESTING only the server we chose may answer (other servers see our choice and back off).
      if (state === 'requesting' && reply.options.serverId !== this.offer?.options.serverId) return;
      if (reply.type === 'ack') return this.takeAck(reply);
      if (reply.type === 'nak') return this.takeNak(reply);
    }
  }

  private async takeOffer(offer: DhcpMessage): Promise<void> {
    if (offer.options.serverId === undefined || offer.yiaddr === '0.0.0.0') {
      this.options.log?.debug('dhcp: ignored an OFFER without server id or address');
      return;
    }
    this.clearRetransmit();
    this.offer = offer;
    this.attempt = 0;
    this.requestedAtMs = performance.now();
    this.setState('requesting', undefined);
    this.options.log?.info('dhcp offer', { address: offer.yiaddr, server: offer.options.serverId });
    await this.sendRequest();
  }

  private async takeAck(ack: DhcpMessage): Promise<void> {
    let lease: DhcpLease;
    try {
      lease = leaseFromAck(ack, this.requestedAtMs);
    } catch (err) {
      this.options.log?.warn('dhcp: unusable ACK ignored', { error: describeError(err) });
      return;
    }
    const previous = this.leaseNow;
    const renewal = this.stateNow === 'renewing' || this.stateNow === 'rebinding';
    this.clearTimers();
    try {
      await this.options.hooks.bound(lease, previous);
    } catch (err) {
      this.options.log?.error('dhcp: applying the lease failed', { address: lease.address, error: describeError(err) });
      if (previous !== undefined) await this.unbind(previous);
      this.retransmitTimer = this.after(this.options.restartDelayMs ?? 10_000, () => this.discover());
      this.setState('init', undefined);
      return;
    }
    if (renewal) this.renewals++;
    this.options.log?.info(renewal ? 'dhcp lease renewed' : 'dhcp lease bound', {
      address: `${lease.address}/${lease.prefix}`,
      server: lease.serverId,
      lease: lease.leaseSeconds,
    });
    this.setState('bound', lease);
    this.scheduleLease(lease);
  }

  private async takeNak(nak: DhcpMessage): Promise<void> {
    this.options.log?.warn('dhcp NAK', { server: nak.options.serverId, reason: nak.options.message });
    this.clearTimers();
    const lease = this.leaseNow;
    if (lease !== undefined) await this.unbind(lease);
    this.setState('init', undefined);
    this.retransmitTimer = this.after(this.options.restartDelayMs ?? 3000, () => this.discover());
  }
}
