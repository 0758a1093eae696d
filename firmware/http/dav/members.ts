/** GET/HEAD, PUT and DELETE of members; MKCOL and MKCALENDAR; COPY and MOVE (RFC 4918 §9.3–9.9). */
import type { TreeView } from '../../store/index.js';
import { readBody } from '../body.js';
import { DavError } from './errors.js';
import type { DeadProperties, DavKind } from './kinds.js';
import { isProtected } from './properties.js';
import { setDeadProperties } from './propfind.js';
import { commit, headerText, readXmlBody, resolveNow, type DavRequest } from './request.js';
import { BRANCH, DAV_PREFIX, PROPS_FILE, readDeadProperties, removeMember, splitParent, writeDeadProperties, type Resource } from './space.js';
import { CALDAV_NS, child, DAV_NS, keyOf, serializeElement } from './xml.js';

export function getMember(request: DavRequest): void {
  const { res, store } = request;
  const view = store?.branch(BRANCH).view();
  const resource = view === undefined ? undefined : resolveNow(request, view);
  if (resource?.type === 'missing' || resource === undefined) throw new DavError(404, 'no such resource');
  if (resource.type !== 'member') throw new DavError(405, 'a collection has no body; use PROPFIND');
  const etag = `"${resource.id}"`;
  if (noneMatch(request, etag)) {
    res.writeHead(304, { etag });
    res.end();
    return;
  }
  const bytes = store!.odb.readTyped(resource.id, 'blob');
  res.writeHead(200, {
    'content-type': resource.kind.mediaType(splitParent(resource.path).name),
    'content-length': bytes.length,
    etag,
    'cache-control': 'no-cache',
  });
  res.end(request.req.method === 'HEAD' ? undefined : bytes);
}

function noneMatch(request: DavRequest, etag: string): boolean {
  const header = request.req.headers['if-none-match'];
  return header !== undefined && (header.trim() === '*' || header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag));
}

/** If-Match and If-None-Match against what is there now (412 when they fail). */
function checkPreconditions(request: DavRequest, current: Resource): void {
  const etag = current.type === 'member' ? `"${current.id}"` : undefined;
  const exists = current.type !== 'missing';
  const ifMatch = request.req.headers['if-match'];
  if (ifMatch !== undefined) {
    const tags = ifMatch.split(',').map((t) => t.trim());
    if (!exists || (!tags.includes('*') && (etag === undefined || !tags.includes(etag)))) throw new DavError(412, 'If-Match: the resource is not in the state expected');
  }
  const ifNoneMatch = request.req.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    const tags = ifNoneMatch.split(',').map((t) => t.trim());
    if ((exists && tags.includes('*')) || (etag !== undefined && tags.includes(etag))) throw new DavError(412, 'If-None-Match: the resource exists');
  }
}

/** The collection of `kind` a new member or collection goes into; 409 when it does not exist (RFC 4918 §9.7.1). */
function parentCollection(view: TreeView, kind: DavKind, path: string, forCollection: boolean): { path: string; dead: DeadProperties; kind: DavKind } {
  const { parent } = splitParent(path);
  const depth = path.split('/').length - 1;
  if (kind.layout === 'collections' && depth !== (forCollection ? 1 : 2)) {
    throw new DavError(409, forCollection ? `collections go directly in ${kind.home}/` : `members go in a collection directly below ${kind.home}/`);
  }
  if (!view.exists(`${parent}/${PROPS_FILE}`)) throw new DavError(409, 'the parent collection does not exist');
  return { path: parent, dead: readDeadProperties(view, parent)[''] ?? {}, kind };
}

export async function putMember(request: DavRequest): Promise<void> {
  const { req, res, target } = request;
  const kind = target.kind;
  if (kind === undefined || target.path.split('/').length < 2) throw new DavError(405, 'PUT goes to a member of a collection');
  if (target.slash) throw new DavError(405, 'cannot PUT to a collection');
  const body = await readBody(req, { maxBytes: kind.maxMemberBytes, timeoutMs: request.limits.bodyTimeoutMs });
  checkMediaType(kind, req.headers['content-type']);
  const created = await commit(request, `PUT ${target.path}`, (view) => {
    const current = resolveNow(request, view);
    if (current.type === 'collection') throw new DavError(405, 'a collection is there');
    checkPreconditions(request, current);
    const parent = parentCollection(view, kind, target.path, false);
    checkMember(request, view, parent, target.path, body);
    view.set(target.path, body);
    return current.type === 'missing';
  });
  // The ETag of what was stored (the branch may have moved on since).
  const [id] = request.store!.odb.hashAll([{ type: 'blob', content: body }]);
  res.writeHead(created ? 201 : 204, { etag: `"${id}"` });
  res.end();
}

