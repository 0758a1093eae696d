/**
 * The clock driver: SNTP time for a board without a real-time clock, the last known time
 * persisted across boots, and a host fake that only measures. Reached only through
 * firmware/runtime.
 */
import { DeviceClockDriver, type DeviceClockOptions } from './device.js';
import { HostClockDriver } from './host.js';
import type { ClockDriver } from './types.js';

export type { ClockDriver, SyncResult } from './types.js';
export { DeviceClockDriver, type DeviceClockOptions } from './device.js';
export { HostClockDriver } from './host.js';
export { SntpClient, querySntp, parseServerEntry, DEFAULT_NTP_SERVERS, type SntpSample, type SntpClientOptions, type SntpQueryOptions } from './sntp-client.js';
export {
  KissOfDeath,
  NTP_PORT,
  checkServerReply,
  encodeNtpRequest,
  ntpToUnixMs,
  offsetAndDelay,
  parseNtpPacket,
  requestTimestamp,
  sameTimestamp,
  unixMsToNtp,
  type NtpPacket,
  type NtpTimestamp,
} from './ntp-packet.js';
export { isBelievableTime, readPersistedTime, writePersistedTime, restorePersistedTime, type PersistedTime } from './persist.js';
export { busyboxDateSetter, type BusyboxDateOptions } from './set-clock.js';

/** The device driver on a board (it steps the system clock), the fake on a host. */
export function createClockDriver(mode: 'host' | 'device', options: DeviceClockOptions = {}): ClockDriver {
  if (mode === 'device') return new DeviceClockDriver(options);
  const hostOptions: ConstructorParameters<typeof HostClockDriver>[0] = {};
  if (options.servers !== undefined) hostOptions.servers = options.servers;
  if (options.port !== undefined) hostOptions.port = options.port;
  if (options.timeoutMs !== undefined) hostOptions.timeoutMs = options.timeoutMs;
  if (options.log !== undefined) hostOptions.log = options.log;
  return new HostClockDriver(hostOptions);
}
