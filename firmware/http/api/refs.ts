/**
 * Branches, merges and diffs of a user's store:
 *   GET  /api/v1/<user>/branches                      → {branches: [{name, commit}]}
 *   POST /api/v1/<user>/branches  {name, from}         → 201 {name, commit}; 409 when it exists
 *   POST /api/v1/<user>/merge     {from, into}         → {kind, commit, conflicts: [paths]}
 *   GET  /api/v1/<user>/diff?from=A&to=B&prefix=P     → {from, to, prefix, changes, truncated}
 * `from`/`to` may name a branch, a tag or a commit id.
 */
import { readJsonObject, HttpError } from '../body.js';
import { sendJson } from '../respond.js';
import { authorOf, commitMessage, DEFAULT_BRANCH, methodNotAllowed, stringField, type ApiRequest } from './context.js';

export async function handleBranches(api: ApiRequest): Promise<void> {
  const { req, res, store, limits } = api;
  if (api.rest.length > 0) throw new HttpError(404, 'ENOTFOUND', 'no such resource');
  if (req.method === 'GET' || req.method === 'HEAD') {
    const branches = store
      .branches()
      .sort()
      .map((name) => ({ name, commit: store.branch(name).head() ?? null }));
    return sendJson(res, 200, { branches });
  }
  if (req.method !== 'POST') return methodNotAllowed(res, req.method ?? '', ['GET', 'HEAD', 'POST']);
  const body = await readJsonObject(req, { maxBytes: limits.maxJsonBytes, timeoutMs: limits.bodyTimeoutMs });
  const name = stringField(body, 'name');
  const from = stringField(body, 'from', { fallback: DEFAULT_BRANCH });
  const branch = store.branch(name); // EBADREF for a name git refuses
  if (branch.head() !== undefined) throw new HttpError(409, 'EEXIST', `branch '${name.slice(0, 100)}' already exists`);
  const commit = store.resolve(from);
  try {
    await store.createBranch(name, commit);
  } catch (err) {
    // Made by someone else between the check and the lock.
    if (branch.head() !== undefined) throw new HttpError(409, 'EEXIST', `branch '${name.slice(0, 100)}' already exists`);
    throw err;
  }
  sendJson(res, 201, { name, commit });
}

export async function handleMerge(api: ApiRequest): Promise<void> {
  const { req, res, store, limits, principal } = api;
  if (api.rest.length > 0) throw new HttpError(404, 'ENOTFOUND', 'no such resource');
  if (req.method !== 'POST') return methodNotAllowed(res, req.method ?? '', ['POST']);
  const body = await readJsonObject(req, { maxBytes: limits.maxJsonBytes, timeoutMs: limits.bodyTimeoutMs });
  const from = stringField(body, 'from');
  const into = stringField(body, 'into');
  if (store.branch(into).head() === undefined) throw new HttpError(404, 'ENOTFOUND', `no branch '${into.slice(0, 100)}'`);
  const header = req.headers['x-nymote-message'];
  const message = header === undefined ? undefined : commitMessage(req, '');
  const result = await store.merge(from, into, { author: authorOf(principal.user), ...(message ? { message } : {}) });
  sendJson(res, 200, { kind: result.kind, commit: result.commit ?? null, conflicts: result.conflicts.map((c) => c.path) });
}

export async function handleDiff(api: ApiRequest): Promise<void> {
  const { req, res, url, store, limits } = api;
  if (api.rest.length > 0) throw new HttpError(404, 'ENOTFOUND', 'no such resource');
  if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, req.method ?? '', ['GET', 'HEAD']);
  const fromSpec = url.searchParams.get('from');
  const toSpec = url.searchParams.get('to');
  if (fromSpec === null || fromSpec === '' || toSpec === null || toSpec === '') throw new HttpError(400, 'EINVAL', 'diff needs ?from=A&to=B (branches, tags or commits)');
  const prefix = url.searchParams.get('prefix') ?? '';
  const from = store.resolve(fromSpec);
  const to = store.resolve(toSpec);
  const all = store.diff(from, to, prefix);
  const changes = all.slice(0, limits.maxDiffChanges);
  sendJson(res, 200, { from, to, prefix, changes, truncated: all.length > changes.length });
}
