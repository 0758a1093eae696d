/**
 * Who is asking, and may they: authentication for every HTTP route (REST API, git, DAV, UI).
 *
 * - HTTP Basic against the users' scrypt hashes (UserDirectory), and `Authorization: Bearer`
 *   tokens for apps (TokenStore). Credentials are accepted only over TLS or from a loopback
 *   peer (127.0.0.0/8, ::1) on plain HTTP; anyone else on plain HTTP gets 403 "use HTTPS"
 *   before being asked for a password, so no client is ever invited to send one in clear.
 * - scrypt costs ~100 ms (more on a Pi), and git sends the password with every request, so a
 *   successful check is remembered for 5 minutes under an HMAC of user and password with a
 *   key made fresh by each process (the password itself is never kept). Any change to
 *   users.json (password changed, user removed) forgets them all. Concurrent checks of the same
 *   credentials share one scrypt; at most 2 scrypts run at once, 32 wait, more get 503.
 * - Failed attempts are limited per client address (IPv6 by /64) and per user name: the 5th
 *   (per address) or 10th (per user) failure within 15 minutes blocks the address / name for
 *   1 s, and each further failure for twice as long, up to 5 minutes; while blocked the answer is 429 with
 *   Retry-After and no password is checked. A credential already verified (in the cache) still
 *   works for its user during a block, so an attacker cannot lock a signed-in user out.
 *   Both tables are bounded (4096 entries each, oldest dropped first).
 * - Authorisation: a user reaches only their own store (`/api/v1/<user>/…`, `/git/<user>.git`).
 *   `firmware.git` (OTA releases) belongs to the owner: the first user in users.json, i.e. the
 *   one made by the setup prompt at first boot (pass `owner` to use another rule).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { UserDirectory } from '../accounts/index.js';
import type { TokenStore } from '../accounts/tokens.js';
import { expandIpv6, isLoopbackAddress, type Logger } from '../runtime/index.js';
import { sendError } from './respond.js';

export interface Principal {
  user: string;
  via: 'password' | 'token';
  /** The token's name when `via` is 'token'. */
  token?: string;
}

/** What the git smart-HTTP server asks before serving `repo` ('alice' or 'alice.git'). */
export type GitAuthorizer = (req: IncomingMessage, res: ServerResponse, repo: string, access: 'read' | 'write') => Promise<{ user: string } | undefined>;

export const REALM = 'nymote';
export const BASIC_CHALLENGE = `Basic realm="${REALM}", charset="UTF-8"`;
/** The repository of firmware releases (store/firmware.git), the owner's. */
export const FIRMWARE_REPOSITORY = 'firmware';

// ---------------------------------------------------------------------------------------------
// Where credentials may come from

/**
 * Connections that arrive over the Signpost channel from one of the owner's devices, keyed by
 * the connection object that node:http sees as req.socket. The channel authenticated the
 * device (its certificate chains to the owner), so no password is asked on them.
 */
const deviceConnections = new WeakMap<object, string>();

export function markDeviceConnection(connection: object, device: string): void {
  deviceConnections.set(connection, device);
}

/** Whether a connection may carry credentials: TLS, or plain HTTP from this machine. */
export function credentialsAllowed(connection: { encrypted: boolean; remoteAddress: string | undefined }): boolean {
  return connection.encrypted || isLoopbackAddress(connection.remoteAddress);
}

export function connectionOf(req: IncomingMessage): { encrypted: boolean; remoteAddress: string | undefined } {
  return { encrypted: (req.socket as Partial<TLSSocket>).encrypted === true, remoteAddress: req.socket.remoteAddress };
}

/** The key failures of a client address are counted under: the address, or its /64 for IPv6. */
export function clientKey(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  const full = expandIpv6(address);
  return full === undefined ? address : `${full.split(':').slice(0, 4).join(':')}::/64`;
}

// ---------------------------------------------------------------------------------------------
// The Authorization header

export type Credentials =
  | { scheme: 'basic'; user: string; password: string }
  | { scheme: 'bearer'; token: string }
  | { scheme: 'invalid'; reason: string };

