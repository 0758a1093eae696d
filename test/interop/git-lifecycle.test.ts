/**
 * What the git server leaves behind and how long it waits: stale temporaries in objects/pack
 * go when a store opens (fresh ones, and those of a live process, stay); clones do not pile
 * up descriptors, and closing the store closes the packs the git layer kept; a push may take
 * longer than the HTTP server's request timeout, which still cuts other slow requests.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { mountGit } from '../../firmware/git/index.js';
import { pktLine, FLUSH_PKT } from '../../firmware/git/pkt-line.js';
import { DEFAULT_HTTP_LIMITS, HttpService, readBody, sendJson } from '../../firmware/http/index.js';
import { LogSink } from '../../firmware/runtime/index.js';
import { Store, UserStores } from '../../firmware/store/index.js';
import { STALE_TEMPORARY_MS } from '../../firmware/store/pack/index.js';
import { fsck } from '../_lib/git.js';
import { fillStore, git, startGitServer } from '../_lib/git-server.js';
import { tempDir } from '../_lib/tmp.js';

/** A pid no process has (the highest pid is far below this). */
const DEAD_PID = 2 ** 30;

test('a store opening removes stale temporaries of objects/pack, not fresh ones nor a live process’s', async () => {
  const gitDir = path.join(tempDir('gl'), 'repo.git');
  const first = Store.open(gitDir, { durability: 'none' });
  await first.close();
  const packDir = path.join(gitDir, 'objects', 'pack');
  fs.mkdirSync(packDir, { recursive: true });
  const old = (Date.now() - STALE_TEMPORARY_MS - 60_000) / 1000;
  const files: Record<string, boolean> = {
    // name: expected to survive the open
    'tmp_push_0123456789abcdef.pack': false,
    'tmp_push_0123456789abcdef.idx': false,
    [`tmp_push_${DEAD_PID}_00aa11bb22cc.pack`]: false,
    [`tmp_pack_${DEAD_PID}_00aa11bb22cc`]: false,
    'tmp_idx_a1b2c3d4e5f6': false,
    [`.tmp-${DEAD_PID}-7-pack-${'a'.repeat(40)}.pack`]: false,
    // A live process (this one) may still be writing it, however old it looks.
    [`tmp_push_${process.pid}_00aa11bb22cc.pack`]: true,
    // Not ours.
    'pack-notes.txt': true,
  };
  for (const name of Object.keys(files)) {
    fs.writeFileSync(path.join(packDir, name), 'x');
    fs.utimesSync(path.join(packDir, name), old, old);
  }
  // Fresh: a push another process is receiving right now.
  fs.writeFileSync(path.join(packDir, `tmp_push_${DEAD_PID}_fresh0000000.pack`), 'x');
  files[`tmp_push_${DEAD_PID}_fresh0000000.pack`] = true;

  const store = Store.open(gitDir, { durability: 'none' });
  await store.close();
  for (const [name, survives] of Object.entries(files)) {
    assert.is(fs.existsSync(path.join(packDir, name)), survives, name);
  }
});

/** Descriptors of this process open on pack files under `dir`. */
function packDescriptors(dir: string): number {
  let count = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(path.join('/proc/self/fd', fd));
      if (target.startsWith(dir) && target.endsWith('.pack')) count++;
    } catch {
      // Closed while listing.
    }
  }
  return count;
}

test('many clones keep a fixed number of descriptors; closing the store closes the git layer’s packs', async () => {
  const server = await startGitServer({ limits: { deltaSearchMaxObjects: 0 } });
  try {
    await fillStore(server.stores.get('alice'), 30);
    const work = tempDir('gl');
    const counts: number[] = [];
    for (let i = 0; i < 12; i++) {
      const target = path.join(work, `c${i}.git`);
      await git(['clone', '-q', '--bare', server.url(), target]);
      if (i === 0) assert.is(fsck(target), '');
      fs.rmSync(target, { recursive: true, force: true });
      counts.push(fs.readdirSync('/proc/self/fd').length);
    }
    assert.ok(counts.at(-1)! <= counts[1]! + 2, `descriptors grew over the clones: ${counts.join(' ')}`);
    const dir = server.gitDir('alice');
    assert.ok(packDescriptors(dir) > 0);
    await server.stores.closeAll();
    assert.is(packDescriptors(dir), 0, 'packs still open after the store closed');
  } finally {
    await server.close();
  }
});

/** Sends a POST whose body trickles in over `spreadMs`; resolves with the status and body. */
function slowPost(port: number, pathname: string, headers: Record<string, string>, body: Buffer, spreadMs: number): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: pathname, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', (error) => resolve({ status: -1, body: Buffer.from(String(error)) }));
    const pieces = 10;
    const size = Math.ceil(body.length / pieces);
    let sent = 0;
    const next = (): void => {
      if (req.destroyed) return;
      req.write(body.subarray(sent * size, (sent + 1) * size));
      sent++;
      if (sent < pieces) setTimeout(next, spreadMs / pieces);
      else req.end();
    };
    next();
  });
}

test('a push may take longer than the request timeout; other requests may not', async () => {
  const dataDir = tempDir('gl');
  const stores = new UserStores(path.join(dataDir, 'store'), { durability: 'none' });
  stores.ensure('alice');
  const log = new LogSink({ stderr: false });
  const service = new HttpService('127.0.0.1', 0, log.logger(), { ...DEFAULT_HTTP_LIMITS, requestTimeoutMs: 400 });
  mountGit(service.router, { stores, authorize: async () => ({ user: 'alice' }), log: log.logger() });
  service.router.add(['POST'], '/echo', async (req, res) => {
    const body = await readBody(req, { maxBytes: 1 << 20, timeoutMs: 5000 });
    sendJson(res, 200, { bytes: body.length });
  });
  await service.start();
  try {
    const port = service.boundPort()!;
    // A commit made by git, as a push: the command, then its pack.
    const local = path.join(dataDir, 'local');
    await git(['init', '-q', '-b', 'main', local]);
    fs.writeFileSync(path.join(local, 'a.txt'), 'pushed slowly\n');
    await git(['-C', local, 'add', '.']);
    await git(['-C', local, '-c', 'user.name=T', '-c', 'user.email=t@x', 'commit', '-q', '-m', 'slow']);
    const head = (await git(['-C', local, 'rev-parse', 'HEAD'])).trim();
    const pack = spawnSync('git', ['-C', local, 'pack-objects', '--stdout', '--revs', '-q'], { input: `${head}\n` }).stdout;
    const body = Buffer.concat([pktLine(`${'0'.repeat(40)} ${head} refs/heads/main\0report-status\n`), FLUSH_PKT, pack]);
    const pushed = await slowPost(port, '/git/alice.git/git-receive-pack', { 'content-type': 'application/x-git-receive-pack-request' }, body, 1200);
    assert.is(pushed.status, 200, pushed.body.toString());
    assert.match(pushed.body.toString(), /unpack ok/);
    assert.is(stores.get('alice').refs.read('refs/heads/main'), head);

    const echoed = await slowPost(port, '/echo', { 'content-type': 'application/octet-stream' }, Buffer.alloc(2000, 1), 1200);
    assert.ok(echoed.status === 408 || echoed.status === -1, `a slow request elsewhere was not cut: ${echoed.status}`);
  } finally {
    await service.stop();
    await stores.closeAll();
  }
});

test.run();
