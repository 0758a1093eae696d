/**
 * The hardware, behind small interfaces: the console's serial line, the status LED and
 * button, the watchdog. `deviceDrivers(board)` opens the real ones from a board map;
 * `hostDrivers()` gives in-memory fakes (and exposes them, for tests and demos). Neither
 * factory loads serialport or onoff on the host: the real drivers import them on first use.
 */
import { BoardGpio, FakePins, OnoffPins, type BoardGpioOptions, type GpioDriver, type GpioMap } from './gpio/index.js';
import { ManualClock, realTimers, type Timers } from './gpio/timers.js';
import { FakeSerialDriver, SerialPortDriver, type SerialDriver } from './serial/index.js';
import type { NymoteError } from '../firmware/runtime/errors.js';
import {
  DEFAULT_CONTROL_FIFO,
  DeviceFileWatchdog,
  FakeWatchdog,
  HeartbeatWatchdog,
  type Watchdog,
} from './watchdog/index.js';

export * from './serial/index.js';
export * from './gpio/index.js';
export * from './watchdog/index.js';
export * from './network/index.js';
export * from './clock/index.js';

/** The hardware part of a board.json. */
export interface BoardHardware {
  /** The LED and button; absent on boards without them (QEMU), where both do nothing. */
  gpio?: GpioMap;
  /** The console's serial device, e.g. /dev/ttyAMA0 (rpi), /dev/ttyS0 (sunxi). */
  console: string;
  /** The watchdog device, e.g. /dev/watchdog. */
  watchdog: string;
}

export interface Drivers {
  readonly mode: 'host' | 'device';
  readonly serial: SerialDriver;
  /** Where the console is: `serial.open(consolePath)`. */
  readonly consolePath: string;
  readonly gpio: GpioDriver;
  /** Not started: `watchdog.start(healthCheck)` once the runtime can answer. */
  readonly watchdog: Watchdog;
  /** Stops the watchdog cleanly and releases the pins (the console connection is its opener's to close). */
  close(): void;
}

export interface DeviceDriverOptions {
  /** 'heartbeat' (default): nyinit is PID 1 and owns /dev/watchdog; 'device-file': no nyinit. */
  watchdog?: 'heartbeat' | 'device-file';
  /** nyinit's control FIFO (default /run/nyinit.ctl). */
  controlFifo?: string;
  /** From config; default 15 s. */
  watchdogTimeoutSeconds?: number;
  button?: Omit<BoardGpioOptions, 'timers'>;
  timers?: Timers;
  /** Errors the drivers hit after they opened (pin polling, serial disconnects, failed pets). */
  onError?: (err: NymoteError) => void;
}

/** The real drivers of a board. Opens the GPIO pins now; the watchdog and serial port on demand. */
/** Pins of a board that has no LED or button: in-memory, never read by anyone. */
const NO_GPIO: GpioMap = { led: 0, button: 1, buttonActiveLow: false };

export async function deviceDrivers(board: BoardHardware, options: DeviceDriverOptions = {}): Promise<Drivers> {
  const timers = options.timers ?? realTimers;
  const onError = options.onError;
  const gpio =
    board.gpio === undefined
      ? new BoardGpio(new FakePins(() => timers.now()), NO_GPIO, { timers })
      : new BoardGpio(await OnoffPins.open({ chip: board.gpio.chip, onError }), board.gpio, { ...options.button, timers, ...(onError === undefined ? {} : { onError }) });
  const watchdogOptions = { timers, timeoutSeconds: options.watchdogTimeoutSeconds, onError };
  let watchdog: Watchdog;
  try {
    watchdog =
      (options.watchdog ?? 'heartbeat') === 'heartbeat'
        ? new HeartbeatWatchdog(options.controlFifo ?? DEFAULT_CONTROL_FIFO, watchdogOptions)
        : new DeviceFileWatchdog(board.watchdog, watchdogOptions);
  } catch (err) {
    gpio.close();
    throw err;
  }
  return assemble('device', new SerialPortDriver({ onError }), board.console, gpio, watchdog);
}

export interface HostDrivers extends Drivers {
  /** The fakes behind the interfaces, to drive and inspect. */
  readonly fakes: {
    readonly serial: FakeSerialDriver;
    readonly pins: FakePins;
    readonly watchdog: FakeWatchdog;
    /** The clock the LED, button and watchdog run on (a ManualClock unless `timers` was given). */
    readonly timers: Timers;
  };
}

export interface HostDriverOptions {
  /** Default: a ManualClock, so nothing blinks or pets until a test advances it. */
  timers?: Timers;
  gpio?: GpioMap;
  watchdogTimeoutSeconds?: number;
}

/** Host-mode fakes: in-memory serial line, in-memory pins, a watchdog that records pets. */
export function hostDrivers(options: HostDriverOptions = {}): HostDrivers {
  const timers = options.timers ?? new ManualClock();
  const pins = new FakePins(() => timers.now());
  const serial = new FakeSerialDriver();
  const gpio = new BoardGpio(pins, options.gpio ?? { led: 0, button: 1, buttonActiveLow: false }, { timers });
  const watchdog = new FakeWatchdog({ timers, timeoutSeconds: options.watchdogTimeoutSeconds });
  return { ...assemble('host', serial, 'host-console', gpio, watchdog), fakes: { serial, pins, watchdog, timers } };
}

function assemble(mode: Drivers['mode'], serial: SerialDriver, consolePath: string, gpio: GpioDriver, watchdog: Watchdog): Drivers {
  return {
    mode,
    serial,
    consolePath,
    gpio,
    watchdog,
    close: () => {
      watchdog.stop();
      gpio.close();
    },
  };
}
