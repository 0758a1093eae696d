/**
 * Properties of a resource: the live ones computed here (from the store: ETag = blob id,
 * CTag = the collection's tree id, sync-token = the head commit) and the dead ones clients
 * set with PROPPATCH, kept in the collection's `.props.json`.
 */
import os from 'node:os';
import type { ObjectId, Store, TreeView } from '../../store/index.js';
import type { DeadProperties } from './kinds.js';
import { element, hrefElement, type FoundProperty } from './multistatus.js';
import { DAV_PREFIX, readDeadProperties, splitParent, treeIdOf, type DavSpace, type Resource } from './space.js';
import { CALDAV_NS, CALSERVER_NS, clark, DAV_NS, escapeXml } from './xml.js';

export const SYNC_TOKEN_PREFIX = 'http://nymote.org/ns/sync/';

export type ExistingResource = Exclude<Resource, { type: 'missing' }>;

export interface PropertyContext {
  space: DavSpace;
  store: Store | undefined;
  view: TreeView | undefined;
  /** The commit the view shows. */
  head: ObjectId | undefined;
  /** The authenticated user. */
  user: string;
  resource: ExistingResource;
}

interface LiveProperty {
  /** Inner XML, or undefined when the resource has no such property. */
  value(context: PropertyContext): string | undefined;
  /** Part of an allprop answer (RFC 4918 §9.1: expensive or derived ones are left out). */
  allprop: boolean;
}

const d = (name: string) => clark(DAV_NS, name);

function principalHref(context: PropertyContext, user: string): string {
  return hrefElement(context.space.href(user, '', true));
}

/** The user whose space the resource is in (the root belongs to whoever asks). */
function ownerOf(context: PropertyContext): string {
  return context.resource.type === 'root' ? context.user : context.resource.user;
}

function treeEtag(context: PropertyContext): string | undefined {
  const { store, view, resource } = context;
  if (store === undefined || view === undefined || !('path' in resource)) return undefined;
  const tree = treeIdOf(store, view, resource.path);
  return tree === undefined ? undefined : `"${tree}"`;
}

const LIVE: Record<string, LiveProperty> = {
  [d('resourcetype')]: {
    allprop: true,
    value: ({ resource }) => {
      if (resource.type === 'member') return '';
      let types = '<D:collection/>';
      if (resource.type === 'principal') types += '<D:principal/>';
      if (resource.type === 'collection' && resource.typed && resource.kind.collectionType !== undefined) {
        types += element(clark(resource.kind.collectionType.ns, resource.kind.collectionType.name));
      }
      return types;
    },
  },
  [d('getetag')]: {
    allprop: true,
    value: (context) => (context.resource.type === 'member' ? `"${context.resource.id}"` : treeEtag(context)),
  },
  [d('getcontenttype')]: {
    allprop: true,
    value: ({ resource }) => (resource.type === 'member' ? escapeXml(resource.kind.mediaType(splitParent(resource.path).name)) : undefined),
  },
  [d('getcontentlength')]: {
    allprop: true,
    value: ({ resource, store, space }) => (resource.type === 'member' && store !== undefined ? String(space.blobSize(store, resource.id)) : undefined),
  },
  [d('current-user-principal')]: { allprop: false, value: (context) => principalHref(context, context.user) },
  [d('principal-URL')]: {
    allprop: false,
    value: (context) => (context.resource.type === 'principal' ? principalHref(context, context.resource.user) : undefined),
  },
  [d('owner')]: { allprop: false, value: (context) => (context.resource.type === 'root' ? undefined : principalHref(context, ownerOf(context))) },
  [d('principal-collection-set')]: { allprop: false, value: () => hrefElement(`${DAV_PREFIX}/`) },
  [d('current-user-privilege-set')]: {
    allprop: false,
    value: () => ['all', 'read', 'write', 'write-properties', 'write-content', 'bind', 'unbind', 'read-current-user-privilege-set'].map((p) => `<D:privilege><D:${p}/></D:privilege>`).join(''),
  },
  [d('supported-report-set')]: {
    allprop: false,
    value: ({ resource }) => {
      if (resource.type !== 'collection' && resource.type !== 'home') return undefined;
      const reports = [d('sync-collection')];
      if (resource.type === 'collection') {
        const { multiget, reports: kindReports } = resource.kind;
        if (multiget !== undefined) reports.push(clark(multiget.ns, multiget.name));
        reports.push(...Object.keys(kindReports ?? {}));
      }
      return reports.map((key) => `<D:supported-report><D:report>${element(key)}</D:report></D:supported-report>`).join('');
    },
  },
  [d('sync-token')]: {
    allprop: false,
    value: ({ resource, head }) => (resource.type === 'collection' || resource.type === 'home' ? syncToken(head) : undefined),
  },
  [clark(CALSERVER_NS, 'getctag')]: {
    allprop: false,
    value: (context) => (context.resource.type === 'collection' ? treeEtag(context) : undefined),
  },
  [clark(CALDAV_NS, 'calendar-user-address-set')]: {
    allprop: false,
    value: (context) => (context.resource.type === 'principal' ? hrefElement(`mailto:${context.resource.user}@${os.hostname() || 'nymote'}`) : undefined),
  },
};

