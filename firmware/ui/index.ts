/**
 * The web UI: a page app (firmware/ui/client, built into the bundle) at /ui/, and its JSON API
 * at /ui/api/ behind a session cookie. GET / sends browsers to /ui/.
 *
 *   POST   /ui/api/session  {user, password}  sign in → {user, owner, csrf}; sets the cookie
 *   GET    /ui/api/session                    who is signed in → {user, owner, csrf}; 401 ESESSION
 *   DELETE /ui/api/session                    sign out
 *   …      /ui/api/<area>/…                   the areas' routes (api/*.ts), signed in only
 *
 * Rules for every API call: passwords only over TLS or from loopback (403 EINSECURE); sign-in
 * failures share the Authenticator's back-off with HTTP Basic, IMAP and SMTP (429 + Retry-After);
 * a state change needs the session's CSRF token (403 ECSRF) and, when the browser names one,
 * this site as its Origin; owner-only routes answer 403 EOWNER to other users.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UserDirectory } from '../accounts/index.js';
import { HttpError, readJsonObject, sendApiError, sendError, sendJson, type Authenticator, type Router } from '../http/index.js';
import { connectionOf, credentialsAllowed } from '../http/auth.js';
import type { HealthReport, Logger } from '../runtime/index.js';
import type { UserStores } from '../store/index.js';
import { UI_API_PREFIX, type UiRequest, type UiRoute } from './api/context.js';
import { calendarRoutes } from './api/calendar.js';
import { contactRoutes } from './api/contacts.js';
import { dashboardRoutes, type DeviceStatus } from './api/dashboard.js';
import { deviceRoutes, PairingSession, type PairingDevice } from './api/devices.js';
import { historyRoutes } from './api/history.js';
import { mailRoutes } from './api/mail.js';
import type { MailStore } from '../apps/mail/index.js';
import { userRoutes } from './api/users.js';
import { UiAssets, defaultAssetsDir, setSecurityHeaders } from './assets.js';
import { csrfValid, sessionCookie, SessionStore, type Session } from './sessions.js';

export { SessionStore, DEFAULT_SESSION_LIMITS, type SessionLimits } from './sessions.js';
export { CONTENT_SECURITY_POLICY } from './assets.js';

export interface UiDeps {
  stores: UserStores;
  users: UserDirectory;
  auth: Authenticator;
  mailOf: (user: string) => Promise<MailStore>;
  health: () => HealthReport;
  /** Storage, update state and the like, for the dashboard. */
  device: DeviceStatus;
  /** The device's Signpost side: paired devices and pairing. */
  signpost: PairingDevice;
  log: Logger;
  /** Default: beside the bundle (defaultAssetsDir). */
  assetsDir?: string;
  sessions?: SessionStore;
}

const LOGIN_BODY = { maxBytes: 4096, timeoutMs: 10_000 };

interface CompiledRoute extends UiRoute {
  segments: string[];
}

export function mountUi(router: Router, deps: UiDeps): void {
  const assets = new UiAssets(deps.assetsDir ?? defaultAssetsDir());
  if (!assets.built) deps.log.warn('the web UI is not built; /ui/ answers 503 (make bundle builds it)', { dir: assets.dir });
  const sessions = deps.sessions ?? new SessionStore();
  const pairing = new PairingSession(deps.signpost, deps.log.child('pairing'));
  const stampOf = (user: string) => deps.users.credentialStamp(user);
  const routes: CompiledRoute[] = [
    ...dashboardRoutes(deps.health, deps.device, deps.signpost),
    ...userRoutes(deps.users, deps.auth),
    ...deviceRoutes(deps.signpost, pairing),
    ...contactRoutes,
    ...calendarRoutes,
    ...mailRoutes(deps.mailOf),
    ...historyRoutes,
  ]
    .map((route) => ({ ...route, segments: route.path.split('/') }))
    .sort((a, b) => specificity(a).localeCompare(specificity(b)));

  router.add(['GET'], '/', (_req, res) => {
    res.writeHead(303, { location: '/ui/', 'content-length': 0 });
    res.end();
  });
  router.add(['GET'], '/ui', (_req, res) => {
    res.writeHead(301, { location: '/ui/', 'content-length': 0 });
    res.end();
  });
  router.add(['GET'], '/ui/*', (req, res, url) => {
    const name = url.pathname === '/ui/' ? 'index.html' : url.pathname.slice('/ui/'.length);
    if (!assets.built) return sendError(res, 503, 'EUNBUILT', 'the web UI is not built on this device');
    if (!assets.serve(req, res, name)) sendError(res, 404, 'ENOTFOUND', 'no such file');
  });
  router.add(['GET', 'POST', 'PUT', 'DELETE'], `${UI_API_PREFIX}/*`, async (req, res, url) => {
    setSecurityHeaders(res);
    const path = url.pathname.slice(UI_API_PREFIX.length + 1);
    try {
      if (path === 'session') return await handleSession(req, res, deps, sessions, stampOf);
      const session = sessions.find(req, stampOf);
      if (session === undefined) throw new HttpError(401, 'ESESSION', 'not signed in, or the session has ended');
      if (req.method !== 'GET') requireSameSite(req, session);
      const matched = matchRoute(routes, req.method ?? '', path);
      if (matched === undefined) throw new HttpError(404, 'ENOTFOUND', 'no such UI API route');
      const owner = deps.auth.owner() === session.user;
      if (matched.route.ownerOnly === true && !owner) throw new HttpError(403, 'EOWNER', "only the device's owner may do this");
      const ui: UiRequest = { req, res, url, user: session.user, owner, store: deps.stores.ensure(session.user), params: matched.params };
      const answer = await matched.route.handler(ui);
      if (!res.headersSent) sendJson(res, 200, answer ?? { ok: true });
    } catch (err) {
      sendApiError(res, err, deps.log, { method: req.method ?? '', path: path.slice(0, 200) });
    }
  });
}

