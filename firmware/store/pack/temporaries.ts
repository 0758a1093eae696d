/**
 * Temporary files of a repository: in objects/pack a pack or index being written (tmp_pack_*,
 * tmp_idx_*), a pushed pack being received (tmp_push_*), a group commit's staged pack; beside
 * refs, a ref's staged value (the last two named .tmp-<pid>-*, see runtime/durable.ts). A
 * crash leaves them behind; nothing ever reads them. When a store opens, the stale ones go:
 * older than STALE_TEMPORARY_MS and not named after a process that is still running, so a
 * push another process is receiving (or indexing, for minutes) is never pulled from under it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Untouched for this long, a temporary is a crash's leftover (a live writer touches it sooner). */
export const STALE_TEMPORARY_MS = 10 * 60 * 1000;

/** Our temporaries; group 1 or 2 is the writer's pid when the name carries it. */
const TEMPORARY = /^(?:tmp_(?:pack|idx|push)_(?:(\d+)_)?[0-9a-f]+(?:\.pack|\.idx)?|\.tmp-(\d+)-\d+-.+)$/;

/** A fresh temporary name in objects/pack: `tmp_<kind>_<pid>_<random><suffix>`. */
export function temporaryName(kind: 'pack' | 'idx' | 'push', suffix = ''): string {
  return `tmp_${kind}_${process.pid}_${randomBytes(6).toString('hex')}${suffix}`;
}

function running(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the stale temporaries of `packDir`; returns the names removed. */
export function removeStaleTemporaries(packDir: string, maxAgeMs = STALE_TEMPORARY_MS, now = Date.now()): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(packDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMPORARY.exec(name);
    if (match === null) continue;
    const file = path.join(packDir, name);
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(file);
    } catch {
      continue;
    }
    if (!stat.isFile() || now - stat.mtimeMs < maxAgeMs) continue;
    const pid = match[1] ?? match[2];
    if (pid !== undefined && running(Number(pid))) continue;
    try {
      fs.rmSync(file, { force: true });
      removed.push(name);
    } catch {
      // Another process removed it, or may not: it stays for the next open.
    }
  }
  return removed;
}

/** Removes the stale temporaries of a whole repository: objects/pack, refs/ (every level) and the top. */
export function removeStaleRepositoryTemporaries(gitDir: string): string[] {
  const removed = removeStaleTemporaries(path.join(gitDir, 'objects', 'pack'));
  const sweep = (dir: string): void => {
    removed.push(...removeStaleTemporaries(dir));
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) if (entry.isDirectory()) sweep(path.join(dir, entry.name));
  };
  sweep(path.join(gitDir, 'refs'));
  removed.push(...removeStaleTemporaries(gitDir));
  return removed;
}
