/**
 * The records the mDNS responder owns (RFC 6762, RFC 6763), built from the host name, its
 * addresses and the services: host A/AAAA and their reverse PTRs, the DNS-SD PTRs, and one
 * SRV + TXT per service instance. RDATA is wire form with uncompressed names, as dnswire's
 * encode takes it.
 */
import { DNS_TYPE as TYPE, lowerName, nameFromWire, nameToWire } from '../../native.js';
import { addressBytes, srvRdata, txtRdata } from '../dns/rdata.js';

/** The cache-flush bit on a record's class, and the QU bit on a question's (same bit). */
export const TOP_BIT = 0x8000;
/** RFC 6762 section 10: records naming a host 120 s, the others 75 minutes. */
export const TTL_HOST = 120;
export const TTL_OTHER = 4500;
export const SERVICES_NAME = '_services._dns-sd._udp.local.';

export interface MdnsRecord {
  /** Presentation form, as dnswire writes it. */
  name: string;
  type: number;
  ttl: number;
  /** Unique (owned by this host alone: cache-flush bit, probed) or shared (PTRs of DNS-SD). */
  unique: boolean;
  data: Buffer;
  /** Lower-cased name, type and RDATA: one record's identity. */
  key: string;
}

export interface ServiceSpec {
  /** e.g. '_imap._tcp' */
  type: string;
  port: number;
  txt?: string[];
}

/** One DNS label from any text: UTF-8, at most 63 bytes (cut on a character boundary). */
export function label(text: string): string {
  let bytes = Buffer.from(text, 'utf8');
  if (bytes.length > 63) {
    let end = 63;
    while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
    bytes = bytes.subarray(0, end);
  }
  if (bytes.length === 0) throw new RangeError('empty label');
  return nameFromWire(Buffer.concat([Buffer.from([bytes.length]), bytes, Buffer.from([0])])).slice(0, -1);
}

const SERVICE_TYPE = /^_[A-Za-z0-9](?:[A-Za-z0-9-]{0,13}[A-Za-z0-9])?\._(?:tcp|udp)$/;

export function validServiceType(type: string): boolean {
  return SERVICE_TYPE.test(type);
}

function reverseName(address: Buffer): string {
  if (address.length === 4) return `${[...address].reverse().join('.')}.in-addr.arpa.`;
  const nibbles: string[] = [];
  for (const byte of address) nibbles.push((byte >> 4).toString(16), (byte & 15).toString(16));
  return `${nibbles.reverse().join('.')}.ip6.arpa.`;
}

function record(name: string, type: number, ttl: number, unique: boolean, data: Buffer): MdnsRecord {
  return { name, type, ttl, unique, data, key: `${lowerName(name)}/${type}/${lowerRdata(type, data).toString('hex')}` };
}

/** RDATA with the ASCII letters of embedded names lower-cased, for comparisons (PTR, SRV). */
export function lowerRdata(type: number, data: Uint8Array): Buffer {
  const copy = Buffer.from(data);
  if (type !== TYPE.PTR && type !== TYPE.SRV) return copy;
  for (let i = type === TYPE.SRV ? 6 : 0; i < copy.length; i++) {
    if (copy[i]! >= 0x41 && copy[i]! <= 0x5a) copy[i]! += 0x20;
  }
  return copy;
}

export interface RecordSet {
  hostName: string;
  /** Full instance names (`<instance>.<type>.local.`), lower-cased. */
  instanceNames: string[];
  records: MdnsRecord[];
}

/**
 * Every record for host label `host` and instance label `instance` (both presentation form).
 * Addresses that are not IP literals and services of a malformed type are left out.
 */
