/**
 * receive-pack over smart HTTP: the ref update commands (with report-status(-v2),
 * delete-refs, atomic, side-band-64k, quiet, push-options), then the pack. The pack is
 * checked while it streams in, indexed and completed if thin, and installed only whole and
 * valid; then, one push at a time per repository: connectivity of every new tip, no
 * non-fast-forward of a branch, the pre-receive hook, the compare-and-swap ref updates, the
 * post-receive hook. A push that moves no ref leaves no objects behind.
 */
import type { ServerResponse } from 'node:http';

import { describeError, type LogFields, type Logger } from '../runtime/index.js';
import type { ObjectId, RefUpdate, Store } from '../store/index.js';
import { isOfferedCapability } from './advertise.js';
import { GitHookRejection, GitRequestError } from './errors.js';
import { IncomingPack, looseObjectExists, type IncomingPackLimits } from './incoming-pack.js';
import { packSetOf } from './pack-stream.js';
import { PackConnectivity, PackObjects } from './pack-walk.js';
import { BAND_DATA, BAND_PROGRESS, FLUSH_PKT, PktLineReader, pktLines, printable, sideBand } from './pkt-line.js';
import type { RequestBody } from './request-body.js';

export interface ReceivePackLimits extends IncomingPackLimits {
  maxCommands: number;
  maxPushOptions: number;
}

/** What hooks are told about a push. */
export interface ReceiveContext {
  repo: string;
  user: string;
  store: Store;
  /** The ref updates still standing (pre-receive) or made (post-receive). */
  updates: RefUpdate[];
  pushOptions: string[];
  /** A line for the pusher's terminal, shown as `remote: <line>`. */
  progress(line: string): void;
}

export interface ReceiveHooks {
  /**
   * Runs before any ref moves (the objects are stored but nothing references them). Throw
   * GitHookRejection('why') to refuse the push: every ref is rejected, the pusher sees why.
   */
  preReceive?(ctx: ReceiveContext): Promise<void>;
  /** Branches may move to commits that do not descend from them (the hook orders pushes its own way). */
  allowNonFastForward?: boolean;
  /** Runs after the refs moved; its failures are logged, the push stands. */
  postReceive?(ctx: ReceiveContext): Promise<void>;
}

export interface ReceivePackContext {
  repo: string;
  user: string;
  store: Store;
  hooks: ReceiveHooks | undefined;
  limits: ReceivePackLimits;
  log: Logger;
}

interface Command {
  update: RefUpdate;
  /** Why this ref is not updated; undefined while it stands. */
  error?: string;
}

const ZERO_ID = '0'.repeat(40);
const COMMAND = /^([0-9a-f]{40}) ([0-9a-f]{40}) (.+)$/;
const MAX_PUSH_OPTION_BYTES = 1024;

/** One push at a time per repository from install to ref update, so pushes see each other whole. */
const repoQueues = new Map<string, Promise<unknown>>();

async function serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = repoQueues.get(key) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(work);
  repoQueues.set(key, run);
  try {
    return await run;
  } finally {
    if (repoQueues.get(key) === run) repoQueues.delete(key);
  }
}

async function readCommands(reader: PktLineReader, limits: ReceivePackLimits): Promise<{ commands: Command[]; capabilities: Set<string> }> {
  const commands: Command[] = [];
  const capabilities = new Set<string>();
  for (;;) {
    const line = await reader.line();
    if (line === 'flush' || line === 'end') break;
    if (line === 'delim' || line === 'response-end') throw new GitRequestError('EBADPKT', `unexpected ${line} packet in the command list`);
    // A shallow client names its shallow commits first; connectivity decides whether the push stands.
    if (line.startsWith('shallow ') && commands.length === 0) continue;
    const nul = line.indexOf('\0');
    const text = nul < 0 ? line : line.slice(0, nul);
    if (nul >= 0 && commands.length === 0) for (const capability of line.slice(nul + 1).split(' ')) if (capability !== '') capabilities.add(capability);
    const match = COMMAND.exec(text);
    if (match === null) throw new GitRequestError('EPROTO', `malformed command '${printable(text)}'`);
    const [, oldId, newId, ref] = match;
    commands.push({ update: { ref: ref!, old: oldId === ZERO_ID ? undefined : oldId, new: newId === ZERO_ID ? undefined : newId } });
    if (commands.length > limits.maxCommands) throw new GitRequestError('ETOOBIG', `more than ${limits.maxCommands} ref updates in one push`);
  }
  for (const capability of capabilities) {
    if (!isOfferedCapability('git-receive-pack', capability)) throw new GitRequestError('EPROTO', `unsupported capability '${printable(capability)}'`);
  }
  return { commands, capabilities };
}

