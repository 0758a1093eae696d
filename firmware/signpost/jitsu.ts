/**
 * Jitsu (just-in-time summoning): services declared with the DNS names that lead to them are
 * started on the first lookup of one of those names or on first use, and parked again when
 * idle, giving their memory back. Whatever listens for them (the HTTP server, a port) is bound
 * at boot, so a request that arrives while a service is parked waits for it; it is never
 * refused. A lookup comes just before a connection, so starting then hides the start time.
 */
import type { Logger, Service, ServiceHealth } from '../runtime/index.js';

export interface Summonable {
  readonly name: string;
  /** Names under the zone (first labels, e.g. `_caldavs._tcp`) whose lookup summons it. */
  readonly dnsNames: readonly string[];
  start(): Promise<void>;
  /** Drops what start and use built up; the service must be able to start again. */
  park(): Promise<void>;
}

export type SummonState = 'parked' | 'summoning' | 'running' | 'parking';

interface Entry {
  service: Summonable;
  state: SummonState;
  /** The start in progress, which every waiting request shares. */
  starting?: Promise<void>;
  /** The park in progress: a request that comes meanwhile starts the service again after it. */
  parking?: Promise<void>;
  lastUsed: number;
  summons: number;
}

export interface JitsuOptions {
  /** Parked after this long unused: twice the zone's TTL, so a cached lookup never finds it gone. */
  idleMs: number;
  log: Logger;
}

export class Jitsu implements Service {
  readonly name = 'jitsu';
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: JitsuOptions) {}

  declare(service: Summonable): void {
    this.entries.set(service.name, { service, state: 'parked', lastUsed: 0, summons: 0 });
  }

  async start(): Promise<void> {
    this.timer = setInterval(() => void this.parkIdle(), Math.max(100, Math.min(this.options.idleMs / 4, 60_000)));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const entry of this.entries.values()) if (entry.state === 'running') await this.park(entry);
  }

  /** Before each use: summons the service if needed (waiting for it) and marks it used. */
  async use(name: string): Promise<void> {
    const entry = this.entries.get(name);
    if (entry === undefined) throw new Error(`jitsu: no service '${name}'`);
    entry.lastUsed = Date.now();
    if (entry.state === 'running') return;
    await this.summon(entry);
  }

  /** A DNS question: summons, in the background, the service whose name it is. */
  onQuestion(name: string, zone: string): void {
    for (const entry of this.entries.values()) {
      if (entry.state === 'running' || !entry.service.dnsNames.some((label) => name === `${label}.${zone}`)) continue;
      entry.lastUsed = Date.now();
      void this.summon(entry).catch(() => undefined);
    }
  }

  states(): Record<string, { state: SummonState; summons: number }> {
    return Object.fromEntries([...this.entries].map(([name, e]) => [name, { state: e.state, summons: e.summons }]));
  }

  describe(): Omit<ServiceHealth, 'state'> {
    return { detail: [...this.entries].map(([name, e]) => `${name} ${e.state === 'running' ? 'summoned' : e.state}`).join(', ') };
  }

  private summon(entry: Entry): Promise<void> {
    if (entry.starting !== undefined) return entry.starting;
    const started = Date.now();
    entry.state = 'summoning';
    entry.starting = (entry.parking ?? Promise.resolve())
      .then(() => entry.service.start())
      .then(() => {
        entry.state = 'running';
        entry.summons++;
        this.options.log.info('summoned', { service: entry.service.name, ms: Date.now() - started });
      })
      .catch((error: unknown) => {
        entry.state = 'parked';
        this.options.log.error('summon failed', { service: entry.service.name, error: (error as Error).message });
        throw error;
      })
      .finally(() => (entry.starting = undefined));
    return entry.starting;
  }

  private async parkIdle(): Promise<void> {
    const now = Date.now();
    for (const entry of this.entries.values()) {
      if (entry.state === 'running' && now - entry.lastUsed >= this.options.idleMs) await this.park(entry);
    }
  }

  private async park(entry: Entry): Promise<void> {
    entry.state = 'parking';
    entry.parking = entry.service.park();
    try {
      await entry.parking;
    } finally {
      entry.parking = undefined;
    }
    // A request that came while parking has summoned it again already.
    if (entry.state === 'parking') entry.state = 'parked';
    this.options.log.info('parked', { service: entry.service.name });
  }
}
