/**
 * Fuzz smoke: builds native/fuzz/dnswire_fuzz.c with libFuzzer + ASan + UBSan and runs it for a
 * few seconds (scripts/fuzz.sh 5 dnswire), from the real messages in native/fuzz/seeds-dnswire.
 * Long runs are `make fuzz`. Without clang this fails and says what to install; it is never
 * skipped.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const repo = fileURLToPath(new URL('../..', import.meta.url));

test('dnswire fuzz target runs 5 s without findings', () => {
  const clang = spawnSync('clang', ['--version'], { encoding: 'utf8' });
  if (clang.error !== undefined) {
    assert.unreachable('clang not found: install it with scripts/apt-deps.sh clang libclang-rt-14-dev libssl-dev');
  }
  const run = spawnSync('scripts/fuzz.sh', ['5', 'dnswire'], { cwd: repo, encoding: 'utf8', timeout: 180_000 });
  assert.is(run.status, 0, `scripts/fuzz.sh 5 dnswire failed:\n${run.stdout}${run.stderr}`);
  const execs = /fuzz dnswire: (\d+) execs/.exec(run.stdout);
  assert.ok(execs !== null, `no fuzz summary in: ${run.stdout}`);
  assert.ok(Number(execs[1]) > 1000, `only ${execs[1]} executions in 5 s`);
});

test.run();
