/**
 * Periodic sync while the firmware runs: every remote of every user whose `--every` is not 0
 * is synced on its interval (the first time one interval after start). Failures are logged
 * in one line and retried on the next tick; they never stop the service.
 */
import type { UserDirectory } from '../accounts/index.js';
import { describeError, type Logger, type Service } from '../runtime/index.js';
import type { UserStores } from '../store/index.js';
import { Remotes } from './remotes.js';
import { syncRemote, type RemoteTransport } from './sync.js';

/** How often the list of remotes is re-read, so remotes added by the CLI are picked up. */
const RESCAN_MS = 60_000;

export class SyncService implements Service {
  readonly name = 'sync';
  private readonly lastSync = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private startedAt = 0;
  private remoteCache: { at: number; due: { user: string; remote: string; everyMs: number }[] } | undefined;

  constructor(
    private readonly users: UserDirectory,
    private readonly stores: UserStores,
    private readonly secretsDir: string,
    private readonly log: Logger,
    private readonly tickMs = 1000,
    private readonly transport?: RemoteTransport,
  ) {}

  async start(): Promise<void> {
    this.startedAt = Date.now();
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    while (this.busy) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  describe() {
    return { detail: `${this.lastSync.size} remotes synced` };
  }

  private async dueRemotes() {
    if (this.remoteCache !== undefined && Date.now() - this.remoteCache.at < RESCAN_MS) return this.remoteCache.due;
    const due: { user: string; remote: string; everyMs: number }[] = [];
    for (const { name: user } of this.users.list()) {
      const store = this.stores.get(user);
      for (const remote of await new Remotes(store.gitDir, this.secretsDir, user).list()) {
        if (remote.syncEverySeconds > 0) due.push({ user, remote: remote.name, everyMs: remote.syncEverySeconds * 1000 });
      }
    }
    this.remoteCache = { at: Date.now(), due };
    return due;
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const { user, remote, everyMs } of await this.dueRemotes()) {
        if (this.timer === undefined) break;
        const key = `${user}/${remote}`;
        if (Date.now() - (this.lastSync.get(key) ?? this.startedAt) < everyMs) continue;
        this.lastSync.set(key, Date.now());
        try {
          const store = this.stores.get(user);
          const result = await syncRemote(store, new Remotes(store.gitDir, this.secretsDir, user), remote, 'main', this.transport);
          this.log.info('synced', { user, remote, merge: result.merge, conflicts: result.conflicts.length, pushed: result.pushed });
        } catch (err) {
          this.log.warn('sync failed', { user, remote, error: describeError(err) });
        }
      }
    } catch (err) {
      this.log.warn('sync scan failed', { error: describeError(err) });
    } finally {
      this.busy = false;
    }
  }
}
