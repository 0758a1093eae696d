/**
 * The petting loop every watchdog shares: pet once on start, then every half timeout while
 * the health check says yes. Once it says no, petting stops for good, so the watchdog (or
 * nyinit) resets the board: a system that flaps between healthy and not should not be kept
 * alive by the good moments.
 *
 * Pets are synchronous writes on purpose: an async write waits for a libuv threadpool
 * thread, and a threadpool busy with store I/O must not starve the watchdog. When the event
 * loop itself hangs, no timer fires, no pet happens, and the board resets: that is the point.
 */
import { NymoteError, describeError } from '../../firmware/runtime/errors.js';
import { realTimers, type TimerHandle, type Timers } from '../gpio/timers.js';

export type WatchdogState = 'stopped' | 'running' | 'starved';

/** Says whether the firmware is well enough to keep the board alive. Throwing counts as no. */
export type HealthCheck = () => boolean;

export interface Watchdog {
  readonly kind: 'device-file' | 'heartbeat' | 'fake';
  readonly state: WatchdogState;
  /** The timeout the hardware (or nyinit) enforces, as configured. */
  readonly timeoutSeconds: number;
  /** Half the timeout. */
  readonly petIntervalMs: number;
  /** Opens the target and pets it now and every petIntervalMs while `healthy()` holds. */
  start(healthy?: HealthCheck): void;
  /** Clean stop: stops petting and disarms the target where it can (magic close). */
  stop(): void;
}

export interface WatchdogOptions {
  /** Default 15 s; bcm2835 allows at most 15 s, sunxi 16 s. */
  timeoutSeconds?: number;
  timers?: Timers;
  /** Failed pets and similar; petting goes on (or stops, if the target is gone for good). */
  onError?: (err: NymoteError) => void;
}

export const DEFAULT_WATCHDOG_TIMEOUT_SECONDS = 15;
export const MIN_WATCHDOG_TIMEOUT_SECONDS = 2;

export function checkTimeout(timeoutSeconds: number, maxSeconds: number): number {
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < MIN_WATCHDOG_TIMEOUT_SECONDS || timeoutSeconds > maxSeconds) {
    throw new NymoteError(
      'EWATCHDOG',
      `watchdog timeout ${timeoutSeconds} s is outside ${MIN_WATCHDOG_TIMEOUT_SECONDS}–${maxSeconds} s`,
    );
  }
  return timeoutSeconds;
}

export abstract class PettingLoop implements Watchdog {
  abstract readonly kind: Watchdog['kind'];
  readonly timeoutSeconds: number;
  readonly petIntervalMs: number;
  protected readonly timers: Timers;
  private readonly onError: ((err: NymoteError) => void) | undefined;
  private current: WatchdogState = 'stopped';
  private timer: TimerHandle | undefined;
  private healthy: HealthCheck = () => true;

  constructor(options: WatchdogOptions, maxTimeoutSeconds: number) {
    this.timeoutSeconds = checkTimeout(options.timeoutSeconds ?? DEFAULT_WATCHDOG_TIMEOUT_SECONDS, maxTimeoutSeconds);
    this.petIntervalMs = (this.timeoutSeconds * 1000) / 2;
    this.timers = options.timers ?? realTimers;
    this.onError = options.onError;
  }

  get state(): WatchdogState {
    return this.current;
  }

  start(healthy: HealthCheck = () => true): void {
    if (this.current !== 'stopped') throw new NymoteError('EWATCHDOG', `watchdog already ${this.current}`);
    this.healthy = healthy;
    this.open();
    this.current = 'running';
    this.tick();
  }

  stop(): void {
    if (this.current === 'stopped') return;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    // Starved means "let it bite": closing without disarming keeps the reset coming.
    const clean = this.current === 'running';
    this.current = 'stopped';
    this.close(clean);
  }

  /** Opens the device or pipe; throws NymoteError when it cannot. */
  protected abstract open(): void;
  /** One pet; throws on failure (reported, and petting goes on). */
  protected abstract pet(): void;
  /** `clean`: disarm if the target supports it. Never throws. */
  protected abstract close(clean: boolean): void;

  protected report(err: NymoteError): void {
    this.onError?.(err);
  }

  private tick(): void {
    this.timer = undefined;
    if (this.current !== 'running') return;
    if (!this.isHealthy()) {
      this.current = 'starved';
      this.report(new NymoteError('EWATCHDOG', `health check failed: no more pets; reset in at most ${this.timeoutSeconds} s`));
      return;
    }
    try {
      this.pet();
    } catch (err) {
      this.report(err instanceof NymoteError ? err : new NymoteError('EWATCHDOG', `watchdog pet failed: ${describeError(err)}`, { cause: err }));
    }
    this.timer = this.timers.setTimeout(() => this.tick(), this.petIntervalMs);
  }

  private isHealthy(): boolean {
    try {
      return this.healthy() === true;
    } catch {
      return false;
    }
  }
}
