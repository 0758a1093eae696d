/**
 * The OS slots for full-system updates: the read-only root file systems rootfs-a and rootfs-b
 * (partitions 2 and 3, DESIGN.md SD card layout). The initramfs (rootfs/initramfs/init) mounts
 * one of them at boot, chosen by two files in /data/firmware/os:
 *
 *   try    a slot to boot once: the initramfs removes the file (and syncs) before it mounts
 *          anything, so a slot that does not come up is not tried again: the next boot, by
 *          the watchdog, a kernel panic or the initramfs itself, is from `slot`;
 *   slot   the committed slot (a when absent).
 *
 * It tells nyinit and Node which slot it mounted and where both are: NYMOTE_OS (a|b),
 * NYMOTE_OS_A and NYMOTE_OS_B (the devices; tests point them at files). The kernel and the
 * initramfs stay on the boot partition: an OS image must be for the kernel that runs.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NymoteError, readFileIfExists, writeFileDurable } from '../runtime/index.js';
import { isSlotName, otherSlot, type SlotName } from './slots.js';

export const OS_TRY_FILE = 'try';
export const OS_SLOT_FILE = 'slot';
/** Written and hashed a chunk at a time. */
const CHUNK_BYTES = 1024 * 1024;

export interface OsSlotFacts {
  /** The slot the initramfs mounted. */
  booted: SlotName;
  devices: Record<SlotName, string>;
  /** `uname -r`: an OS image's modules must be for it. */
  kernel: string;
}

/** What the initramfs said (undefined when not booted from an image with OS slots: a laptop, host tests without them). */
export function osSlotFacts(env: NodeJS.ProcessEnv): OsSlotFacts | undefined {
  const { NYMOTE_OS: booted, NYMOTE_OS_A: a, NYMOTE_OS_B: b } = env;
  if (!isSlotName(booted) || !a || !b) return undefined;
  return { booted, devices: { a, b }, kernel: os.release() };
}

export class OsSlots {
  constructor(
    /** /data/firmware/os: `try` and `slot`. */
    readonly dir: string,
    readonly facts: OsSlotFacts,
  ) {}

  get booted(): SlotName {
    return this.facts.booted;
  }

  /** The slot to write an update into: never the one running. */
  get inactive(): SlotName {
    return otherSlot(this.facts.booted);
  }

  /** The slot the initramfs boots when no try is pending. */
  committed(): SlotName {
    const text = readFileIfExists(path.join(this.dir, OS_SLOT_FILE))?.trim();
    return isSlotName(text) ? text : 'a';
  }

  /** Bytes the slot's device holds (0 when it cannot be read): a block device's size from sysfs, a file's (tests) from stat. */
  capacity(slot: SlotName): number {
    try {
      const device = this.facts.devices[slot];
      const stats = fs.statSync(device);
      if (!stats.isBlockDevice()) return stats.size;
      const sectors = readFileIfExists(`/sys/class/block/${path.basename(fs.realpathSync(device))}/size`);
      return sectors === undefined ? 0 : Number.parseInt(sectors, 10) * 512;
    } catch {
      return 0;
    }
  }

  /**
   * Writes an OS image over the inactive slot, hashing it as it goes, and syncs it; throws
   * (EOTA) when the image does not fit or its SHA-256 is not `sha256`. Nothing boots the slot
   * until tryOnce: a write cut short leaves it unused.
   */
  write(slot: SlotName, image: Uint8Array, sha256: string, onProgress?: (written: number) => void): void {
    if (slot === this.facts.booted) throw new NymoteError('EOTA', `rootfs-${slot} is the running OS`);
    if (image.length > this.capacity(slot)) throw new NymoteError('EOTA', `the OS image (${image.length} bytes) does not fit rootfs-${slot}`);
    const hash = crypto.createHash('sha256');
    const fd = fs.openSync(this.facts.devices[slot], 'r+');
    try {
      for (let offset = 0; offset < image.length; offset += CHUNK_BYTES) {
        const chunk = image.subarray(offset, Math.min(offset + CHUNK_BYTES, image.length));
        hash.update(chunk);
        for (let done = 0; done < chunk.length; ) done += fs.writeSync(fd, chunk, done, chunk.length - done, offset + done);
        onProgress?.(offset + chunk.length);
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (hash.digest('hex') !== sha256) throw new NymoteError('EOTA', `the OS image written to rootfs-${slot} does not match its SHA-256`);
  }

  /** The next boot, and only that one, is from `slot`. */
  tryOnce(slot: SlotName): void {
    this.name(OS_TRY_FILE, slot);
  }

  /** Every boot from now on is from `slot`. */
  commit(slot: SlotName): void {
    this.name(OS_SLOT_FILE, slot);
  }

  /** Writes `slot` into one of the initramfs's files, durably. */
  private name(file: string, slot: SlotName): void {
    fs.mkdirSync(this.dir, { recursive: true });
    writeFileDurable(path.join(this.dir, file), `${slot}\n`);
  }
}
