/** The clock driver's interface, shared by the device implementation and the host fake. */

export interface SyncResult {
  server: string;
  address: string;
  /** Server time minus local time, measured before any step. */
  offsetMs: number;
  delayMs: number;
  stratum: number;
  /** Whether the system clock was stepped by this sync (never, on the host). */
  stepped: boolean;
  /** When the sync finished, by the (possibly just corrected) clock. */
  at: Date;
}

export interface ClockDriver {
  /** Device: restore the persisted time if the clock is behind it, then sync and persist periodically. */
  start(): Promise<void>;
  /** Asks the NTP servers now; on the device, steps the clock when it is off. */
  sync(): Promise<SyncResult>;
  /** Stops the timers; the device persists the time one last time. */
  stop(): Promise<void>;
  now(): Date;
}

/** A sync's result from its NTP sample (what every clock driver reports the same way). */
export function syncResult(sample: Omit<SyncResult, 'stepped' | 'at'>, stepped: boolean, at: Date): SyncResult {
  const { server, address, offsetMs, delayMs, stratum } = sample;
  return { server, address, offsetMs, delayMs, stratum, stepped, at };
}
