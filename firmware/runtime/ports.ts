/**
 * Every network port the firmware listens on, defined once: the `run` flags, their host and
 * device defaults, and which service owns them. `--port-base N` adds N to every default so
 * that two instances run side by side; an explicit port flag is taken as given.
 */
import { UsageError } from './errors.js';

export const PORT_NAMES = ['http', 'https', 'imap', 'imaps', 'submission', 'smtp', 'dns', 'channel'] as const;
export type PortName = (typeof PORT_NAMES)[number];

export interface PortSpec {
  readonly host: number;
  readonly device: number;
  readonly transport: 'tcp' | 'udp' | 'tcp+udp';
  readonly serves: string;
}

export const PORTS: Readonly<Record<PortName, PortSpec>> = {
  http: { host: 8080, device: 80, transport: 'tcp', serves: 'web UI, REST /api, git /git, DAV /dav' },
  https: { host: 8443, device: 443, transport: 'tcp', serves: 'the same over TLS' },
  imap: { host: 1143, device: 143, transport: 'tcp', serves: 'IMAP (STARTTLS)' },
  imaps: { host: 1993, device: 993, transport: 'tcp', serves: 'IMAP over TLS' },
  submission: { host: 1587, device: 587, transport: 'tcp', serves: 'SMTP submission (STARTTLS, AUTH)' },
  smtp: { host: 2525, device: 25, transport: 'tcp', serves: 'inbound SMTP' },
  dns: { host: 1053, device: 53, transport: 'tcp+udp', serves: 'authoritative DNS' },
  channel: { host: 7171, device: 7171, transport: 'udp', serves: 'Signpost secure channel' },
};

export type Mode = 'host' | 'device';
export type PortMap = Record<PortName, number>;

/** Parses a port number as given on the command line; 0 asks the kernel for a free port. */
export function parsePort(text: string, what: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new UsageError(`invalid ${what} '${text}': expected a number 0-65535`);
  const port = Number(text);
  if (port > 65535) throw new UsageError(`invalid ${what} '${text}': expected a number 0-65535`);
  return port;
}

export function resolvePorts(mode: Mode, base: number, explicit: Partial<Record<PortName, number>>): PortMap {
  const ports = {} as PortMap;
  for (const name of PORT_NAMES) {
    const port = explicit[name] ?? PORTS[name][mode] + base;
    if (port > 65535) throw new UsageError(`--port-base ${base} puts the ${name} port past 65535`);
    ports[name] = port;
  }
  return ports;
}
