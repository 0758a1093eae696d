import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BoardGpio,
  ButtonWatcher,
  FakePins,
  ManualClock,
  OnoffPins,
  PATTERN_STEPS,
  PatternPlayer,
  resolveSysfsNumber,
  type ButtonEvent,
  type PinLevel,
} from '../../drivers/gpio/index.js';
import { hostDrivers } from '../../drivers/index.js';
import { NymoteError } from '../../firmware/runtime/errors.js';
import { tempDir } from '../_lib/tmp.js';

function setup() {
  const clock = new ManualClock();
  const pins = new FakePins(() => clock.now());
  return { clock, pins };
}

/** The LED's writes as [time, level] pairs, for comparing whole timelines. */
const timeline = (pins: FakePins, line: number) => pins.pin(line).writes.map((w) => [w.at, w.level]);

test('LED patterns: booting blinks slowly, updating fast, ready is steady, error flashes twice', () => {
  const { clock, pins } = setup();
  const led = new PatternPlayer(pins.output(7), clock);
  assert.equal(timeline(pins, 7), [[0, 0]]);

  led.show('booting');
  clock.advance(2000);
  assert.equal(timeline(pins, 7).slice(1), [[0, 1], [500, 0], [1000, 1], [1500, 0], [2000, 1]]);

  pins.pin(7).writes.length = 0;
  led.show('updating');
  clock.advance(400);
  assert.equal(timeline(pins, 7), [[2000, 1], [2100, 0], [2200, 1], [2300, 0], [2400, 1]]);

  pins.pin(7).writes.length = 0;
  led.show('ready');
  clock.advance(10_000);
  assert.equal(timeline(pins, 7), [[2400, 1]], 'steady on: one write, no timer');
  assert.is(clock.pendingCount, 0);

  pins.pin(7).writes.length = 0;
  led.show('error');
  clock.advance(2500);
  // on 150, off 150, on 150, off 800: a 1250 ms cycle with two flashes.
  assert.equal(timeline(pins, 7).map(([at, level]) => [at! - 12_400, level]), [
    [0, 1], [150, 0], [300, 1], [450, 0], [1250, 1], [1400, 0], [1550, 1], [1700, 0], [2500, 1],
  ]);
  assert.is(led.pattern, 'error');
});

test('LED: a new pattern cancels the old one; showing the same pattern does not restart it; close turns it off', () => {
  const { clock, pins } = setup();
  const led = new PatternPlayer(pins.output(3), clock);
  led.show('booting');
  clock.advance(250);
  led.show('booting');
  clock.advance(250);
  assert.equal(timeline(pins, 3), [[0, 0], [0, 1], [500, 0]], 'the same pattern keeps its phase');
  led.show('updating');
  assert.is(clock.pendingCount, 1, 'exactly one timer: the old pattern is cancelled');
  led.close();
  assert.is(clock.pendingCount, 0);
  assert.is(pins.pin(3).level, 0);
  assert.ok(pins.pin(3).closed);
  const writes = pins.pin(3).writes.length;
  led.show('ready');
  clock.advance(1000);
  assert.is(pins.pin(3).writes.length, writes, 'a closed LED stays dark');
  for (const steps of Object.values(PATTERN_STEPS)) assert.ok(steps.length >= 1);
});

function buttonOn(line = 4, options: { debounceMs?: number; longPressMs?: number } = {}) {
  const { clock, pins } = setup();
  const events: Array<[number, ButtonEvent]> = [];
  const watcher = new ButtonWatcher(pins.input(line), (e) => events.push([clock.now(), e]), { ...options, timers: clock });
  const pin = pins.pin(line);
  /** Edges at given times (ms from now): [delay, level] pairs, like a bouncing contact. */
  const edges = (...steps: Array<[number, PinLevel]>) => {
    for (const [delay, level] of steps) {
      clock.advance(delay);
      pin.set(level);
    }
  };
  return { clock, pin, events, watcher, edges };
}

test('button: a short, bouncing press is one status event, on release', () => {
  const { clock, events, edges } = buttonOn();
  edges([0, 1], [2, 0], [3, 1], [4, 0], [1, 1]); // bounce for 10 ms, then held
  clock.advance(300);
  assert.equal(events, [], 'nothing while held');
  edges([0, 0], [5, 1], [5, 0]); // release, bouncing
  clock.advance(49);
  assert.equal(events, [], 'still settling');
  clock.advance(1);
  assert.equal(events, [[370, 'status']]); // last edge at 320 + 50 ms quiet
  clock.advance(20_000);
  assert.equal(events.length, 1);
});

test('button: a glitch shorter than the debounce time is ignored', () => {
  const { clock, events, edges } = buttonOn();
  edges([0, 1], [20, 0]);
  clock.advance(1000);
  edges([0, 1], [49, 0]);
  clock.advance(20_000);
  assert.equal(events, []);
});

