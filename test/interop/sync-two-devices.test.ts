/**
 * Two nymote instances side by side (--port-base), as two devices of one owner: both change
 * the same keys offline, then sync both ways over /git. The typed merge gives the same result
 * on both sides: the same commit, the same values.
 */
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nymote, startInstance } from '../_lib/cli.js';
import { fsck, git } from '../_lib/git.js';
import { tempDir } from '../_lib/tmp.js';

test('edit offline on two devices, sync both ways, identical typed merge on both', async () => {
  const [dataA, dataB] = [tempDir('devA'), tempDir('devB')];
  const envA = { NYMOTE_DATA: dataA };
  const envB = { NYMOTE_DATA: dataB };
  for (const env of [envA, envB]) assert.is(nymote(['user', 'add', 'alice', '--password-stdin'], { input: 'secret-pass-1', env }).status, 0);
  const a = await startInstance(dataA);
  const b = await startInstance(dataB);
  try {
    const urlOf = (instance: typeof a) => `${instance.httpUrl.replace('http://', 'http://alice:secret-pass-1@')}/git/alice.git`;
    nymote(['store', 'set', 'stats/visits.counter', '10\n'], { env: envA });
    nymote(['store', 'set', 'tags.set', '["home"]\n'], { env: envA });
    nymote(['store', 'set', 'profile.json', '{"name": "Alice"}\n'], { env: envA });
    assert.is(nymote(['remote', 'add', 'laptop', urlOf(a), '--every', '0'], { env: envB }).status, 0);
    assert.is(nymote(['remote', 'add', 'phone', urlOf(b), '--every', '0'], { env: envA }).status, 0);
    const seed = nymote(['sync', 'laptop'], { env: envB });
    assert.is(seed.status, 0, seed.stderr);
    assert.match(seed.stdout, /fast-forward/);

    // Offline: both devices change the same keys.
    nymote(['store', 'set', 'stats/visits.counter', '13\n'], { env: envA });
    nymote(['store', 'set', 'tags.set', '["home","work"]\n'], { env: envA });
    nymote(['store', 'set', 'profile.json', '{"name": "Alice", "city": "Cambridge"}\n'], { env: envA });
    nymote(['store', 'set', 'stats/visits.counter', '15\n'], { env: envB });
    nymote(['store', 'set', 'tags.set', '["family"]\n'], { env: envB });
    nymote(['store', 'set', 'profile.json', '{"email": "alice@example.test", "name": "Alice"}\n'], { env: envB });

    const fromA = nymote(['sync', 'phone'], { env: envA });
    assert.is(fromA.status, 0, fromA.stderr);
    assert.match(fromA.stdout, /merge, pushed/);
    const fromB = nymote(['sync', 'laptop'], { env: envB });
    assert.is(fromB.status, 0, fromB.stderr);

    const repoA = path.join(dataA, 'store', 'alice.git');
    const repoB = path.join(dataB, 'store', 'alice.git');
    assert.is(git(repoA, ['rev-parse', 'main']), git(repoB, ['rev-parse', 'main']), 'the same commit on both devices');
    for (const env of [envA, envB]) {
      assert.is(nymote(['store', 'get', 'stats/visits.counter'], { env }).stdout, '18\n');
      assert.is(nymote(['store', 'get', 'tags.set'], { env }).stdout, '[\n  "family",\n  "work"\n]\n');
      assert.equal(JSON.parse(nymote(['store', 'get', 'profile.json'], { env }).stdout), { city: 'Cambridge', email: 'alice@example.test', name: 'Alice' });
      assert.is(nymote(['store', 'ls', 'conflicts'], { env }).stdout, '', 'no conflicts');
    }
    assert.is(fsck(repoA), '');
    assert.is(fsck(repoB), '');
  } finally {
    await a.stop();
    await b.stop();
  }
});

test.run();