/**
 * A member about to be stored at `path`: valid for its kind, and its UID not used by another
 * member (`leaving`: the path of a member that a MOVE takes away, whose UID does not count).
 */
function checkMember(request: DavRequest, view: TreeView, parent: { path: string; dead: DeadProperties; kind: DavKind }, path: string, bytes: Buffer, leaving?: string): void {
  const { kind } = parent;
  const parsed = kind.parse?.(bytes, parent.dead);
  if (parsed?.uid === undefined || kind.uidConflict === undefined) return;
  const { name } = splitParent(path);
  const clash = request.space.index(request.store!, view, parent.path, kind).find((m) => m.parsed?.uid === parsed.uid && m.name !== name && `${parent.path}/${m.name}` !== leaving);
  if (clash !== undefined) throw new DavError(409, `UID ${parsed.uid} is already used by ${clash.name}`, kind.uidConflict);
}

/** The Content-Type of a PUT, when the client sent one, must be one the kind takes (415 otherwise). */
function checkMediaType(kind: DavKind, header: string | undefined): void {
  const type = header?.split(';')[0]!.trim().toLowerCase();
  if (type === undefined || kind.memberTypes === undefined || kind.memberTypes.types.includes(type)) return;
  throw new DavError(415, `members of ${kind.home}/ are ${kind.memberTypes.types.join(' or ')}, not ${type.slice(0, 60)}`, kind.memberTypes.condition);
}

export async function deleteResource(request: DavRequest): Promise<void> {
  await commit(request, `DELETE ${request.target.path}`, (view) => {
    const current = resolveNow(request, view);
    if (current.type === 'missing') throw new DavError(404, 'no such resource');
    if (current.type === 'root' || current.type === 'principal' || current.type === 'home') throw new DavError(403, 'the principal and its homes cannot be deleted');
    checkPreconditions(request, current);
    removeResource(view, current);
  });
  request.res.writeHead(204);
  request.res.end();
}

function removeResource(view: TreeView, resource: Exclude<Resource, { type: 'missing' | 'root' | 'principal' | 'home' }>): void {
  if (resource.type === 'member') removeMember(view, resource.path);
  else view.remove(resource.path);
}

/** MKCOL (with an optional RFC 5689 extended body) and MKCALENDAR (RFC 4791 §5.3.1). */
export async function makeCollection(request: DavRequest, method: string): Promise<void> {
  const { target } = request;
  const kind = target.kind;
  if (kind === undefined || target.path.split('/').length < 2) throw new DavError(405, 'the principal and homes exist already');
  if (method !== 'MKCOL' && !(kind.makeCollectionMethods ?? []).includes(method)) throw new DavError(403, `${method} does not make collections in ${kind.home}/`);
  let body;
  try {
    body = await readXmlBody(request);
  } catch (err) {
    // A MKCOL body that is not XML at all is an unsupported type (RFC 4918 §9.3).
    if (err instanceof DavError && err.status === 400 && method === 'MKCOL') throw new DavError(415, err.message);
    throw err;
  }
  const dead: DeadProperties = {};
  if (body !== undefined) {
    const expected = method === 'MKCOL' ? [DAV_NS, 'mkcol'] : [CALDAV_NS, 'mkcalendar'];
    if (body.ns !== expected[0] || body.name !== expected[1]) throw new DavError(method === 'MKCOL' ? 415 : 400, `expected a ${expected[1]} body`);
    for (const prop of child(body, DAV_NS, 'set')?.children.filter((c) => c.ns === DAV_NS && c.name === 'prop') ?? []) {
      for (const property of prop.children) {
        const key = keyOf(property);
        if (key === '{DAV:}resourcetype') {
          checkResourceType(kind, property.children.map(keyOf));
          continue;
        }
        // supported-calendar-component-set may be given at creation only (RFC 4791 §5.2.3).
        if (isProtected(key) && key !== `{${CALDAV_NS}}supported-calendar-component-set`) throw new DavError(403, `${key} cannot be set`, { ns: DAV_NS, name: 'cannot-modify-protected-property' });
        dead[key] = serializeElement(property);
      }
    }
  }
  await commit(request, `${method} ${target.path}`, (view) => {
    const current = resolveNow(request, view);
    if (current.type !== 'missing') throw new DavError(405, 'something exists there already');
    if (view.exists(target.path)) throw new DavError(405, 'something exists there already');
    parentCollection(view, kind, target.path, true);
    writeDeadProperties(view, target.path, { '': dead });
  });
  request.res.writeHead(201);
  request.res.end();
}