test('button: held 10 s is a factory-reset request, fired while held, and its release is not a status', () => {
  const { clock, events, edges } = buttonOn();
  edges([0, 1]);
  clock.advance(9_999);
  assert.equal(events, []);
  clock.advance(1);
  assert.equal(events, [[10_000, 'factory-reset-request']]);
  clock.advance(5_000);
  edges([0, 0]);
  clock.advance(100);
  assert.equal(events, [[10_000, 'factory-reset-request']]);
  // The next short press works as usual.
  edges([0, 1], [200, 0]);
  clock.advance(100);
  assert.equal(events.map((e) => e[1]), ['factory-reset-request', 'status']);
});

test('button: released at 9.9 s is only a status; a bounce mid-hold does not restart the 10 s', () => {
  const { clock, events, edges } = buttonOn();
  edges([0, 1], [9_900, 0]);
  clock.advance(60);
  assert.equal(events, [[9_950, 'status']]);

  events.length = 0;
  const start = clock.now();
  edges([0, 1], [4_000, 0], [3, 1]); // a 3 ms bounce four seconds in
  clock.advance(6_000);
  assert.equal(events, [[start + 10_000, 'factory-reset-request']]);
});

test('button: held down while the firmware starts is not a press until released', () => {
  const { clock, pins } = setup();
  pins.pin(9).set(1);
  const events: ButtonEvent[] = [];
  new ButtonWatcher(pins.input(9), (e) => events.push(e), { timers: clock });
  clock.advance(20_000);
  pins.pin(9).set(0);
  clock.advance(100);
  assert.equal(events, []);
  pins.pin(9).set(1);
  clock.advance(100);
  pins.pin(9).set(0);
  clock.advance(100);
  assert.equal(events, ['status']);
});

test('button: after close, edges do nothing and timers are cleared', () => {
  const { clock, events, edges, watcher, pin } = buttonOn();
  edges([0, 1]);
  clock.advance(100);
  watcher.close();
  assert.is(clock.pendingCount, 0);
  assert.ok(pin.closed);
  edges([0, 0], [0, 1]);
  clock.advance(20_000);
  assert.equal(events, []);
});

test('BoardGpio wires LED and button from the board map; listeners can unsubscribe', () => {
  const { clock, pins } = setup();
  const gpio = new BoardGpio(pins, { led: 17, button: 27 }, { timers: clock });
  const seen: ButtonEvent[] = [];
  const off = gpio.onButton((e) => seen.push(e));
  gpio.led.show('ready');
  assert.is(pins.pin(17).level, 1);
  pins.pin(27).set(1);
  clock.advance(200);
  pins.pin(27).set(0);
  clock.advance(100);
  assert.equal(seen, ['status']);
  off();
  pins.pin(27).set(1);
  clock.advance(200);
  pins.pin(27).set(0);
  clock.advance(100);
  assert.equal(seen, ['status']);
  gpio.close();
  assert.ok(pins.pin(17).closed && pins.pin(27).closed);
  assert.is(pins.pin(17).level, 0);
});

test('hostDrivers: fake pins driven through the GPIO interface', () => {
  const drivers = hostDrivers();
  const clock = drivers.fakes.timers as ManualClock;
  const seen: ButtonEvent[] = [];
  drivers.gpio.onButton((e) => seen.push(e));
  drivers.fakes.pins.pin(1).set(1);
  clock.advance(10_100);
  assert.equal(seen, ['factory-reset-request']);
  drivers.gpio.led.show('booting');
  clock.advance(500);
  assert.equal(drivers.fakes.pins.pin(0).writes.map((w) => w.level), [0, 1, 0]);
  drivers.close();
});

/** A fake /sys/class/gpio listing: gpiochip directories with label, base, ngpio. */
function fakeSysfs(chips: Array<{ base: number; label: string; ngpio: number }>): string {
  const root = tempDir('gpio');
  for (const chip of chips) {
    const dir = path.join(root, `gpiochip${chip.base}`);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'label'), chip.label + '\n');
    fs.writeFileSync(path.join(dir, 'base'), `${chip.base}\n`);
    fs.writeFileSync(path.join(dir, 'ngpio'), `${chip.ngpio}\n`);
  }
  fs.writeFileSync(path.join(root, 'export'), '');
  return root;
}

test('sysfs numbers: board lines are offsets on the chip, whose base is dynamic on new kernels', () => {
  // A Raspberry Pi on Linux ≥ 6.6: the SoC's chip at 512, the firmware expander above it.
  const root = fakeSysfs([{ base: 570, label: 'raspberrypi-exp-gpio', ngpio: 8 }, { base: 512, label: 'pinctrl-bcm2835', ngpio: 54 }]);
  assert.is(resolveSysfsNumber(17, { sysfsRoot: root }), 529, 'default: the chip with the lowest base');
  assert.is(resolveSysfsNumber(17, { sysfsRoot: root, chip: 'pinctrl-bcm2835' }), 529);
  assert.is(resolveSysfsNumber(2, { sysfsRoot: root, chip: 'raspberrypi-exp-gpio' }), 572);
  const failsWith = (fn: () => unknown, pattern: RegExp) => {
    try {
      fn();
    } catch (err) {
      assert.instance(err, NymoteError);
      assert.is((err as NymoteError).code, 'EGPIO');
      assert.match((err as Error).message, pattern);
      return;
    }
    assert.unreachable('expected an EGPIO error');
  };
  failsWith(() => resolveSysfsNumber(54, { sysfsRoot: root }), /beyond chip pinctrl-bcm2835/);
  failsWith(() => resolveSysfsNumber(1, { sysfsRoot: root, chip: 'nope' }), /no GPIO chip labelled nope \(have: pinctrl-bcm2835, raspberrypi-exp-gpio\)/);
  failsWith(() => resolveSysfsNumber(-1, { sysfsRoot: root }), /not a line number/);
  failsWith(() => resolveSysfsNumber(1, { sysfsRoot: path.join(root, 'missing') }), /no GPIO chips/);
});

