import path from 'node:path';
import { startGitServer, fillStore, runGit } from '/work/main/test/_lib/git-server.js';
import { tempDir } from '/work/main/test/_lib/tmp.js';
const server = await startGitServer();
await fillStore(server.stores.get('alice'), 50);
const dir = tempDir('sm');
for (const v of ['0', '2']) {
  const r = await runGit(['-c', `protocol.version=${v}`, 'clone', '--bare', server.url(), path.join(dir, `c${v}.git`)], { env: { GIT_TRACE_PACKET: process.env.TRACE ?? '' } });
  console.log(v, r.status, r.stderr.slice(-3000));
  console.log((await runGit(['--git-dir', path.join(dir, `c${v}.git`), 'fsck', '--strict'])).stderr, (await runGit(['--git-dir', path.join(dir, `c${v}.git`), 'rev-list', '--count', '--all'])).stdout);
}
await server.close();
