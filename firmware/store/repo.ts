/**
 * A bare git repository on disk, as `git init --bare` makes it. Creation happens in a
 * temporary directory renamed into place, so a crash never leaves half a repository.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDirectory } from '../runtime/durable.js';
import { StoreError } from './errors.js';

export const DEFAULT_BRANCH = 'main';

const CONFIG = `[core]
\trepositoryformatversion = 0
\tfilemode = true
\tbare = true
\tlogallrefupdates = true
[receive]
\tdenyNonFastForwards = false
`;

export function isRepository(gitDir: string): boolean {
  return fs.existsSync(path.join(gitDir, 'HEAD')) && fs.existsSync(path.join(gitDir, 'objects'));
}

/** An unfinished creation is this old at most: a younger one may be another process's, at work. */
const ABANDONED_INIT_MS = 10 * 60 * 1000;

/** Removes the temporary directories that creations of `name` left when they crashed. */
function removeAbandonedInits(parent: string, name: string): void {
  for (const entry of fs.readdirSync(parent)) {
    if (!entry.startsWith(`.init-${name}-`)) continue;
    const dir = path.join(parent, entry);
    try {
      if (Date.now() - fs.statSync(dir).mtimeMs > ABANDONED_INIT_MS) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // Gone already, or not ours to remove: it stays.
    }
  }
}

/** Creates the repository if it does not exist; returns true when it made one. */
export function ensureRepository(gitDir: string): boolean {
  if (isRepository(gitDir)) return false;
  if (fs.existsSync(gitDir) && fs.readdirSync(gitDir).length > 0) {
    throw new StoreError('EINVAL', `${gitDir} exists and is not a git repository`);
  }
  const parent = path.dirname(gitDir);
  fs.mkdirSync(parent, { recursive: true });
  removeAbandonedInits(parent, path.basename(gitDir));
  const temp = fs.mkdtempSync(path.join(parent, `.init-${path.basename(gitDir)}-`));
  for (const dir of ['objects/info', 'objects/pack', 'refs/heads', 'refs/tags', 'info']) {
    fs.mkdirSync(path.join(temp, dir), { recursive: true });
  }
  fs.writeFileSync(path.join(temp, 'HEAD'), `ref: refs/heads/${DEFAULT_BRANCH}\n`);
  fs.writeFileSync(path.join(temp, 'config'), CONFIG);
  fs.writeFileSync(path.join(temp, 'description'), 'Nymote store\n');
  fs.rmSync(gitDir, { recursive: true, force: true });
  fs.renameSync(temp, gitDir);
  fsyncDirectory(parent);
  return true;
}