export function buildRecords(host: string, instance: string, addresses: readonly string[], services: readonly ServiceSpec[]): RecordSet {
  const hostName = `${host}.local.`;
  const records: MdnsRecord[] = [];
  const seen = new Set<string>();
  const add = (r: MdnsRecord): void => {
    if (seen.has(r.key)) return;
    seen.add(r.key);
    records.push(r);
  };
  const hostWire = nameToWire(hostName);
  for (const address of addresses) {
    const bytes = addressBytes(address);
    if (bytes === undefined) continue;
    add(record(hostName, bytes.length === 4 ? TYPE.A : TYPE.AAAA, TTL_HOST, true, bytes));
    add(record(reverseName(bytes), TYPE.PTR, TTL_HOST, true, hostWire));
  }
  const instanceNames: string[] = [];
  for (const service of services) {
    if (!validServiceType(service.type) || !Number.isInteger(service.port) || service.port < 0 || service.port > 65535) continue;
    const typeName = `${service.type}.local.`;
    const instanceName = `${instance}.${typeName}`;
    if (instanceNames.includes(lowerName(instanceName))) continue;
    instanceNames.push(lowerName(instanceName));
    add(record(SERVICES_NAME, TYPE.PTR, TTL_OTHER, false, nameToWire(typeName)));
    add(record(typeName, TYPE.PTR, TTL_OTHER, false, nameToWire(instanceName)));
    add(record(instanceName, TYPE.SRV, TTL_HOST, true, srvRdata(0, 0, service.port, hostName)));
    add(record(instanceName, TYPE.TXT, TTL_OTHER, true, txtRdata(service.txt ?? [])));
  }
  return { hostName: lowerName(hostName), instanceNames, records };
}

/**
 * The records to send beside `answers` (RFC 6763 section 12, RFC 6762 section 6.2): for a
 * service PTR its SRV and TXT, for an SRV the host's addresses, for an address the other family.
 */
export function additionalsFor(answers: readonly MdnsRecord[], all: readonly MdnsRecord[]): MdnsRecord[] {
  const chosen = new Set(answers.map((r) => r.key));
  const out: MdnsRecord[] = [];
  const take = (name: string, types: readonly number[]): void => {
    const lower = lowerName(name);
    for (const r of all) {
      if (types.includes(r.type) && lowerName(r.name) === lower && !chosen.has(r.key)) {
        chosen.add(r.key);
        out.push(r);
      }
    }
  };
  const queue = [...answers];
  for (let i = 0; i < queue.length; i++) {
    const r = queue[i]!;
    const before = out.length;
    if (r.type === TYPE.PTR && lowerName(r.name) !== SERVICES_NAME && !r.name.endsWith('.arpa.')) {
      take(nameFromWire(r.data), [TYPE.SRV, TYPE.TXT]);
    } else if (r.type === TYPE.SRV) {
      take(nameFromWire(r.data, 6), [TYPE.A, TYPE.AAAA]);
    } else if (r.type === TYPE.A || r.type === TYPE.AAAA) {
      take(r.name, [TYPE.A, TYPE.AAAA]);
    }
    queue.push(...out.slice(before));
  }
  return out;
}

/**
 * RFC 6762 section 8.2's order of two probes' records for one name: sorted by class (without
 * the top bit), type, then RDATA bytes, compared pairwise; the longer list wins a tie.
 * Negative when `ours` is earlier, i.e. the other host wins.
 */
export function compareProbeSets(
  ours: ReadonlyArray<{ class: number; type: number; data: Uint8Array }>,
  theirs: ReadonlyArray<{ class: number; type: number; data: Uint8Array }>,
): number {
  const order = (a: { class: number; type: number; data: Uint8Array }, b: { class: number; type: number; data: Uint8Array }): number =>
    (a.class & 0x7fff) - (b.class & 0x7fff) || a.type - b.type || Buffer.compare(Buffer.from(a.data), Buffer.from(b.data));
  const left = [...ours].sort(order);
  const right = [...theirs].sort(order);
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const diff = order(left[i]!, right[i]!);
    if (diff !== 0) return diff;
  }
  return left.length - right.length;
}
