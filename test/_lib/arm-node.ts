/**
 * Running a cross-built addon on Debian trixie's ARM nodejs under qemu-user, for the suites in
 * test/cross. A missing qemu, ARM node or addon is an error that says what to run, never a skip.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';

const execFileAsync = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));

export const ARM_ARCHES = [
  { arch: 'arm64', qemu: 'qemu-aarch64-static', nodeArch: 'arm64' },
  { arch: 'armhf', qemu: 'qemu-arm-static', nodeArch: 'arm' },
] as const;
export type ArmArch = (typeof ARM_ARCHES)[number];

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => fs.existsSync(path.join(dir, command)));
}

/**
 * Runs `script` (plain JS: there is no tsx on the ARM node) with argv = the paths of the named
 * addons (build/<arch>/<name>.node), then `args`; resolves with its standard output.
 */
export async function runOnArmNode(arch: ArmArch, script: string, addons: readonly string[], args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  const sysroot = path.join(repo, '.cache/debian', arch.arch, 'sysroot');
  const armNode = path.join(sysroot, 'usr/bin/node');
  const addonFiles = addons.map((name) => path.join(repo, 'build', arch.arch, `${name}.node`));
  if (!onPath(arch.qemu)) throw new Error(`${arch.qemu} not found: scripts/apt-deps.sh qemu-user-static`);
  if (!fs.existsSync(armNode)) throw new Error(`no ${arch.arch} node at ${armNode}: rootfs/fetch-debs.sh ${arch.arch} nodejs`);
  for (const file of addonFiles) if (!fs.existsSync(file)) throw new Error(`no ${file}: scripts/cross-build.sh ${arch.arch}`);
  const { stdout } = await execFileAsync(arch.qemu, ['-L', sysroot, armNode, '-e', script, ...addonFiles, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 << 20,
    timeout: 300_000,
  });
  return stdout;
}

/**
 * qemu is slow to start Node (seconds), so runs start at once and each test awaits its own:
 * this keeps a run that fails before its test awaits it from crashing the process meanwhile.
 */
function started<T>(run: Promise<T>): Promise<T> {
  run.catch(() => {});
  return run;
}

/**
 * The two tests an addon with an OpenSSL backend gets on each ARM arch: with the ARM node's
 * OpenSSL (Debian's nodejs links libcrypto.so.3, where dlsym must find what the addon uses),
 * and with its portable C (forced by the environment variable `portableEnv`). `script` prints
 * a JSON report with at least arch and backend; `check` compares the rest with the JS twin.
 */
export function testBothBackends<R extends { arch: string; backend: string }>(
  test: Test,
  options: { addon: string; script: string; args: readonly string[]; portableEnv: string; check: (report: R) => void },
): void {
  for (const arch of ARM_ARCHES) {
    const run = (env: Record<string, string>) => started(runOnArmNode(arch, options.script, [options.addon], options.args, env).then((stdout) => JSON.parse(stdout) as R));
    const withOpenssl = run({});
    const withPortable = run({ [options.portableEnv]: '1' });

    test(`${arch.arch}: addon with the ARM node's OpenSSL matches the JS twin`, async () => {
      const report = await withOpenssl;
      assert.is(report.arch, arch.nodeArch);
      assert.is(report.backend, 'openssl');
      options.check(report);
    });

    test(`${arch.arch}: addon's portable C matches the JS twin`, async () => {
      const report = await withPortable;
      assert.is(report.backend, 'portable');
      options.check(report);
    });
  }
}
