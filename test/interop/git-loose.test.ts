/**
 * Loose objects in a served repository (the git CLI committing into it directly): a clone
 * packs them first and is served by the fast pack walk; a fetch is served through the odb and
 * packs them afterwards. Either way the objects end up in a pack, the loose files go, and
 * every clone and fetch passes fsck --strict.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { listLoose } from '../../firmware/store/loose.js';
import { fsck } from '../_lib/git.js';
import { fillStore, git, startGitServer } from '../_lib/git-server.js';
import { tempDir } from '../_lib/tmp.js';
import path from 'node:path';

/** `count` commits on main written by git fast-import straight into the repository (loose: under 100 objects). */
function commitLoose(gitDir: string, count: number, seed: number): void {
  let stream = '';
  for (let i = 0; i < count; i++) {
    stream += `commit refs/heads/main\ncommitter T <t@x> ${1_800_000_000 + seed + i} +0000\ndata 5\nloose\n`;
    if (i === 0) stream += 'from refs/heads/main^0\n';
    stream += `M 100644 inline loose/${seed + i}.txt\ndata 6\nvalue\n`;
  }
  const result = spawnSync('git', ['--git-dir', gitDir, 'fast-import', '--quiet'], { input: stream });
  if (result.status !== 0) throw new Error(`fast-import: ${result.stderr.toString()}`);
}

const looseCount = (gitDir: string) => [...listLoose(path.join(gitDir, 'objects'))].length;

test('loose objects are packed: before a clone, and after a fetch', async () => {
  const server = await startGitServer();
  try {
    await fillStore(server.stores.get('alice'), 30);
    const gitDir = server.gitDir('alice');
    commitLoose(gitDir, 5, 0);
    assert.ok(looseCount(gitDir) >= 15, 'fast-import left loose objects');

    const work = tempDir('git-loose');
    const clone = path.join(work, 'clone.git');
    await git(['clone', '-q', '--bare', server.url('alice'), clone]);
    assert.is(looseCount(gitDir), 0, 'packed before the clone was walked');
    assert.is(await git(['--git-dir', clone, 'rev-parse', 'main']), await git(['--git-dir', gitDir, 'rev-parse', 'main']));
    fsck(clone);

    commitLoose(gitDir, 3, 100);
    assert.ok(looseCount(gitDir) > 0);
    await git(['--git-dir', clone, 'fetch', '-q', server.url('alice'), '+refs/heads/main:refs/heads/main']);
    assert.is(await git(['--git-dir', clone, 'rev-parse', 'main']), await git(['--git-dir', gitDir, 'rev-parse', 'main']));
    fsck(clone);
    for (let i = 0; i < 100 && looseCount(gitDir) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.is(looseCount(gitDir), 0, 'packed after the fetch');
    fsck(gitDir);
  } finally {
    await server.close();
  }
});

test.run();
