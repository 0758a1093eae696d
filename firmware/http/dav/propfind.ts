/** PROPFIND (RFC 4918 §9.1) and PROPPATCH (§9.2). */
import type { TreeView } from '../../store/index.js';
import { DavError } from './errors.js';
import { element, Multistatus, type FoundProperty } from './multistatus.js';
import { findProperties, isProtected, type ExistingResource, type PropertyContext, type PropertyRequest } from './properties.js';
import { commit, depthOf, readXmlBody, type DavRequest } from './request.js';
import { BRANCH, DAV_PREFIX, readDeadProperties, splitParent, writeDeadProperties, type Resource } from './space.js';
import { child, DAV_NS, keyOf, serializeElement, type XmlElement } from './xml.js';

export async function propfind(request: DavRequest): Promise<void> {
  const depth = depthOf(request.req, 'infinity');
  if (depth === 'infinity') throw new DavError(403, 'Depth: infinity is not supported; use 0 or 1', { ns: DAV_NS, name: 'propfind-finite-depth' });
  const body = await readXmlBody(request);
  const properties = propertyRequest(body);
  // One commit for the whole answer: the view and the sync-token agree.
  const head = request.store?.branch(BRANCH).head();
  const view = request.store?.snapshot(head);
  const resource = view === undefined ? ({ type: 'root' } as const) : request.space.resolve(request.target, view);
  if (resource.type === 'missing') throw new DavError(404, 'no such resource');
  const answer = new Multistatus();
  const context = (r: ExistingResource): PropertyContext => ({ space: request.space, store: request.store, view, head, user: request.principal.user, resource: r });
  const add = (r: ExistingResource) => {
    const { found, missing } = findProperties(context(r), properties);
    answer.propstat(hrefOf(request, r), found, new Map([[404, missing]]));
  };
  add(resource);
  if (depth === '1') for (const member of membersOf(request, resource, view)) add(member);
  answer.send(request.res);
}

/** What a PROPFIND body asks for: allprop when there is no body. */
function propertyRequest(body: XmlElement | undefined): PropertyRequest {
  if (body === undefined) return { kind: 'allprop', include: [] };
  if (body.ns !== DAV_NS || body.name !== 'propfind') throw new DavError(400, 'expected a DAV:propfind body');
  if (child(body, DAV_NS, 'propname') !== undefined) return { kind: 'propname' };
  const prop = child(body, DAV_NS, 'prop');
  if (prop !== undefined) return { kind: 'prop', keys: prop.children.map(keyOf) };
  if (child(body, DAV_NS, 'allprop') !== undefined) return { kind: 'allprop', include: child(body, DAV_NS, 'include')?.children.map(keyOf) ?? [] };
  throw new DavError(400, 'DAV:propfind needs prop, allprop or propname');
}

export function hrefOf(request: DavRequest, resource: ExistingResource): string {
  if (resource.type === 'root') return `${DAV_PREFIX}/`;
  if (resource.type === 'principal') return request.space.href(resource.user, '', true);
  return request.space.href(resource.user, resource.path, resource.type !== 'member');
}

/** The children of a collection-like resource. */
export function membersOf(request: DavRequest, resource: ExistingResource, view: TreeView | undefined): ExistingResource[] {
  const { space, store } = request;
  if (resource.type === 'root') return [{ type: 'principal', user: request.principal.user }];
  if (resource.type === 'principal') return space.allKinds().map((kind) => ({ type: 'home', user: resource.user, kind, path: kind.home }));
  if (resource.type === 'member' || view === undefined || store === undefined) return [];
  return space.children(store, view, resource);
}

/** PROPPATCH: every set and remove in document order, all or nothing (RFC 4918 §9.2). */
export async function proppatch(request: DavRequest): Promise<void> {
  const body = await readXmlBody(request);
  if (body === undefined || body.ns !== DAV_NS || body.name !== 'propertyupdate') throw new DavError(400, 'expected a DAV:propertyupdate body');
  const updates: { key: string; value: string | undefined }[] = [];
  for (const action of body.children) {
    if (action.ns !== DAV_NS || (action.name !== 'set' && action.name !== 'remove')) continue;
    for (const prop of action.children.filter((c) => c.ns === DAV_NS && c.name === 'prop')) {
      for (const property of prop.children) updates.push({ key: keyOf(property), value: action.name === 'set' ? serializeElement(property) : undefined });
    }
  }
  const refused = updates.filter((u) => isProtected(u.key)).map((u) => u.key);
  let href = '';
  await commit(request, `PROPPATCH ${request.target.path}`, (view) => {
    const resource = request.space.resolve(request.target, view);
    if (resource.type === 'missing') throw new DavError(404, 'no such resource');
    if (resource.type === 'root' || resource.type === 'principal') throw new DavError(403, 'the properties of the principal cannot be changed');
    href = hrefOf(request, resource);
    if (refused.length > 0) return;
    setDeadProperties(view, resource, (dead) => {
      for (const { key, value } of updates) {
        if (value === undefined) delete dead[key];
        else dead[key] = value;
      }
    });
  });
  const answer = new Multistatus();
  if (refused.length > 0) {
    const others = updates.map((u) => u.key).filter((k) => !refused.includes(k));
    answer.propstat(href, [], new Map([[403, refused], [424, [...new Set(others)]]]));
  } else {
    answer.propstat(href, [...new Set(updates.map((u) => u.key))].map((key): FoundProperty => ({ key, xml: element(key) })));
  }
  answer.send(request.res);
}

/** Changes a resource's own dead properties in a view. */
export function setDeadProperties(view: TreeView, resource: Exclude<Resource, { type: 'missing' | 'root' | 'principal' }>, change: (dead: Record<string, string>) => void): void {
  const { parent, name } = resource.type === 'member' ? splitParent(resource.path) : { parent: resource.path, name: '' };
  const all = readDeadProperties(view, parent);
  const own = { ...(all[name] ?? {}) };
  change(own);
  all[name] = own;
  writeDeadProperties(view, parent, all);
}
