/** What `nymote run` was asked to do, after flags, environment and defaults are resolved. */
import type { DataDir } from './datadir.js';
import type { LogLevel } from './log.js';
import type { Mode, PortMap } from './ports.js';

export type ConsoleMode = 'auto' | 'stdio' | 'none';

export interface RunConfig {
  readonly mode: Mode;
  readonly data: DataDir;
  /** Address every service binds; 127.0.0.1 in host mode so nothing is exposed by default. */
  readonly listen: string;
  readonly ports: PortMap;
  /** Console on the terminal: auto = only when stdin is a terminal. */
  readonly console: ConsoleMode;
  readonly logLevel: LogLevel;
  /** DNS answers per second per client netblock and answer over UDP; 0 = no limit. */
  readonly dnsRateLimit: number;
  /** Announce the host and its services by mDNS (always on a device). */
  readonly mdns: boolean;
}

export function defaultListenAddress(mode: Mode): string {
  return mode === 'device' ? '0.0.0.0' : '127.0.0.1';
}
