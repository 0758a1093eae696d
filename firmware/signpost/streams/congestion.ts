/**
 * One congestion window for all of a mux's streams (they share one path), NewReno-style:
 * slow start from ten datagrams (RFC 6928), congestion avoidance past ssthresh, halved at most
 * once per round trip when SACKs show a loss, back to one datagram on a timeout. No pacing:
 * the window is sent as a burst, which the channel below takes as fast as it can seal. Simple
 * and robust over clever; on a loopback-class link nothing is lost, the window opens within a
 * few round trips and the receivers' flow-control windows are what bound the data in flight.
 */
const INITIAL_DATAGRAMS = 10;
const MIN_DATAGRAMS = 2;
/** Past this the window would only grow on paper: the receivers' windows bound the flight. */
const MAX_WINDOW_BYTES = 64 << 20;

export class CongestionWindow {
  /** Bytes sent and neither acknowledged nor deemed lost (RFC 6675's "pipe"). */
  inFlight = 0;
  window: number;
  private threshold = Infinity;
  private recoveryUntil = -Infinity;

  constructor(private readonly datagramBytes: number) {
    this.window = INITIAL_DATAGRAMS * datagramBytes;
  }

  canSend(): boolean {
    return this.inFlight < this.window;
  }

  onDelivered(bytes: number): void {
    const growth = this.window < this.threshold ? bytes : (this.datagramBytes * bytes) / this.window;
    this.window = Math.min(MAX_WINDOW_BYTES, this.window + growth);
  }

  onLoss(now: number, roundTripMs: number): void {
    if (now < this.recoveryUntil) return;
    this.threshold = Math.max(this.window / 2, MIN_DATAGRAMS * this.datagramBytes);
    this.window = this.threshold;
    this.recoveryUntil = now + roundTripMs;
  }

  onTimeout(): void {
    this.threshold = Math.max(this.window / 2, MIN_DATAGRAMS * this.datagramBytes);
    this.window = this.datagramBytes;
  }
}
