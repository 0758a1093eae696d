/**
 * The status LED: a few patterns a person can tell apart from across the room, played as a
 * loop of (level, duration) steps over one output pin.
 */
import type { OutputPin, PinLevel } from './pins.js';
import { realTimers, type TimerHandle, type Timers } from './timers.js';

export type LedPattern = 'off' | 'booting' | 'ready' | 'updating' | 'error';

export const LED_PATTERNS: readonly LedPattern[] = ['off', 'booting', 'ready', 'updating', 'error'];

/** One step: hold `level` for `ms` milliseconds. A one-step pattern is steady (no timer). */
type Step = readonly [level: PinLevel, ms: number];

export const PATTERN_STEPS: Readonly<Record<LedPattern, readonly Step[]>> = {
  off: [[0, 0]],
  ready: [[1, 0]],
  // Slow blink, 1 Hz: still starting.
  booting: [[1, 500], [0, 500]],
  // Fast blink, 5 Hz: an update is being staged or tried; do not pull the plug.
  updating: [[1, 100], [0, 100]],
  // Two short flashes then a pause: something needs the console.
  error: [[1, 150], [0, 150], [1, 150], [0, 800]],
};

export interface StatusLed {
  readonly pattern: LedPattern;
  show(pattern: LedPattern): void;
}

export class PatternPlayer implements StatusLed {
  private current: LedPattern = 'off';
  private timer: TimerHandle | undefined;
  private closed = false;

  constructor(
    private readonly pin: OutputPin,
    private readonly timers: Timers = realTimers,
  ) {
    pin.write(0);
  }

  get pattern(): LedPattern {
    return this.current;
  }

  /** Starts `pattern` from its first step; showing the pattern already shown changes nothing. */
  show(pattern: LedPattern): void {
    if (this.closed || pattern === this.current) return;
    this.current = pattern;
    this.cancel();
    this.play(PATTERN_STEPS[pattern], 0);
  }

  /** Turns the LED off and releases the pin. */
  close(): void {
    if (this.closed) return;
    this.cancel();
    this.pin.write(0);
    this.pin.close();
    this.closed = true;
  }

  private play(steps: readonly Step[], index: number): void {
    const [level, ms] = steps[index]!;
    this.pin.write(level);
    if (steps.length === 1) return;
    this.timer = this.timers.setTimeout(() => this.play(steps, (index + 1) % steps.length), ms);
  }

  private cancel(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
