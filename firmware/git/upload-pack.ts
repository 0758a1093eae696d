/**
 * upload-pack over smart HTTP (stateless): protocol v0/v1 (want/have negotiation with
 * multi_ack(_detailed), no-done, shallow, then the pack) and protocol v2 (ls-refs, fetch).
 * A request is read whole (it is small and bounded) before anything is answered, so a
 * malformed one is refused cleanly; refusals of well-framed requests are `ERR` packets.
 */
import type { ServerResponse } from 'node:http';

import type { LogFields } from '../runtime/index.js';
import type { ObjectId, Store } from '../store/index.js';
import { isOfferedCapability, lsRefs, peel, snapshotRefs, type RefSnapshot } from './advertise.js';
import { GitRequestError } from './errors.js';
import { CommonHaves, INFINITE_DEPTH, planShallow, type DeepenRequest, type ShallowPlan } from './negotiate.js';
import { planPack, type PlannedObject } from './object-walk.js';
import { PackChannel, packSetOf, packSources, streamPack, streamReusedPack, type PackStats, type SideBandMode } from './pack-stream.js';
import { PackObjects, walkPacks, type PackWalk } from './pack-walk.js';
import { DELIM_PKT, FLUSH_PKT, PktLineReader, pktLine, pktLines, printable } from './pkt-line.js';

export interface UploadPackLimits {
  maxWants: number;
  maxHaves: number;
  /** Delta search window for objects without a reusable stored form (0: reuse only). */
  deltaWindow: number;
  /**
   * Packs of more objects than this reuse stored deltas only: a search costs about a third of
   * a millisecond per object here, too much for a clone, little for a fetch of a few commits.
   */
  deltaSearchMaxObjects: number;
}

export interface UploadPackContext {
  store: Store;
  limits: UploadPackLimits;
}

const OBJECT_ID = /^[0-9a-f]{40}$/;
const MAX_CAPABILITY_LINES = 64;
const MAX_REF_PREFIXES = 256;

function objectIdOf(text: string, what: string): ObjectId {
  if (!OBJECT_ID.test(text)) throw new GitRequestError('EPROTO', `${what}: expected an object id, got '${printable(text)}'`);
  return text;
}

function countUnder(count: number, limit: number, what: string): void {
  if (count > limit) throw new GitRequestError('ETOOBIG', `more than ${limit} ${what} in one request`);
}

function resultHeaders(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'application/x-git-upload-pack-result',
    'cache-control': 'no-cache, max-age=0, must-revalidate',
    expires: 'Fri, 01 Jan 1980 00:00:00 GMT',
    pragma: 'no-cache',
  });
}

/** Answers a refused request in the protocol's own terms: `ERR <message>`. */
export function sendErrPacket(res: ServerResponse, message: string): void {
  if (!res.headersSent) resultHeaders(res);
  res.end(pktLine(`ERR ${message}\n`));
}

// ---- shared: wants, shallow and the pack -------------------------------------------------

/** Wants must be ref tips, or reachable from one (the refs may have moved since they were listed). */
function unreachableWant(store: Store, snapshot: RefSnapshot, wants: readonly ObjectId[]): ObjectId | undefined {
  const odb = store.odb;
  const others = wants.filter((want) => !snapshot.tips.has(want));
  if (others.length === 0) return undefined;
  const missing = others.find((want) => odb.read(want)?.type !== 'commit');
  if (missing !== undefined) return missing;
  const pending = new Set(others);
  const seen = new Set<ObjectId>();
  const stack = [...snapshot.tips].filter((id) => odb.read(id)?.type === 'commit');
  while (stack.length > 0 && pending.size > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    pending.delete(id);
    stack.push(...odb.readCommit(id).parents);
  }
  return pending.values().next().value;
}

