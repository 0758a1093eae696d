/**
 * One zone as the server looks it up: RRsets by owner name, every existing name (empty
 * non-terminals included) in DNSSEC canonical order, and the apex SOA. Immutable: a change
 * builds a new Zone, so the caches keyed on it go with it.
 */
import { DNS_TYPE, compareCanonical, lowerName, nameToWire } from '../../native.js';
import type { ZoneRecord } from './zone-file.js';

export interface RRset {
  /** Lower-case presentation name, and the same in wire form (DNSSEC's canonical owner). */
  readonly name: string;
  readonly owner: Buffer;
  readonly type: number;
  readonly ttl: number;
  readonly datas: readonly Buffer[];
  /** The RRSIG over this set, made on first use (see dnssec.ts). */
  signature?: { rdata: Buffer; expires: number };
}

export class ZoneError extends Error {}

export class Zone {
  readonly origin: string;
  readonly originWire: Buffer;
  readonly soa: RRset;
  /** The SOA as negative answers carry it: TTL the lower of its own and MINIMUM (RFC 2308, RFC 9077). */
  readonly negativeSoa: RRset;
  /** Existing names → their RRsets by type; an empty map is an empty non-terminal. */
  private readonly nodes = new Map<string, Map<number, RRset>>();
  /** Every existing name in canonical order. */
  private readonly ordered: { wire: Buffer; name: string }[];

  constructor(origin: string, records: readonly ZoneRecord[]) {
    this.origin = lowerName(origin);
    this.originWire = nameToWire(this.origin);
    const grouped = new Map<string, Map<number, ZoneRecord[]>>();
    for (const record of records) {
      const types = grouped.get(record.name) ?? new Map<number, ZoneRecord[]>();
      types.set(record.type, [...(types.get(record.type) ?? []), record]);
      grouped.set(record.name, types);
    }
    for (const [name, types] of grouped) {
      if (!this.inZone(name)) throw new ZoneError(`${name} is outside the zone ${this.origin}`);
      if (types.has(DNS_TYPE.CNAME) && types.size > 1) throw new ZoneError(`${name} has a CNAME and other records (RFC 1034 section 3.6.2)`);
      const owner = nameToWire(name);
      const sets = new Map<number, RRset>();
      for (const [type, list] of types) {
        if (type === DNS_TYPE.CNAME && list.length > 1) throw new ZoneError(`${name} has more than one CNAME`);
        // One TTL per RRset (RFC 2181 section 5.2): the lowest given.
        sets.set(type, { name, owner, type, ttl: Math.min(...list.map((r) => r.ttl)), datas: list.map((r) => r.data) });
      }
      this.nodes.set(name, sets);
      for (let parent = parentName(name); parent !== undefined && this.inZone(parent) && !this.nodes.has(parent); parent = parentName(parent)) {
        if (!grouped.has(parent)) this.nodes.set(parent, new Map());
      }
    }
    const soa = this.nodes.get(this.origin)?.get(DNS_TYPE.SOA);
    if (soa === undefined || soa.datas.length !== 1) throw new ZoneError(`the zone ${this.origin} needs exactly one SOA at its apex`);
    this.soa = soa;
    const minimum = soa.datas[0]!.readUInt32BE(soa.datas[0]!.length - 4);
    this.negativeSoa = minimum < soa.ttl ? { ...soa, ttl: minimum } : soa;
    this.ordered = [...this.nodes.keys()].map((name) => ({ wire: nameToWire(name), name })).sort((a, b) => compareCanonical(a.wire, b.wire));
  }

  /** Whether `name` (lower case) is the apex or under it. */
  inZone(name: string): boolean {
    return name === this.origin || this.origin === '.' || name.endsWith(`.${this.origin}`);
  }

  /** The RRsets at an existing name (empty for an empty non-terminal), or undefined. */
  node(name: string): ReadonlyMap<number, RRset> | undefined {
    return this.nodes.get(name);
  }

  /** The longest existing ancestor of a name in the zone (at least the apex). */
  closestEncloser(name: string): string {
    let candidate: string | undefined = name;
    while (candidate !== undefined && !this.nodes.has(candidate)) candidate = parentName(candidate);
    return candidate ?? this.origin;
  }

  /** True when no existing name lies in [from, to) in canonical order. */
  isEmptyBetween(from: Buffer, to: Buffer): boolean {
    const first = this.firstNotBefore(from);
    return first === this.ordered.length || compareCanonical(this.ordered[first]!.wire, to) >= 0;
  }

  /** The last existing name before `name`, wrapping to the last name of the zone. */
  previousName(name: Buffer): Buffer {
    const at = this.firstNotBefore(name);
    return this.ordered[(at - 1 + this.ordered.length) % this.ordered.length]!.wire;
  }

  /** The first existing name after `name`, wrapping to the apex. */
  nextName(name: Buffer): Buffer {
    let at = this.firstNotBefore(name);
    if (at < this.ordered.length && compareCanonical(this.ordered[at]!.wire, name) === 0) at++;
    return this.ordered[at % this.ordered.length]!.wire;
  }

  /** Every RRset, apex first, SOA first at the apex (the order of a zone transfer). */
  *rrsets(): Iterable<RRset> {
    for (const { name } of this.ordered) {
      const sets = this.nodes.get(name)!;
      const soa = sets.get(DNS_TYPE.SOA);
      if (soa !== undefined) yield soa;
      for (const set of sets.values()) if (set !== soa) yield set;
    }
  }

  private firstNotBefore(name: Buffer): number {
    let low = 0;
    let high = this.ordered.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (compareCanonical(this.ordered[middle]!.wire, name) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/** The parent of an absolute name ("a.b." → "b."), undefined for the root. */
export function parentName(name: string): string | undefined {
  if (name === '.') return undefined;
  // Skip escaped dots inside the first label.
  for (let i = 0; i < name.length; i++) {
    if (name[i] === '\\') i++;
    else if (name[i] === '.') return i === name.length - 1 ? '.' : name.slice(i + 1);
  }
  return undefined;
}

