/**
 * The retransmission timeout from measured round trips (RFC 6298): a smoothed RTT and its
 * variation, RTO = SRTT + 4·RTTVAR within [min, max]. Samples come only from bytes sent once
 * (Karn's rule), so a retransmission's ACK never passes for the original's. The doubling on
 * each timeout is the stream's own (stream.ts): one stream's losses do not slow the others.
 */
const INITIAL_RTO_MS = 1000;
const MAX_RTO_MS = 10_000;
/** performance.now() ticks far finer than this; it keeps RTO above SRTT when RTTVAR is ~0. */
const CLOCK_GRANULARITY_MS = 1;
/** Past this many doublings the RTO is at MAX_RTO_MS from any start. */
const MAX_DOUBLINGS = 16;

export class RttEstimator {
  smoothed: number | undefined;
  variation = 0;

  constructor(private readonly minRtoMs: number) {}

  sample(rttMs: number): void {
    if (this.smoothed === undefined) {
      this.smoothed = rttMs;
      this.variation = rttMs / 2;
    } else {
      this.variation = 0.75 * this.variation + 0.25 * Math.abs(this.smoothed - rttMs);
      this.smoothed = 0.875 * this.smoothed + 0.125 * rttMs;
    }
  }

  /** The timeout after `timeouts` in a row without progress: doubled each time, at most MAX_RTO_MS. */
  rto(timeouts = 0): number {
    const base = this.smoothed === undefined ? INITIAL_RTO_MS : this.smoothed + Math.max(CLOCK_GRANULARITY_MS, 4 * this.variation);
    return Math.min(MAX_RTO_MS, Math.max(this.minRtoMs, base) * 2 ** Math.min(timeouts, MAX_DOUBLINGS));
  }
}
