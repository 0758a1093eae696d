/**
 * The app slots in /data/firmware (DESIGN.md, data directory): a/ and b/, each a whole app
 * (index.js, native/, node_modules/), and state.json, which says which one nyinit starts.
 *
 * nyinit reads two keys of state.json (native/init/nyinit.c): "active", the slot it starts,
 * and "trial", set while that slot runs a release that has not passed its health check yet.
 * While on trial nyinit counts the starts in `trial-starts`; after MAX_TRIAL_STARTS, or when the
 * trial outlives its deadline, it starts the other slot instead and leaves state.json as it
 * is, so that the Node it starts finds out (`settleAfterStart`) and records the revert. Only
 * Node writes state.json, and only nyinit writes trial-starts (Node removes it).
 *
 * Every write is a whole new file renamed over the old one after fsync, and a slot is staged
 * in `<slot>.staging` and renamed into place only when every file is on disk: a power cut
 * leaves the old state or the new one, and nothing half-staged is ever started.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDirectory, readFileIfExists, writeFileDurable } from '../runtime/index.js';

export const SLOTS = ['a', 'b'] as const;
export type SlotName = (typeof SLOTS)[number];
export const STATE_FILE = 'state.json';
export const TRIAL_STARTS_FILE = 'trial-starts';
/** What nyinit allows a release on trial: this many starts (crashes, power cuts) and no more. */
export const MAX_TRIAL_STARTS = 3;
/** How many release keys releases may add, newest kept (as many as an image may trust). */
const MAX_ADDED_KEYS = 16;
/** How many reverted releases are remembered (not taken again unless the pusher insists). */
const MAX_REVERTED = 16;

/** What a slot holds. */
export interface SlotRelease {
  version: string;
  counter: number;
  /** The release commit in firmware.git; absent for the app the image was built with. */
  commit?: string;
  /** When it was staged (ISO 8601). */
  staged: string;
}

export interface SlotState {
  /** The slot nyinit starts. */
  active: SlotName;
  /** Set (to `active`) while the active slot's release is on trial. */
  trial?: SlotName;
  /** While on trial: the OS slot (os-slots.ts) the release's OS image was written to and is tried from. */
  osTrial?: SlotName;
  /** The highest release counter ever committed here: a release must be above it (anti-rollback). */
  counter: number;
  slots: Partial<Record<SlotName, SlotRelease>>;
  /** Release keys trusted since a release added them (base64url), beside the image's. */
  addedKeys: string[];
  /** Release commits that failed their trial, newest last. */
  reverted: string[];
}

const isSlotRelease = (value: unknown): value is SlotRelease => {
  const release = value as Partial<SlotRelease> | null | undefined;
  return typeof release?.version === 'string' && Number.isSafeInteger(release.counter) && typeof release.staged === 'string' && (release.commit === undefined || typeof release.commit === 'string');
};

export const otherSlot = (slot: SlotName): SlotName => (slot === 'a' ? 'b' : 'a');
export const isSlotName = (value: unknown): value is SlotName => value === 'a' || value === 'b';

/** The firmware directory of a device: state.json, trial-starts and the slots. */
export class SlotDirectory {
  constructor(readonly dir: string) {}

  slotDir(slot: SlotName): string {
    return path.join(this.dir, slot);
  }

  /** state.json; what the image starts with ({"active":"a"}) fills the rest with defaults. */
  read(): SlotState {
    const text = readFileIfExists(path.join(this.dir, STATE_FILE));
    let parsed: Partial<SlotState> = {};
    try {
      if (text !== undefined) parsed = JSON.parse(text) as Partial<SlotState>;
    } catch {
      // nyinit starts slot a for a state.json it cannot read; so do we.
    }
    const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
    const active = isSlotName(parsed.active) ? parsed.active : 'a';
    return {
      active,
      ...(parsed.trial === active ? { trial: active, ...(isSlotName(parsed.osTrial) ? { osTrial: parsed.osTrial } : {}) } : {}),
      counter: Number.isSafeInteger(parsed.counter) && parsed.counter! >= 0 ? parsed.counter! : 0,
      slots: Object.fromEntries(SLOTS.flatMap((slot) => (isSlotRelease(parsed.slots?.[slot]) ? [[slot, parsed.slots![slot]!]] : []))),
      addedKeys: strings(parsed.addedKeys).slice(-MAX_ADDED_KEYS),
      reverted: strings(parsed.reverted).slice(-MAX_REVERTED),
    };
  }

  write(state: SlotState): void {
    // nyinit's keys first: it reads only the first 4 KiB.
    const { active, trial, ...rest } = state;
    const ordered = { active, ...(trial === undefined ? {} : { trial }), ...rest, addedKeys: rest.addedKeys.slice(-MAX_ADDED_KEYS), reverted: rest.reverted.slice(-MAX_REVERTED) };
    writeFileDurable(path.join(this.dir, STATE_FILE), `${JSON.stringify(ordered, null, 1)}\n`);
  }

  /**
   * How many times nyinit has started the release on trial (0 when it has not counted any),
   * and whether it gave up because the last start was not committed in time ("3 timeout").
   */
  trialStarts(): { starts: number; timedOut: boolean } {
    const text = readFileIfExists(path.join(this.dir, TRIAL_STARTS_FILE)) ?? '0';
    const count = Number.parseInt(text, 10);
    return { starts: Number.isSafeInteger(count) && count > 0 ? count : 0, timedOut: / timeout\n?$/.test(text) };
  }

  clearTrialStarts(): void {
    fs.rmSync(path.join(this.dir, TRIAL_STARTS_FILE), { force: true });
  }

  /**
   * Writes a whole app into `slot`: every file into `<slot>.staging` (fsynced), then the old
   * slot goes and the staging directory takes its name. `files` yields paths relative to the
   * slot (checked by the manifest's rules) with their bytes; `onFile` follows the progress.
   */
  stage(slot: SlotName, files: Iterable<{ path: string; bytes: Uint8Array }>, onFile?: (path: string, bytes: number) => void): void {
    const target = this.slotDir(slot);
    const staging = `${target}.staging`;
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(staging, { recursive: true });
    const dirs = new Set<string>([staging]);
    for (const file of files) {
      const dest = path.join(staging, file.path);
      const dir = path.dirname(dest);
      if (!dirs.has(dir)) {
        fs.mkdirSync(dir, { recursive: true });
        for (let d = dir; d !== staging && !dirs.has(d); d = path.dirname(d)) dirs.add(d);
      }
      const fd = fs.openSync(dest, 'wx', 0o644);
      try {
        fs.writeFileSync(fd, file.bytes);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      onFile?.(file.path, file.bytes.length);
    }
    for (const dir of dirs) fsyncDirectory(dir);
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(staging, target);
    fsyncDirectory(this.dir);
  }

  /** Leftovers of a staging that a power cut or a refused push interrupted. */
  removeStaging(): void {
    for (const slot of SLOTS) fs.rmSync(`${this.slotDir(slot)}.staging`, { recursive: true, force: true });
  }

  /** Bytes the slot's files take now (0 for an empty slot). */
  slotBytes(slot: SlotName): number {
    let total = 0;
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else total += fs.statSync(full).size;
      }
    };
    if (fs.existsSync(this.slotDir(slot))) walk(this.slotDir(slot));
    return total;
  }
}
