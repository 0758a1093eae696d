/**
 * /dev/watchdog directly, for systems without nyinit: opening it arms the watchdog, any
 * write pets it, and writing "V" before close disarms it (unless the kernel was built with
 * WATCHDOG_NOWAYOUT, where nothing disarms it). The timeout cannot be read or set from Node
 * (that needs ioctl), so it comes from configuration and must match the driver's.
 */
import fs from 'node:fs';
import { NymoteError, describeError } from '../../firmware/runtime/errors.js';
import { PettingLoop, type WatchdogOptions } from './loop.js';

export const DEFAULT_WATCHDOG_DEVICE = '/dev/watchdog';
/** sunxi's limit; bcm2835's is 15 s. */
export const MAX_DEVICE_TIMEOUT_SECONDS = 16;

const PET = Buffer.from('.');
const MAGIC_CLOSE = Buffer.from('V');

export class DeviceFileWatchdog extends PettingLoop {
  readonly kind = 'device-file' as const;
  private fd: number | undefined;

  constructor(
    readonly devicePath: string = DEFAULT_WATCHDOG_DEVICE,
    options: WatchdogOptions = {},
  ) {
    super(options, MAX_DEVICE_TIMEOUT_SECONDS);
  }

  protected open(): void {
    try {
      // No O_CREAT: a missing device must fail, not become a regular file.
      this.fd = fs.openSync(this.devicePath, fs.constants.O_WRONLY);
    } catch (err) {
      throw new NymoteError('EWATCHDOG', `cannot open ${this.devicePath}: ${describeError(err)}`, { cause: err });
    }
  }

  protected pet(): void {
    if (this.fd === undefined) throw new NymoteError('EWATCHDOG', `${this.devicePath} is not open`);
    try {
      fs.writeSync(this.fd, PET);
    } catch (err) {
      throw new NymoteError('EWATCHDOG', `cannot pet ${this.devicePath}: ${describeError(err)}`, { cause: err });
    }
  }

  protected close(clean: boolean): void {
    if (this.fd === undefined) return;
    try {
      if (clean) fs.writeSync(this.fd, MAGIC_CLOSE);
    } catch (err) {
      this.report(new NymoteError('EWATCHDOG', `cannot disarm ${this.devicePath}: ${describeError(err)}`, { cause: err }));
    }
    try {
      fs.closeSync(this.fd);
    } catch {
      // The descriptor is gone either way.
    }
    this.fd = undefined;
  }
}