async function readPushOptions(reader: PktLineReader, limits: ReceivePackLimits): Promise<string[]> {
  const options: string[] = [];
  for (;;) {
    const line = await reader.line();
    if (line === 'flush') return options;
    if (line === 'end' || line === 'delim' || line === 'response-end') throw new GitRequestError('EBADPKT', 'push options do not end with a flush');
    if (Buffer.byteLength(line) > MAX_PUSH_OPTION_BYTES) throw new GitRequestError('ETOOBIG', `a push option is longer than ${MAX_PUSH_OPTION_BYTES} bytes`);
    options.push(line);
    if (options.length > limits.maxPushOptions) throw new GitRequestError('ETOOBIG', `more than ${limits.maxPushOptions} push options`);
  }
}

/** POST git-receive-pack. Returns what to log. */
export async function receivePack(ctx: ReceivePackContext, body: RequestBody, res: ServerResponse): Promise<LogFields> {
  const reader = new PktLineReader(body);
  const { commands, capabilities } = await readCommands(reader, ctx.limits);
  if (commands.length === 0) {
    // git probes with a bare flush before a large push (to settle authentication): nothing to do.
    resultHeaders(res);
    res.end();
    return { commands: 0 };
  }
  const pushOptions = capabilities.has('push-options') ? await readPushOptions(reader, ctx.limits) : [];
  const sideBandOn = capabilities.has('side-band-64k');
  const progress = (line: string): void => {
    if (!sideBandOn) return;
    if (!res.headersSent) resultHeaders(res);
    res.write(Buffer.concat(sideBand(BAND_PROGRESS, Buffer.from(`${line}\n`, 'utf8'), 65520)));
  };

  let unpackError: string | undefined;
  let pack: IncomingPack | undefined;
  if (commands.some((command) => command.update.new !== undefined)) {
    pack = await IncomingPack.create(ctx.store, ctx.limits);
    try {
      for (let chunk = await body.readChunk(); chunk !== undefined; chunk = await body.readChunk()) await pack.write(chunk);
      await pack.finish(ctx.store);
    } catch (error) {
      await pack.discard();
      pack = undefined;
      // A body that broke off or grew too big is the transport's failure; the rest the pack's.
      if (error instanceof GitRequestError && (error.code === 'ECLOSED' || error.code === 'ETIMEDOUT' || error.code === 'ETOOBIG')) throw error;
      unpackError = describeError(error);
      // The client is still sending; it reads the report only once it has sent everything.
      while ((await body.readChunk()) !== undefined);
    }
  }

  const fields: LogFields = { commands: commands.length, packBytes: pack?.bytes ?? 0, objects: pack?.objectCount ?? 0 };
  if (pack !== undefined && pack.appendedBases > 0) fields.thinBases = pack.appendedBases;
  if (unpackError !== undefined) {
    for (const command of commands) command.error = 'unpacker error';
    fields.unpack = unpackError;
  } else {
    await serialized(ctx.store.gitDir, () => applyCommands(ctx, commands, pack, { atomic: capabilities.has('atomic'), pushOptions, progress }));
  }
  const report = pktLines([`unpack ${unpackError ?? 'ok'}`, ...commands.map(({ update, error }) => (error === undefined ? `ok ${update.ref}` : `ng ${update.ref} ${error}`))]);
  if (!res.headersSent) resultHeaders(res);
  res.end(sideBandOn ? Buffer.concat([...sideBand(BAND_DATA, report, 65520), FLUSH_PKT]) : report);
  fields.rejected = commands.filter((command) => command.error !== undefined).length;
  return fields;
}

