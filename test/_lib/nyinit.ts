/** nyinit for the host (scripts/build-init.sh host), built when missing or older than its source. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from './cli.js';

const SOURCE = path.join(REPO, 'native/init/nyinit.c');
export const NYINIT = path.join(REPO, 'build/init/host/nyinit');

export function ensureNyinit(): void {
  if (fs.existsSync(NYINIT) && fs.statSync(NYINIT).mtimeMs >= fs.statSync(SOURCE).mtimeMs) return;
  const built = spawnSync('bash', [path.join(REPO, 'scripts/build-init.sh'), 'host'], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`scripts/build-init.sh host failed:\n${built.stdout}${built.stderr}`);
}
