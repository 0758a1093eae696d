import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock } from '../../drivers/gpio/timers.js';
import { hostDrivers } from '../../drivers/index.js';
import {
  DeviceFileWatchdog,
  FakeWatchdog,
  HeartbeatWatchdog,
  HEARTBEAT_LINE,
  type Watchdog,
} from '../../drivers/watchdog/index.js';
import { NymoteError } from '../../firmware/runtime/errors.js';
import { tempDir } from '../_lib/tmp.js';

function throwsCode(fn: () => unknown, code: string, pattern?: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, NymoteError);
    assert.is((err as NymoteError).code, code);
    if (pattern) assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('the fake pets at start and then every half timeout; a clean stop disarms', () => {
  const clock = new ManualClock();
  const dog = new FakeWatchdog({ timers: clock });
  assert.is(dog.timeoutSeconds, 15);
  assert.is(dog.petIntervalMs, 7500);
  assert.is(dog.state, 'stopped');
  dog.start();
  assert.is(dog.state, 'running');
  clock.advance(30_000);
  assert.equal(dog.pets, [0, 7500, 15_000, 22_500, 30_000]);
  dog.stop();
  assert.is(dog.state, 'stopped');
  assert.equal(dog.closes, [true]);
  clock.advance(30_000);
  assert.is(dog.pets.length, 5, 'no pets after stop');
  assert.is(clock.pendingCount, 0);
  dog.stop();
  assert.equal(dog.closes, [true], 'a second stop does nothing');
});

test('an unhealthy answer stops petting for good, and stop then leaves the watchdog to bite', () => {
  const clock = new ManualClock();
  const errors: NymoteError[] = [];
  const dog = new FakeWatchdog({ timers: clock, timeoutSeconds: 10, onError: (e) => errors.push(e) });
  let healthy = true;
  dog.start(() => healthy);
  clock.advance(10_000);
  assert.equal(dog.pets, [0, 5000, 10_000]);
  healthy = false;
  clock.advance(5000);
  assert.is(dog.state, 'starved');
  healthy = true;
  clock.advance(60_000);
  assert.equal(dog.pets, [0, 5000, 10_000], 'healthy again does not resume petting');
  assert.is(errors.length, 1);
  assert.is(errors[0]!.code, 'EWATCHDOG');
  assert.match(errors[0]!.message, /health check failed/);
  dog.stop();
  assert.equal(dog.closes, [false], 'no magic close after starving');
});

test('a health check that throws counts as unhealthy', () => {
  const clock = new ManualClock();
  const dog = new FakeWatchdog({ timers: clock });
  let calls = 0;
  dog.start(() => {
    if (++calls > 1) throw new Error('health broke');
    return true;
  });
  clock.advance(7500);
  assert.is(dog.state, 'starved');
  assert.equal(dog.pets, [0]);
});

test('timeouts are checked against what the hardware allows; start twice is refused', () => {
  throwsCode(() => new DeviceFileWatchdog('/nonexistent', { timeoutSeconds: 17 }), 'EWATCHDOG', /outside 2–16 s/);
  throwsCode(() => new FakeWatchdog({ timeoutSeconds: 1 }), 'EWATCHDOG');
  throwsCode(() => new FakeWatchdog({ timeoutSeconds: Number.NaN }), 'EWATCHDOG');
  assert.is(new DeviceFileWatchdog('/nonexistent', { timeoutSeconds: 16 }).petIntervalMs, 8000);
  assert.is(new HeartbeatWatchdog('/nonexistent', { timeoutSeconds: 60 }).petIntervalMs, 30_000);
  const dog = new FakeWatchdog({ timers: new ManualClock() });
  dog.start();
  throwsCode(() => dog.start(), 'EWATCHDOG', /already running/);
  dog.stop();
  dog.start();
  assert.is(dog.opened, 2, 'a stopped watchdog starts again');
  dog.stop();
});

test('DeviceFileWatchdog: a byte per pet, "V" before close on a clean stop (regular file stand-in)', () => {
  const file = path.join(tempDir('wd'), 'watchdog');
  fs.writeFileSync(file, '');
  const clock = new ManualClock();
  const dog: Watchdog = new DeviceFileWatchdog(file, { timers: clock });
  dog.start();
  assert.is(fs.readFileSync(file, 'utf8'), '.', 'opening pets at once');
  clock.advance(7499);
  assert.is(fs.readFileSync(file, 'utf8'), '.');
  clock.advance(1);
  assert.is(fs.readFileSync(file, 'utf8'), '..');
  clock.advance(15_000);
  assert.is(fs.readFileSync(file, 'utf8'), '....');
  dog.stop();
  assert.is(fs.readFileSync(file, 'utf8'), '....V', 'magic close');
  clock.advance(60_000);
  assert.is(fs.readFileSync(file, 'utf8'), '....V');
});

test('DeviceFileWatchdog: starved, it writes nothing more and closes without "V"', () => {
  const file = path.join(tempDir('wd'), 'watchdog');
  fs.writeFileSync(file, '');
  const clock = new ManualClock();
  const dog = new DeviceFileWatchdog(file, { timers: clock, onError: () => {} });
  let healthy = true;
  dog.start(() => healthy);
  clock.advance(7500);
  healthy = false;
  clock.advance(30_000);
  dog.stop();
  assert.is(fs.readFileSync(file, 'utf8'), '..');
});

