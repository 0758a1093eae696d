/**
 * The firmware's door to the hardware, over the drivers' fakes: the LED says booting, the
 * network gets the device's settings, the serial line carries a console (straight into its
 * first command), the watchdog is fed only while the firmware is healthy, and a clean stop
 * closes it without letting it bite.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualClock, hostDrivers, type ClockDriver, type NetworkConfig, type NetworkDriver, type NetworkStatus } from '../../drivers/index.js';
import { Shell, startSession } from '../../firmware/console/index.js';
import { DeviceSettings, HardwareService, LogSink, loadBoard } from '../../firmware/runtime/index.js';
import { tempDir } from '../_lib/tmp.js';

/** A network driver that records what it was asked to configure. */
class RecordingNetwork extends EventEmitter implements NetworkDriver {
  readonly configured: NetworkConfig[] = [];
  stopped = false;
  async configure(config: NetworkConfig): Promise<void> {
    this.configured.push(config);
  }
  status(): NetworkStatus {
    return { iface: 'eth0', mode: 'static', state: 'configured', addresses: [{ iface: 'eth0', address: '192.168.1.20', prefix: 24 }], dns: [] };
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
}

const clock: ClockDriver = {
  start: async () => undefined,
  sync: () => Promise.reject(new Error('no network in this test')),
  stop: async () => undefined,
  now: () => new Date(),
};

test('the hardware service: LED, network from the settings, a console on the serial line, the watchdog fed while healthy', async () => {
  const timers = new ManualClock();
  const drivers = hostDrivers({ timers, watchdogTimeoutSeconds: 10 });
  const network = new RecordingNetwork();
  const settings = new DeviceSettings(tempDir('hardware-config'));
  settings.setNetwork({ mode: 'static', address: '192.168.1.20', prefix: 24, gateway: '192.168.1.1', dns: [] });
  let healthy = true;
  const log = new LogSink({ level: 'error' }).logger();
  const hardware = new HardwareService({ drivers, network, clock, iface: 'eth0' }, settings, log, () => healthy);

  await hardware.start();
  assert.is(drivers.gpio.led.pattern, 'booting');
  assert.equal(network.configured, [{ iface: 'eth0', mode: 'static', address: '192.168.1.20', prefix: 24, gateway: '192.168.1.1', dns: [] }]);
  assert.match(hardware.describe().detail ?? '', /net configured 192\.168\.1\.20\/24, watchdog running/);

  // The console on the serial line, straight into its first command.
  const shell = new Shell();
  shell.add({ name: 'hello', summary: 'greets', run: (_args, io) => io.line('hello from the board') });
  const session = startSession(shell, hardware.console!, { firstCommand: 'hello' });
  const peer = drivers.fakes.serial.peer('host-console')!;
  let seen = '';
  peer.fromDevice.on('data', (chunk: Buffer) => (seen += chunk.toString()));
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.match(seen, /hello from the board/);

  // Fed every half timeout while healthy; starved once not.
  timers.advance(5_000);
  timers.advance(5_000);
  const fedWhileHealthy = drivers.fakes.watchdog.pets.length;
  assert.ok(fedWhileHealthy >= 2, `pets while healthy: ${fedWhileHealthy}`);
  healthy = false;
  timers.advance(5_000);
  timers.advance(5_000);
  assert.is(drivers.fakes.watchdog.pets.length, fedWhileHealthy);

  // Settings changed on the console are applied again; unchanged ones leave the network alone.
  await hardware.applyNetwork();
  assert.is(network.configured.length, 1);
  settings.setNetwork({ mode: 'dhcp' });
  await hardware.applyNetwork();
  assert.equal(network.configured.at(-1), { iface: 'eth0', mode: 'dhcp' });

  hardware.showLed('ready');
  assert.is(drivers.gpio.led.pattern, 'ready');
  await hardware.stop();
  assert.ok(network.stopped);
  assert.is(await session.closed, 'eof');
});

test('a clean stop of a healthy device closes the watchdog with the magic character', async () => {
  const timers = new ManualClock();
  const drivers = hostDrivers({ timers });
  const hardware = new HardwareService({ drivers, network: new RecordingNetwork(), clock, iface: 'eth0' }, new DeviceSettings(tempDir('hardware-config')), new LogSink({ level: 'error' }).logger(), () => true);
  await hardware.start();
  timers.advance(10_000);
  await hardware.stop();
  assert.equal(drivers.fakes.watchdog.closes, [true]);
});

test('the board description: gpio is optional (QEMU has none), a broken one is one clear error', () => {
  const dir = tempDir('board');
  const write = (name: string, value: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(value));
    return file;
  };
  const qemu = loadBoard(write('qemu.json', { name: 'qemu-arm64', console: '/dev/ttyAMA0', watchdog: '/dev/watchdog' }));
  assert.equal(qemu, { name: 'qemu-arm64', console: '/dev/ttyAMA0', watchdog: '/dev/watchdog', iface: 'eth0' });
  const pi = loadBoard(write('pi.json', { name: 'rpi3', console: '/dev/ttyS0', watchdog: '/dev/watchdog', gpio: { led: 47, button: 21 }, iface: 'eth0' }));
  assert.equal(pi.gpio, { led: 47, button: 21 });
  assert.throws(() => loadBoard(path.join(dir, 'missing.json')), /cannot read the board description/);
  assert.throws(() => loadBoard(write('bad.json', { name: 'x', console: '/dev/ttyS0', watchdog: '/dev/watchdog', gpio: { led: 'a' } })), /gpio needs led and button/);
});

test.run();