function resolveDeepenNot(snapshot: RefSnapshot, store: Store, name: string): ObjectId {
  const ref = [name, `refs/heads/${name}`, `refs/tags/${name}`].map((full) => snapshot.refs.find((r) => r.name === full)).find((r) => r !== undefined);
  if (ref === undefined) throw new GitRequestError('EPROTO', `deepen-not is not a ref: ${printable(name)}`);
  const target = peel(store, ref.id);
  if (store.odb.read(target)?.type !== 'commit') throw new GitRequestError('EPROTO', `deepen-not does not name a commit: ${printable(name)}`);
  return target;
}

interface DeepenArgs {
  depth?: number;
  relative: boolean;
  since?: number;
  notNames: string[];
}

/** Parses one shallow/deepen line into `args`; false when the line is not one. */
function parseDeepenLine(line: string, args: DeepenArgs, shallows: ObjectId[]): boolean {
  if (line.startsWith('shallow ')) shallows.push(objectIdOf(line.slice(8), 'shallow'));
  else if (line.startsWith('deepen ')) {
    const depth = Number(line.slice(7));
    if (!/^\d{1,10}$/.test(line.slice(7)) || depth < 1) throw new GitRequestError('EPROTO', `invalid deepen: ${printable(line.slice(7))}`);
    args.depth = Math.min(depth, INFINITE_DEPTH);
  } else if (line === 'deepen-relative') args.relative = true;
  else if (line.startsWith('deepen-since ')) {
    if (!/^\d{1,15}$/.test(line.slice(13))) throw new GitRequestError('EPROTO', `invalid deepen-since: ${printable(line.slice(13))}`);
    args.since = Number(line.slice(13));
  } else if (line.startsWith('deepen-not ')) args.notNames.push(line.slice(11));
  else return false;
  return true;
}

function deepenRequest(args: DeepenArgs, snapshot: RefSnapshot, store: Store): DeepenRequest | undefined {
  const byRevList = args.since !== undefined || args.notNames.length > 0;
  if (args.depth !== undefined && byRevList) throw new GitRequestError('EPROTO', 'deepen and deepen-since (or deepen-not) cannot be used together');
  if (args.depth !== undefined) return { kind: 'depth', depth: args.depth, relative: args.relative };
  if (byRevList) return { kind: 'rev-list', since: args.since, notRefs: args.notNames.map((name) => resolveDeepenNot(snapshot, store, name)) };
  return undefined;
}

function shallowPlanOrError(store: Store, wants: readonly ObjectId[], shallows: readonly ObjectId[], deepen: DeepenRequest | undefined): ShallowPlan {
  // Shallow commits we do not have cannot bound anything here (git ignores them as well).
  const known = shallows.filter((id) => store.odb.read(id)?.type === 'commit');
  const plan = planShallow(store, wants, known, deepen);
  if (plan === undefined) throw new GitRequestError('EPROTO', 'no commits selected for shallow requests');
  return plan;
}

interface PackRequest {
  wants: readonly ObjectId[];
  haves: readonly ObjectId[];
  shallow: ShallowPlan;
  includeTag: boolean;
  ofsDelta: boolean;
  /** The client takes deltas on objects it has (thin-pack). */
  thin: boolean;
  snapshot: RefSnapshot;
}

const KINDS = ['commit', 'commit', 'tree', 'blob', 'tag'] as const;

/** The walk's objects by name, for the writer that searches deltas. */
function plannedObjects(walk: PackWalk): PlannedObject[] {
  return walk.order.map((handle, i) => {
    const planned: PlannedObject = { id: walk.objects.idOf(handle), type: KINDS[walk.types[handle]!]! };
    const name = walk.names[i];
    if (name !== undefined) planned.nameHint = name;
    return planned;
  });
}

