/**
 * The watchdog, three ways behind one interface: DeviceFileWatchdog (/dev/watchdog, for
 * systems without nyinit), HeartbeatWatchdog ("alive" lines to nyinit's control FIFO; the
 * device default) and FakeWatchdog (host; records pets).
 */
export {
  DEFAULT_WATCHDOG_TIMEOUT_SECONDS,
  MIN_WATCHDOG_TIMEOUT_SECONDS,
  type HealthCheck,
  type Watchdog,
  type WatchdogOptions,
  type WatchdogState,
} from './loop.js';
export { DeviceFileWatchdog, DEFAULT_WATCHDOG_DEVICE, MAX_DEVICE_TIMEOUT_SECONDS } from './device-file.js';
export { HeartbeatWatchdog, DEFAULT_CONTROL_FIFO, HEARTBEAT_LINE, MAX_HEARTBEAT_TIMEOUT_SECONDS } from './heartbeat.js';
export { FakeWatchdog } from './fake.js';
