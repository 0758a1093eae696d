/**
 * WebDAV (RFC 4918) on the store, with the kinds apps plug in: CalDAV (apps/calendar),
 * CardDAV (apps/contacts) and plain files. Every request is authenticated; a user reaches
 * only their own space. Each change is one commit; ETags are blob ids, sync tokens commits.
 * RFC 6764 discovery: /.well-known/caldav and /.well-known/carddav redirect to /dav/.
 * Not served: locks (class 2), ACL changes, scheduling inbox/outbox.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError, type Logger } from '../../runtime/index.js';
import { StoreError, type UserStores } from '../../store/index.js';
import type { Authenticator } from '../auth.js';
import { HttpError, sendHttpError } from '../body.js';
import type { Handler, Router } from '../router.js';
import { DavError, sendDavError, type Condition } from './errors.js';
import type { DavKind } from './kinds.js';
import { copyOrMove, deleteResource, getMember, makeCollection, putMember } from './members.js';
import { propfind, proppatch } from './propfind.js';
import { report } from './reports.js';
import { DEFAULT_DAV_LIMITS, ensureHomes, type DavLimits, type DavRequest } from './request.js';
import { DAV_PREFIX, DavSpace } from './space.js';

export { DavError, type Condition } from './errors.js';
export type { DavKind, DeadProperties, IndexedMember, ParsedMember, ReportContext, ReportOutcome } from './kinds.js';
export { queryOutcome } from './reports.js';
export { filesKind } from './files.js';
export { DAV_PREFIX, PROPS_FILE, collectionDisplayName, collectionNames, makeHome, readDeadProperties, removeMember, writeDeadProperties } from './space.js';
export * from './xml.js';

export interface DavDeps {
  stores: UserStores;
  auth: Authenticator;
  log: Logger;
  kinds: readonly DavKind[];
  limits?: Partial<DavLimits>;
  /** Awaited before each request (Jitsu summons the app here when it is parked). */
  beforeRequest?: () => Promise<void>;
}

/** The mounted DAV app: parking drops every cached index and parsed object. */
export interface DavApp {
  park(): void;
}

/** What DNS advertises for discovery (RFC 6764): CalDAV and CardDAV, plain and over TLS. */
export function davDiscovery(ports: { http: number; https: number }): { srv: string; port: number; txt: string[] }[] {
  const txt = [`path=${DAV_PREFIX}/`];
  return [
    { srv: '_caldav._tcp', port: ports.http, txt },
    { srv: '_caldavs._tcp', port: ports.https, txt },
    { srv: '_carddav._tcp', port: ports.http, txt },
    { srv: '_carddavs._tcp', port: ports.https, txt },
  ];
}

const METHODS = ['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'MKCALENDAR', 'COPY', 'MOVE', 'REPORT'];
const DAV_CLASSES = '1, 3, extended-mkcol, calendar-access, addressbook';

export function mountDav(router: Router, deps: DavDeps): DavApp {
  let space = new DavSpace(deps.kinds);
  const limits = { ...DEFAULT_DAV_LIMITS, ...deps.limits };
  router.add(METHODS, `${DAV_PREFIX}/*`, async (req, res, url) => {
    await deps.beforeRequest?.();
    return handleDav(req, res, url, deps, space, limits);
  });
  const toDav: Handler = (_req, res) => {
    res.writeHead(301, { location: `${DAV_PREFIX}/`, 'content-length': 0 });
    res.end();
  };
  for (const name of ['caldav', 'carddav']) router.add(['GET', 'HEAD', 'PROPFIND', 'OPTIONS'], `/.well-known/${name}`, toDav);
  // Clients given only the server's address (vdirsyncer, DAVx5) ask its root first.
  router.add('PROPFIND', '/', toDav);
  return {
    park: () => {
      space = new DavSpace(deps.kinds);
    },
  };
}

async function handleDav(req: IncomingMessage, res: ServerResponse, url: URL, deps: DavDeps, space: DavSpace, limits: DavLimits): Promise<void> {
  const method = req.method ?? '';
  try {
    if (method === 'OPTIONS') {
      res.writeHead(200, { allow: METHODS.join(', '), dav: DAV_CLASSES, 'content-length': 0 });
      res.end();
      return;
    }
    // A fragment is the client's business; one sent in the request target is an error, not ignored.
    if ((req.url ?? '').includes('#')) throw new DavError(400, 'a request target must not carry a fragment');
    const target = space.target(url.pathname);
    const principal = await deps.auth.requireUser(req, res, target.user);
    if (principal === undefined) return;
    const store = target.user === undefined ? undefined : deps.stores.get(target.user);
    const request: DavRequest = { req, res, url, space, target, principal, store, limits, log: deps.log };
    await ensureHomes(request);
    switch (method) {
      case 'PROPFIND':
        return await propfind(request);
      case 'PROPPATCH':
        return await proppatch(request);
      case 'GET':
      case 'HEAD':
        return getMember(request);
      case 'PUT':
        return await putMember(request);
      case 'DELETE':
        return await deleteResource(request);
      case 'MKCOL':
      case 'MKCALENDAR':
        return await makeCollection(request, method);
      case 'COPY':
      case 'MOVE':
        return await copyOrMove(request, method);
      case 'REPORT':
        return await report(request);
      default:
        throw new DavError(405, `${method} is not supported`);
    }
  } catch (err) {
    if (err instanceof DavError) return sendDavError(res, err);
    // A body that is too big, too slow or cut off: a DAV error, with the kind's size precondition for a 413.
    if (err instanceof HttpError) return sendHttpError(res, err, (r, e) => sendDavError(r, new DavError(e.status, e.message, e.status === 413 ? sizeCondition(space, url) : undefined)));
    if (err instanceof StoreError) return sendDavError(res, storeErrorToDav(err));
    deps.log.error('dav request failed', { method, path: url.pathname.slice(0, 200), error: describeError(err) });
    sendDavError(res, new DavError(500, 'internal error'));
  }
}

/** max-resource-size in the namespace of the kind the request went to (C: or CR:), if any. */
function sizeCondition(space: DavSpace, url: URL): Condition | undefined {
  try {
    const ns = space.target(url.pathname).kind?.collectionType?.ns;
    return ns === undefined ? undefined : { ns, name: 'max-resource-size' };
  } catch {
    return undefined;
  }
}

function storeErrorToDav(err: StoreError): DavError {
  const status = err.code === 'ETOOBIG' ? 413 : err.code === 'EBADPATH' ? 400 : err.code === 'ENOTFOUND' ? 404 : err.code === 'ECONFLICT' ? 409 : 500;
  return new DavError(status, err.message);
}
