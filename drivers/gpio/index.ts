/**
 * The board's status LED and button. Device: onoff pins; host: in-memory pins (FakePins),
 * which tests drive with simulated edges and a ManualClock.
 */
import { ButtonWatcher, type ButtonEvent, type ButtonOptions } from './button.js';
import { PatternPlayer, type StatusLed } from './led.js';
import type { PinFactory } from './pins.js';
import { realTimers, type Timers } from './timers.js';
import { NymoteError, describeError } from '../../firmware/runtime/errors.js';

export { ButtonWatcher, DEFAULT_DEBOUNCE_MS, DEFAULT_LONG_PRESS_MS, type ButtonEvent, type ButtonOptions } from './button.js';
export { PatternPlayer, LED_PATTERNS, PATTERN_STEPS, type LedPattern, type StatusLed } from './led.js';
export type { PinLevel, OutputPin, InputPin, PinFactory, InputOptions, OutputOptions } from './pins.js';
export { FakePin, FakePins, type PinWrite } from './fake.js';
export { OnoffPins, listGpioChips, resolveSysfsNumber, SYSFS_GPIO_ROOT, type GpioChipInfo, type OnoffPinsOptions } from './onoff.js';
export { ManualClock, realTimers, type Timers, type TimerHandle } from './timers.js';

/** Line numbers (offsets on the board's GPIO chip) from board.json's `gpio`. */
export interface GpioMap {
  led: number;
  button: number;
  /** Label of the GPIO chip the numbers refer to; default: the chip with the lowest base. */
  chip?: string;
  /** LED lights when driven low. */
  ledActiveLow?: boolean;
  /** Button pulls the line low when pressed (the usual wiring with a pull-up). Default true. */
  buttonActiveLow?: boolean;
}

export interface GpioDriver {
  readonly led: StatusLed;
  /** Subscribes to button events; returns the unsubscribe function. */
  onButton(listener: (event: ButtonEvent) => void): () => void;
  /** LED off, pins released. */
  close(): void;
}

export interface BoardGpioOptions extends Omit<ButtonOptions, 'timers'> {
  timers?: Timers;
  /** Told when the button cannot be watched (a line without edge interrupts): the LED still works. */
  onError?: (err: NymoteError) => void;
}

/** The LED and button of one board over any PinFactory. */
export class BoardGpio implements GpioDriver {
  private readonly player: PatternPlayer;
  private readonly button: ButtonWatcher | undefined;
  private readonly listeners = new Set<(event: ButtonEvent) => void>();

  constructor(pins: PinFactory, map: GpioMap, options: BoardGpioOptions = {}) {
    const timers = options.timers ?? realTimers;
    this.player = new PatternPlayer(pins.output(map.led, { activeLow: map.ledActiveLow ?? false }), timers);
    try {
      this.button = new ButtonWatcher(
        pins.input(map.button, { activeLow: map.buttonActiveLow ?? true }),
        (event) => {
          for (const listener of [...this.listeners]) listener(event);
        },
        { ...options, timers },
      );
    } catch (err) {
      // A board without a usable button is still a board: no button events, and say why.
      this.button = undefined;
      options.onError?.(err instanceof NymoteError ? err : new NymoteError('EGPIO', `the button on line ${map.button} cannot be watched: ${describeError(err)}`));
    }
  }

  get led(): StatusLed {
    return this.player;
  }

  onButton(listener: (event: ButtonEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.listeners.clear();
    this.button?.close();
    this.player.close();
  }
}
