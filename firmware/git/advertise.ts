/**
 * What the server tells a client first: its refs and capabilities in protocol v0/v1 (one
 * list with the capabilities behind a NUL on the first line), the v2 capability
 * advertisement, and v2's ls-refs. Refs are read once per request into a RefSnapshot.
 */
import type { ObjectId, Store } from '../store/index.js';
import { VERSION } from '../version.js';
import { pktLine, pktLines, FLUSH_PKT } from './pkt-line.js';

export type GitService = 'git-upload-pack' | 'git-receive-pack';

export const AGENT = `nymote/${VERSION}`;
const ZERO_ID = '0'.repeat(40);
/** Tags of tags are followed this deep when peeling, like git's deref_tag limit. */
const MAX_PEEL_DEPTH = 16;

/** Capabilities of v0 upload-pack (gitprotocol-capabilities), all of which this server honours. */
export const UPLOAD_PACK_CAPABILITIES = [
  'multi_ack',
  'thin-pack',
  'side-band',
  'side-band-64k',
  'ofs-delta',
  'shallow',
  'deepen-since',
  'deepen-not',
  'deepen-relative',
  'no-progress',
  'include-tag',
  'multi_ack_detailed',
  'no-done',
] as const;

export const RECEIVE_PACK_CAPABILITIES = [
  'report-status',
  'report-status-v2',
  'delete-refs',
  'side-band-64k',
  'quiet',
  'atomic',
  'ofs-delta',
  'push-options',
] as const;

/** Capabilities a client may name without our having listed them verbatim (they carry values). */
const VALUED_CAPABILITIES = ['agent=', 'session-id=', 'object-format=sha1'];

export interface AdvertisedRef {
  name: string;
  id: ObjectId;
  /** For an annotated tag, the object it finally points at. */
  peeled?: ObjectId;
}

export interface RefSnapshot {
  /** Every ref under refs/, sorted by name (C locale), each peeled when it is a tag object. */
  refs: AdvertisedRef[];
  /** HEAD's target ref when HEAD is symbolic, and the commit it points at (undefined: unborn). */
  headTarget: string | undefined;
  headId: ObjectId | undefined;
  /** Ids of every ref and of every peeled tag: what a client may want without a walk. */
  tips: Set<ObjectId>;
}

export function snapshotRefs(store: Store): RefSnapshot {
  const refs: AdvertisedRef[] = [];
  const tips = new Set<ObjectId>();
  for (const [name, id] of store.refs.list('refs/')) {
    const ref: AdvertisedRef = { name, id };
    const peeled = peel(store, id);
    if (peeled !== id) ref.peeled = peeled;
    refs.push(ref);
    tips.add(id);
    tips.add(peeled);
  }
  refs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const headTarget = store.refs.readSymbolic('HEAD');
  const headId = store.refs.read('HEAD');
  return { refs, headTarget, headId, tips };
}

/** The object a tag (chain) points at; any other id is itself. */
export function peel(store: Store, id: ObjectId): ObjectId {
  let current = id;
  for (let depth = 0; depth < MAX_PEEL_DEPTH; depth++) {
    const object = store.odb.read(current);
    if (object?.type !== 'tag') return current;
    current = store.odb.readTag(current).object;
  }
  return current;
}

/** The body of GET info/refs for v0/v1: `# service=` header, the refs with capabilities. */
export function advertiseV0(service: GitService, snapshot: RefSnapshot, version: 0 | 1): Buffer {
  const capabilities: string[] =
    service === 'git-upload-pack' ? [...UPLOAD_PACK_CAPABILITIES] : [...RECEIVE_PACK_CAPABILITIES];
  const lines: string[] = [];
  const entries: [ObjectId, string][] = [];
  if (service === 'git-upload-pack' && snapshot.headId !== undefined) {
    entries.push([snapshot.headId, 'HEAD']);
    if (snapshot.headTarget !== undefined) capabilities.push(`symref=HEAD:${snapshot.headTarget}`);
  }
  capabilities.push('object-format=sha1', `agent=${AGENT}`);
  for (const ref of snapshot.refs) {
    entries.push([ref.id, ref.name]);
    // Receive-pack lists no peeled values: a push names refs, not what they point at.
    if (ref.peeled !== undefined && service === 'git-upload-pack') entries.push([ref.peeled, `${ref.name}^{}`]);
  }
  if (entries.length === 0) entries.push([ZERO_ID, 'capabilities^{}']);
  entries.forEach(([id, name], i) => lines.push(i === 0 ? `${id} ${name}\0${capabilities.join(' ')}` : `${id} ${name}`));
  return Buffer.concat([
    pktLine(`# service=${service}\n`),
    FLUSH_PKT,
    ...(version === 1 ? [pktLine('version 1\n')] : []),
    pktLines(lines),
  ]);
}

/** The body of GET info/refs?service=git-upload-pack for v2: the capability advertisement. */
export function advertiseV2(): Buffer {
  return pktLines(['version 2', `agent=${AGENT}`, 'ls-refs=unborn', 'fetch=shallow wait-for-done', 'server-option', 'object-format=sha1']);
}

/** Whether a capability the client named is one this server offered for `service`. */
export function isOfferedCapability(service: GitService, capability: string): boolean {
  const offered: readonly string[] = service === 'git-upload-pack' ? UPLOAD_PACK_CAPABILITIES : RECEIVE_PACK_CAPABILITIES;
  return offered.includes(capability) || VALUED_CAPABILITIES.some((prefix) => capability.startsWith(prefix));
}

export interface LsRefsRequest {
  symrefs: boolean;
  peel: boolean;
  unborn: boolean;
  prefixes: string[];
}

/** v2 ls-refs: HEAD then every ref matching a prefix (all of them without prefixes). */
export function lsRefs(snapshot: RefSnapshot, request: LsRefsRequest): Buffer {
  const wanted = (name: string) => request.prefixes.length === 0 || request.prefixes.some((prefix) => name.startsWith(prefix));
  const lines: string[] = [];
  if (wanted('HEAD')) {
    const symref = request.symrefs && snapshot.headTarget !== undefined ? ` symref-target:${snapshot.headTarget}` : '';
    if (snapshot.headId !== undefined) {
      const head = snapshot.refs.find((ref) => ref.name === snapshot.headTarget);
      const peeled = request.peel && head?.peeled !== undefined ? ` peeled:${head.peeled}` : '';
      lines.push(`${snapshot.headId} HEAD${symref}${peeled}`);
    } else if (request.unborn && snapshot.headTarget !== undefined) {
      lines.push(`unborn HEAD${symref}`);
    }
  }
  for (const ref of snapshot.refs) {
    if (!wanted(ref.name)) continue;
    lines.push(`${ref.id} ${ref.name}${request.peel && ref.peeled !== undefined ? ` peeled:${ref.peeled}` : ''}`);
  }
  return pktLines(lines);
}