async function applyCommands(
  ctx: ReceivePackContext,
  commands: Command[],
  pack: IncomingPack | undefined,
  options: { atomic: boolean; pushOptions: string[]; progress: (line: string) => void },
): Promise<void> {
  const { store } = ctx;
  const fail = (command: Command, reason: string) => (command.error ??= reason);
  const standing = () => commands.filter((command) => command.error === undefined);
  let moved: RefUpdate[] = [];
  try {
    pack?.install();
    checkConnectivity(store, commands, pack);
    for (const command of standing()) {
      const { ref, old: oldId, new: newId } = command.update;
      if (!ref.startsWith('refs/')) fail(command, 'funny refname');
      else if (newId !== undefined && ref.startsWith('refs/heads/') && store.odb.read(newId)?.type !== 'commit') fail(command, 'not a commit');
      else if (oldId !== undefined && newId !== undefined && ref.startsWith('refs/heads/') && ctx.hooks?.allowNonFastForward !== true && !isAncestor(store, oldId, newId)) fail(command, 'non-fast-forward');
    }
    if (options.atomic && standing().length < commands.length) {
      for (const command of commands) fail(command, 'atomic transaction failed');
    }
    const hookContext = (updates: RefUpdate[]): ReceiveContext => ({ repo: ctx.repo, user: ctx.user, store, updates, pushOptions: options.pushOptions, progress: options.progress });
    if (ctx.hooks?.preReceive !== undefined && standing().length > 0) {
      try {
        await ctx.hooks.preReceive(hookContext(standing().map((command) => command.update)));
      } catch (error) {
        options.progress(error instanceof GitHookRejection ? error.message : `pre-receive hook failed: ${describeError(error)}`);
        if (!(error instanceof GitHookRejection)) ctx.log.warn('pre-receive hook failed', { repo: ctx.repo, error: describeError(error) });
        for (const command of commands) fail(command, 'pre-receive hook declined');
      }
    }
    const updates = standing();
    if (updates.length > 0) {
      const results = await store.updateRefs(
        updates.map((command) => command.update),
        { atomic: options.atomic, who: { name: ctx.user, email: `${ctx.user}@nymote` }, message: 'push' },
      );
      results.forEach((result, i) => {
        if (result.error !== undefined) fail(updates[i]!, result.error);
      });
      moved = updates.filter((command) => command.error === undefined).map((command) => command.update);
    }
  } finally {
    // Objects no ref reaches are not kept: a refused push leaves the repository as it was.
    if (moved.length === 0) await pack?.discard();
  }
  if (moved.length > 0 && ctx.hooks?.postReceive !== undefined) {
    try {
      await ctx.hooks.postReceive({ repo: ctx.repo, user: ctx.user, store, updates: moved, pushOptions: options.pushOptions, progress: options.progress });
    } catch (error) {
      ctx.log.warn('post-receive hook failed', { repo: ctx.repo, error: describeError(error) });
    }
  }
}

/**
 * Every new tip must reach only objects that are on disk: the walk follows what the new pack
 * brought and stops at objects the repository had (they were complete before). Objects are
 * looked up on disk, not in caches, which may remember objects of a discarded push.
 */
function checkConnectivity(store: Store, commands: Command[], pack: IncomingPack | undefined): void {
  const newPack = pack?.open();
  const lease = packSetOf(store).acquire();
  try {
    // The pushed pack first: an object it shares with an older pack is checked as its own.
    const readers = newPack === undefined ? lease.readers : [newPack, ...lease.readers];
    const objects = new PackObjects(readers, (id) => store.odb.read(id));
    const connectivity = new PackConnectivity(objects, newPack === undefined ? -1 : 0, (id) => looseObjectExists(store, id), (id) => store.odb.read(id));
    for (const command of commands) {
      const newId = command.update.new;
      if (command.error !== undefined || newId === undefined) continue;
      let ok: boolean;
      try {
        ok = connectivity.complete(newId);
      } catch (error) {
        ok = false;
        command.error = `missing necessary objects (${describeError(error)})`;
      }
      if (!ok) command.error ??= 'missing necessary objects';
    }
  } finally {
    lease.release();
    newPack?.close();
  }
}

/** Whether `ancestor` is `descendant` or one of its ancestors (no cut-off by date: clocks lie). */
function isAncestor(store: Store, ancestor: ObjectId, descendant: ObjectId): boolean {
  if (store.odb.read(ancestor)?.type !== 'commit') return false;
  const seen = new Set<ObjectId>([descendant]);
  const stack = [descendant];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (id === ancestor) return true;
    for (const parent of store.odb.readCommit(id).parents) if (!seen.has(parent)) (seen.add(parent), stack.push(parent));
  }
  return false;
}

function resultHeaders(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'application/x-git-receive-pack-result',
    'cache-control': 'no-cache, max-age=0, must-revalidate',
    expires: 'Fri, 01 Jan 1980 00:00:00 GMT',
    pragma: 'no-cache',
  });
}
