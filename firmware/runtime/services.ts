/**
 * The registry of services in the one Node process. Each service starts, stops and reports
 * its health; the registry starts them in order, and when one cannot start (say its port is
 * taken) it stops the ones already running, in reverse, and reports which failed and why.
 */
import { NymoteError, describeError } from './errors.js';
import type { Logger } from './log.js';

export type ServiceState = 'stopped' | 'starting' | 'running' | 'stopping' | 'failed';

export interface ServiceHealth {
  state: ServiceState;
  /** Where it listens, e.g. "127.0.0.1:8080", when it does. */
  listen?: string[];
  detail?: string;
}

export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Addresses and details for /health; the registry adds the state. */
  describe?(): Omit<ServiceHealth, 'state'>;
}

interface Entry {
  service: Service;
  state: ServiceState;
  error?: string;
}

export class ServiceRegistry {
  private readonly entries: Entry[] = [];

  constructor(private readonly log: Logger) {}

  add(service: Service): void {
    if (this.entries.some((e) => e.service.name === service.name)) {
      throw new NymoteError('EDUPSERVICE', `service ${service.name} is registered twice`);
    }
    this.entries.push({ service, state: 'stopped' });
  }

  /** Starts every service in registration order; on a failure, stops the started ones and throws. */
  async startAll(): Promise<void> {
    for (const entry of this.entries) {
      entry.state = 'starting';
      try {
        await entry.service.start();
        entry.state = 'running';
        this.log.info('service started', { svc: entry.service.name });
      } catch (err) {
        entry.state = 'failed';
        entry.error = describeError(err);
        this.log.error('service failed to start', { svc: entry.service.name, error: entry.error });
        await this.stopAll();
        throw err instanceof NymoteError
          ? err
          : new NymoteError('ESERVICE', `service ${entry.service.name} failed to start: ${entry.error}`);
      }
    }
  }

  /** Stops running services in reverse order; one failing stop does not keep the others up. */
  async stopAll(): Promise<void> {
    for (const entry of [...this.entries].reverse()) {
      if (entry.state !== 'running' && entry.state !== 'starting') continue;
      entry.state = 'stopping';
      try {
        await entry.service.stop();
        entry.state = 'stopped';
      } catch (err) {
        entry.state = 'failed';
        entry.error = describeError(err);
        this.log.error('service failed to stop', { svc: entry.service.name, error: entry.error });
      }
    }
  }

  health(): Record<string, ServiceHealth> {
    const report: Record<string, ServiceHealth> = {};
    for (const entry of this.entries) {
      const described = entry.service.describe?.() ?? {};
      report[entry.service.name] = {
        state: entry.state,
        ...described,
        ...(entry.error === undefined ? {} : { detail: entry.error }),
      };
    }
    return report;
  }
}