test('DeviceFileWatchdog: a missing device is one EWATCHDOG line and is never created', () => {
  const file = path.join(tempDir('wd'), 'watchdog');
  const dog = new DeviceFileWatchdog(file, { timers: new ManualClock() });
  throwsCode(() => dog.start(), 'EWATCHDOG', /^cannot open .*watchdog: .*ENOENT/);
  assert.is(dog.state, 'stopped');
  assert.not.ok(fs.existsSync(file));
});

/** A FIFO in a temp dir and a non-blocking reader of what has been written to it so far. */
function fifo() {
  const file = path.join(tempDir('wd'), 'nyinit.ctl');
  execFileSync('mkfifo', [file]);
  const openReader = () => {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const drain = () => {
      const buf = Buffer.alloc(1 << 16);
      let text = '';
      for (;;) {
        let n: number;
        try {
          n = fs.readSync(fd, buf);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
          throw err;
        }
        if (n === 0) break;
        text += buf.subarray(0, n).toString();
      }
      return text;
    };
    return { drain, close: () => fs.closeSync(fd) };
  };
  return { file, openReader };
}

test('HeartbeatWatchdog: "alive" lines to the control FIFO at half the timeout', () => {
  const { file, openReader } = fifo();
  const reader = openReader();
  const clock = new ManualClock();
  const dog = new HeartbeatWatchdog(file, { timers: clock });
  dog.start();
  assert.is(reader.drain(), HEARTBEAT_LINE);
  assert.is(HEARTBEAT_LINE, 'alive\n');
  clock.advance(15_000);
  assert.is(reader.drain(), 'alive\nalive\n');
  dog.stop();
  clock.advance(15_000);
  assert.is(reader.drain(), '', 'stop sends nothing more');
  reader.close();
});

test('HeartbeatWatchdog: with nobody reading, start fails at once instead of blocking', () => {
  const { file } = fifo();
  const dog = new HeartbeatWatchdog(file, { timers: new ManualClock() });
  throwsCode(() => dog.start(), 'EWATCHDOG', /ENXIO/);
  assert.is(dog.state, 'stopped');
});

test('HeartbeatWatchdog: a reader that goes away is reported, and the next pet reconnects', () => {
  const { file, openReader } = fifo();
  let reader = openReader();
  const clock = new ManualClock();
  const errors: string[] = [];
  const dog = new HeartbeatWatchdog(file, { timers: clock, onError: (e) => errors.push(e.message) });
  dog.start();
  assert.is(reader.drain(), 'alive\n');
  reader.close();
  clock.advance(7500); // EPIPE: the write end is closed
  clock.advance(7500); // ENXIO: no reader to reopen to
  assert.is(errors.length, 2);
  assert.match(errors[0]!, /EPIPE/);
  assert.match(errors[1]!, /ENXIO/);
  reader = openReader();
  clock.advance(7500);
  assert.is(reader.drain(), 'alive\n');
  assert.is(dog.state, 'running');
  dog.stop();
  reader.close();
});

test('HeartbeatWatchdog: a full pipe drops heartbeats instead of blocking; they resume once read', () => {
  const { file, openReader } = fifo();
  const reader = openReader();
  const clock = new ManualClock();
  const errors: string[] = [];
  const dog = new HeartbeatWatchdog(file, { timers: clock, timeoutSeconds: 2, onError: (e) => errors.push(e.message) });
  dog.start();
  // A 64 KiB pipe holds ~10,900 heartbeats; nyinit "stuck" for 12,000 of them.
  clock.advance(1000 * 12_000);
  assert.ok(errors.length > 500, `${errors.length} dropped`);
  assert.match(errors[0]!, /EAGAIN/);
  const backlog = reader.drain();
  assert.ok(/^(alive\n)+$/.test(backlog), 'only whole lines went in');
  clock.advance(1000);
  assert.is(reader.drain(), 'alive\n');
  dog.stop();
  reader.close();
});

test('HeartbeatWatchdog: a regular file receives whole lines too', () => {
  const file = path.join(tempDir('wd'), 'ctl');
  fs.writeFileSync(file, 'earlier\n');
  const clock = new ManualClock();
  const dog = new HeartbeatWatchdog(file, { timers: clock });
  dog.start();
  clock.advance(7500);
  dog.stop();
  assert.is(fs.readFileSync(file, 'utf8'), 'earlier\nalive\nalive\n');
});

test('hostDrivers: the fake watchdog behind the Watchdog interface, stopped cleanly by close()', () => {
  const drivers = hostDrivers({ watchdogTimeoutSeconds: 10 });
  const clock = drivers.fakes.timers as ManualClock;
  drivers.watchdog.start(() => true);
  clock.advance(10_000);
  assert.equal(drivers.fakes.watchdog.pets, [0, 5000, 10_000]);
  drivers.close();
  assert.equal(drivers.fakes.watchdog.closes, [true]);
  assert.is(drivers.watchdog.state, 'stopped');
});

test.run();
