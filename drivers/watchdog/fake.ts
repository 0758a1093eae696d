/** The host fake: a watchdog that only remembers when it was petted and how it was closed. */
import { MAX_DEVICE_TIMEOUT_SECONDS } from './device-file.js';
import { PettingLoop, type WatchdogOptions } from './loop.js';

export class FakeWatchdog extends PettingLoop {
  readonly kind = 'fake' as const;
  /** `timers.now()` of every pet. */
  readonly pets: number[] = [];
  /** How each stop closed it: true = clean (magic close), false = left to bite. */
  readonly closes: boolean[] = [];
  opened = 0;

  constructor(options: WatchdogOptions = {}) {
    super(options, MAX_DEVICE_TIMEOUT_SECONDS);
  }

  protected open(): void {
    this.opened++;
  }

  protected pet(): void {
    this.pets.push(this.timers.now());
  }

  protected close(clean: boolean): void {
    this.closes.push(clean);
  }
}