export function syncToken(commit: ObjectId | undefined): string {
  return escapeXml(`${SYNC_TOKEN_PREFIX}${commit ?? 'empty'}`);
}

/** Live properties that depend on the kind or principal (home sets, calendar properties). */
function kindProperties(context: PropertyContext): Record<string, string> {
  const { resource, space } = context;
  if (resource.type === 'principal') {
    const homes: Record<string, string> = {};
    for (const kind of space.allKinds()) {
      if (kind.homeSet !== undefined) homes[clark(kind.homeSet.ns, kind.homeSet.name)] = hrefElement(space.href(resource.user, kind.home, true));
    }
    return homes;
  }
  if (resource.type !== 'collection' || !resource.typed) return {};
  const { kind } = resource;
  const own = kind.collectionProperties?.(ownDeadProperties(context)) ?? {};
  // The size limit PUT enforces, in the kind's namespace (C:max-resource-size, CR:max-resource-size).
  return kind.collectionType === undefined ? own : { ...own, [clark(kind.collectionType.ns, 'max-resource-size')]: String(kind.maxMemberBytes) };
}

/** A resource's own dead properties. */
export function ownDeadProperties(context: PropertyContext): DeadProperties {
  const { resource, view } = context;
  if (view === undefined || !('path' in resource)) return {};
  if (resource.type === 'member') {
    const { parent, name } = splitParent(resource.path);
    return readDeadProperties(view, parent)[name] ?? {};
  }
  return readDeadProperties(view, resource.path)[''] ?? {};
}

/** Names of every property of a resource that exists, with its value: for allprop and propname. */
function allProperties(context: PropertyContext, forAllprop: boolean): FoundProperty[] {
  const found: FoundProperty[] = [];
  for (const [key, live] of Object.entries(LIVE)) {
    if (forAllprop && !live.allprop) continue;
    const inner = live.value(context);
    if (inner !== undefined) found.push({ key, xml: element(key, inner) });
  }
  for (const [key, inner] of Object.entries(kindProperties(context))) found.push({ key, xml: element(key, inner) });
  // A kind may present a stored property as live (supported-calendar-component-set): once.
  for (const [key, xml] of Object.entries(ownDeadProperties(context))) if (!found.some((p) => p.key === key)) found.push({ key, xml });
  return found;
}

export type PropertyRequest = { kind: 'allprop'; include: string[] } | { kind: 'propname' } | { kind: 'prop'; keys: string[] };

/** The properties asked for: those found, and the keys of those not found (404). */
export function findProperties(context: PropertyContext, request: PropertyRequest, extra?: (key: string) => string | undefined): { found: FoundProperty[]; missing: string[] } {
  if (request.kind === 'propname') {
    return { found: allProperties(context, false).map((p) => ({ key: p.key, xml: element(p.key) })), missing: [] };
  }
  const keys = request.kind === 'allprop' ? request.include : request.keys;
  const found = request.kind === 'allprop' ? allProperties(context, true) : [];
  const missing: string[] = [];
  const kindValues = kindProperties(context);
  let dead: DeadProperties | undefined;
  for (const key of keys) {
    if (found.some((p) => p.key === key)) continue;
    const inner = LIVE[key]?.value(context) ?? kindValues[key] ?? extra?.(key);
    if (inner !== undefined) {
      found.push({ key, xml: element(key, inner) });
      continue;
    }
    dead ??= ownDeadProperties(context);
    const xml = dead[key] ?? defaultValue(context, key);
    if (xml !== undefined) found.push({ key, xml });
    else missing.push(key);
  }
  return { found, missing };
}

/** Properties with a value even when never set: a home's and the principal's display names. */
function defaultValue(context: PropertyContext, key: string): string | undefined {
  if (key !== d('displayname')) return undefined;
  const { resource } = context;
  if (resource.type === 'home') return element(key, escapeXml(resource.kind.title));
  if (resource.type === 'principal') return element(key, escapeXml(resource.user));
  return undefined;
}

/** True for properties only the server sets (PROPPATCH answers 403 cannot-modify-protected-property). */
export function isProtected(key: string): boolean {
  return key in LIVE || key === d('getlastmodified') || key === d('creationdate') || key === d('lockdiscovery') || key === d('supportedlock') || key.startsWith(`{${CALDAV_NS}}supported-`) || key === clark(CALDAV_NS, 'calendar-data');
}