async function sendPack(ctx: UploadPackContext, channel: PackChannel, request: PackRequest): Promise<LogFields> {
  const { store, limits } = ctx;
  const started = Date.now();
  let lease = packSetOf(store).acquire();
  let packLooseAfter = false;
  try {
    const walkRequest = {
      wants: [...request.wants, ...request.shallow.extraWants],
      haves: request.haves,
      boundary: request.shallow.boundary,
      ...(request.includeTag ? { tags: request.snapshot.refs } : {}),
    };
    // By handle over the packs when every object is in one; else by name through the odb.
    const walkOverPacks = () => walkPacks(new PackObjects(lease.readers, (id) => store.odb.read(id)), walkRequest, lease.closure());
    let walk = walkOverPacks();
    // Loose objects (the git CLI writing here, say) send requests the slow way, through the
    // odb: pack them, as `git gc --auto` would — before a clone (which would walk everything
    // slowly), after a fetch (which walks little and need not wait).
    if (walk === undefined && request.haves.length === 0 && (await store.packLoose()) > 0) {
      lease.release();
      lease = packSetOf(store).acquire();
      walk = walkOverPacks();
    } else if (walk === undefined) {
      packLooseAfter = true;
    }
    const plan = walk === undefined ? planPack(store.odb, walkRequest) : { objects: undefined, count: walk.order.length, commits: walk.commits };
    const count = plan.objects?.length ?? walk!.order.length;
    channel.progress(`Enumerating objects: ${count}, done.\n`);
    const planned = Date.now();
    const deltas = limits.deltaWindow > 0 && count <= limits.deltaSearchMaxObjects;
    // Only clones worth keeping: a small one costs little to walk again.
    if (walk?.closure !== undefined && count > limits.deltaSearchMaxObjects) lease.keepClosure(walk.closure);
    let stats: PackStats;
    let sourced = planned;
    if (walk !== undefined && !deltas) {
      stats = await streamReusedPack(walk, { ofsDelta: request.ofsDelta, thin: request.thin }, channel);
    } else {
      const objects = plan.objects ?? plannedObjects(walk!);
      const sources = packSources(objects, store.odb, lease, { ofsDelta: request.ofsDelta, packOrder: !deltas });
      sourced = Date.now();
      stats = await streamPack(sources, { deltas, window: limits.deltaWindow }, channel);
    }
    channel.progress(`Total ${stats.objects} (delta ${stats.deltas}), ${stats.bytes} bytes\n`);
    channel.end();
    return {
      objects: stats.objects,
      deltas: stats.deltas,
      bytes: stats.bytes,
      commits: plan.commits,
      walk: walk === undefined ? 'odb' : 'packs',
      planMs: planned - started,
      sourceMs: sourced - planned,
      packMs: Date.now() - sourced,
    };
  } catch (error) {
    // Inside the pack stream the only way to tell the client is the error band.
    channel.fail(`upload-pack: ${(error as Error).message}`);
    throw error;
  } finally {
    lease.release();
    if (packLooseAfter) void store.packLoose().catch(() => undefined);
  }
}

function checkCapabilities(capabilities: Iterable<string>): void {
  for (const capability of capabilities) {
    if (!isOfferedCapability('git-upload-pack', capability)) throw new GitRequestError('EPROTO', `unsupported capability '${printable(capability)}'`);
  }
}

// ---- protocol v0 / v1 ------------------------------------------------------------------

interface V0Request {
  wants: ObjectId[];
  capabilities: Set<string>;
  shallows: ObjectId[];
  deepen: DeepenArgs;
  haves: ObjectId[];
  /** How the have list ended: 'done', a flush (another round follows), or the end of the body. */
  end: 'done' | 'flush' | 'end';
}

