/**
 * Running a cross-built addon on Debian trixie's ARM nodejs under qemu-user, for the suites in
 * test/cross. A missing qemu, ARM node or addon is an error that says what to run, never a skip.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

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
export function started<T>(run: Promise<T>): Promise<T> {
  run.catch(() => {});
  return run;
}