function checkResourceType(kind: DavKind, types: string[]): void {
  const wanted = types.filter((t) => t !== '{DAV:}collection');
  const own = kind.collectionType === undefined ? [] : [`{${kind.collectionType.ns}}${kind.collectionType.name}`];
  if (wanted.some((t) => !own.includes(t))) throw new DavError(403, `collections in ${kind.home}/ are of type ${own.join(' ') || 'collection'}`, { ns: DAV_NS, name: 'valid-resourcetype' });
}

/** COPY and MOVE within the user's space, with Destination, Overwrite and Depth (RFC 4918 §9.8–9.9). */
export async function copyOrMove(request: DavRequest, method: 'COPY' | 'MOVE'): Promise<void> {
  const { req, space, target } = request;
  const destinationHeader = req.headers.destination;
  if (destinationHeader === undefined) throw new DavError(400, 'Destination header missing');
  let destinationUrl: URL;
  try {
    destinationUrl = new URL(destinationHeader, 'http://localhost');
  } catch {
    throw new DavError(400, 'Destination is not a URL');
  }
  if (!destinationUrl.pathname.startsWith(`${DAV_PREFIX}/`)) throw new DavError(502, 'Destination is not on this server', undefined);
  const destination = space.target(destinationUrl.pathname);
  if (destination.user !== target.user || destination.kind === undefined || destination.path.split('/').length < 2) throw new DavError(403, 'Destination must be in your own space, below a home');
  const overwrite = headerText(req.headers.overwrite, 'T').toUpperCase() !== 'F';
  const depth = headerText(req.headers.depth, 'infinity').toLowerCase();
  if (method === 'MOVE' && depth !== 'infinity') throw new DavError(400, 'MOVE of a collection is always Depth: infinity');
  if (depth !== '0' && depth !== 'infinity') throw new DavError(400, `invalid Depth '${depth.slice(0, 20)}' for ${method}`);
  const existed = await commit(request, `${method} ${target.path} ${destination.path}`, (view) => {
    const source = resolveNow(request, view);
    if (source.type === 'missing') throw new DavError(404, 'no such resource');
    if (source.type !== 'member' && source.type !== 'collection') throw new DavError(403, 'the principal and homes cannot be copied or moved');
    if (destination.path === source.path || destination.path.startsWith(`${source.path}/`) || source.path.startsWith(`${destination.path}/`)) {
      throw new DavError(403, 'source and destination overlap');
    }
    const before = space.resolve(destination, view);
    if (before.type !== 'missing' && !overwrite) throw new DavError(412, 'Destination exists and Overwrite is F');
    if (before.type === 'home' || before.type === 'root' || before.type === 'principal') throw new DavError(403, 'cannot replace a home');
    // A whole collection keeps its kind: its members were checked for that kind only.
    if (source.type === 'collection' && destination.kind !== source.kind) throw new DavError(403, `a collection cannot move from ${source.kind.home}/ to ${destination.kind!.home}/`);
    const parent = parentCollection(view, destination.kind!, destination.path, source.type === 'collection');
    if (before.type !== 'missing') removeResource(view, before);
    if (source.type === 'member') {
      const bytes = view.get(source.path)!;
      checkMember(request, view, parent, destination.path, bytes, method === 'MOVE' ? source.path : undefined);
      view.set(destination.path, bytes);
      const dead = readDeadProperties(view, splitParent(source.path).parent)[splitParent(source.path).name] ?? {};
      setDeadProperties(view, { ...source, kind: destination.kind!, path: destination.path }, (own) => Object.assign(own, dead));
    } else {
      if (depth === '0') writeDeadProperties(view, destination.path, { '': readDeadProperties(view, source.path)[''] ?? {} });
      else for (const path of view.walk(source.path)) view.set(`${destination.path}${path.slice(source.path.length)}`, view.get(path)!);
    }
    if (method === 'MOVE') removeResource(view, source);
    return before.type !== 'missing';
  });
  request.res.writeHead(existed ? 204 : 201);
  request.res.end();
}
