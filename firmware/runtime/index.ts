/**
 * The runtime: configuration, logs, the data directory and the registry of services that
 * every other part of the firmware is started from.
 */
import { VERSION } from '../version.js';
import type { RunConfig } from './config.js';
import { LogSink, type Logger } from './log.js';
import { ServiceRegistry, type ServiceHealth } from './services.js';

export { NymoteError, UsageError, describeError } from './errors.js';
export { LogSink, type Logger, type LogLevel, type LogFields } from './log.js';
export { ServiceRegistry, type Service, type ServiceHealth, type ServiceState } from './services.js';
export { PORTS, PORT_NAMES, parsePort, resolvePorts, type Mode, type PortName, type PortMap } from './ports.js';
export { dataDirPath, dataDirLayout, prepareDataDir, eraseDataDir, type DataDir } from './datadir.js';
export { writeFileDurable, withFileLock, fsyncDirectory, readFileIfExists, StagedFiles } from './durable.js';
export { listenTcp, addressOf, bindError } from './listen.js';
export { expandIpv6, isLoopbackAddress } from './addresses.js';
export { defaultListenAddress, type RunConfig, type ConsoleMode } from './config.js';
export { HardwareService, boardHardware, loadBoard, type Board, type HardwareParts } from './hardware.js';
export { DeviceSettings, parseNetwork, formatNetwork, hostnameProblem, timezoneProblem, type NetworkSettings } from './settings.js';

export interface HealthReport {
  status: 'ok' | 'degraded';
  version: string;
  mode: string;
  uptimeSeconds: number;
  services: Record<string, ServiceHealth>;
}

export class Runtime {
  readonly version = VERSION;
  readonly startedAt = Date.now();
  readonly services: ServiceRegistry;
  readonly log: Logger;

  constructor(
    readonly config: RunConfig,
    readonly logSink: LogSink,
  ) {
    this.log = logSink.logger();
    this.services = new ServiceRegistry(this.log.child('runtime'));
  }

  uptimeSeconds(): number {
    return Math.floor((Date.now() - this.startedAt) / 1000);
  }

  health(): HealthReport {
    const services = this.services.health();
    const allRunning = Object.values(services).every((s) => s.state === 'running');
    return {
      status: allRunning ? 'ok' : 'degraded',
      version: this.version,
      mode: this.config.mode,
      uptimeSeconds: this.uptimeSeconds(),
      services,
    };
  }
}
