/**
 * What the image tells the updater: the board (board.json) and the trusted release keys
 * (release-keys.json), both in /etc/nymote of the read-only root — or NYMOTE_ETC, which tests
 * point at a directory of their own — the slot nyinit started (NYMOTE_SLOT), and the OS slots
 * the initramfs found (os-slots.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadBoard, type Logger } from '../runtime/index.js';
import type { Arch } from './manifest.js';
import { parseTrustedKeys } from './release-keys.js';
import { osSlotFacts, type OsSlotFacts } from './os-slots.js';
import { isSlotName, type SlotName } from './slots.js';

export interface ImageFacts {
  board: string | undefined;
  arch: Arch | undefined;
  keys: Uint8Array[];
  runningSlot: SlotName | undefined;
  os: OsSlotFacts | undefined;
}

const NODE_ARCHES: Partial<Record<NodeJS.Architecture, Arch>> = { arm64: 'arm64', arm: 'armhf', x64: 'x64' };

export function imageFacts(env: NodeJS.ProcessEnv, log: Logger): ImageFacts {
  const etc = env.NYMOTE_ETC ?? '/etc/nymote';
  const slot = env.NYMOTE_SLOT;
  if (slot === undefined || !isSlotName(slot)) return { board: undefined, arch: undefined, keys: [], runningSlot: undefined, os: undefined };
  let board: string | undefined;
  let keys: Uint8Array[] = [];
  try {
    board = loadBoard(path.join(etc, 'board.json')).name;
  } catch (error) {
    log.warn('ota: no board description: no release is taken', { error: (error as Error).message });
  }
  const keysFile = path.join(etc, 'release-keys.json');
  try {
    if (fs.existsSync(keysFile)) keys = parseTrustedKeys(fs.readFileSync(keysFile, 'utf8'));
    else log.warn(`ota: ${keysFile} is missing: this image trusts no release key`);
  } catch (error) {
    log.warn('ota: the trusted release keys do not load: no release is taken', { error: (error as Error).message });
  }
  return { board, arch: NODE_ARCHES[process.arch], keys, runningSlot: slot, os: osSlotFacts(env) };
}