async function readV0Request(reader: PktLineReader, limits: UploadPackLimits): Promise<V0Request | undefined> {
  const request: V0Request = { wants: [], capabilities: new Set(), shallows: [], deepen: { relative: false, notNames: [] }, haves: [], end: 'end' };
  for (;;) {
    const line = await reader.line();
    if (line === 'flush' || line === 'end') break;
    if (line === 'delim' || line === 'response-end') throw new GitRequestError('EBADPKT', `unexpected ${line} packet in the want list`);
    if (line.startsWith('want ')) {
      const [id, ...capabilities] = line.slice(5).split(' ');
      request.wants.push(objectIdOf(id!, 'want'));
      if (request.wants.length === 1) for (const capability of capabilities) if (capability !== '') request.capabilities.add(capability);
      countUnder(request.wants.length, limits.maxWants, 'wants');
    } else if (!parseDeepenLine(line, request.deepen, request.shallows)) {
      throw new GitRequestError('EPROTO', `expected want, shallow or deepen, got '${printable(line)}'`);
    }
    countUnder(request.shallows.length, limits.maxWants, 'shallow lines');
  }
  if (request.wants.length === 0) return undefined;
  for (;;) {
    const line = await reader.line();
    if (line === 'flush' || line === 'end') {
      request.end = line;
      break;
    }
    if (line === 'done') {
      request.end = 'done';
      break;
    }
    if (line === 'delim' || line === 'response-end' || !line.startsWith('have ')) {
      throw new GitRequestError('EPROTO', `expected have or done, got '${printable(line)}'`);
    }
    request.haves.push(objectIdOf(line.slice(5), 'have'));
    countUnder(request.haves.length, limits.maxHaves, 'haves');
  }
  return request;
}

/** POST git-upload-pack in protocol v0/v1. Returns what to log. */
export async function uploadPackV0(ctx: UploadPackContext, reader: PktLineReader, res: ServerResponse): Promise<LogFields> {
  const { store } = ctx;
  const request = await readV0Request(reader, ctx.limits);
  if (request === undefined) {
    // No wants: git's probe of a large request, or a client that is up to date.
    resultHeaders(res);
    res.end();
    return { wants: 0 };
  }
  const capabilities = request.capabilities;
  checkCapabilities(capabilities);
  if (capabilities.has('side-band') && capabilities.has('side-band-64k')) throw new GitRequestError('EPROTO', 'side-band and side-band-64k are exclusive');
  const snapshot = snapshotRefs(store);
  const unreachable = unreachableWant(store, snapshot, request.wants);
  if (unreachable !== undefined) throw new GitRequestError('EPROTO', `upload-pack: not our ref ${unreachable}`);
  // In v0 deepen-relative is a capability of the first want, not a line of its own.
  if (capabilities.has('deepen-relative')) request.deepen.relative = true;
  const deepen = deepenRequest(request.deepen, snapshot, store);
  const shallow = shallowPlanOrError(store, request.wants, request.shallows, deepen);

  const multiAck = capabilities.has('multi_ack_detailed') ? 'detailed' : capabilities.has('multi_ack') ? 'basic' : 'none';
  const out: Buffer[] = [];
  const say = (line: string) => out.push(pktLine(`${line}\n`));
  if (deepen !== undefined) {
    for (const id of shallow.shallow) say(`shallow ${id}`);
    for (const id of shallow.unshallow) say(`unshallow ${id}`);
    out.push(FLUSH_PKT);
  }
  // git's get_common_commits, one stateless round: ACKs as the haves come, then the verdict.
  const common = new CommonHaves(store.odb);
  let gotCommon = false;
  let gotOther = false;
  let sentReady = false;
  let lastCommon = '';
  for (const have of request.haves) {
    const known = common.add(have);
    if (known === 'unknown') {
      gotOther = true;
      if (multiAck !== 'none' && common.coversAll(request.wants, store)) {
        if (multiAck === 'detailed') {
          sentReady = true;
          say(`ACK ${have} ready`);
        } else say(`ACK ${have} continue`);
      }
      continue;
    }
    gotCommon = true;
    lastCommon = have;
    if (multiAck === 'detailed') say(`ACK ${have} common`);
    else if (multiAck === 'basic') say(`ACK ${have} continue`);
    else if (common.size === 1) say(`ACK ${have}`);
  }
  let sendingPack = request.end === 'done';
  if (request.end === 'done') {
    if (common.size > 0 && multiAck !== 'none') say(`ACK ${lastCommon}`);
    else if (common.size === 0) say('NAK');
  } else if (request.end === 'flush') {
    if (multiAck === 'detailed' && gotCommon && !gotOther && common.coversAll(request.wants, store)) {
      sentReady = true;
      say(`ACK ${lastCommon} ready`);
    }
    if (common.size === 0 || multiAck !== 'none') say('NAK');
    if (capabilities.has('no-done') && sentReady) {
      say(`ACK ${lastCommon}`);
      sendingPack = true;
    }
  }
  resultHeaders(res);
  res.write(Buffer.concat(out));
  const fields: LogFields = { proto: 0, wants: request.wants.length, haves: request.haves.length, common: common.size };
  if (!sendingPack) {
    res.end();
    return fields;
  }
  const mode: SideBandMode = capabilities.has('side-band-64k') ? 'side-band-64k' : capabilities.has('side-band') ? 'side-band' : 'none';
  const channel = new PackChannel(res, mode, !capabilities.has('no-progress'));
  const packed = await sendPack(ctx, channel, {
    wants: request.wants,
    haves: common.common,
    shallow,
    includeTag: capabilities.has('include-tag'),
    ofsDelta: capabilities.has('ofs-delta'),
    thin: capabilities.has('thin-pack'),
    snapshot,
  });
  return { ...fields, ...packed };
}