/** Sign in, who am I, sign out. */
async function handleSession(req: IncomingMessage, res: ServerResponse, deps: UiDeps, sessions: SessionStore, stampOf: (user: string) => string | undefined): Promise<void> {
  const secure = connectionOf(req).encrypted;
  if (req.method === 'GET') {
    const session = sessions.find(req, stampOf);
    if (session === undefined) throw new HttpError(401, 'ESESSION', 'not signed in');
    return sendJson(res, 200, describeSession(session, deps));
  }
  if (req.method === 'DELETE') {
    const session = sessions.find(req, stampOf);
    if (session !== undefined) {
      requireSameSite(req, session);
      sessions.end(session);
    }
    res.setHeader('set-cookie', sessionCookie(undefined, secure));
    return sendJson(res, 200, { ok: true });
  }
  if (req.method !== 'POST') throw new HttpError(405, 'EMETHOD', `${req.method} is not allowed here`);
  if (!credentialsAllowed(connectionOf(req))) throw new HttpError(403, 'EINSECURE', 'use HTTPS to sign in');
  const body = await readJsonObject(req, LOGIN_BODY);
  const { user, password } = body;
  if (typeof user !== 'string' || typeof password !== 'string' || user === '' || password === '') {
    throw new HttpError(400, 'EINVAL', 'user and password are required');
  }
  const outcome = await deps.auth.checkLogin(user, password, req.socket.remoteAddress);
  if (!outcome.ok) {
    if (outcome.retryAfterMs !== undefined) res.setHeader('retry-after', String(Math.max(1, Math.ceil(outcome.retryAfterMs / 1000))));
    // 401 would make browsers show their own password dialog only with a challenge; none is sent.
    throw new HttpError(outcome.status, outcome.code, outcome.message);
  }
  const session = sessions.create(outcome.principal.user, stampOf(outcome.principal.user) ?? '');
  res.setHeader('set-cookie', sessionCookie(session, secure));
  deps.log.info('signed in to the web UI', { user: session.user });
  sendJson(res, 200, describeSession(session, deps));
}

function describeSession(session: Session, deps: UiDeps) {
  return { user: session.user, owner: deps.auth.owner() === session.user, csrf: session.csrf };
}

/** A state change must carry the CSRF token and, when the browser sends an Origin, come from this site. */
function requireSameSite(req: IncomingMessage, session: Session): void {
  const origin = req.headers.origin;
  // (An opaque origin, "null", never comes from the UI's own pages.)
  if (origin !== undefined) {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      host = undefined;
    }
    if (host !== req.headers.host) throw new HttpError(403, 'ECSRF', 'this request came from another site');
  }
  if (!csrfValid(req, session)) throw new HttpError(403, 'ECSRF', 'missing or wrong CSRF token; reload the page');
}

function matchRoute(routes: readonly CompiledRoute[], method: string, path: string): { route: UiRoute; params: Record<string, string> } | undefined {
  let segments: string[];
  try {
    segments = path.split('/').map(decodeURIComponent);
  } catch {
    throw new HttpError(400, 'EBADPATH', 'malformed percent-encoding in the path');
  }
  const wanted = method === 'HEAD' ? 'GET' : method;
  for (const route of routes) {
    if (route.method !== wanted || route.segments.length !== segments.length) continue;
    const params = bindParams(route.segments, segments);
    if (params !== undefined) return { route, params };
  }
  return undefined;
}

/** The `:name` values when a route's segments match the path's, else undefined. */
function bindParams(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i]!;
    const have = segments[i]!;
    if (want.startsWith(':') && have !== '') params[want.slice(1)] = have;
    else if (want !== have) return undefined;
  }
  return params;
}

/** Literal segments sort before `:params`, so 'calendar/events' wins over 'calendar/:cal'. */
function specificity(route: CompiledRoute): string {
  return route.segments.map((s) => (s.startsWith(':') ? '1' : '0')).join('');
}
