/**
 * The clock driver on the device: at boot, restore the persisted time when the clock is
 * behind it (no RTC: the board starts in 1970); then keep the clock right with SNTP, stepping
 * it with busybox date when it is off by more than a threshold; and persist the time every
 * few minutes and at shutdown.
 */
import { describeError } from '../../firmware/runtime/errors.js';
import type { Logger } from '../../firmware/runtime/log.js';
import { isBelievableTime, readPersistedTime, restorePersistedTime, writePersistedTime } from './persist.js';
import { busyboxDateSetter } from './set-clock.js';
import { SntpClient, type SntpClientOptions } from './sntp-client.js';
import { syncResult, type ClockDriver, type SyncResult } from './types.js';

export interface DeviceClockOptions {
  /** Default ['pool.ntp.org']. */
  servers?: string[];
  /** NTP server port; default 123. */
  port?: number;
  timeoutMs?: number;
  /** Default /data/clock. */
  persistPath?: string;
  /** Default 5 minutes. */
  persistEveryMs?: number;
  /** Default 1 hour; a failed sync is retried sooner (30 s, doubling up to this). */
  syncEveryMs?: number;
  firstRetryMs?: number;
  /** Offsets smaller than this are left alone (we can only step, not slew); default 128 ms. */
  stepThresholdMs?: number;
  /** Steps the system clock; default busybox date (see set-clock.ts). */
  setClock?: (unixMs: number) => Promise<void>;
  /** The system clock; default Date.now. */
  nowMs?: () => number;
  /** Start syncing in the background at start(); default true. */
  syncOnStart?: boolean;
  log?: Logger;
}

export class DeviceClockDriver implements ClockDriver {
  private readonly sntp: SntpClient;
  private readonly persistPath: string;
  private readonly setClock: (unixMs: number) => Promise<void>;
  private readonly nowMs: () => number;
  /** The persisted time found at start: we never write an earlier one until a sync vouches for the clock. */
  private floorMs: number | undefined;
  private synced = false;
  private persistTimer: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private retryMs: number;
  private running = false;
  /** The time the clock was set to at boot from the persisted file, if it was. */
  restoredToMs: number | undefined;
  lastSync: SyncResult | undefined;

  constructor(private readonly options: DeviceClockOptions = {}) {
    this.nowMs = options.nowMs ?? Date.now;
    const sntpOptions: SntpClientOptions = { nowMs: this.nowMs };
    if (options.servers !== undefined) sntpOptions.servers = options.servers;
    if (options.port !== undefined) sntpOptions.port = options.port;
    if (options.timeoutMs !== undefined) sntpOptions.timeoutMs = options.timeoutMs;
    if (options.log !== undefined) sntpOptions.log = options.log;
    this.sntp = new SntpClient(sntpOptions);
    this.persistPath = options.persistPath ?? '/data/clock';
    this.setClock = options.setClock ?? busyboxDateSetter({ nowMs: this.nowMs });
    this.retryMs = options.firstRetryMs ?? 30_000;
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.restore();
    this.persistTimer = setInterval(() => this.persist(), this.options.persistEveryMs ?? 5 * 60_000);
    this.persistTimer.unref();
    if (this.options.syncOnStart ?? true) this.scheduleSync(0);
  }

  async sync(): Promise<SyncResult> {
    const sample = await this.sntp.sample();
    let stepped = false;
    if (Math.abs(sample.offsetMs) >= (this.options.stepThresholdMs ?? 128)) {
      const from = this.nowMs();
      await this.setClock(from + sample.offsetMs);
      stepped = true;
      this.options.log?.info('clock stepped', { from: new Date(from).toISOString(), offsetMs: Math.round(sample.offsetMs), server: sample.server });
    }
    this.synced = true;
    this.persist();
    const result = syncResult(sample, stepped, this.now());
    this.lastSync = result;
    return result;
  }

  async stop(): Promise<void> {
    if (this.persistTimer !== undefined) clearInterval(this.persistTimer);
    if (this.syncTimer !== undefined) clearTimeout(this.syncTimer);
    this.persistTimer = undefined;
    this.syncTimer = undefined;
    if (this.running) this.persist();
    this.running = false;
  }

  /**
   * Writes the current time, unless no sync has vouched for the clock and it is earlier than
   * the persisted time (restoring it failed) or not a believable date at all (still 1970).
   */
  persist(): void {
    const now = this.nowMs();
    if (!this.synced && !isBelievableTime(now)) {
      this.options.log?.warn('clock: not persisting an unbelievable time', { now: new Date(now).toISOString() });
      return;
    }
    if (!this.synced && this.floorMs !== undefined && now < this.floorMs) {
      this.options.log?.warn('clock: not persisting a time earlier than the persisted one', { now: new Date(now).toISOString() });
      return;
    }
    try {
      writePersistedTime(this.persistPath, now);
      this.floorMs = Math.max(this.floorMs ?? now, now);
    } catch (err) {
      this.options.log?.warn('clock: persisting the time failed', { file: this.persistPath, error: describeError(err) });
    }
  }

  private async restore(): Promise<void> {
    try {
      const persisted = readPersistedTime(this.persistPath);
      this.floorMs = persisted?.unixMs;
      this.restoredToMs = await restorePersistedTime(persisted, this.nowMs(), this.setClock);
      if (this.restoredToMs !== undefined) {
        this.options.log?.info('clock restored from the persisted time', { to: new Date(this.restoredToMs).toISOString() });
      }
    } catch (err) {
      // A damaged file or a failed set must not stop the boot; SNTP will fix the clock.
      this.options.log?.warn('clock: restoring the persisted time failed', { file: this.persistPath, error: describeError(err) });
    }
  }

  private scheduleSync(delayMs: number): void {
    if (!this.running) return;
    this.syncTimer = setTimeout(() => {
      this.sync().then(
        () => {
          this.retryMs = this.options.firstRetryMs ?? 30_000;
          this.scheduleSync(this.options.syncEveryMs ?? 60 * 60_000);
        },
        (err: unknown) => {
          this.options.log?.warn('clock sync failed', { error: describeError(err), retryInMs: this.retryMs });
          this.scheduleSync(this.retryMs);
          this.retryMs = Math.min(this.retryMs * 2, this.options.syncEveryMs ?? 60 * 60_000);
        },
      );
    }, delayMs);
    this.syncTimer.unref();
  }
}