test('a button line that cannot be watched leaves the LED working and is reported, not thrown', () => {
  const clock = new ManualClock();
  const pins = new FakePins(() => clock.now());
  const noEdges = { output: pins.output.bind(pins), input: () => { throw new Error('gpio192/edge: ENOENT'); } };
  const errors: NymoteError[] = [];
  const gpio = new BoardGpio(noEdges, { led: 0, button: 1 }, { timers: clock, onError: (err) => errors.push(err) });
  gpio.led.show('ready');
  assert.is(pins.pin(0).level, 1);
  assert.is(errors.length, 1);
  assert.is(errors[0]!.code, 'EGPIO');
  assert.match(errors[0]!.message, /the button on line 1 cannot be watched: gpio192\/edge: ENOENT/);
  gpio.close();
});

// Real onoff needs the kernel's GPIO sysfs. gpio-mockup provides a chip to test against when the
// kernel can load it; otherwise the real path is tested only as far as the missing sysfs allows.
function mockupChip(): { base: number; ngpio: number; debugfs: string } | undefined {
  if (!fs.existsSync('/sys/class/gpio')) {
    try {
      execFileSync('modprobe', ['gpio-mockup', 'gpio_mockup_ranges=-1,8'], { stdio: 'ignore' });
    } catch {
      return undefined;
    }
  }
  const chips = (() => {
    try {
      return fs.readdirSync('/sys/class/gpio').filter((n) => n.startsWith('gpiochip'));
    } catch {
      return [];
    }
  })();
  for (const name of chips) {
    const label = fs.readFileSync(`/sys/class/gpio/${name}/label`, 'utf8').trim();
    if (!label.startsWith('gpio-mockup')) continue;
    const base = Number(fs.readFileSync(`/sys/class/gpio/${name}/base`, 'utf8'));
    const ngpio = Number(fs.readFileSync(`/sys/class/gpio/${name}/ngpio`, 'utf8'));
    // gpio-mockup's debugfs names the chip by its gpiolib device (gpiochipN, N = device index).
    const debugRoot = '/sys/kernel/debug/gpio-mockup';
    const debugfs = fs.existsSync(debugRoot) ? fs.readdirSync(debugRoot).map((d) => path.join(debugRoot, d))[0] : undefined;
    if (debugfs !== undefined) return { base, ngpio, debugfs };
  }
  return undefined;
}

const mockup = mockupChip();
if (mockup === undefined) {
  console.log('drivers-gpio: SKIPPED the real onoff LED/button test: no gpio-mockup chip (the kernel has no GPIO sysfs and cannot load gpio-mockup, or debugfs is not mounted)');
  test('OnoffPins loads onoff and its epoll addon; without GPIO sysfs a pin fails as one EGPIO line', async () => {
    const pins = await OnoffPins.open();
    try {
      pins.output(17);
      assert.unreachable('opened a pin without GPIO sysfs');
    } catch (err) {
      assert.instance(err, NymoteError);
      assert.is((err as NymoteError).code, 'EGPIO');
      assert.match((err as Error).message, /^no GPIO chips in \/sys\/class\/gpio/);
      assert.not.match((err as Error).message, /\n/);
    }
  });
} else {
  test('real onoff against gpio-mockup: the LED drives a line, the button sees pulled edges', async () => {
    const { base, debugfs } = mockup;
    const pins = await OnoffPins.open({ chip: fs.readFileSync(`/sys/class/gpio/gpiochip${base}/label`, 'utf8').trim() });
    const gpio = new BoardGpio(pins, { led: 0, button: 1, buttonActiveLow: false }, { debounceMs: 20, longPressMs: 60_000 });
    try {
      gpio.led.show('ready');
      assert.is(fs.readFileSync(`/sys/class/gpio/gpio${base}/value`, 'utf8').trim(), '1');
      gpio.led.show('off');
      assert.is(fs.readFileSync(`/sys/class/gpio/gpio${base}/value`, 'utf8').trim(), '0');
      const seen: ButtonEvent[] = [];
      gpio.onButton((e) => seen.push(e));
      // Writing to gpio-mockup's debugfs file for a line pulls it up or down, as a button would.
      fs.writeFileSync(path.join(debugfs, '1'), '1');
      await new Promise((r) => setTimeout(r, 100));
      fs.writeFileSync(path.join(debugfs, '1'), '0');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(seen, ['status']);
    } finally {
      gpio.close();
    }
  });
}

test.run();