/** Parses an Authorization header; undefined when there is none. */
export function parseAuthorization(header: string | undefined): Credentials | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const match = /^\s*([A-Za-z]+)\s+(\S+)\s*$/.exec(header);
  if (match === null) return { scheme: 'invalid', reason: 'malformed Authorization header' };
  const scheme = match[1]!.toLowerCase();
  const value = match[2]!;
  if (scheme === 'bearer') return { scheme: 'bearer', token: value };
  if (scheme !== 'basic') return { scheme: 'invalid', reason: `unsupported authentication scheme '${match[1]!.slice(0, 20)}'` };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return { scheme: 'invalid', reason: 'malformed Basic credentials' };
  // The header is latin1 as node sees it; Basic with charset="UTF-8" carries UTF-8 bytes.
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { scheme: 'invalid', reason: 'malformed Basic credentials' };
  return { scheme: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

// ---------------------------------------------------------------------------------------------
// Failure limiting

export interface BackoffPolicy {
  /** Failures allowed before blocking starts. */
  free: number;
  /** First block; doubled with each further failure. */
  baseMs: number;
  maxMs: number;
  /** Failures older than this (since the last one) are forgotten. */
  forgetMs: number;
  /** Entries kept at most; the least recently failed are dropped first. */
  maxEntries: number;
}

export const ADDRESS_BACKOFF: BackoffPolicy = { free: 5, baseMs: 1000, maxMs: 5 * 60_000, forgetMs: 15 * 60_000, maxEntries: 4096 };
export const USER_BACKOFF: BackoffPolicy = { free: 10, baseMs: 1000, maxMs: 5 * 60_000, forgetMs: 15 * 60_000, maxEntries: 4096 };

/** Counts failures per key with exponential back-off, in bounded memory. */
export class FailureLimiter {
  private readonly entries = new Map<string, { failures: number; last: number; blockedUntil: number }>();

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds `key` must still wait, or 0. */
  blockedFor(key: string): number {
    const entry = this.entries.get(key);
    if (entry === undefined) return 0;
    const now = this.now();
    if (now - entry.last > this.policy.forgetMs) {
      this.entries.delete(key);
      return 0;
    }
    return Math.max(0, entry.blockedUntil - now);
  }

  fail(key: string): void {
    const now = this.now();
    let entry = this.entries.get(key);
    if (entry !== undefined && now - entry.last > this.policy.forgetMs) entry = undefined;
    const failures = (entry?.failures ?? 0) + 1;
    // The `free`-th failure blocks for baseMs, each one after it for twice as long as the last.
    const over = failures - this.policy.free;
    const blockedUntil = over >= 0 ? now + Math.min(this.policy.baseMs * 2 ** Math.min(over, 30), this.policy.maxMs) : 0;
    this.entries.delete(key);
    this.entries.set(key, { failures, last: now, blockedUntil });
    while (this.entries.size > this.policy.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  succeed(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

// ---------------------------------------------------------------------------------------------
// Remembering verified passwords

/** Verified (user, password) pairs for a while, under an HMAC with a per-process key. */
export class VerifiedCache {
  private readonly key = crypto.randomBytes(32);
  private readonly entries = new Map<string, { user: string; expires: number }>();
  private stamp: string | undefined;

  constructor(
    private readonly usersFile: string,
    private readonly ttlMs = 5 * 60_000,
    private readonly maxEntries = 1024,
    private readonly now: () => number = Date.now,
  ) {}

  id(user: string, password: string): string {
    return crypto.createHmac('sha256', this.key).update(`${Buffer.byteLength(user)}:${user}`).update(password).digest('base64');
  }

  has(id: string, user: string): boolean {
    this.checkFile();
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    if (entry.expires <= this.now() || entry.user !== user) {
      this.entries.delete(id);
      return false;
    }
    return true;
  }

  add(id: string, user: string): void {
    this.checkFile();
    this.entries.delete(id);
    this.entries.set(id, { user, expires: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Forgets everything when users.json changed since the entries were made. */
  private checkFile(): void {
    let stamp: string;
    try {
      const s = fs.statSync(this.usersFile);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp !== this.stamp) {
      this.entries.clear();
      this.stamp = stamp;
    }
  }
}

/** At most `limit` tasks at once, `queue` more waiting; beyond that, undefined (busy). */
class Semaphore {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    private readonly queue: number,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T | undefined> {
    if (this.running >= this.limit) {
      if (this.waiting.length >= this.queue) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The authenticator

export type AuthOutcome =
  | { ok: true; principal: Principal }
  | { ok: false; status: 401 | 403 | 429 | 503; code: string; message: string; retryAfterMs?: number; bearer?: boolean };

export interface AuthenticatorOptions {
  users: UserDirectory;
  tokens: TokenStore;
  log?: Logger;
  /** The owner of firmware.git; default: the first user in users.json. */
  owner?: () => string | undefined;
  addressBackoff?: BackoffPolicy;
  userBackoff?: BackoffPolicy;
  cacheTtlMs?: number;
  now?: () => number;
}

export class Authenticator {
  readonly users: UserDirectory;
  readonly tokens: TokenStore;
  private readonly log: Logger | undefined;
  private readonly byAddress: FailureLimiter;
  private readonly byUser: FailureLimiter;
  private readonly verified: VerifiedCache;
  private readonly inFlight = new Map<string, Promise<boolean | undefined>>();
  private readonly scrypt = new Semaphore(2, 32);
  private readonly ownerRule: () => string | undefined;

  constructor(options: AuthenticatorOptions) {
    this.users = options.users;
    this.tokens = options.tokens;
    this.log = options.log;
    const now = options.now ?? Date.now;
    this.byAddress = new FailureLimiter(options.addressBackoff ?? ADDRESS_BACKOFF, now);
    this.byUser = new FailureLimiter(options.userBackoff ?? USER_BACKOFF, now);
    this.verified = new VerifiedCache(options.users.file, options.cacheTtlMs ?? 5 * 60_000, 1024, now);
    this.ownerRule = options.owner ?? (() => this.users.owner());
  }

  /** The owner: may push releases to firmware.git. */
  owner(): string | undefined {
    return this.ownerRule();
  }

  /** The principal behind a request's credentials, or undefined (none, wrong, or not allowed). */
  async authenticate(req: IncomingMessage): Promise<Principal | undefined> {
    const outcome = await this.check(req);
    return outcome.ok ? outcome.principal : undefined;
  }

  /** Checks a request's credentials and says why not, without answering it. */
  async check(req: IncomingMessage): Promise<AuthOutcome> {
    const connection = connectionOf(req);
    if (!credentialsAllowed(connection)) {
      return { ok: false, status: 403, code: 'EINSECURE', message: 'credentials are accepted only over HTTPS; use the https:// address of this device' };
    }
    const credentials = parseAuthorization(req.headers.authorization);
    if (credentials === undefined) return { ok: false, status: 401, code: 'EAUTH', message: 'authentication required' };
    if (credentials.scheme === 'invalid') return { ok: false, status: 401, code: 'EAUTH', message: credentials.reason };
    const address = clientKey(connection.remoteAddress);
    if (credentials.scheme === 'bearer') return this.checkToken(credentials.token, address);
    return this.checkPassword(credentials.user, credentials.password, address);
  }

  /**
   * The principal when the request is authenticated as `forUser` (or as anyone, when
   * `forUser` is undefined); otherwise answers 401/403/429/503 itself and returns undefined.
   */
  async requireUser(req: IncomingMessage, res: ServerResponse, forUser?: string): Promise<Principal | undefined> {
    const outcome = await this.check(req);
    if (!outcome.ok) {
      sendAuthFailure(res, outcome);
      return undefined;
    }
    if (forUser !== undefined && outcome.principal.user !== forUser) {
      sendError(res, 403, 'EFORBIDDEN', `${outcome.principal.user} may not access the data of ${forUser.slice(0, 40)}`);
      return undefined;
    }
    return outcome.principal;
  }

  /** The authoriser the git smart-HTTP server calls: own repository only; firmware.git the owner's. */
  gitAuthorizer(): GitAuthorizer {
    return async (req, res, repo, _access) => {
      const name = repo.endsWith('.git') ? repo.slice(0, -4) : repo;
      const device = deviceConnections.get(req.socket);
      if (device !== undefined) {
        // One of the owner's devices holds a replica of every store it syncs: it reaches any user's.
        if (name !== FIRMWARE_REPOSITORY && this.users.exists(name)) return { user: name };
        sendError(res, 404, 'ENOTFOUND', `no store ${name.slice(0, 40)}.git here (asked by device ${device})`);
        return undefined;
      }
      const principal = await this.requireUser(req, res);
      if (principal === undefined) return undefined;
      const allowed = name === FIRMWARE_REPOSITORY ? principal.user === this.owner() : principal.user === name;
      if (!allowed) {
        sendError(res, 403, 'EFORBIDDEN', `${principal.user} may not access ${name.slice(0, 40)}.git`);
        return undefined;
      }
      return { user: principal.user };
    };
  }

  private checkToken(token: string, address: string): AuthOutcome {
    const wait = this.byAddress.blockedFor(address);
    if (wait > 0) return throttled(wait);
    const found = this.tokens.lookup(token);
    if (found === undefined || !this.users.exists(found.user)) {
      this.byAddress.fail(address);
      this.log?.warn('authentication failed', { via: 'token', client: address });
      return { ok: false, status: 401, code: 'EAUTH', message: 'invalid or revoked token', bearer: true };
    }
    return { ok: true, principal: { user: found.user, via: 'token', token: found.name } };
  }

  /** A user name and password from another protocol (IMAP, SMTP AUTH), under the same limits as HTTP's. */
  checkLogin(user: string, password: string, remoteAddress: string | undefined): Promise<AuthOutcome> {
    return this.checkPassword(user, password, clientKey(remoteAddress));
  }

  private async checkPassword(user: string, password: string, address: string): Promise<AuthOutcome> {
    const id = this.verified.id(user, password);
    // Already verified: no scrypt, and no block applies (this client proved it knows the password).
    if (this.verified.has(id, user)) return { ok: true, principal: { user, via: 'password' } };
    const userKey = user.slice(0, 64);
    const wait = Math.max(this.byAddress.blockedFor(address), this.byUser.blockedFor(userKey));
    if (wait > 0) return throttled(wait);
    let pending = this.inFlight.get(id);
    if (pending === undefined) {
      pending = this.scrypt.run(() => this.users.verify(user, password));
      this.inFlight.set(id, pending);
      void pending.finally(() => this.inFlight.delete(id)).catch(() => undefined);
    }
    const ok = await pending;
    if (ok === undefined) {
      return { ok: false, status: 503, code: 'EBUSY', message: 'too many sign-ins at once; try again shortly', retryAfterMs: 1000 };
    }
    if (!ok) {
      this.byAddress.fail(address);
      this.byUser.fail(userKey);
      this.log?.warn('authentication failed', { via: 'password', user: printable(userKey), client: address });
      return { ok: false, status: 401, code: 'EAUTH', message: 'wrong user name or password' };
    }
    this.verified.add(id, user);
    this.byAddress.succeed(address);
    this.byUser.succeed(userKey);
    return { ok: true, principal: { user, via: 'password' } };
  }
}

function throttled(waitMs: number): AuthOutcome {
  return { ok: false, status: 429, code: 'ETHROTTLED', message: `too many failed sign-ins; try again in ${Math.ceil(waitMs / 1000)} s`, retryAfterMs: waitMs };
}

/** Answers a failed authentication: 401 with the challenge, 403, 429 or 503 with Retry-After. */
export function sendAuthFailure(res: ServerResponse, outcome: Extract<AuthOutcome, { ok: false }>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (outcome.status === 401) {
    const challenges = [BASIC_CHALLENGE];
    if (outcome.bearer === true) challenges.push(`Bearer realm="${REALM}", error="invalid_token"`);
    res.setHeader('www-authenticate', challenges);
  }
  if (outcome.retryAfterMs !== undefined) res.setHeader('retry-after', String(Math.max(1, Math.ceil(outcome.retryAfterMs / 1000))));
  sendError(res, outcome.status, outcome.code, outcome.message);
}

function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}
