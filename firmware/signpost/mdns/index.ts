/**
 * mDNS / DNS-SD responder (RFC 6762, RFC 6763): announces `<hostname>.local.` and the device's
 * services on the LAN over 224.0.0.251:5353 (IPv4 only), beside avahi if one runs (SO_REUSEADDR).
 *
 * Life cycle: probe the host name and the service instance names (three probes 250 ms apart,
 * section 8.1; a conflict renames the host `<name>-2`, `-3`, ... and an instance `<name> (2)`);
 * announce twice 1 s apart (8.3); answer queries; re-announce when the records change; send
 * goodbyes (TTL 0) on stop. Answers: cache-flush bit on unique records, known-answer
 * suppression (7.1), QU questions answered by unicast, legacy unicast queries (source port not
 * 5353) answered to their port with their ID, the question and TTLs of at most 10 s (6.7),
 * no record multicast twice within a second (6; 250 ms when defending against a probe).
 * Packets over 9000 bytes or that do not parse are dropped and counted.
 * Not done: IPv6 (ff02::fb), NSEC negative answers, waiting for the rest of a TC query.
 */
import dgram from 'node:dgram';
import os from 'node:os';

import { DNS_CLASS_IN as CLASS_IN, DNS_TYPE as TYPE, dnswire, lowerName, type DnsMessage, type DnsRecord } from '../../native.js';
import type { Logger, Service, ServiceHealth } from '../../runtime/index.js';
import {
  TOP_BIT,
  additionalsFor,
  buildRecords,
  compareProbeSets,
  label,
  lowerRdata,
  type MdnsRecord,
  type RecordSet,
  type ServiceSpec,
} from './records.js';

export type { ServiceSpec as MdnsServiceSpec } from './records.js';

export const MDNS_GROUP = '224.0.0.251';
export const MDNS_PORT = 5353;
export const MAX_PACKET = 9000;
const LEGACY_TTL = 10;
const REFRESH_MS = 10_000;

export interface MdnsOptions {
  hostname: () => string;
  /** IPv4 and IPv6 literals to announce for the host name. */
  addresses: () => string[];
  services: () => ServiceSpec[];
  /** The service instance label; default the (possibly renamed) host name. */
  instanceName?: () => string;
  /** IPv4 address of the interface to join and send on; default: join on every IPv4 interface. */
  interfaceAddress?: string;
  log: Logger;
}

export interface MdnsStats {
  received: number;
  /** Did not parse (dnswire refused it). */
  malformed: number;
  /** Over MAX_PACKET bytes. */
  oversized: number;
  /** Parsed but not for us to act on: non-zero opcode or rcode, off-link source. */
  ignored: number;
  queries: number;
  sent: number;
  conflicts: number;
}

export type MdnsState = 'stopped' | 'probing' | 'announcing' | 'running';

interface Pending {
  timer: NodeJS.Timeout;
  resolve: () => void;
}

export class MdnsResponder implements Service {
  readonly name = 'mdns';
  private socket: dgram.Socket | undefined;
  /** False from the moment stop() begins: loops and timers end. */
  private active = false;
  private state: MdnsState = 'stopped';
  private readonly counters: MdnsStats = { received: 0, malformed: 0, oversized: 0, ignored: 0, queries: 0, sent: 0, conflicts: 0 };
  private set: RecordSet = { hostName: '', instanceNames: [], records: [] };
  /** The names asked for, and how many conflicts each has had (suffix = count + 1). */
  private baseHost = '';
  private baseInstance: string | undefined;
  private hostConflicts = 0;
  private instanceConflicts = 0;
  /** Set while probing when another host holds a name ('host', 'instance') or wins a tie ('defer'). */
  private conflict: 'host' | 'instance' | 'defer' | undefined;
  private probeRun: Promise<void> | undefined;
  private readonly lastMulticast = new Map<string, number>();
  private readonly pending = new Set<Pending>();
  private readonly joined = new Set<string>();
  private readonly joinWarned = new Set<string>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private links: { at: number; nets: Array<{ address: Buffer; mask: Buffer }> } = { at: 0, nets: [] };
  private readyWaiters: Array<() => void> = [];
  private readonly log: Logger;

