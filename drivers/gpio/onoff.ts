/**
 * Real pins through onoff (the kernel's sysfs GPIO interface). onoff and its epoll addon are
 * loaded only when a device opens its pins, so host runs never touch the native binding.
 *
 * sysfs numbers GPIOs globally: a line's number is its chip's base plus its offset, and since
 * Linux 6.6 the bases are dynamic (the Pi's SoC chip sits at 512, not 0). Board maps give the
 * offset on a chip, and we look up the base here instead of hardcoding it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NymoteError, describeError } from '../../firmware/runtime/errors.js';
import type { InputOptions, InputPin, OutputOptions, OutputPin, PinFactory, PinLevel } from './pins.js';

export const SYSFS_GPIO_ROOT = '/sys/class/gpio';

export interface GpioChipInfo {
  /** e.g. "gpiochip512" */
  name: string;
  label: string;
  base: number;
  ngpio: number;
}

export interface OnoffPinsOptions {
  /** The label of the chip the board's line numbers refer to (e.g. "pinctrl-bcm2835"); default: the chip with the lowest base. */
  chip?: string;
  /** Where gpiochip* are listed; only tests point it elsewhere (onoff itself always uses /sys/class/gpio). */
  sysfsRoot?: string;
  /** Errors the kernel reports after a pin is open (edge polling). */
  onError?: (err: NymoteError) => void;
}

/** The gpiochip* entries under `sysfsRoot`, lowest base first; empty when there is no GPIO sysfs. */
export function listGpioChips(sysfsRoot = SYSFS_GPIO_ROOT): GpioChipInfo[] {
  let names: string[];
  try {
    names = fs.readdirSync(sysfsRoot).filter((n) => /^gpiochip\d+$/.test(n));
  } catch {
    return [];
  }
  const read = (dir: string, file: string) => fs.readFileSync(path.join(sysfsRoot, dir, file), 'utf8').trim();
  return names
    .map((name) => ({ name, label: read(name, 'label'), base: Number(read(name, 'base')), ngpio: Number(read(name, 'ngpio')) }))
    .sort((a, b) => a.base - b.base);
}

/** The sysfs GPIO number of `line` on the board's chip. */
export function resolveSysfsNumber(line: number, options: { chip?: string; sysfsRoot?: string } = {}): number {
  const root = options.sysfsRoot ?? SYSFS_GPIO_ROOT;
  if (!Number.isInteger(line) || line < 0) throw new NymoteError('EGPIO', `GPIO line ${line} is not a line number`);
  const chips = listGpioChips(root);
  if (chips.length === 0) throw new NymoteError('EGPIO', `no GPIO chips in ${root} (kernel without GPIO sysfs?)`);
  const chip = options.chip === undefined ? chips[0]! : chips.find((c) => c.label === options.chip);
  if (chip === undefined) {
    throw new NymoteError('EGPIO', `no GPIO chip labelled ${options.chip} (have: ${chips.map((c) => c.label).join(', ')})`);
  }
  if (line >= chip.ngpio) throw new NymoteError('EGPIO', `GPIO line ${line} is beyond chip ${chip.label} (${chip.ngpio} lines)`);
  return chip.base + line;
}

/** The part of onoff's Gpio class we use; matches its typings. */
interface OnoffGpio {
  readSync(): PinLevel;
  writeSync(value: PinLevel): void;
  watch(callback: (err: Error | null | undefined, value: PinLevel) => void): void;
  unexport(): void;
}
type OnoffGpioClass = new (
  gpio: number,
  direction: 'in' | 'out',
  edge?: 'none' | 'both',
  options?: { activeLow?: boolean },
) => OnoffGpio;

export class OnoffPins implements PinFactory {
  /** Loads onoff (and its epoll addon) now, not when the module is imported. */
  static async open(options: OnoffPinsOptions = {}): Promise<OnoffPins> {
    let Gpio: OnoffGpioClass;
    try {
      ({ Gpio } = await import('onoff'));
    } catch (err) {
      throw new NymoteError('EGPIO', `cannot load onoff: ${describeError(err)}`, { cause: err });
    }
    return new OnoffPins(Gpio, options);
  }

  private constructor(
    private readonly Gpio: OnoffGpioClass,
    private readonly options: OnoffPinsOptions,
  ) {}

  output(line: number, options: OutputOptions = {}): OutputPin {
    const gpio = this.openGpio(line, 'output', (n) => new this.Gpio(n, 'out', 'none', { activeLow: options.activeLow ?? false }));
    return {
      write: (level) => gpio.writeSync(level),
      close: () => unexportQuietly(gpio),
    };
  }

  input(line: number, options: InputOptions = {}): InputPin {
    const gpio = this.openGpio(line, 'input', (n) => new this.Gpio(n, 'in', 'both', { activeLow: options.activeLow ?? false }));
    return {
      read: () => gpio.readSync(),
      watch: (onEdge) =>
        gpio.watch((err, value) => {
          if (err) this.options.onError?.(new NymoteError('EGPIO', `GPIO line ${line}: ${describeError(err)}`, { cause: err }));
          else onEdge(value);
        }),
      close: () => unexportQuietly(gpio),
    };
  }

  private openGpio(line: number, role: string, make: (sysfsNumber: number) => OnoffGpio): OnoffGpio {
    const sysfsNumber = resolveSysfsNumber(line, this.options);
    try {
      return make(sysfsNumber);
    } catch (err) {
      throw new NymoteError('EGPIO', `cannot open GPIO line ${line} (sysfs ${sysfsNumber}) as ${role}: ${describeError(err)}`, { cause: err });
    }
  }
}

function unexportQuietly(gpio: OnoffGpio): void {
  try {
    gpio.unexport();
  } catch {
    // Already gone (or never exported by us): nothing left to release.
  }
}
