/**
 * The zone the device serves: the owner's records from the store (`signpost/zone`, a master
 * file) plus what the device knows about itself — SOA and NS unless given, the apex and
 * `ns` addresses from its interfaces, SRV and TXT for the services it runs (RFC 6186 for
 * mail, RFC 6764 for CalDAV/CardDAV), and its DNSKEY. The zone's name is the file's first
 * $ORIGIN, else `<hostname>.home.arpa.` (RFC 8375, meant for exactly such home networks).
 */
import { DNS_TYPE, lowerName, nameToWire } from '../../native.js';
import type { ZoneKey } from './dnssec.js';
import { formatZoneFile, parseZoneFile, type ZoneRecord } from './zone-file.js';
import { addressBytes, srvRdata, txtRdata } from './rdata.js';
import { Zone } from './zone.js';

/** Where the owner's records live in the owner's store. */
export const ZONE_PATH = 'signpost/zone';
/** TTL of the records the device makes (and of the owner's, unless their file says). */
export const ZONE_TTL_SECONDS = 3600;

/** A service the zone advertises: `_caldavs._tcp` on `port`, with TXT strings if any. */
export interface PublishedService {
  srv: string;
  port: number;
  txt?: string[];
}

export interface ZoneInputs {
  hostname: string;
  /** The owner's master file, if they wrote one. */
  text: string | undefined;
  addresses: readonly string[];
  services: readonly PublishedService[];
  key: ZoneKey;
  /** SOA serial when the owner's file has no SOA: changes whenever the zone does. */
  serial: number;
}

export function zoneOrigin(text: string | undefined, hostname: string): string {
  const directive = /^\s*\$ORIGIN\s+(\S+)/im.exec(text ?? '');
  const origin = directive?.[1] ?? `${hostname}.home.arpa.`;
  return lowerName(origin.endsWith('.') ? origin : `${origin}.`);
}

/** Every record of the zone: the owner's first, then the device's own where the owner gave none. */
export function zoneRecords(inputs: ZoneInputs): { origin: string; records: ZoneRecord[] } {
  const origin = zoneOrigin(inputs.text, inputs.hostname);
  const records = parseZoneFile(inputs.text ?? '', origin, ZONE_TTL_SECONDS);
  const has = (name: string, type: number) => records.some((r) => r.name === name && r.type === type);
  const add = (name: string, type: number, data: Buffer, ttl = ZONE_TTL_SECONDS) => records.push({ name, type, ttl, data });
  const ns = `ns.${origin}`;
  if (!has(origin, DNS_TYPE.SOA)) {
    const numbers = Buffer.alloc(20);
    // refresh 1 h, retry 15 min, expire 14 days, negative TTL 5 min
    [inputs.serial >>> 0, 3600, 900, 1209600, 300].forEach((value, i) => numbers.writeUInt32BE(value, i * 4));
    add(origin, DNS_TYPE.SOA, Buffer.concat([nameToWire(ns), nameToWire(`hostmaster.${origin}`), numbers]));
  }
  const addAddresses = (name: string) => {
    for (const address of inputs.addresses) {
      const bytes = addressBytes(address);
      if (bytes !== undefined) add(name, bytes.length === 4 ? DNS_TYPE.A : DNS_TYPE.AAAA, bytes);
    }
  };
  if (!has(origin, DNS_TYPE.NS)) {
    add(origin, DNS_TYPE.NS, nameToWire(ns));
    if (!has(ns, DNS_TYPE.A) && !has(ns, DNS_TYPE.AAAA)) addAddresses(ns);
  }
  if (!has(origin, DNS_TYPE.A) && !has(origin, DNS_TYPE.AAAA) && !has(origin, DNS_TYPE.CNAME)) addAddresses(origin);
  for (const service of inputs.services) {
    const name = `${service.srv}.${origin}`;
    if (has(name, DNS_TYPE.SRV)) continue;
    add(name, DNS_TYPE.SRV, srvRdata(0, 1, service.port, origin));
    if (service.txt !== undefined && !has(name, DNS_TYPE.TXT)) add(name, DNS_TYPE.TXT, txtRdata(service.txt));
  }
  if (!has(origin, DNS_TYPE.DNSKEY)) add(origin, DNS_TYPE.DNSKEY, inputs.key.dnskey);
  return { origin, records };
}

export function buildZone(inputs: ZoneInputs): Zone {
  const { origin, records } = zoneRecords(inputs);
  return new Zone(origin, records);
}

/** The zone as text for `zone show`, with the DS record the parent zone needs as a comment. */
export function showZone(inputs: ZoneInputs): string {
  const { origin, records } = zoneRecords(inputs);
  const ds = inputs.key.ds(nameToWire(origin));
  const dsText = `${ds.readUInt16BE(0)} ${ds[2]} ${ds[3]} ${ds.subarray(4).toString('hex').toUpperCase()}`;
  return `$ORIGIN ${origin}\n${formatZoneFile(records)}; DS for the parent zone:\n; ${origin}\tIN\tDS\t${dsText}\n`;
}