  constructor(private readonly options: MdnsOptions) {
    this.log = options.log;
  }

  async start(): Promise<void> {
    if (this.socket !== undefined) return;
    this.resetNames(); // throws on a host name that cannot be a label, before anything is bound
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: MDNS_PORT, address: '0.0.0.0', exclusive: false }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (err) => this.log.warn('mdns socket error', { error: err.message }));
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    try {
      socket.setMulticastTTL(255);
      socket.setTTL(255);
      socket.setMulticastLoopback(true);
    } catch (err) {
      socket.close();
      throw err;
    }
    this.socket = socket;
    this.active = true;
    // No interface yet (a device still waiting for DHCP) is not a failure: probe() waits.
    this.joinGroups();
    this.refreshTimer = setInterval(() => {
      try {
        this.refresh();
      } catch (err) {
        this.log.warn('mdns cannot rebuild its records', { error: err instanceof Error ? err.message : String(err) });
      }
    }, REFRESH_MS).unref();
    this.startProbing();
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) return;
    const wasUp = this.state === 'running' || this.state === 'announcing';
    this.active = false;
    this.state = 'stopped';
    clearInterval(this.refreshTimer);
    for (const p of this.pending) {
      clearTimeout(p.timer);
      p.resolve();
    }
    this.pending.clear();
    if (wasUp) await this.multicast(this.set.records, 0).catch(() => undefined);
    this.socket = undefined;
    this.joined.clear();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    this.wakeReady();
  }

  describe(): Omit<ServiceHealth, 'state'> {
    const c = this.counters;
    return {
      listen: this.socket === undefined ? [] : [`${MDNS_GROUP}:${MDNS_PORT}`],
      detail: `${this.state} as ${this.set.hostName || '-'}; ${this.set.instanceNames.length} services; ${c.queries} queries, ${c.malformed + c.oversized} bad packets dropped`,
    };
  }

  stats(): MdnsStats & { state: MdnsState; hostName: string; instanceNames: string[] } {
    return { ...this.counters, state: this.state, hostName: this.set.hostName, instanceNames: [...this.set.instanceNames] };
  }

  /** Resolves once the names are claimed and the first announcement is out (or on stop). */
  ready(): Promise<void> {
    if (this.state === 'running' || !this.active) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  private wakeReady(): void {
    for (const wake of this.readyWaiters.splice(0)) wake();
  }

  // ---- names, records, probing and announcing

  private resetNames(): void {
    this.baseHost = this.options.hostname();
    this.baseInstance = this.options.instanceName?.();
    this.hostConflicts = 0;
    this.instanceConflicts = 0;
    this.set = this.buildSet();
  }

  private buildSet(): RecordSet {
    const host = label(this.hostConflicts === 0 ? this.baseHost : `${this.baseHost}-${this.hostConflicts + 1}`);
    const base = this.baseInstance === undefined ? undefined : label(this.baseInstance);
    let instance = base ?? host;
    if (this.instanceConflicts > 0) instance = label(`${this.baseInstance ?? host} (${this.instanceConflicts + 1})`);
    return buildRecords(host, instance, this.options.addresses(), this.options.services());
  }

  private startProbing(): void {
    if (this.probeRun !== undefined) return;
    this.probeRun = this.probe()
      .catch((err: unknown) => this.log.error('mdns probing failed', { error: err instanceof Error ? err.message : String(err) }))
      .finally(() => {
        this.probeRun = undefined;
      });
  }

  private async probe(): Promise<void> {
    this.state = 'probing';
    while (this.active && this.joined.size === 0) {
      await this.sleep(1000);
      this.joinGroups();
    }
    for (let attempt = 0; this.active; attempt++) {
      this.state = 'probing';
      this.conflict = undefined;
      // Section 8.1: a random 0-250 ms first; after 15 conflicts, 5 s between attempts.
      await this.sleep(attempt >= 15 ? 5000 : Math.random() * 250);
      for (let i = 0; i < 3 && this.conflict === undefined && this.active; i++) {
        await this.sendProbe(i === 0);
        await this.sleep(250);
      }
      if (!this.active) return;
      const conflict = this.conflict as 'host' | 'instance' | 'defer' | undefined;
      if (conflict === undefined) break;
      if (conflict === 'defer') {
        await this.sleep(1000);
        continue;
      }
      const before = conflict === 'host' ? this.set.hostName : this.set.instanceNames[0];
      if (conflict === 'host') this.hostConflicts++;
      else this.instanceConflicts++;
      this.set = this.buildSet();
      const now = conflict === 'host' ? this.set.hostName : this.set.instanceNames[0];
      this.log.warn('mdns name conflict, renamed', { name: before, now });
    }
    if (!this.active) return;
    this.state = 'announcing';
    this.log.info('mdns announcing', { host: this.set.hostName, services: this.set.instanceNames.length });
    await this.announce();
  }

  /** Section 8.3: the records twice, one second apart. */
  private async announce(): Promise<void> {
    await this.multicast(this.set.records);
    if (!this.active) return;
    this.state = 'running';
    this.wakeReady();
    await this.sleep(1000);
    if (this.active && this.state === 'running') await this.multicast(this.set.records);
  }

  /** The unique records of our names go in the authority section (section 8.1). */
  private async sendProbe(qu: boolean): Promise<void> {
    const names = [this.set.hostName, ...this.set.instanceNames];
    const message: DnsMessage = {
      id: 0,
      flags: 0,
      questions: names.map((name) => ({ name, type: TYPE.ANY, class: CLASS_IN | (qu ? TOP_BIT : 0) })),
      answers: [],
      authorities: this.set.records.filter((r) => r.unique && names.includes(lowerName(r.name))).map((r) => this.wire(r, r.ttl, false)),
      additionals: [],
    };
    await this.send(message, MDNS_PORT, MDNS_GROUP);
  }

  /** Every REFRESH_MS: new interfaces joined, changed records goodbye'd and announced, a new host name probed. */
  private refresh(): void {
    if (this.state !== 'running' || !this.active) return;
    this.joinGroups();
    if (this.options.hostname() !== this.baseHost || this.options.instanceName?.() !== this.baseInstance) {
      const old = this.set.records;
      void this.multicast(old, 0).catch(() => undefined);
      this.resetNames();
      this.startProbing();
      return;
    }
    const next = this.buildSet();
    const keys = new Set(next.records.map((r) => r.key));
    const gone = this.set.records.filter((r) => !keys.has(r.key));
    const changed = gone.length > 0 || next.records.some((r) => !this.set.records.some((o) => o.key === r.key));
    if (!changed) return;
    this.set = next;
    if (gone.length > 0) void this.multicast(gone, 0).catch(() => undefined);
    for (const r of next.records) this.lastMulticast.delete(r.key);
    this.state = 'announcing';
    void this.announce().catch(() => undefined);
  }

  private joinGroups(): void {
    const socket = this.socket!;
    const wanted =
      this.options.interfaceAddress !== undefined
        ? [this.options.interfaceAddress]
        : Object.values(os.networkInterfaces())
            .flat()
            .filter((i) => i !== undefined && i.family === 'IPv4' && !i.internal)
            .map((i) => i!.address);
    for (const address of wanted) {
      if (this.joined.has(address)) continue;
      try {
        socket.addMembership(MDNS_GROUP, address);
        if (this.options.interfaceAddress !== undefined) socket.setMulticastInterface(address);
        this.joined.add(address);
        this.log.info('mdns joined the group', { interface: address });
      } catch (err) {
        if (this.joinWarned.has(address)) continue;
        this.joinWarned.add(address);
        this.log.warn('mdns cannot join the group yet', { interface: address, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  // ---- receiving

  private onMessage(packet: Buffer, from: dgram.RemoteInfo): void {
    this.counters.received++;
    if (packet.length > MAX_PACKET) {
      this.counters.oversized++;
      return;
    }
    let message: DnsMessage;
    try {
      message = dnswire.decode(packet);
    } catch {
      this.counters.malformed++;
      return;
    }
    try {
      // Section 18: opcode and rcode must be 0; section 11: only on-link sources.
      if ((message.flags & 0x780f) !== 0 || !this.onLink(from.address)) {
        this.counters.ignored++;
        return;
      }
      if ((message.flags & 0x8000) !== 0) this.checkResponse(message);
      else this.onQuery(message, from);
    } catch (err) {
      this.counters.malformed++;
      this.log.debug('mdns packet dropped', { error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** A response holding a record of one of our unique names with other data is a conflict (section 9). */
  private checkResponse(message: DnsMessage): void {
    if (this.state === 'stopped') return;
    for (const r of [...message.answers, ...message.additionals]) {
      const name = lowerName(r.name);
      const which = name === this.set.hostName ? 'host' : this.set.instanceNames.includes(name) ? 'instance' : undefined;
      if (which === undefined || r.ttl === 0) continue;
      const owned: number[] = which === 'host' ? [TYPE.A, TYPE.AAAA] : [TYPE.SRV, TYPE.TXT];
      if (!owned.includes(r.type)) continue;
      const key = `${name}/${r.type}/${lowerRdata(r.type, r.data).toString('hex')}`;
      if (this.set.records.some((o) => o.key === key)) continue;
      this.counters.conflicts++;
      if (this.state === 'probing') {
        this.conflict = which;
      } else {
        // Section 9: back to probing; if the other host defends the name, the probe renames us.
        this.log.warn('mdns conflicting record seen, probing again', { name: r.name });
        this.startProbing();
      }
      return;
    }
  }

  private onQuery(message: DnsMessage, from: dgram.RemoteInfo): void {
    this.counters.queries++;
    const isProbe = message.authorities.length > 0;
    if (this.state === 'probing') {
      if (isProbe) this.tieBreak(message);
      return;
    }
    if (this.state === 'stopped') return;
    const legacy = from.port !== MDNS_PORT;
    const unicast = new Map<string, MdnsRecord>();
    const multicast = new Map<string, MdnsRecord>();
    for (const q of message.questions) {
      const cls = q.class & 0x7fff;
      if (cls !== CLASS_IN && cls !== TYPE.ANY) continue;
      const name = lowerName(q.name);
      const target = legacy || (q.class & TOP_BIT) !== 0 ? unicast : multicast;
      for (const r of this.set.records) {
        if ((q.type === TYPE.ANY || q.type === r.type) && lowerName(r.name) === name) target.set(r.key, r);
      }
    }
    // Section 7.1: leave out what the querier already holds with at least half our TTL.
    for (const known of message.answers) {
      const key = `${lowerName(known.name)}/${known.type}/${lowerRdata(known.type, known.data).toString('hex')}`;
      const ours = unicast.get(key) ?? multicast.get(key);
      if (ours !== undefined && known.ttl >= ours.ttl / 2) {
        unicast.delete(key);
        multicast.delete(key);
      }
    }
    if (legacy) {
      if (unicast.size > 0) void this.reply([...unicast.values()], from, message).catch(() => undefined);
      return;
    }
    if (unicast.size > 0) void this.reply([...unicast.values()], from).catch(() => undefined);
    if (multicast.size === 0) return;
    const now = Date.now();
    const interval = isProbe ? 250 : 1000;
    const due = [...multicast.values()].filter((r) => now - (this.lastMulticast.get(r.key) ?? -Infinity) >= interval);
    if (due.length === 0) return;
    // Section 6: unique answers at once, shared ones after 20-120 ms.
    const delay = isProbe || due.every((r) => r.unique) ? 0 : 20 + Math.random() * 100;
    for (const r of due) this.lastMulticast.set(r.key, now + delay);
    void this.sleep(delay)
      .then(() => (this.active ? this.multicast(due) : undefined))
      .catch(() => undefined);
  }

  /** Section 8.2: another host probing for a name we are probing; the later data wins. */
  private tieBreak(message: DnsMessage): void {
    for (const name of [this.set.hostName, ...this.set.instanceNames]) {
      const theirs = message.authorities.filter((r) => lowerName(r.name) === name);
      if (theirs.length === 0) continue;
      const ours = this.set.records.filter((r) => r.unique && lowerName(r.name) === name).map((r) => ({ class: CLASS_IN, type: r.type, data: r.data }));
      if (compareProbeSets(ours, theirs) < 0) {
        this.counters.conflicts++;
        this.conflict = 'defer';
        return;
      }
    }
  }

  private onLink(address: string): boolean {
    const now = Date.now();
    if (now - this.links.at > 5000) {
      const nets: Array<{ address: Buffer; mask: Buffer }> = [];
      for (const i of Object.values(os.networkInterfaces()).flat()) {
        if (i?.family !== 'IPv4') continue;
        nets.push({ address: Buffer.from(i.address.split('.').map(Number)), mask: Buffer.from(i.netmask.split('.').map(Number)) });
      }
      this.links = { at: now, nets };
    }
    const bytes = address.split('.').map(Number);
    if (bytes.length !== 4) return false;
    return this.links.nets.some((n) => bytes.every((b, k) => (b & n.mask[k]!) === (n.address[k]! & n.mask[k]!)));
  }

  // ---- sending

  private wire(r: MdnsRecord, ttl: number, cacheFlush: boolean): DnsRecord {
    return { name: r.name, type: r.type, class: CLASS_IN | (cacheFlush && r.unique ? TOP_BIT : 0), ttl, data: r.data };
  }

  /** A multicast response; `ttl` 0 makes it a goodbye (section 10.1). */
  private async multicast(records: readonly MdnsRecord[], ttl?: number): Promise<void> {
    if (records.length === 0) return;
    const now = Date.now();
    for (const r of records) this.lastMulticast.set(r.key, now);
    const answers = records.map((r) => this.wire(r, ttl ?? r.ttl, true));
    const extra = ttl === 0 ? [] : additionalsFor(records, this.set.records).map((r) => this.wire(r, r.ttl, true));
    await this.send({ id: 0, flags: 0x8400, questions: [], answers, authorities: [], additionals: extra }, MDNS_PORT, MDNS_GROUP);
  }

  /** A unicast response: to a QU question, or a legacy query (its ID and question, TTL ≤ 10 s, no cache-flush; section 6.7). */
  private async reply(records: MdnsRecord[], to: dgram.RemoteInfo, legacy?: DnsMessage): Promise<void> {
    const ttl = (r: MdnsRecord): number => (legacy === undefined ? r.ttl : Math.min(r.ttl, LEGACY_TTL));
    const flush = legacy === undefined;
    await this.send(
      {
        id: legacy?.id ?? 0,
        flags: 0x8400 | (legacy === undefined ? 0 : legacy.flags & 0x0100),
        questions: legacy?.questions ?? [],
        answers: records.map((r) => this.wire(r, ttl(r), flush)),
        authorities: [],
        additionals: additionalsFor(records, this.set.records).map((r) => this.wire(r, ttl(r), flush)),
      },
      to.port,
      to.address,
    );
  }

  private async send(message: DnsMessage, port: number, address: string): Promise<void> {
    const socket = this.socket;
    if (socket === undefined) return;
    let packet: Buffer;
    try {
      packet = dnswire.encode(message);
      if (packet.length > MAX_PACKET && message.additionals.length > 0) packet = dnswire.encode({ ...message, additionals: [] });
    } catch (err) {
      this.log.warn('mdns cannot encode a response', { error: err instanceof Error ? err.message : String(err) });
      return;
    }
    await new Promise<void>((resolve) =>
      socket.send(packet, port, address, (err) => {
        if (err) this.log.debug('mdns send failed', { to: `${address}:${port}`, error: err.message });
        else this.counters.sent++;
        resolve();
      }),
    );
  }

  /** setTimeout as a promise, cut short by stop(). */
  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const entry: Pending = {
        timer: setTimeout(() => {
          this.pending.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.pending.add(entry);
    });
  }
}
