/**
 * `/api/v1/<user>/tree/<branch>/<path>`: a value's bytes (GET, with ETag = blob id and
 * If-None-Match → 304), a directory's listing (JSON), a path's history (`?history=1&limit=N`),
 * PUT of a value (If-Match → 412 when it changed) and DELETE (a directory only with
 * `?recursive=1`). A branch name with '/' is sent percent-encoded (`feature%2Fx`).
 */
import { splitPath, type TreeView } from '../../store/index.js';
import { HttpError, readBody } from '../body.js';
import { sendJson } from '../respond.js';
import {
  authorOf,
  commitMessage,
  etagOf,
  intParam,
  matchesIfMatch,
  methodNotAllowed,
  parseEtagList,
  readableBranch,
  type ApiRequest,
} from './context.js';

export async function handleTree(api: ApiRequest): Promise<void> {
  const { req, res, rest } = api;
  const [branchName, ...segments] = rest;
  if (branchName === undefined || branchName === '') throw new HttpError(400, 'EBADPATH', 'missing branch: /api/v1/<user>/tree/<branch>/<path>');
  const path = segments.filter((s, i) => s !== '' || i < segments.length - 1).join('/');
  switch (req.method) {
    case 'GET':
    case 'HEAD':
      return getTree(api, branchName, path);
    case 'PUT':
      return putValue(api, branchName, path);
    case 'DELETE':
      return deletePath(api, branchName, path);
    default:
      return methodNotAllowed(res, req.method ?? '', ['GET', 'HEAD', 'PUT', 'DELETE']);
  }
}

async function getTree(api: ApiRequest, branchName: string, path: string): Promise<void> {
  const { req, res, url, store, limits } = api;
  const { branch, head } = readableBranch(store, branchName);
  if (url.searchParams.has('history') && url.searchParams.get('history') !== '0') {
    const limit = intParam(url, 'limit', 50, limits.maxHistory);
    const history = branch.history(path === '' ? undefined : path, { limit }).map((e) => ({
      commit: e.commit,
      parents: e.parents,
      author: { name: e.author.name, email: e.author.email, date: new Date(e.author.timestamp * 1000).toISOString() },
      message: e.message.replace(/\n$/, ''),
    }));
    return sendJson(res, 200, { branch: branchName, path, history });
  }
  const view = store.snapshot(head);
  if (path !== '') {
    const id = view.baseBlobId(path);
    if (id !== undefined) {
      const etag = etagOf(id);
      const ifNoneMatch = parseEtagList(req.headers['if-none-match']);
      const headers = { etag, 'cache-control': 'no-cache', 'x-nymote-commit': head ?? '' };
      if (ifNoneMatch !== undefined && (ifNoneMatch.includes('*') || ifNoneMatch.includes(id))) {
        res.writeHead(304, headers);
        return void res.end();
      }
      const value = view.get(path)!;
      res.writeHead(200, {
        ...headers,
        'content-type': 'application/octet-stream',
        'content-length': value.length,
        // Values are the user's own bytes: never let a browser run them as a page of this origin.
        'content-security-policy': "default-src 'none'; sandbox",
        'x-content-type-options': 'nosniff',
      });
      return void res.end(req.method === 'HEAD' ? undefined : value);
    }
  }
  const entries = view.list(path);
  if (path !== '' && entries.length === 0) throw new HttpError(404, 'ENOTFOUND', `nothing at ${path.slice(0, 200)} on ${branchName.slice(0, 100)}`);
  sendJson(res, 200, { branch: branchName, commit: head ?? null, path, entries });
}

/** 409 when writing `path` would replace a directory, or a file above it. */
function refuseShapeChange(view: TreeView, path: string): void {
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const ancestor = segments.slice(0, i).join('/');
    if (view.baseBlobId(ancestor) !== undefined) throw new HttpError(409, 'ENOTDIR', `${ancestor} is a value, not a directory`);
  }
  if (view.baseBlobId(path) === undefined && view.list(path).length > 0) throw new HttpError(409, 'EISDIR', `${path} is a directory`);
}

async function putValue(api: ApiRequest, branchName: string, path: string): Promise<void> {
  const { req, res, store, limits, principal } = api;
  if (path === '') throw new HttpError(400, 'EBADPATH', 'missing path: PUT /api/v1/<user>/tree/<branch>/<path>');
  const { branch } = readableBranch(store, branchName);
  splitPath(path); // EBADPATH before the body is read
  const ifMatch = parseEtagList(req.headers['if-match']);
  const ifNoneMatch = parseEtagList(req.headers['if-none-match']);
  const message = commitMessage(req, `set ${path}`);
  const value = await readBody(req, { maxBytes: limits.maxValueBytes, timeoutMs: limits.bodyTimeoutMs });
  const { commit, result: created } = await branch.transaction(
    (view) => {
      const current = view.baseBlobId(path);
      if (ifMatch !== undefined && !matchesIfMatch(ifMatch, current)) {
        throw new HttpError(412, 'EPRECONDITION', current === undefined ? `${path} does not exist` : `${path} has changed (it is ${current})`);
      }
      if (ifNoneMatch?.includes('*') === true && current !== undefined) throw new HttpError(412, 'EPRECONDITION', `${path} already exists`);
      refuseShapeChange(view, path);
      view.set(path, value);
      return current === undefined;
    },
    { message, author: authorOf(principal.user) },
  );
  const id = store.snapshot(commit).baseBlobId(path);
  if (id !== undefined) res.setHeader('etag', etagOf(id));
  sendJson(res, created ? 201 : 200, { commit, id });
}

async function deletePath(api: ApiRequest, branchName: string, path: string): Promise<void> {
  const { req, res, url, store, principal } = api;
  if (path === '') throw new HttpError(400, 'EBADPATH', 'missing path: DELETE /api/v1/<user>/tree/<branch>/<path>');
  const { branch } = readableBranch(store, branchName);
  const ifMatch = parseEtagList(req.headers['if-match']);
  const recursive = url.searchParams.get('recursive') === '1' || url.searchParams.get('recursive') === 'true';
  const message = commitMessage(req, `remove ${path}`);
  const { commit } = await branch.transaction(
    (view) => {
      const current = view.baseBlobId(path);
      if (ifMatch !== undefined && !matchesIfMatch(ifMatch, current)) {
        throw new HttpError(412, 'EPRECONDITION', current === undefined ? `${path} is not a value` : `${path} has changed (it is ${current})`);
      }
      if (current === undefined) {
        if (view.list(path).length === 0) throw new HttpError(404, 'ENOTFOUND', `nothing at ${path.slice(0, 200)} on ${branchName.slice(0, 100)}`);
        if (!recursive) throw new HttpError(409, 'EISDIR', `${path} is a directory; add ?recursive=1 to remove it and everything in it`);
      }
      view.remove(path);
    },
    { message, author: authorOf(principal.user) },
  );
  sendJson(res, 200, { commit });
}
