/**
 * Heartbeats to nyinit, which as PID 1 owns /dev/watchdog and pets it only while Node keeps
 * checking in: one "alive\n" line per pet on its control FIFO. A line under PIPE_BUF bytes is
 * written atomically, so it never interleaves with other requests on the same FIFO.
 *
 * The FIFO is opened non-blocking: with nyinit not reading (not there yet, or the pipe full),
 * a heartbeat is dropped and reported instead of blocking the event loop; a missed heartbeat
 * is exactly what nyinit should see then. If the reader went away, the next pet reopens.
 */
import fs from 'node:fs';
import { NymoteError, describeError } from '../../firmware/runtime/errors.js';
import { PettingLoop, type WatchdogOptions } from './loop.js';

export const DEFAULT_CONTROL_FIFO = '/run/nyinit.ctl';
export const HEARTBEAT_LINE = 'alive\n';
/** nyinit enforces the deadline in software, so it is not bound by a hardware limit. */
export const MAX_HEARTBEAT_TIMEOUT_SECONDS = 3600;

const HEARTBEAT = Buffer.from(HEARTBEAT_LINE);

export class HeartbeatWatchdog extends PettingLoop {
  readonly kind = 'heartbeat' as const;
  private fd: number | undefined;

  constructor(
    readonly fifoPath: string = DEFAULT_CONTROL_FIFO,
    options: WatchdogOptions = {},
  ) {
    super(options, MAX_HEARTBEAT_TIMEOUT_SECONDS);
  }

  protected open(): void {
    this.fd = this.openFifo();
  }

  protected pet(): void {
    this.fd ??= this.openFifo();
    try {
      fs.writeSync(this.fd, HEARTBEAT);
    } catch (err) {
      // EPIPE: nyinit closed its end; reopen on the next pet. EAGAIN: pipe full; drop this one.
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') this.closeFd();
      throw new NymoteError('EWATCHDOG', `heartbeat to ${this.fifoPath} failed: ${describeError(err)}`, { cause: err });
    }
  }

  protected close(): void {
    this.closeFd();
  }

  private openFifo(): number {
    try {
      // O_NONBLOCK: opening a FIFO for writing with no reader fails (ENXIO) instead of waiting.
      return fs.openSync(this.fifoPath, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK | fs.constants.O_APPEND);
    } catch (err) {
      throw new NymoteError('EWATCHDOG', `cannot open ${this.fifoPath}: ${describeError(err)}`, { cause: err });
    }
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // The descriptor is gone either way.
    }
    this.fd = undefined;
  }
}
