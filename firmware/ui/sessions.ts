/**
 * Signed-in browsers. A session is a random id in a cookie (HttpOnly, SameSite=Strict, Secure
 * under TLS), kept in memory only: a restart signs everyone out, and nothing secret is written
 * to disk. Each session has its own CSRF token, which every state change must send back in
 * X-CSRF-Token; a cross-site page can neither read it nor (SameSite) send the cookie.
 * Sessions end after 30 minutes unused or 12 hours in all, at sign-out, and when their user's
 * password changes or the user is removed (the session keeps the user's credential stamp and the
 * caller compares it); at most 1000 live at once (the oldest goes first).
 */
import crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'nymote_session';
export const CSRF_HEADER = 'x-csrf-token';

export interface SessionLimits {
  idleMs: number;
  lifetimeMs: number;
  maxSessions: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { idleMs: 30 * 60_000, lifetimeMs: 12 * 3600_000, maxSessions: 1000 };

export interface Session {
  readonly id: string;
  readonly user: string;
  /** UserDirectory.credentialStamp of the user when they signed in. */
  readonly stamp: string;
  readonly csrf: string;
  readonly created: number;
  lastUsed: number;
}

export class SessionStore {
  // Insertion order is age order: the first entry is the oldest.
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly limits: SessionLimits = DEFAULT_SESSION_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  create(user: string, stamp: string): Session {
    this.sweep();
    while (this.sessions.size >= this.limits.maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
    const now = this.now();
    const session: Session = { id: randomToken(), user, stamp, csrf: randomToken(), created: now, lastUsed: now };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session a request's cookie names (and marks it used), or undefined; `stampOf` gives the user's stamp now. */
  find(req: IncomingMessage, stampOf: (user: string) => string | undefined): Session | undefined {
    const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (id === undefined) return undefined;
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    const now = this.now();
    if (this.expired(session, now) || stampOf(session.user) !== session.stamp) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastUsed = now;
    return session;
  }

  end(session: Session): void {
    this.sessions.delete(session.id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const session of this.sessions.values()) if (this.expired(session, now)) this.sessions.delete(session.id);
  }

  private expired(session: Session, now: number): boolean {
    return now - session.lastUsed > this.limits.idleMs || now - session.created > this.limits.lifetimeMs;
  }
}

/** Whether a request carries its session's CSRF token (compared in constant time). */
export function csrfValid(req: IncomingMessage, session: Session): boolean {
  const sent = req.headers[CSRF_HEADER];
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(session.csrf);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** The Set-Cookie value for a session (`undefined`: one that clears the cookie). */
export function sessionCookie(session: Session | undefined, secure: boolean, limits: SessionLimits = DEFAULT_SESSION_LIMITS): string {
  const attributes = ['Path=/', 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])];
  if (session === undefined) return [`${SESSION_COOKIE}=`, 'Max-Age=0', ...attributes].join('; ');
  return [`${SESSION_COOKIE}=${session.id}`, `Max-Age=${Math.floor(limits.lifetimeMs / 1000)}`, ...attributes].join('; ');
}

function randomToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/** One cookie's value from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length > 8192) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}
