/**
 * A release on the laptop: each arch's app (the directory an app slot holds, made by
 * scripts/assemble-app.sh) under `<arch>/`, optionally boards' OS images (the root file system
 * that rootfs/build-image.sh left in out/<board>/os/), and manifest.json, signed by the release key —
 * one commit on the `release` branch of out/release.git, ready for `git push <device> release`.
 * Files that did not change are the same blobs as before, so a push sends only what changed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NymoteError } from '../runtime/index.js';
import type { ObjectId, Store } from '../store/index.js';
import { MANIFEST_PATH, formatManifest, osImagePath, signRelease, type Arch, type ReleaseManifest } from './manifest.js';
import type { ReleaseKey } from './release-keys.js';

export const RELEASE_BRANCH = 'release';
/** In a board's OS directory: the root file system, and the kernel release its modules are for. */
export const OS_IMAGE_FILE = 'rootfs.squashfs';
export const KERNEL_RELEASE_FILE = 'kernel-release';

export interface ReleaseBuild {
  key: ReleaseKey;
  /** Each arch's app directory. */
  apps: ReadonlyMap<Arch, string>;
  /** Boards' OS directories (rootfs.squashfs and kernel-release, as build-image.sh writes them to out/<board>/os). */
  os?: ReadonlyMap<string, string>;
  version: string;
  /** Default: one above the last release on the branch (1 for the first). */
  counter?: number;
  boards: string[];
  validDays: number;
  addKeys?: Uint8Array[];
}

/** Commits the release onto RELEASE_BRANCH of `repository`; its commit and manifest. */
export async function buildRelease(repository: Store, build: ReleaseBuild): Promise<{ commit: ObjectId; manifest: ReleaseManifest }> {
  const branch = repository.branch(RELEASE_BRANCH);
  const counter = build.counter ?? lastCounter(branch.get(MANIFEST_PATH)) + 1;
  const files = new Map<string, Uint8Array>();
  for (const [arch, dir] of build.apps) {
    for (const file of filesUnder(dir)) files.set(`${arch}/${file}`, fs.readFileSync(path.join(dir, file)));
  }
  const os: Record<string, string> = {};
  for (const [board, dir] of build.os ?? []) {
    const read = (name: string) => {
      try {
        return fs.readFileSync(path.join(dir, name));
      } catch {
        throw new NymoteError('ERELEASE', `no ${path.join(dir, name)} (make image BOARD=${board} writes it)`);
      }
    };
    files.set(osImagePath(board), read(OS_IMAGE_FILE));
    os[board] = read(KERNEL_RELEASE_FILE).toString('utf8').trim();
  }
  const manifest = signRelease(build.key, { version: build.version, counter, boards: build.boards, arches: [...build.apps.keys()], files, os, validDays: build.validDays, ...(build.addKeys === undefined ? {} : { addKeys: build.addKeys }) });
  const { commit } = await branch.transaction(
    (view) => {
      // The release is exactly these files: what the last one had and this one lacks goes.
      for (const entry of view.list()) view.remove(entry.name);
      for (const [file, bytes] of files) view.set(file, bytes);
      view.set(MANIFEST_PATH, formatManifest(manifest));
    },
    { message: `release ${build.version} (counter ${counter}) for ${manifest.arches.join(', ')}${Object.keys(os).length === 0 ? '' : `, OS for ${Object.keys(os).join(', ')}`}\n` },
  );
  if (commit === undefined) throw new NymoteError('ERELEASE', 'the release made no commit');
  return { commit, manifest };
}

/**
 * The counter of the release before (0 for none), read without the checks a device makes: it
 * is this laptop's own, and an older manifest format still says its counter.
 */
function lastCounter(manifest: Buffer | undefined): number {
  if (manifest === undefined) return 0;
  let counter: unknown;
  try {
    counter = (JSON.parse(manifest.toString('utf8')) as { counter?: unknown }).counter;
  } catch {
    // reported below
  }
  if (!Number.isSafeInteger(counter)) throw new NymoteError('ERELEASE', `the last release's ${MANIFEST_PATH} says no counter: give one (--counter)`);
  return counter as number;
}

/** Every regular file below `dir`, relative, sorted; anything else (a symlink, a device) is refused. */
function filesUnder(dir: string): string[] {
  const found: string[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) found.push(child);
      else throw new NymoteError('ERELEASE', `${path.join(dir, child)} is not a regular file or directory`);
    }
  };
  if (!fs.existsSync(dir)) throw new NymoteError('ERELEASE', `no app directory ${dir}`);
  walk('');
  if (found.length === 0) throw new NymoteError('ERELEASE', `${dir} is empty`);
  return found.sort();
}
