/**
 * The clock driver's host fake: the host keeps its own time, so this never sets the clock
 * and never persists it; sync() only measures and reports the offset.
 */
import { SntpClient, type SntpClientOptions } from './sntp-client.js';
import { syncResult, type ClockDriver, type SyncResult } from './types.js';

export class HostClockDriver implements ClockDriver {
  private readonly sntp: SntpClient;
  lastSync: SyncResult | undefined;

  constructor(options: SntpClientOptions = {}) {
    this.sntp = new SntpClient(options);
  }

  /** Nothing to restore and no background traffic: a laptop's `make run` stays quiet. */
  async start(): Promise<void> {}

  async sync(): Promise<SyncResult> {
    const sample = await this.sntp.sample();
    const result = syncResult(sample, false, new Date());
    this.lastSync = result;
    return result;
  }

  async stop(): Promise<void> {}

  now(): Date {
    return new Date();
  }
}
