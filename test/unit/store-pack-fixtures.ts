/**
 * Fixtures for the pack tests, made at test time with the git CLI: a repository whose
 * files change a little in each of a few hundred commits (so git finds deltas), and the
 * truth about its objects from `git cat-file --batch-all-objects --batch`.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { ObjectId, ObjectType, RawObject } from '../../firmware/store/objects.js';
import { Random } from '../_lib/random.js';

const madeDirs: string[] = [];
// Fixtures are a few megabytes each: remove them when the test process ends.
process.on('exit', () => {
  for (const dir of madeDirs) fs.rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ny-${prefix}-`));
  madeDirs.push(dir);
  return dir;
}

const gitHome = tempDir('pack-home');

/** git with no user or system config, so the machine's settings cannot change results. */
export function git(cwd: string, args: string[], input?: Buffer | string): Buffer {
  return execFileSync('git', args, {
    cwd,
    input,
    maxBuffer: 1 << 30,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: gitHome,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.org',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.org',
    },
  });
}

/** Like git(), but returns the exit status and stderr instead of throwing. */
export function gitStatus(cwd: string, args: string[], input?: Buffer | string): { status: number; output: string } {
  try {
    const stdout = git(cwd, args, input);
    return { status: 0, output: stdout.toString('utf8') };
  } catch (error) {
    const failure = error as { status?: number; stderr?: Buffer; stdout?: Buffer };
    return { status: failure.status ?? -1, output: `${failure.stdout?.toString() ?? ''}${failure.stderr?.toString() ?? ''}` };
  }
}

/** A tiny deterministic PRNG (mulberry32), so fixtures are the same on every run. */
export function random(seed: number): () => number {
  const generator = new Random(seed);
  return () => generator.next();
}

const WORDS = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa'.split(' ');

function line(next: () => number): string {
  const count = 3 + Math.floor(next() * 10);
  return Array.from({ length: count }, () => WORDS[Math.floor(next() * WORDS.length)]).join(' ');
}

/**
 * A bare repository with `commits` commits through git fast-import: a dozen files whose lines
 * are edited, inserted and deleted a few at a time, a file added now and then, a binary
 * file, and an annotated tag (so all four object types appear).
 */
export function makeHistoryRepo(dir: string, commits = 300, seed = 1): string {
  const next = random(seed);
  git(dir, ['init', '-q', '--bare', 'repo.git']);
  const repo = path.join(dir, 'repo.git');
  const files = new Map<string, string[]>();
  for (let f = 0; f < 12; f++) {
    files.set(`src/module-${f}.txt`, Array.from({ length: 40 + Math.floor(next() * 160) }, () => line(next)));
  }
  const parts: Buffer[] = [];
  const push = (text: string) => parts.push(Buffer.from(text, 'utf8'));
  const blob = (data: Buffer) => {
    push(`data ${data.length}\n`);
    parts.push(data, Buffer.from('\n'));
  };
  for (let c = 1; c <= commits; c++) {
    const touched = new Set<string>();
    const names = [...files.keys()];
    for (let k = 0; k < 1 + Math.floor(next() * 3); k++) {
      const name = names[Math.floor(next() * names.length)]!;
      const lines = files.get(name)!;
      const at = Math.floor(next() * lines.length);
      const action = next();
      if (action < 0.5) lines[at] = line(next);
      else if (action < 0.85) lines.splice(at, 0, line(next));
      else if (lines.length > 10) lines.splice(at, 1);
      touched.add(name);
    }
    if (c % 40 === 0) {
      const name = `docs/note-${c}.md`;
      files.set(name, Array.from({ length: 30 }, () => line(next)));
      touched.add(name);
    }
    const message = `commit ${c}: ${line(next)}\n`;
    push(`commit refs/heads/main\nmark :${c}\n`);
    push(`author Test <test@example.org> ${1_600_000_000 + c * 60} +0000\n`);
    push(`committer Test <test@example.org> ${1_600_000_000 + c * 60} +0000\n`);
    blob(Buffer.from(message));
    if (c > 1) push(`from :${c - 1}\n`);
    for (const name of touched) {
      push(`M 100644 inline ${name}\n`);
      blob(Buffer.from(files.get(name)!.join('\n') + '\n'));
    }
    if (c % 100 === 1) {
      push(`M 100644 inline assets/data-${c}.bin\n`);
      blob(Buffer.from(Array.from({ length: 3000 }, () => Math.floor(next() * 256))));
    }
    push('\n');
  }
  push(`tag v1\nfrom :${commits}\ntagger Test <test@example.org> ${1_700_000_000} +0000\n`);
  blob(Buffer.from('release one\n'));
  git(repo, ['fast-import', '--quiet'], Buffer.concat(parts));
  return repo;
}

/** Every object of a repository, as git itself reads it. */
export function catAllObjects(gitDir: string): Map<ObjectId, RawObject> {
  const output = git(gitDir, ['cat-file', '--batch-all-objects', '--batch']);
  const objects = new Map<ObjectId, RawObject>();
  let at = 0;
  while (at < output.length) {
    const newline = output.indexOf(0x0a, at);
    const [id, type, size] = output.toString('latin1', at, newline).split(' ');
    const start = newline + 1;
    const end = start + Number(size);
    objects.set(id!, { type: type as ObjectType, content: output.subarray(start, end) });
    at = end + 1;
  }
  return objects;
}

/** The single pack of a repository after a full repack. */
export function onlyPack(gitDir: string): string {
  const packDir = path.join(gitDir, 'objects', 'pack');
  const packs = fs.readdirSync(packDir).filter((name) => name.endsWith('.pack'));
  if (packs.length !== 1) throw new Error(`expected one pack in ${packDir}, found ${packs.length}`);
  return path.join(packDir, packs[0]!);
}

let historyRepo: string | undefined;

/** One shared history repository (made once per test process), gc'd aggressively. */
export function sharedHistoryRepo(): string {
  if (historyRepo === undefined) {
    historyRepo = makeHistoryRepo(tempDir('history'));
    git(historyRepo, ['gc', '-q', '--aggressive', '--prune=now']);
  }
  return historyRepo;
}

/** A copy of a pack (and its idx) in a fresh directory, for tests that damage or re-index it. */
export function copyPack(packFile: string, prefix = 'copy'): string {
  const dir = tempDir(prefix);
  const target = path.join(dir, path.basename(packFile));
  fs.copyFileSync(packFile, target);
  fs.copyFileSync(packFile.replace(/\.pack$/, '.idx'), target.replace(/\.pack$/, '.idx'));
  fs.chmodSync(target, 0o644);
  fs.chmodSync(target.replace(/\.pack$/, '.idx'), 0o644);
  return target;
}
