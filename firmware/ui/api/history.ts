/**
 * The store's history (branch main of the user's store): commits, what one changed, and
 * reverting one.
 *
 *   GET  history?path=P&limit=N        {commits: [{commit, parents, author, date, message}]}
 *   GET  history/:commit               {commit, …, changes: [{path, kind, lines | null, note}], truncated}
 *   POST history/:commit/revert        → {commit, paths}: a new commit that undoes that one's changes
 *
 * A revert is refused (409 ECONFLICT, nothing written) when a path it would restore changed
 * again since, and for mail (409 EMAIL): a mailbox's UIDs must never go back, which is what
 * `nymote mail restore` takes care of.
 */
import { diffLines } from 'diff';
import { HttpError } from '../../http/index.js';
import { StoreError, type ObjectId, type Store } from '../../store/index.js';
import { commitInfo, UI_BRANCH, type UiRequest, type UiRoute } from './context.js';

const MAX_HISTORY = 500;
const MAX_CHANGES = 200;
/** Larger files are listed but not compared line by line. */
const MAX_DIFF_BYTES = 256 * 1024;
const MAX_DIFF_LINES = 2000;
const COMMIT_ID = /^[0-9a-f]{40}$/;

export interface DiffLine {
  op: '+' | '-' | ' ';
  text: string;
}

/** A commit of the user's store, or 404 (a blob or tree id is not one either). */
function commitOf(ui: UiRequest, id: string | undefined) {
  if (id === undefined || !COMMIT_ID.test(id)) throw new HttpError(400, 'EINVAL', 'not a commit id');
  try {
    const commit = ui.store.odb.readCommit(id);
    return { commit: id, parents: commit.parents, author: commit.author, message: commit.message };
  } catch (err) {
    if (err instanceof StoreError) throw new HttpError(404, 'ENOTFOUND', 'no such commit in this store');
    throw err;
  }
}

function describeCommit(entry: { commit: ObjectId; parents: ObjectId[]; author: { name: string; email: string; timestamp: number }; message: string }) {
  return {
    commit: entry.commit,
    parents: entry.parents,
    author: entry.author.name,
    date: new Date(entry.author.timestamp * 1000).toISOString(),
    message: entry.message.replace(/\n$/, ''),
  };
}

/** The lines of a change, or why they are not shown. */
function changeLines(store: Store, before: ObjectId | undefined, after: ObjectId | undefined): { lines: DiffLine[] | null; note: string | null } {
  const read = (id: ObjectId | undefined) => (id === undefined ? Buffer.alloc(0) : store.odb.readTyped(id, 'blob', { keep: false }));
  const a = read(before);
  const b = read(after);
  if (a.length > MAX_DIFF_BYTES || b.length > MAX_DIFF_BYTES) return { lines: null, note: 'too large to show' };
  if (a.includes(0) || b.includes(0)) return { lines: null, note: 'binary' };
  const lines: DiffLine[] = [];
  for (const part of diffLines(a.toString('utf8'), b.toString('utf8'))) {
    const op = part.added === true ? '+' : part.removed === true ? '-' : ' ';
    for (const text of part.value.replace(/\n$/, '').split('\n')) {
      if (lines.length >= MAX_DIFF_LINES) return { lines, note: `cut at ${MAX_DIFF_LINES} lines` };
      lines.push({ op, text });
    }
  }
  return { lines, note: null };
}

function isMail(path: string): boolean {
  return path === 'mail' || path.startsWith('mail/') || path.startsWith('mail-queue/');
}

export const historyRoutes: UiRoute[] = [
  {
    method: 'GET',
    path: 'history',
    handler: (ui) => {
      const path = ui.url.searchParams.get('path') ?? '';
      const limit = Math.min(Math.max(Number(ui.url.searchParams.get('limit') ?? 50) || 50, 1), MAX_HISTORY);
      const entries = ui.store.branch(UI_BRANCH).history(path === '' ? undefined : path, { limit });
      return { path, commits: entries.map(describeCommit) };
    },
  },
  {
    method: 'GET',
    path: 'history/:commit',
    handler: (ui) => {
      const entry = commitOf(ui, ui.params.commit);
      const changes = ui.store.diff(entry.parents[0], entry.commit);
      return {
        ...describeCommit(entry),
        changes: changes.slice(0, MAX_CHANGES).map((change) => ({ path: change.path, kind: change.kind, ...changeLines(ui.store, change.before, change.after) })),
        truncated: changes.length > MAX_CHANGES,
      };
    },
  },
  {
    method: 'POST',
    path: 'history/:commit/revert',
    handler: async (ui) => {
      const entry = commitOf(ui, ui.params.commit);
      const changes = ui.store.diff(entry.parents[0], entry.commit);
      if (changes.length === 0) throw new HttpError(409, 'EEMPTY', 'this commit changed nothing to revert');
      if (changes.some((c) => isMail(c.path))) throw new HttpError(409, 'EMAIL', 'mail changes are undone with `nymote mail restore`, which keeps UIDs unique');
      const { commit } = await ui.store.branch(UI_BRANCH).transaction((view) => {
        const changedSince = changes.filter((c) => view.baseBlobId(c.path) !== c.after);
        if (changedSince.length > 0) {
          throw new HttpError(409, 'ECONFLICT', `changed again since: ${changedSince.map((c) => c.path).slice(0, 5).join(', ')}`);
        }
        for (const change of changes) {
          if (change.before === undefined) view.remove(change.path);
          else view.set(change.path, ui.store.odb.readTyped(change.before, 'blob'));
        }
      }, commitInfo(ui, `revert ${entry.commit.slice(0, 12)}: ${entry.message.split('\n')[0]!.slice(0, 200)}`));
      return { commit, paths: changes.map((c) => c.path) };
    },
  },
];
