/**
 * The device's users: names and password hashes in secrets/users.json (0600, never synced,
 * never in git). Every change goes through a lock and a durable atomic write, so the CLI and
 * a running instance can both change it safely; readers reload when the file changes.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NymoteError, withFileLock, writeFileDurable } from '../runtime/index.js';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.js';

export interface UserRecord {
  name: string;
  passwordHash: string;
  created: string;
}

export interface UserSummary {
  name: string;
  created: string;
}

interface UsersFile {
  version: 1;
  users: UserRecord[];
}

/** Names that address something else: `firmware` is the OTA repo (store/firmware.git). */
export const RESERVED_USER_NAMES: ReadonlySet<string> = new Set(['firmware']);
const USER_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

export function userNameProblem(name: string): string | undefined {
  if (!USER_NAME.test(name)) {
    return `invalid user name '${name}': use 1-32 of a-z 0-9 _ -, starting with a letter`;
  }
  if (RESERVED_USER_NAMES.has(name)) return `user name '${name}' is reserved`;
  return undefined;
}

export class UserDirectory {
  readonly file: string;
  private cache: { mtimeMs: number; size: number; users: UserRecord[] } | undefined;

  constructor(secretsDir: string) {
    this.file = path.join(secretsDir, 'users.json');
  }

  list(): UserSummary[] {
    return this.load().map(({ name, created }) => ({ name, created }));
  }

  /** The device's owner: the first user, the one the setup prompt made at first boot. */
  owner(): string | undefined {
    return this.load()[0]?.name;
  }

  exists(name: string): boolean {
    return this.load().some((u) => u.name === name);
  }

  /**
   * A value that changes whenever the user's password does (the hash is salted afresh each
   * time), undefined for no such user: sessions remember it and end when it changes, whoever
   * changed the password (console, CLI or web UI). It reveals nothing about the hash.
   */
  credentialStamp(name: string): string | undefined {
    const user = this.load().find((u) => u.name === name);
    return user === undefined ? undefined : crypto.createHash('sha256').update(`nymote-session\0${user.passwordHash}`).digest('base64url').slice(0, 22);
  }

  async add(name: string, password: string): Promise<void> {
    const problem = userNameProblem(name) ?? passwordProblem(password);
    if (problem !== undefined) throw new NymoteError('EINVAL', problem);
    if (this.exists(name)) throw new NymoteError('EEXIST', `user '${name}' already exists`);
    const passwordHash = await hashPassword(password);
    this.update((users) => {
      if (users.some((u) => u.name === name)) throw new NymoteError('EEXIST', `user '${name}' already exists`);
      return [...users, { name, passwordHash, created: new Date().toISOString() }];
    });
  }

  async setPassword(name: string, password: string): Promise<void> {
    const problem = passwordProblem(password);
    if (problem !== undefined) throw new NymoteError('EINVAL', problem);
    this.require(name);
    const passwordHash = await hashPassword(password);
    this.update((users) => {
      const user = users.find((u) => u.name === name);
      if (user === undefined) throw noSuchUser(name);
      return users.map((u) => (u.name === name ? { ...u, passwordHash } : u));
    });
  }

  remove(name: string): void {
    this.update((users) => {
      if (!users.some((u) => u.name === name)) throw noSuchUser(name);
      return users.filter((u) => u.name !== name);
    });
  }

  /** True only for an existing user with the right password. */
  async verify(name: string, password: string): Promise<boolean> {
    const user = this.load().find((u) => u.name === name);
    // An unknown user costs as much as a known one, so timing does not reveal user names.
    const stored = user?.passwordHash ?? DUMMY_HASH;
    const ok = await verifyPassword(password, stored);
    return ok && user !== undefined;
  }

  private require(name: string): void {
    if (!this.exists(name)) throw noSuchUser(name);
  }

  private load(): UserRecord[] {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    if (this.cache?.mtimeMs === stat.mtimeMs && this.cache.size === stat.size) return this.cache.users;
    const users = parseUsersFile(fs.readFileSync(this.file, 'utf8'), this.file);
    this.cache = { mtimeMs: stat.mtimeMs, size: stat.size, users };
    return users;
  }

  private update(change: (users: UserRecord[]) => UserRecord[]): void {
    withFileLock(this.file, () => {
      this.cache = undefined;
      const next: UsersFile = { version: 1, users: change(this.load()) };
      writeFileDurable(this.file, JSON.stringify(next, null, 2) + '\n', 0o600);
      this.cache = undefined;
    });
  }
}

function noSuchUser(name: string): NymoteError {
  return new NymoteError('ENOUSER', `no user '${name}'`);
}

function parseUsersFile(text: string, file: string): UserRecord[] {
  try {
    const parsed = JSON.parse(text) as Partial<UsersFile>;
    if (parsed.version !== 1 || !Array.isArray(parsed.users)) throw new Error('unknown format');
    return parsed.users.filter(
      (u): u is UserRecord =>
        typeof u?.name === 'string' && typeof u.passwordHash === 'string' && typeof u.created === 'string',
    );
  } catch (err) {
    throw new NymoteError('ECORRUPT', `${file} is not a valid users file: ${(err as Error).message}`);
  }
}

// A well-formed hash of a random password, for constant-cost checks of unknown users.
const DUMMY_HASH = `scrypt$32768$8$1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32, 1).toString('base64')}`;
