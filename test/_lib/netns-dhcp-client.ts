/**
 * Runs the device network driver in DHCP mode inside a network namespace (started with
 * `ip netns exec NS node --import tsx netns-dhcp-client.ts '<json options>'`). It prints one
 * JSON line per status change on stdout, and on SIGTERM stops the driver (releasing the lease)
 * and prints {"stopped":true}. Options: { iface, resolvConfPath, retransmitMs? }.
 */
import { DeviceNetworkDriver } from '../../drivers/network/index.js';
import { LogSink } from '../../firmware/runtime/log.js';

interface ClientOptions {
  iface: string;
  resolvConfPath: string;
  retransmitMs?: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as ClientOptions;
const log = new LogSink({ level: 'debug', stderr: true }).logger().child('dhcp');
const initialMs = options.retransmitMs ?? 1000;
const driver = new DeviceNetworkDriver({
  resolvConfPath: options.resolvConfPath,
  hostname: 'nymote-test',
  dhcp: { retransmit: { initialMs, maxMs: initialMs * 4, jitterMs: initialMs / 10 }, minLeaseRetryMs: 1000, restartDelayMs: 500 },
  log,
});
driver.on('change', (status) => process.stdout.write(JSON.stringify(status) + '\n'));

process.on('SIGTERM', () => {
  void driver.stop().then(() => {
    process.stdout.write(JSON.stringify({ stopped: true }) + '\n');
    process.exit(0);
  });
});

await driver.configure({ iface: options.iface, mode: 'dhcp' });
// Keep the process alive: the client's timers are unref'd, as they are in the firmware.
setInterval(() => {}, 1 << 30);
