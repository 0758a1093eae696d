/**
 * The SD-card image pipeline (rootfs/build-image.sh, `make image BOARD=…`): a bad board name is
 * one line listing the boards; two builds of the qemu-arm64 image are byte-identical.
 *
 * The builds go to temporary output directories (NYMOTE_IMAGE_OUT), so out/ is left alone,
 * with a fixed SOURCE_DATE_EPOCH (a commit landing between the builds changes nothing). They
 * need what `make test` builds first: the bundle with the ARM addons, build/init/arm64 and
 * the package cache (make boot-image fills it).
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../_lib/tmp.js';

const SCRIPT = 'rootfs/build-image.sh';
const BOARD = 'qemu-arm64';

const boards = fs
  .readdirSync('board')
  .filter((name) => fs.existsSync(path.join('board', name, 'board.json')))
  .sort();

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true', ...env } });
}

test('an unknown or missing BOARD is one line naming the boards, exit 2', () => {
  for (const args of [['no-such-board'], [], ['../board']]) {
    const result = run(args);
    assert.is(result.status, 2, `${SCRIPT} ${args.join(' ')}: ${result.stderr}`);
    assert.is(result.stdout, '');
    const lines = result.stderr.trimEnd().split('\n');
    assert.is(lines.length, 1, result.stderr);
    assert.match(lines[0]!, `BOARD must be one of: ${boards.join(' ')}`);
    if (args[0] === 'no-such-board') assert.match(lines[0]!, "unknown board 'no-such-board'");
  }
});

test('`make image` without BOARD stops before building anything', () => {
  const { BOARD: _board, ...env } = process.env;
  const result = spawnSync('make', ['--no-print-directory', 'image'], { encoding: 'utf8', env: { ...env, CI: 'true' } });
  assert.is.not(result.status, 0);
  assert.match(result.stderr, `BOARD must be one of: ${boards.join(' ')}`);
  assert.not.match(result.stdout, 'cross-build');
});

function digests(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = path.join(sub, entry.name);
      if (entry.isDirectory()) walk(rel);
      else out[rel] = crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, rel))).digest('hex');
    }
  };
  walk('');
  return out;
}

test(`two builds of ${BOARD} are byte-identical`, () => {
  const root = tempDir('img');
  try {
    const epoch = String(Math.floor(Date.UTC(2025, 0, 1) / 1000));
    const build = (name: string) => {
      const result = run([BOARD], { NYMOTE_IMAGE_OUT: path.join(root, name), SOURCE_DATE_EPOCH: epoch });
      assert.is(result.status, 0, `${SCRIPT} ${BOARD} failed:\n${result.stderr}`);
    };
    build('one');
    const files = digests(path.join(root, 'one'));
    for (const name of [`nymote-${BOARD}.img`, `nymote-${BOARD}.img.xz`, `nymote-${BOARD}.img.bmap`, 'boot/vmlinuz', 'boot/initrd.img', 'os/rootfs.squashfs', 'os/kernel-release']) {
      assert.ok(files[name], `no ${name} in the output`);
    }
    build('two');
    assert.equal(digests(path.join(root, 'two')), files);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test.run();
