/**
 * The device's own settings, set by `setup` and `net` on the console: hostname, time zone and
 * network. One small file each under <data>/config/, written durably: nyinit reads
 * config/hostname before Node starts, and a file per fact keeps each readable by anything.
 * Secrets never go here (they live in secrets/).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { NymoteError } from './errors.js';
import { readFileIfExists, writeFileDurable } from './durable.js';

export type NetworkSettings =
  | { mode: 'dhcp' }
  | { mode: 'static'; address: string; prefix: number; gateway?: string; dns: string[] };

export const DEFAULT_HOSTNAME = 'nymote';
export const DEFAULT_TIMEZONE = 'UTC';

/** Why `name` cannot be a hostname (one DNS label, RFC 1123), or undefined when it can. */
export function hostnameProblem(name: string): string | undefined {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) {
    return 'a hostname is 1-63 lowercase letters, digits and inner hyphens';
  }
  return undefined;
}

/** Why `zone` is not an IANA time zone this Node knows, or undefined when it is. */
export function timezoneProblem(zone: string): string | undefined {
  if (zone.length > 64) return 'time zone name too long';
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return undefined;
  } catch {
    return `unknown time zone '${zone}' (e.g. UTC, Europe/London, America/New_York)`;
  }
}

/**
 * Network settings from words: `dhcp`, or `static ADDRESS/PREFIX [GATEWAY] [dns SERVER...]`.
 * Throws a NymoteError saying what is wrong.
 */
export function parseNetwork(words: readonly string[]): NetworkSettings {
  const [mode, cidr, ...rest] = words;
  if (mode === 'dhcp' && words.length === 1) return { mode: 'dhcp' };
  if (mode !== 'static' || cidr === undefined) throw new NymoteError('EINVAL', "expected 'dhcp' or 'static ADDRESS/PREFIX [GATEWAY] [dns SERVER...]'");
  const match = /^([0-9.]+)\/(\d{1,2})$/.exec(cidr);
  const prefix = Number(match?.[2]);
  if (match === null || !net.isIPv4(match[1]!) || prefix < 1 || prefix > 32) {
    throw new NymoteError('EINVAL', `invalid address '${cidr.slice(0, 40)}': expected an IPv4 address with a prefix, e.g. 192.168.1.20/24`);
  }
  const dnsAt = rest.indexOf('dns');
  const gateways = dnsAt < 0 ? rest : rest.slice(0, dnsAt);
  const dns = dnsAt < 0 ? [] : rest.slice(dnsAt + 1);
  if (gateways.length > 1) throw new NymoteError('EINVAL', `unexpected '${gateways[1]!.slice(0, 40)}' (one gateway at most)`);
  for (const address of [...gateways, ...dns]) {
    if (!net.isIPv4(address)) throw new NymoteError('EINVAL', `invalid IPv4 address '${address.slice(0, 40)}'`);
  }
  if (dnsAt >= 0 && dns.length === 0) throw new NymoteError('EINVAL', "'dns' needs at least one server");
  return { mode: 'static', address: match[1]!, prefix, ...(gateways[0] === undefined ? {} : { gateway: gateways[0] }), dns };
}

export function formatNetwork(settings: NetworkSettings): string {
  if (settings.mode === 'dhcp') return 'dhcp';
  const gateway = settings.gateway === undefined ? '' : ` ${settings.gateway}`;
  const dns = settings.dns.length === 0 ? '' : ` dns ${settings.dns.join(' ')}`;
  return `static ${settings.address}/${settings.prefix}${gateway}${dns}`;
}

export class DeviceSettings {
  constructor(readonly configDir: string) {}

  hostname(): string {
    return this.read('hostname') ?? DEFAULT_HOSTNAME;
  }

  setHostname(name: string): void {
    const problem = hostnameProblem(name);
    if (problem !== undefined) throw new NymoteError('EINVAL', problem);
    this.write('hostname', `${name}\n`);
  }

  timezone(): string {
    return this.read('timezone') ?? DEFAULT_TIMEZONE;
  }

  setTimezone(zone: string): void {
    const problem = timezoneProblem(zone);
    if (problem !== undefined) throw new NymoteError('EINVAL', problem);
    this.write('timezone', `${zone}\n`);
  }

  network(): NetworkSettings {
    const text = this.read('network');
    if (text === undefined) return { mode: 'dhcp' };
    try {
      return parseNetwork(text.split(/\s+/));
    } catch (err) {
      throw new NymoteError('ECONFIG', `${path.join(this.configDir, 'network')}: ${(err as Error).message}`);
    }
  }

  setNetwork(settings: NetworkSettings): void {
    this.write('network', `${formatNetwork(settings)}\n`);
  }

  /** Whether `setup` has been completed once (it writes the hostname last). */
  configured(): boolean {
    return this.read('hostname') !== undefined;
  }

  private read(name: string): string | undefined {
    const text = readFileIfExists(path.join(this.configDir, name))?.trim();
    return text === '' ? undefined : text;
  }

  private write(name: string, text: string): void {
    fs.mkdirSync(this.configDir, { recursive: true });
    writeFileDurable(path.join(this.configDir, name), text);
  }
}
