/**
 * Power-cut stand-in: a writer is SIGKILLed at random points 50 times. Each time the
 * repository must be `git fsck --strict` clean and its branch at or after the last commit
 * the writer acknowledged.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fsck, git } from '../_lib/git.js';
import { REPO } from '../_lib/cli.js';
import { tempDir } from '../_lib/tmp.js';

const ROUNDS = 50;

function runAndKill(gitDir: string, killAfterMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'test/_lib/store-writer.ts'), gitDir], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (c) => {
      out += c;
      // Start the clock at the first acknowledgement, so every round kills a busy writer.
      timer ??= setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.on('data', (c) => (err += c));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited by itself (${code}): ${err}`));
      // Only complete lines were acknowledged.
      resolve(out.split('\n').slice(0, -1));
    });
  });
}

test(`SIGKILL at ${ROUNDS} random points: fsck clean, head at or after the last acknowledged commit`, async () => {
  const gitDir = path.join(tempDir('crash'), 'alice.git');
  let total = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const acknowledged = await runAndKill(gitDir, Math.floor(Math.random() * 150));
    total += acknowledged.length;
    assert.is(fsck(gitDir), '', `round ${round}`);
    const last = acknowledged[acknowledged.length - 1];
    if (last === undefined) continue;
    const head = git(gitDir, ['rev-parse', 'refs/heads/main']).trim();
    const isAncestor = head === last || git(gitDir, ['rev-list', head]).split('\n').includes(last);
    assert.ok(isAncestor, `round ${round}: head ${head} lost acknowledged commit ${last}`);
  }
  assert.ok(total > ROUNDS, `the writer made progress (${total} commits acknowledged)`);
});

test.run();
