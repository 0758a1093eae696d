/**
 * The authoritative DNS server for the owner's zone, as a runtime service: it builds the zone
 * (zone-source.ts), signs it online (dnssec.ts), serves it over UDP and TCP (server.ts), and
 * rebuilds it when the owner's records, the hostname or the device's addresses change.
 */
import os from 'node:os';
import path from 'node:path';

import { NymoteError, describeError, type Logger, type Service, type ServiceHealth } from '../../runtime/index.js';
import { nameToWire } from '../../native.js';
import { ZoneKey, ZoneSigner } from './dnssec.js';
import { DnsServer, type ServedZone } from './server.js';
import { loadOrCreateTransferKey } from './transfer.js';
import { buildZone, type PublishedService, type ZoneInputs } from './zone-source.js';

export { ZONE_PATH, ZONE_TTL_SECONDS, buildZone, showZone, zoneOrigin, zoneRecords, type PublishedService, type ZoneInputs } from './zone-source.js';
export { parseZoneFile, type ZoneRecord } from './zone-file.js';
export { ZoneSyntaxError } from './rdata.js';
export { ZoneKey } from './dnssec.js';
export { Zone, ZoneError } from './zone.js';
export { formatTransferKey, loadOrCreateTransferKey } from './transfer.js';

export const zoneKeyFile = (secretsDir: string) => path.join(secretsDir, 'dns', 'zone.key');
export const transferKeyFile = (secretsDir: string) => path.join(secretsDir, 'dns', 'transfer.key');

/** How often the inputs are looked at again; a change is served within this. */
const REFRESH_MS = 2000;

export interface DnsServiceOptions {
  listen: string;
  port: number;
  /** Answers per second per client netblock and response over UDP; 0 turns it off. */
  rateLimit: number;
  /** secrets/dns: the zone's signing key and the owner's devices' transfer key. */
  secretsDir: string;
  hostname: () => string;
  /** The owner's master file and a version that changes with it (a commit id). */
  ownerZone: () => { text: string | undefined; version: string };
  addresses: () => string[];
  services: () => PublishedService[];
  log: Logger;
  onQuestion?: (name: string, zone: string) => void;
}

export class DnsService implements Service {
  readonly name = 'dns';
  private server: DnsServer | undefined;
  private served: ServedZone | undefined;
  private inputsSeen = '';
  private serial = 0;
  private timer: NodeJS.Timeout | undefined;
  private key: ZoneKey | undefined;

  constructor(private readonly options: DnsServiceOptions) {}

  async start(): Promise<void> {
    this.key = ZoneKey.loadOrCreate(zoneKeyFile(this.options.secretsDir));
    this.refresh();
    const { listen, port, rateLimit, log, onQuestion } = this.options;
    const transferKey = loadOrCreateTransferKey(transferKeyFile(this.options.secretsDir));
    this.server = new DnsServer({ listen, port, rateLimit, log, transferKey, zone: () => this.served, ...(onQuestion === undefined ? {} : { onQuestion }) });
    await this.server.start();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.server?.stop();
    this.server = undefined;
  }

  describe(): Omit<ServiceHealth, 'state'> {
    const zone = this.served?.zone.origin;
    const counters = this.server?.counters;
    const detail = zone === undefined || counters === undefined ? undefined : `zone ${zone}; ${counters.queries} queries, ${counters.malformed} malformed, ${counters.rateLimited} rate-limited, ${counters.truncated} truncated`;
    return { listen: this.server?.addresses() ?? [], ...(detail === undefined ? {} : { detail }) };
  }

  /** The inputs the zone is built from now (also for `zone show`). */
  inputs(): ZoneInputs {
    if (this.key === undefined) throw new NymoteError('ENOTREADY', 'the DNS service has not started yet');
    const owner = this.options.ownerZone();
    return { hostname: this.options.hostname(), text: owner.text, addresses: this.options.addresses(), services: this.options.services(), key: this.key, serial: this.serial };
  }

  /** Rebuilds the zone when an input changed; a zone that does not build keeps the last good one. */
  private refresh(): void {
    const owner = this.options.ownerZone();
    const seen = JSON.stringify([this.options.hostname(), owner.version, this.options.addresses(), this.options.services()]);
    if (seen === this.inputsSeen) return;
    this.inputsSeen = seen;
    // The serial only goes up: seconds since 1970, or one more than before.
    this.serial = Math.max(this.serial + 1, Math.floor(Date.now() / 1000));
    const inputs = this.inputs();
    try {
      const zone = buildZone(inputs);
      this.served = { zone, signer: new ZoneSigner(this.key!, nameToWire(zone.origin)) };
      this.options.log.info('dns zone loaded', { zone: zone.origin, serial: this.serial });
    } catch (error) {
      this.options.log.error("the owner's zone does not load; serving the last good one", { error: describeError(error) });
      if (this.served === undefined) {
        const zone = buildZone({ ...inputs, text: undefined });
        this.served = { zone, signer: new ZoneSigner(this.key!, nameToWire(zone.origin)) };
      }
    }
  }
}

/**
 * The addresses to publish: the listen address when it is a specific one (host mode's
 * 127.0.0.1), else every interface's global address.
 */
export function publishedAddresses(listen: string): string[] {
  if (listen !== '0.0.0.0' && listen !== '::') return [listen];
  const addresses: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const info of list ?? []) {
      if (info.internal || (info.family === 'IPv6' && /^fe80:/i.test(info.address))) continue;
      addresses.push(info.address);
    }
  }
  return addresses;
}