// ---- protocol v2 -----------------------------------------------------------------------

interface V2Request {
  command: string;
  capabilities: string[];
  args: string[];
}

async function readV2Request(reader: PktLineReader, limits: UploadPackLimits): Promise<V2Request | undefined> {
  const first = await reader.line();
  if (first === 'flush' || first === 'end') return undefined;
  if (!first.startsWith('command=')) throw new GitRequestError('EPROTO', `expected a command, got '${printable(first)}'`);
  const request: V2Request = { command: first.slice(8), capabilities: [], args: [] };
  let line = await reader.line();
  for (; line !== 'delim' && line !== 'flush'; line = await reader.line()) {
    if (line === 'end' || line === 'response-end') throw new GitRequestError('EBADPKT', 'request ends inside the capability list');
    request.capabilities.push(line);
    countUnder(request.capabilities.length, MAX_CAPABILITY_LINES, 'capability lines');
  }
  if (line === 'flush') return request;
  const maxArgs = limits.maxWants + limits.maxHaves + MAX_REF_PREFIXES + 64;
  for (line = await reader.line(); line !== 'flush'; line = await reader.line()) {
    if (line === 'end' || line === 'delim' || line === 'response-end') throw new GitRequestError('EBADPKT', `unexpected ${line} in the command arguments`);
    request.args.push(line);
    countUnder(request.args.length, maxArgs, 'arguments');
  }
  return request;
}

function checkV2Capabilities(capabilities: readonly string[]): void {
  for (const capability of capabilities) {
    if (capability.startsWith('agent=') || capability.startsWith('session-id=') || capability.startsWith('server-option=')) continue;
    if (capability === 'object-format=sha1') continue;
    throw new GitRequestError('EPROTO', `unsupported capability '${printable(capability)}'`);
  }
}

/** POST git-upload-pack in protocol v2: one command (ls-refs or fetch) per request. */
export async function uploadPackV2(ctx: UploadPackContext, reader: PktLineReader, res: ServerResponse): Promise<LogFields> {
  const request = await readV2Request(reader, ctx.limits);
  if (request === undefined) {
    resultHeaders(res);
    res.end();
    return { proto: 2, command: 'none' };
  }
  checkV2Capabilities(request.capabilities);
  if (request.command === 'ls-refs') return v2LsRefs(ctx, request, res);
  if (request.command === 'fetch') return v2Fetch(ctx, request, res);
  throw new GitRequestError('EPROTO', `unknown command '${printable(request.command)}'`);
}

