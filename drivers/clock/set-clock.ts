/**
 * Setting the system clock on a device with no shell: `busybox date -s @SECONDS`, by execFile.
 *
 * Why date and not the adjtimex applet: `adjtimex -o` hands the kernel a PLL offset, which
 * slews at most 0.5 s and only while the kernel's NTP mode (STA_PLL) is on — useless for the
 * hours or decades a board without an RTC is off by at boot. `date -s @N` steps the clock,
 * but only to whole seconds; so we wait until the true time reaches a whole second and set
 * exactly that second, which leaves the clock off by the few milliseconds busybox takes to
 * start rather than by up to a second. Needs CAP_SYS_TIME (Node runs as root under nyinit).
 */
import { execFile } from 'node:child_process';
import { NymoteError } from '../../firmware/runtime/errors.js';

export type CommandRunner = (argv: string[]) => Promise<void>;

export function runCommand(argv: string[]): Promise<void> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new NymoteError('ECOMMAND', 'empty command'));
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 10_000, maxBuffer: 64 * 1024 }, (err, _stdout, stderr) => {
      if (err === null) return resolve();
      const said = String(stderr).trim().split('\n')[0] || err.message.split('\n')[0];
      reject(new NymoteError('ECLOCKSET', `${argv.join(' ')} failed: ${said}`, { cause: err }));
    });
  });
}

export interface BusyboxDateOptions {
  /** argv prefix of the date applet; default ['busybox', 'date']. */
  date?: string[];
  run?: CommandRunner;
  /** The system clock; default Date.now. */
  nowMs?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * A `setClock(unixMs)` that steps the system clock to `unixMs` (the true time at the moment
 * of the call) with busybox date, aligned to the next whole second of true time.
 */
export function busyboxDateSetter(options: BusyboxDateOptions = {}): (unixMs: number) => Promise<void> {
  const date = options.date ?? ['busybox', 'date'];
  const run = options.run ?? runCommand;
  const nowMs = options.nowMs ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  return async (unixMs: number) => {
    if (!Number.isFinite(unixMs) || unixMs < 0) throw new NymoteError('ECLOCKSET', `cannot set the clock to ${unixMs}`);
    // True time runs at the system clock's rate from here on: true = system + offset.
    const offsetMs = unixMs - nowMs();
    const second = Math.floor((nowMs() + offsetMs) / 1000) + 1;
    await sleep(Math.max(0, second * 1000 - (nowMs() + offsetMs)));
    await run([...date, '-s', `@${second}`]);
  };
}
