/**
 * The board's hardware as one service, the only door from the firmware to drivers/: the
 * status LED (booting → ready, error when a service failed), the button, heartbeats for
 * nyinit's watchdog while the runtime is healthy, the network from the device's settings,
 * the clock, and the serial line the console runs on. On a host the same service runs over
 * the drivers' fakes (tests), or not at all (`nymote run` on a laptop touches no hardware).
 */
import fs from 'node:fs';
import {
  createClockDriver,
  createNetworkDriver,
  deviceDrivers,
  type BoardHardware,
  type ButtonEvent,
  type ClockDriver,
  type Drivers,
  type LedPattern,
  type NetworkDriver,
  type SerialConnection,
} from '../../drivers/index.js';
import { NymoteError, describeError } from './errors.js';
import type { Logger } from './log.js';
import type { Service, ServiceHealth } from './services.js';
import type { DeviceSettings } from './settings.js';

/** What the image says about its board (board/<name>/board.json, installed by the rootfs). */
export interface Board extends BoardHardware {
  name: string;
  /** The Ethernet interface the network settings apply to. */
  iface: string;
}

export const BOARD_FILE = '/etc/nymote/board.json';

/** Reads the board description; a missing or malformed one is one clear error. */
export function loadBoard(file = BOARD_FILE): Board {
  let parsed: Partial<Board>;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Board>;
  } catch (err) {
    throw new NymoteError('EBOARD', `cannot read the board description ${file}: ${describeError(err)}`);
  }
  const { name, console, watchdog, gpio, iface } = parsed;
  if (typeof name !== 'string' || typeof console !== 'string' || typeof watchdog !== 'string') {
    throw new NymoteError('EBOARD', `${file} needs name, console and watchdog`);
  }
  const hasGpio = gpio !== undefined && gpio !== null;
  if (hasGpio && (typeof gpio.led !== 'number' || typeof gpio.button !== 'number')) {
    throw new NymoteError('EBOARD', `${file}: gpio needs led and button line numbers (or no gpio at all)`);
  }
  return { name, console, watchdog, ...(hasGpio ? { gpio } : {}), iface: typeof iface === 'string' ? iface : 'eth0' };
}

export interface HardwareParts {
  drivers: Drivers;
  network: NetworkDriver;
  clock: ClockDriver;
  iface: string;
}

/** The real drivers of a board (device mode). */
export async function boardHardware(board: Board, log: Logger): Promise<HardwareParts> {
  const onError = (err: NymoteError) => log.warn('hardware', { error: err.message });
  return {
    // nyinit owns /dev/watchdog and tells us where its control FIFO is.
    drivers: await deviceDrivers(board, { onError, ...(process.env.NYINIT_CTL === undefined ? {} : { controlFifo: process.env.NYINIT_CTL }) }),
    network: createNetworkDriver('device', { log: log.child('net') }),
    clock: createClockDriver('device', { log: log.child('clock') }),
    iface: board.iface,
  };
}

export class HardwareService implements Service {
  readonly name = 'hardware';
  /** The serial console, once open. */
  console: SerialConnection | undefined;
  /** The network settings last given to the driver (a lease is not renewed for nothing). */
  private appliedNetwork: string | undefined;

  constructor(
    private readonly parts: HardwareParts,
    private readonly settings: DeviceSettings,
    private readonly log: Logger,
    /** Whether the firmware is healthy: the watchdog is petted only while it is. */
    private readonly healthy: () => boolean,
  ) {}

  async start(): Promise<void> {
    const { drivers, clock } = this.parts;
    drivers.gpio.led.show('booting');
    drivers.watchdog.start(this.healthy);
    this.console = await drivers.serial.open(drivers.consolePath);
    await this.applyNetwork();
    // Restores the persisted time at once (boards without an RTC start in 1970), then syncs.
    await clock.start();
  }

  /** The network as the settings say now (after `setup` or `net`); unchanged settings change nothing. */
  async applyNetwork(): Promise<void> {
    const config = { iface: this.parts.iface, ...this.settings.network() };
    if (JSON.stringify(config) === this.appliedNetwork) return;
    this.appliedNetwork = JSON.stringify(config);
    try {
      await this.parts.network.configure(config);
    } catch (err) {
      // The console must stay usable to fix the settings: report, do not stop the firmware.
      this.log.error('network configuration failed', { error: describeError(err) });
      this.showLed('error');
    }
  }

  showLed(pattern: LedPattern): void {
    this.parts.drivers.gpio.led.show(pattern);
  }

  onButton(listener: (event: ButtonEvent) => void): () => void {
    return this.parts.drivers.gpio.onButton(listener);
  }

  async stop(): Promise<void> {
    await this.parts.clock.stop();
    await this.parts.network.stop();
    await this.console?.close();
    // Last: a clean stop closes the watchdog without letting it bite.
    this.parts.drivers.close();
  }

  describe(): Omit<ServiceHealth, 'state'> {
    const net = this.parts.network.status();
    const addresses = net.addresses.map((a) => `${a.address}/${a.prefix}`).join(' ');
    return { detail: `net ${net.state}${addresses === '' ? '' : ` ${addresses}`}, watchdog ${this.parts.drivers.watchdog.state}, led ${this.parts.drivers.gpio.led.pattern}` };
  }
}
