/**
 * Fuzz smoke: builds every libFuzzer target in native/fuzz (<name>_fuzz.c, with ASan + UBSan)
 * and runs each for a few seconds (scripts/fuzz.sh 5 NAME), from its seeds in
 * native/fuzz/seeds-<name>/ when it has some. Long runs are `make fuzz`. Without clang this
 * fails and says what to install; it is never skipped.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const targets = fs
  .readdirSync(`${repo}/native/fuzz`)
  .filter((file) => file.endsWith('_fuzz.c'))
  .map((file) => file.slice(0, -'_fuzz.c'.length));

test('there is a fuzz target for each addon that parses input', () => {
  for (const addon of ['sha1', 'dnswire', 'aead']) assert.ok(targets.includes(addon), `native/fuzz/${addon}_fuzz.c`);
});

for (const name of targets) {
  test(`${name} fuzz target runs 5 s without findings`, () => {
    const clang = spawnSync('clang', ['--version'], { encoding: 'utf8' });
    if (clang.error !== undefined) {
      assert.unreachable('clang not found: install it with scripts/apt-deps.sh clang libclang-rt-14-dev libssl-dev');
    }
    const run = spawnSync('scripts/fuzz.sh', ['5', name], { cwd: repo, encoding: 'utf8', timeout: 180_000 });
    assert.is(run.status, 0, `scripts/fuzz.sh 5 ${name} failed:\n${run.stdout}${run.stderr}`);
    const execs = new RegExp(`fuzz ${name}: (\\d+) execs`).exec(run.stdout);
    assert.ok(execs !== null, `no fuzz summary in: ${run.stdout}`);
    assert.ok(Number(execs[1]) > 1000, `only ${execs[1]} executions in 5 s`);
  });
}

test.run();
