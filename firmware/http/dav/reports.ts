/**
 * REPORT: sync-collection (RFC 6578, tokens are commits: the changes are a diff of the
 * collection between two commits), the kinds' multiget and query reports.
 */
import type { ObjectId } from '../../store/index.js';
import { DavError } from './errors.js';
import type { IndexedMember, ParsedMember, ReportContext } from './kinds.js';
import { Multistatus } from './multistatus.js';
import { findProperties, syncToken, SYNC_TOKEN_PREFIX, type PropertyRequest } from './properties.js';
import { hrefOf } from './propfind.js';
import { readXmlBody, resolveNow, type DavRequest } from './request.js';
import { BRANCH, PROPS_FILE, readDeadProperties, splitParent } from './space.js';
import { child, children, clark, DAV_NS, escapeXml, keyOf, type XmlElement } from './xml.js';

export async function report(request: DavRequest): Promise<void> {
  const body = await readXmlBody(request);
  if (body === undefined) throw new DavError(400, 'REPORT needs a body');
  const store = request.store;
  if (store === undefined) throw new DavError(403, 'no reports here', { ns: DAV_NS, name: 'supported-report' });
  const branch = store.branch(BRANCH);
  const head = branch.head();
  const view = store.snapshot(head);
  const collection = resolveNow(request, view);
  if (collection.type === 'missing') throw new DavError(404, 'no such resource');
  if (collection.type !== 'collection') throw new DavError(403, 'reports are answered on collections', { ns: DAV_NS, name: 'supported-report' });
  const kind = collection.kind;
  const key = keyOf(body);
  const members = () => request.space.index(store, view, collection.path, kind);
  const answer = (list: readonly { name: string; id?: ObjectId }[], prop: XmlElement | undefined, extra = '', missing: readonly string[] = []) => {
    const properties: PropertyRequest = prop === undefined ? { kind: 'allprop', include: [] } : { kind: 'prop', keys: prop.children.map(keyOf) };
    const data = kind.dataProperty === undefined ? undefined : clark(kind.dataProperty.ns, kind.dataProperty.name);
    const askedData = prop?.children.find((c) => keyOf(c) === data);
    const render = (bytes: Buffer) => (askedData === undefined ? undefined : kind.renderData?.(bytes, askedData)) ?? bytes.toString('utf8');
    const multistatus = new Multistatus();
    for (const { name, id } of list) {
      const path = `${collection.path}/${name}`;
      const blob = id ?? view.baseBlobId(path);
      if (blob === undefined) {
        multistatus.status(request.space.href(collection.user, path, false), 404);
        continue;
      }
      const member = { type: 'member' as const, user: collection.user, kind, path, id: blob };
      const context = { space: request.space, store, view, head, user: request.principal.user, resource: member };
      const extraValue = (k: string) => (k === data ? escapeXml(render(store.odb.readTyped(blob, 'blob'))) : undefined);
      const { found, missing: notFound } = findProperties(context, properties, extraValue);
      multistatus.propstat(hrefOf(request, member), found, new Map([[404, notFound]]));
    }
    for (const href of missing) multistatus.status(href, 404);
    multistatus.send(request.res, extra);
  };

  if (key === clark(DAV_NS, 'sync-collection')) {
    const level = child(body, DAV_NS, 'sync-level')?.text.trim();
    if (level !== undefined && level !== '1') throw new DavError(403, 'only sync-level 1 is supported', { ns: DAV_NS, name: 'sync-traversal-supported' });
    const changes = syncChanges(request, collection.path, head, child(body, DAV_NS, 'sync-token')?.text.trim() ?? '');
    const gone = changes.filter((c) => c.removed).map((c) => request.space.href(collection.user, `${collection.path}/${c.name}`, false));
    return answer(changes.filter((c) => !c.removed), child(body, DAV_NS, 'prop'), `<D:sync-token>${syncToken(head)}</D:sync-token>`, gone);
  }
  if (kind.multiget !== undefined && key === clark(kind.multiget.ns, kind.multiget.name)) {
    const prefix = request.space.href(collection.user, collection.path, true);
    const names: { name: string }[] = [];
    const missing: string[] = [];
    for (const href of children(body, DAV_NS, 'href')) {
      const path = pathOf(href.text.trim());
      const name = path?.startsWith(prefix) ? decodeName(path.slice(prefix.length)) : undefined;
      if (name === undefined || name === PROPS_FILE) missing.push(href.text.trim());
      else names.push({ name });
    }
    return answer(names, child(body, DAV_NS, 'prop'), '', missing);
  }
  const handler = kind.reports?.[key];
  if (handler === undefined) throw new DavError(403, `report ${key.slice(0, 100)} is not supported here`, { ns: DAV_NS, name: 'supported-report' });
  const context: ReportContext<ParsedMember> = { res: request.res, report: body, collection: readDeadProperties(view, collection.path)[''] ?? {}, members };
  const outcome = handler(context);
  if ('handled' in outcome) return;
  answer(outcome.members, outcome.prop);
}

/** The path of an href (absolute or relative to the server); undefined when it is not a URL. */
function pathOf(href: string): string | undefined {
  try {
    return new URL(href, 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

function decodeName(text: string): string | undefined {
  try {
    const name = decodeURIComponent(text);
    return name === '' || name.includes('/') ? undefined : name;
  } catch {
    return undefined;
  }
}

interface SyncChange {
  name: string;
  removed: boolean;
}

/** The members changed since the token's commit (every member for an empty token). */
function syncChanges(request: DavRequest, path: string, head: ObjectId | undefined, token: string): SyncChange[] {
  const store = request.store!;
  let since: ObjectId | undefined;
  if (token !== '') {
    const id = token.startsWith(SYNC_TOKEN_PREFIX) ? token.slice(SYNC_TOKEN_PREFIX.length) : '';
    const known = id === 'empty' || (/^[0-9a-f]{40}$/.test(id) && store.odb.has(id) && isCommit(request, id));
    if (!known) throw new DavError(403, 'unknown sync token; sync again from scratch', { ns: DAV_NS, name: 'valid-sync-token' });
    since = id === 'empty' ? undefined : id;
  }
  const changes: SyncChange[] = [];
  for (const change of store.diff(since, head, path)) {
    const { parent, name } = splitParent(change.path);
    if (parent !== path || name === PROPS_FILE) continue;
    changes.push({ name, removed: change.kind === 'removed' });
  }
  return changes;
}

function isCommit(request: DavRequest, id: ObjectId): boolean {
  try {
    request.store!.odb.readCommit(id);
    return true;
  } catch {
    return false;
  }
}

/** Kinds' query reports answer with the members their filter accepts. */
export function queryOutcome<T extends ParsedMember>(members: IndexedMember<T>[], report: XmlElement, accept: (member: IndexedMember<T>) => boolean) {
  return { members: members.filter(accept), prop: child(report, DAV_NS, 'prop') };
}

