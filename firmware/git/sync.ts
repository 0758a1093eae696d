/**
 * Sync of a user's store with a remote: fetch the branch, merge it with the store's typed
 * merges, push the result back. The remote may be another nymote or any git server speaking
 * smart HTTP. isomorphic-git is the client; the merge is ours. A push that loses a race with
 * another writer on the remote is retried from the fetch.
 */
import fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';
import nodeHttp from 'isomorphic-git/http/node';
import type { HttpClient } from 'isomorphic-git';
import { NymoteError, describeError } from '../runtime/index.js';
import type { ObjectId, Store } from '../store/index.js';
import type { RemoteCredentials, Remotes } from './remotes.js';

export interface SyncResult {
  remote: string;
  branch: string;
  /** What the merge of the remote's branch did here. */
  merge: 'nothing-fetched' | 'up-to-date' | 'fast-forward' | 'merge';
  conflicts: string[];
  /** Whether the remote's branch was moved. */
  pushed: boolean;
  head: ObjectId | undefined;
}

/**
 * How a remote's URL is reached when it is not plain HTTP(S): the client to use and the URL to
 * hand it (Signpost maps signpost://<device>[/<user>] onto a stream to that device; the user
 * defaults to the one whose store syncs). Undefined: not ours.
 */
export type RemoteTransport = (url: string, user: string) => { http: HttpClient; url: string } | undefined;

const ATTEMPTS = 3;
// One sync at a time per repository: periodic and manual syncs must not interleave.
const running = new Map<string, Promise<unknown>>();

export async function syncRemote(store: Store, remotes: Remotes, name: string, branch = 'main', transport?: RemoteTransport): Promise<SyncResult> {
  const previous = running.get(store.gitDir) ?? Promise.resolve();
  const attempt = previous.catch(() => undefined).then(() => syncOnce(store, remotes, name, branch, transport));
  running.set(store.gitDir, attempt);
  try {
    return await attempt;
  } finally {
    if (running.get(store.gitDir) === attempt) running.delete(store.gitDir);
  }
}

async function syncOnce(store: Store, remotes: Remotes, name: string, branch: string, transport: RemoteTransport | undefined): Promise<SyncResult> {
  const remote = await remotes.get(name);
  const auth = remotes.credentials(name);
  const via = clientFor(remote.url, path.basename(store.gitDir, '.git'), transport);
  for (let i = 1; ; i++) {
    const fetched = await fetchBranch(store, via, name, branch, auth);
    let merge: SyncResult['merge'] = 'nothing-fetched';
    let conflicts: string[] = [];
    if (fetched !== undefined) {
      const result = await store.merge(fetched, branch, { message: `Sync with ${name}\n` });
      merge = result.kind;
      conflicts = result.conflicts.map((c) => c.path);
    }
    const head = store.branch(branch).head();
    if (head === undefined || head === fetched) return { remote: name, branch, merge, conflicts, pushed: false, head };
    const pushed = await pushBranch(store, via, branch, auth);
    if (pushed) return { remote: name, branch, merge, conflicts, pushed: true, head };
    if (i >= ATTEMPTS) throw new NymoteError('ECONFLICT', `remote '${name}' kept moving; sync gave up after ${ATTEMPTS} attempts`);
  }
}

type Via = { http: HttpClient; url: string };

function clientFor(url: string, user: string, transport: RemoteTransport | undefined): Via {
  if (/^https?:/i.test(url)) return { http: nodeHttp, url };
  const via = transport?.(url, user);
  if (via === undefined) throw new NymoteError('EREMOTE', `${url}: this remote is reached through the running nymote: use \`sync NAME\` on its console`);
  return via;
}

function authCallbacks(auth: RemoteCredentials | undefined, url: string) {
  return {
    onAuth: () => auth ?? { cancel: true },
    onAuthFailure: () => {
      throw new NymoteError('EAUTH', `${url} refused the credentials`);
    },
  };
}

/** Fetches the remote's branch into refs/remotes/<name>/<branch>; undefined if it has none. */
async function fetchBranch(store: Store, { http, url }: Via, name: string, branch: string, auth: RemoteCredentials | undefined): Promise<ObjectId | undefined> {
  const refs = await clientCall(url, () => git.listServerRefs({ http, url, prefix: `refs/heads/${branch}`, ...authCallbacks(auth, url) }));
  if (!refs.some((r) => r.ref === `refs/heads/${branch}`)) return undefined;
  const result = await clientCall(url, () =>
    git.fetch({ fs, http, gitdir: store.gitDir, url, remote: name, ref: branch, singleBranch: true, tags: false, ...authCallbacks(auth, url) }),
  );
  // isomorphic-git wrote a pack of its own into objects/pack.
  store.odb.refreshPacks();
  return result.fetchHead ?? undefined;
}

/** Pushes the branch; false when the remote moved meanwhile (not a fast-forward). */
async function pushBranch(store: Store, { http, url }: Via, branch: string, auth: RemoteCredentials | undefined): Promise<boolean> {
  try {
    const result = await clientCall(url, () =>
      git.push({ fs, http, gitdir: store.gitDir, url, ref: branch, remoteRef: branch, ...authCallbacks(auth, url) }),
    );
    return result.ok;
  } catch (err) {
    if (err instanceof NymoteError) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'PushRejectedError' || code === 'GitPushError') return false;
    throw err;
  }
}

/** Runs a client call, turning isomorphic-git's and the network's errors into one line. */
async function clientCall<T>(url: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof NymoteError) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'PushRejectedError' || code === 'GitPushError') throw err;
    if (code === 'HttpError') throw new NymoteError('EREMOTE', `${url}: ${describeError(err)}`);
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT') {
      throw new NymoteError('EREMOTE', `cannot reach ${url} (${code})`);
    }
    throw new NymoteError('EREMOTE', `${url}: ${describeError(err)}`);
  }
}