function v2LsRefs(ctx: UploadPackContext, request: V2Request, res: ServerResponse): LogFields {
  const options = { symrefs: false, peel: false, unborn: false, prefixes: [] as string[] };
  for (const arg of request.args) {
    if (arg === 'symrefs') options.symrefs = true;
    else if (arg === 'peel') options.peel = true;
    else if (arg === 'unborn') options.unborn = true;
    else if (arg.startsWith('ref-prefix ')) {
      options.prefixes.push(arg.slice(11));
      countUnder(options.prefixes.length, MAX_REF_PREFIXES, 'ref prefixes');
    } else throw new GitRequestError('EPROTO', `ls-refs: unexpected line '${printable(arg)}'`);
  }
  const body = lsRefs(snapshotRefs(ctx.store), options);
  resultHeaders(res);
  res.end(body);
  return { proto: 2, command: 'ls-refs' };
}

async function v2Fetch(ctx: UploadPackContext, request: V2Request, res: ServerResponse): Promise<LogFields> {
  const { store } = ctx;
  const wants: ObjectId[] = [];
  const haves: ObjectId[] = [];
  const shallows: ObjectId[] = [];
  const deepenArgs: DeepenArgs = { relative: false, notNames: [] };
  const flags = new Set<string>();
  for (const arg of request.args) {
    if (arg.startsWith('want ')) wants.push(objectIdOf(arg.slice(5), 'want'));
    else if (arg.startsWith('have ')) haves.push(objectIdOf(arg.slice(5), 'have'));
    else if (['done', 'thin-pack', 'no-progress', 'include-tag', 'ofs-delta', 'wait-for-done'].includes(arg)) flags.add(arg);
    else if (!parseDeepenLine(arg, deepenArgs, shallows)) throw new GitRequestError('EPROTO', `fetch: unexpected line '${printable(arg)}'`);
  }
  countUnder(wants.length, ctx.limits.maxWants, 'wants');
  countUnder(haves.length, ctx.limits.maxHaves, 'haves');
  countUnder(shallows.length, ctx.limits.maxWants, 'shallow lines');
  if (wants.length === 0) throw new GitRequestError('EPROTO', 'fetch: no wants');
  const snapshot = snapshotRefs(store);
  const unreachable = unreachableWant(store, snapshot, wants);
  if (unreachable !== undefined) throw new GitRequestError('EPROTO', `upload-pack: not our ref ${unreachable}`);
  const deepen = deepenRequest(deepenArgs, snapshot, store);
  const shallow = shallowPlanOrError(store, wants, shallows, deepen);

  const common = new CommonHaves(store.odb);
  for (const have of haves) common.add(have);
  const fields: LogFields = { proto: 2, command: 'fetch', wants: wants.length, haves: haves.length, common: common.size };
  const out: Buffer[] = [];
  if (!flags.has('done')) {
    const acknowledgments = ['acknowledgments', ...(common.size === 0 ? ['NAK'] : common.common.map((id) => `ACK ${id}`))];
    const ready = !flags.has('wait-for-done') && common.coversAll(wants, store);
    if (ready) acknowledgments.push('ready');
    resultHeaders(res);
    if (!ready) {
      res.end(pktLines(acknowledgments));
      return fields;
    }
    out.push(pktLines(acknowledgments, DELIM_PKT));
  }
  if (deepen !== undefined || shallows.length > 0) {
    out.push(pktLines(['shallow-info', ...shallow.shallow.map((id) => `shallow ${id}`), ...shallow.unshallow.map((id) => `unshallow ${id}`)], DELIM_PKT));
  }
  out.push(pktLine('packfile\n'));
  if (!res.headersSent) resultHeaders(res);
  res.write(Buffer.concat(out));
  const channel = new PackChannel(res, 'side-band-64k', !flags.has('no-progress'));
  const packed = await sendPack(ctx, channel, {
    wants,
    haves: common.common,
    shallow,
    includeTag: flags.has('include-tag'),
    ofsDelta: flags.has('ofs-delta'),
    thin: flags.has('thin-pack'),
    snapshot,
  });
  return { ...fields, ...packed };
}
