/**
 * The one button: a short press asks for status, a press held for ten seconds asks for a
 * factory reset (which the console then confirms). Contacts bounce, so a level counts only
 * once it has held still for the debounce time.
 */
import type { InputPin, PinLevel } from './pins.js';
import { realTimers, type TimerHandle, type Timers } from './timers.js';

export type ButtonEvent = 'status' | 'factory-reset-request';

export interface ButtonOptions {
  /** A level must stay unchanged this long to count (default 50 ms). */
  debounceMs?: number;
  /** Held at least this long: factory-reset request (default 10 s). */
  longPressMs?: number;
  timers?: Timers;
}

export const DEFAULT_DEBOUNCE_MS = 50;
export const DEFAULT_LONG_PRESS_MS = 10_000;

export class ButtonWatcher {
  private readonly debounceMs: number;
  private readonly longPressMs: number;
  private readonly timers: Timers;
  /** The debounced level: what the person is doing, as far as we believe. */
  private stableLevel: PinLevel;
  private settleTimer: TimerHandle | undefined;
  private longPressTimer: TimerHandle | undefined;
  /** The current press already produced its factory-reset request: its release is not a 'status'. */
  private longPressFired = false;
  private closed = false;

  constructor(
    private readonly pin: InputPin,
    private readonly onEvent: (event: ButtonEvent) => void,
    options: ButtonOptions = {},
  ) {
    this.debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.longPressMs = options.longPressMs ?? DEFAULT_LONG_PRESS_MS;
    this.timers = options.timers ?? realTimers;
    // A button held down while the firmware starts is not a press until it is released first.
    this.stableLevel = pin.read();
    if (this.stableLevel === 1) this.longPressFired = true;
    pin.watch(() => this.edge());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clear('settle');
    this.clear('long');
    this.pin.close();
  }

  /** Any edge restarts the settle timer; the level is read once it has been quiet. */
  private edge(): void {
    if (this.closed) return;
    this.clear('settle');
    this.settleTimer = this.timers.setTimeout(() => this.settled(), this.debounceMs);
  }

  private settled(): void {
    this.settleTimer = undefined;
    const level = this.pin.read();
    if (level === this.stableLevel) return;
    this.stableLevel = level;
    if (level === 1) {
      this.longPressFired = false;
      // The debounce time already elapsed since the press began.
      this.longPressTimer = this.timers.setTimeout(() => this.longPress(), Math.max(0, this.longPressMs - this.debounceMs));
    } else {
      this.clear('long');
      const wasLong = this.longPressFired;
      this.longPressFired = false;
      if (!wasLong) this.onEvent('status');
    }
  }

  private longPress(): void {
    this.longPressTimer = undefined;
    this.longPressFired = true;
    this.onEvent('factory-reset-request');
  }

  private clear(which: 'settle' | 'long'): void {
    const handle = which === 'settle' ? this.settleTimer : this.longPressTimer;
    if (handle !== undefined) this.timers.clearTimeout(handle);
    if (which === 'settle') this.settleTimer = undefined;
    else this.longPressTimer = undefined;
  }
}
