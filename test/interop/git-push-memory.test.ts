/**
 * A 200 MiB push costs the server less than 100 MiB of extra memory: the pack streams to
 * disk while it is checked, and indexing holds one object (and its delta chain) at a time.
 * Peak RSS is the kernel's high-water mark (VmHWM), reset just before the push.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { fsck } from '../_lib/git.js';
import { git, startGitServer } from '../_lib/git-server.js';
import { tempDir } from '../_lib/tmp.js';

const BLOBS = 200;
const BLOB_BYTES = 1024 * 1024;

function highWaterMark(): number {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

test('a 200 MiB push uses under 100 MiB of extra RSS', async () => {
  const server = await startGitServer();
  try {
    const client = path.join(tempDir('gm'), 'client.git');
    await git(['init', '-q', '--bare', client]);
    // Incompressible blobs, one commit: the pack is as big as the data. Made by a shell
    // pipeline so that this process (the server's) never holds them.
    const script = `{ printf 'commit refs/heads/main\\ncommitter T <t@example.test> 1700000000 +0000\\ndata 4\\nbig\\n'
      for i in $(seq 1 ${BLOBS}); do printf 'M 100644 inline blobs/b%d.bin\\ndata ${BLOB_BYTES}\\n' $i; head -c ${BLOB_BYTES} /dev/urandom; echo; done
    } | git --git-dir "$1" fast-import --quiet`;
    const made = spawnSync('bash', ['-c', script, 'bash', client], { encoding: 'utf8' });
    assert.is(made.status, 0, made.stderr);

    const before = process.memoryUsage().rss;
    fs.writeFileSync('/proc/self/clear_refs', '5');
    await git(['-c', 'pack.window=0', '--git-dir', client, 'push', '-q', server.url(), 'main']);
    const extra = highWaterMark() - before;
    if (process.env.GIT_TEST_LOG === '1') console.log(`extra RSS ${(extra / 1024 / 1024).toFixed(1)} MiB, before ${(before / 1024 / 1024).toFixed(0)} MiB`);
    assert.ok(extra < 100 * 1024 * 1024, `the push took ${(extra / 1024 / 1024).toFixed(0)} MiB of extra RSS`);

    const alice = server.stores.get('alice');
    assert.is(alice.refs.read('refs/heads/main'), (await git(['--git-dir', client, 'rev-parse', 'main'])).trim());
    assert.is(alice.branch().get('blobs/b7.bin')?.length, BLOB_BYTES);
    assert.is(fsck(server.gitDir('alice')), '');
  } finally {
    await server.close();
  }
});

test.run();
