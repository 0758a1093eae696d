/**
 * The stores of a data directory: store/<user>.git for each user and store/firmware.git for
 * releases, opened on first use and kept open (their caches are the point), closed together.
 */
import path from 'node:path';
import { StoreError } from './errors.js';
import { ensureRepository, isRepository } from './repo.js';
import { Store, type StoreOptions } from './store.js';

export const FIRMWARE_REPO = 'firmware';

export class UserStores {
  private readonly open = new Map<string, Store>();

  constructor(
    readonly storeDir: string,
    private readonly options: StoreOptions = {},
  ) {}

  gitDirOf(name: string): string {
    return path.join(this.storeDir, `${name}.git`);
  }

  /** The store of a user (or `firmware`), which must exist: made by `user add`. */
  get(name: string): Store {
    const existing = this.open.get(name);
    if (existing !== undefined) return existing;
    const gitDir = this.gitDirOf(name);
    if (!/^[a-z][a-z0-9_-]{0,31}$/.test(name) || !isRepository(gitDir)) {
      throw new StoreError('ENOTFOUND', `no store for '${name.slice(0, 40)}'`);
    }
    const store = Store.open(gitDir, this.options);
    this.open.set(name, store);
    return store;
  }

  /** The store of a user, made if it does not exist yet. */
  ensure(name: string): Store {
    ensureRepository(this.gitDirOf(name));
    return this.get(name);
  }

  /** Waits for queued writes and closes every open store. */
  async closeAll(): Promise<void> {
    const stores = [...this.open.values()];
    this.open.clear();
    await Promise.all(stores.map((s) => s.close()));
  }
}
