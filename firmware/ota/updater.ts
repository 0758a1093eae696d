/**
 * The device side of an update, as a small state machine over the slots (slots.ts):
 *
 *   push to firmware.git ──pre-receive──▶ verified ──▶ staged in the inactive slot (and its OS image
 *        (refused: nothing written)                        │   written to the inactive OS slot)
 *                                                          │ post-receive: state.json active=new, trial=new
 *                                                          ▼ restart (nyinit starts the new slot), or with an
 *                                                            OS image reboot (the initramfs tries the new OS once)
 *                                                       on trial ──health check passes──▶ committed
 *                                                          │ health fails / no health in time / 3 failed starts
 *                                                          ▼
 *                                                       reverted (the old slot runs again, on the old OS)
 *
 * Every step's outcome is recorded as a commit on refs/ota/status of firmware.git and logged.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NymoteError, describeError, type Logger } from '../runtime/index.js';
import { GitHookRejection, type ReceiveContext, type ReceiveHooks } from '../git/index.js';
import type { ObjectId, Store } from '../store/index.js';
import { MANIFEST_PATH, appFiles, checkFiles, checkRelease, fileDigest, osImage, parseManifest, trustedAfter, type Arch, type ReleaseManifest } from './manifest.js';
import type { OsSlots } from './os-slots.js';
import { MAX_TRIAL_STARTS, SlotDirectory, otherSlot, type SlotName, type SlotState } from './slots.js';
import { STATUS_REF, describeSlots, formatStatus, lastOutcome, type OtaOutcome } from './status.js';

/** Longest an app may be, whatever the free space: a bound on what one push can make us write. */
const MAX_APP_BYTES = 512 * 1024 * 1024;
/** Room left on the data partition after staging, for mail and the store. */
const RESERVE_BYTES = 64 * 1024 * 1024;
/** How long a release on trial has to pass its health check (the issue's 60 s). */
export const TRIAL_HEALTH_MS = 60_000;
const HEALTH_RETRY_MS = 2000;
/** Push option that asks for a release that failed its trial here to be tried again. */
const RETRY_OPTION = 'retry';

export interface UpdaterOptions {
  slots: SlotDirectory;
  /** store/firmware.git, where releases are pushed and refs/ota/status is kept. */
  repository: () => Store;
  /** The slot this process was started from (NYMOTE_SLOT, set by nyinit); undefined: not from a slot. */
  runningSlot: SlotName | undefined;
  /** What this device is; undefined when the image does not say (then it takes no release). */
  board: string | undefined;
  arch: Arch | undefined;
  /** The release keys built into the image. */
  imageKeys: readonly Uint8Array[];
  /** The most bytes an app may have; default: free space on the data partition plus the inactive slot, less a reserve. */
  maxAppBytes?: () => number;
  /** The OS slots, when the image has them (the initramfs said so). */
  os?: OsSlots | undefined;
  /** Stops the firmware so that nyinit starts the active slot. */
  restart: () => void;
  /** Stops the firmware and reboots the device (onto another OS slot). */
  reboot: () => void;
  log: Logger;
  now?: () => Date;
}

/** A release staged by pre-receive, switched to by post-receive. */
interface Staged {
  commit: ObjectId;
  slot: SlotName;
  manifest: ReleaseManifest;
  /** The OS slot its OS image was written to. */
  osSlot?: SlotName;
}

export class Updater {
  private staged: Staged | undefined;
  private readonly now: () => Date;

  constructor(private readonly options: UpdaterOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** The hooks of firmware.git: check and stage before the ref moves, switch after. */
  receiveHooks(): ReceiveHooks {
    return {
      // The signed release counter orders releases, not the history: a release built in
      // another out/release.git (a new laptop) is taken when its counter is higher.
      allowNonFastForward: true,
      preReceive: (ctx) => this.verifyAndStage(ctx),
      postReceive: (ctx) => this.switchToStaged(ctx),
    };
  }

  /** The release keys trusted now: the image's and those that installed releases added. */
  trustedKeys(state: SlotState = this.options.slots.read()): Uint8Array[] {
    return [...this.options.imageKeys, ...state.addedKeys.map((key) => Buffer.from(key, 'base64url'))].filter(
      (key, i, all) => all.findIndex((other) => Buffer.from(other).equals(key)) === i,
    );
  }

  private async verifyAndStage(ctx: ReceiveContext): Promise<void> {
    const { slots, runningSlot, board, arch, os } = this.options;
    this.staged = undefined;
    if (runningSlot === undefined) throw new GitHookRejection('this firmware was not started from an app slot by nyinit: it cannot update itself');
    if (board === undefined || arch === undefined) throw new GitHookRejection('this image does not say which board it is for: it takes no release');
    if (ctx.updates.length !== 1) throw new GitHookRejection('push one release (one branch) at a time');
    const [update] = ctx.updates as [(typeof ctx.updates)[0]];
    if (update.new === undefined) throw new GitHookRejection('releases are not deleted here');
    if (!update.ref.startsWith('refs/heads/')) throw new GitHookRejection(`push a release to a branch (e.g. release), not ${update.ref}`);
    const state = slots.read();
    if (state.trial !== undefined) throw new GitHookRejection(`the release in slot ${state.trial} is still on trial: push again once it is settled (ota status)`);

    const view = ctx.store.snapshot(update.new);
    const manifestBytes = view.get(MANIFEST_PATH);
    if (manifestBytes === undefined) throw new GitHookRejection(`the release commit has no ${MANIFEST_PATH}`);
    let manifest: ReleaseManifest;
    try {
      manifest = parseManifest(manifestBytes);
    } catch (error) {
      throw new GitHookRejection(`${MANIFEST_PATH}: ${describeError(error)}`);
    }
    const inactive = otherSlot(state.active);
    const verdict = checkRelease(manifest, {
      trusted: this.trustedKeys(state),
      board,
      arch,
      installedCounter: state.counter,
      now: this.now(),
      maxTotalBytes: this.options.maxAppBytes?.() ?? this.defaultMaxAppBytes(inactive),
      os: os === undefined ? undefined : { kernel: os.facts.kernel, maxBytes: os.capacity(os.inactive) },
    });
    if (!verdict.ok && verdict.installed) {
      if (state.slots[state.active]?.commit !== update.new) throw new GitHookRejection(`release refused: ${verdict.reason}; another release needs a higher counter`);
      ctx.progress(`release ${manifest.version} is already installed: nothing to do`);
      return;
    }
    if (!verdict.ok) throw new GitHookRejection(`release refused: ${verdict.reason}`);
    if (state.reverted.includes(update.new) && !ctx.pushOptions.includes(RETRY_OPTION)) {
      throw new GitHookRejection(`release ${manifest.version} failed its trial here before; push it with -o ${RETRY_OPTION} to try it again`);
    }
    ctx.progress(`release ${manifest.version} (counter ${manifest.counter}) for ${board}/${arch}: signature, board, counter and expiry are good`);

    const paths = [...view.walk()].filter((path) => path !== MANIFEST_PATH);
    const files = checkFiles(manifest, paths, (path) => view.get(path));
    if (!files.ok) throw new GitHookRejection(`release refused: ${files.reason}`);
    const app = appFiles(manifest, arch);
    const appBytes = app.reduce((sum, file) => sum + file.length, 0);
    ctx.progress(`every file matches the manifest (${manifest.files.length} files); staging ${app.length} files (${mib(appBytes)}) in slot ${inactive}`);

    let written = 0;
    const stagingProgress = tenthsShown(ctx, `staging slot ${inactive}`, appBytes);
    try {
      // One file in memory at a time.
      const appBytesOf = function* () {
        for (const file of app) {
          const bytes = view.get(`${arch}/${file.path}`)!;
          // Checked above from the same object; hashed again as it is written, so what lands in the slot is what was signed.
          if (fileDigest(bytes) !== file.sha256) throw new GitHookRejection(`${file.path} changed while it was staged`);
          yield { path: file.path, bytes };
        }
      };
      slots.stage(
        inactive,
        appBytesOf(),
        (_, bytes) => stagingProgress((written += bytes)),
      );
    } catch (error) {
      slots.removeStaging();
      if (error instanceof GitHookRejection) throw error;
      throw new GitHookRejection(`staging slot ${inactive} failed: ${describeError(error)}`);
    }
    const image = osImage(manifest, board);
    let osSlot: SlotName | undefined;
    if (image !== undefined && os !== undefined) {
      osSlot = os.inactive;
      ctx.progress(`writing the OS image (${mib(image.file.length)}) to rootfs-${osSlot}`);
      try {
        os.write(osSlot, view.get(image.file.path)!, image.file.sha256, tenthsShown(ctx, `writing rootfs-${osSlot}`, image.file.length));
      } catch (error) {
        throw new GitHookRejection(`writing the OS image failed: ${describeError(error)}`);
      }
    }
    this.staged = { commit: update.new, slot: inactive, manifest, ...(osSlot === undefined ? {} : { osSlot }) };
    ctx.progress(`staged release ${manifest.version} in slot ${inactive}${osSlot === undefined ? '' : ` and rootfs-${osSlot}`}`);
  }

  private async switchToStaged(ctx: ReceiveContext): Promise<void> {
    const staged = this.staged;
    this.staged = undefined;
    if (staged === undefined || ctx.updates[0]?.new !== staged.commit) return;
    const { slots } = this.options;
    const state = slots.read();
    slots.clearTrialStarts();
    // state.json first, then the OS try: a power cut between them boots the old OS with the
    // trial recorded, which settleAfterStart reverts; the other order could run the new OS unrecorded.
    slots.write({
      ...state,
      active: staged.slot,
      trial: staged.slot,
      ...(staged.osSlot === undefined ? {} : { osTrial: staged.osSlot }),
      slots: { ...state.slots, [staged.slot]: { version: staged.manifest.version, counter: staged.manifest.counter, commit: staged.commit, staged: this.now().toISOString() } },
    });
    if (staged.osSlot !== undefined) this.options.os!.tryOnce(staged.osSlot);
    const how = staged.osSlot === undefined ? 'restarting' : `rebooting into rootfs-${staged.osSlot}`;
    await this.record({ outcome: 'staged', version: staged.manifest.version, counter: staged.manifest.counter, commit: staged.commit, slot: staged.slot, detail: `${how} on trial` });
    ctx.progress(`${how}, slot ${staged.slot} on trial: it must pass its health check within ${TRIAL_HEALTH_MS / 1000} s, else the release before comes back`);
    ctx.progress(`the outcome: 'ota status' on the console, or git fetch <device> ${STATUS_REF}`);
    // After the push's answer has gone out.
    const { restart, reboot } = this.options;
    setTimeout(staged.osSlot === undefined ? restart : reboot, 500).unref();
  }

  /**
   * Run once the firmware has started: a release on trial is health-checked (`selfTest`
   * answers a problem, or undefined when all is well) and committed or reverted; a trial that
   * nyinit gave up on (it started this, the other slot) is recorded as reverted.
   */
  async settleAfterStart(selfTest: () => Promise<string | undefined>): Promise<void> {
    const { slots, runningSlot, log } = this.options;
    if (runningSlot === undefined) return;
    // firmware.git exists from the first start from a slot, so that releases can be pushed.
    this.options.repository();
    slots.removeStaging();
    const state = slots.read();
    if (state.trial === undefined) return;
    const release = state.slots[state.trial];
    // What nyinit gave up on, if it did (it then started the other slot, or rebooted off an OS on trial).
    const { starts, timedOut } = slots.trialStarts();
    const gaveUp = timedOut ? 'it did not pass its health check in time' : starts >= MAX_TRIAL_STARTS ? `it did not come up in ${starts} starts` : undefined;
    if (state.osTrial !== undefined && this.options.os?.booted !== state.osTrial) {
      await this.revert(state, otherSlot(state.trial), gaveUp === undefined ? `its OS did not start from rootfs-${state.osTrial}` : `${gaveUp} on rootfs-${state.osTrial}`);
      return;
    }
    if (runningSlot !== state.trial) {
      await this.revert(state, runningSlot, gaveUp ?? `it did not come up in ${MAX_TRIAL_STARTS} starts`);
      return;
    }
    log.info('ota: release on trial, checking health', { slot: runningSlot, version: release?.version });
    const deadline = Date.now() + TRIAL_HEALTH_MS;
    let problem: string | undefined;
    for (;;) {
      problem = await selfTest().catch((error: unknown) => `self-test failed: ${describeError(error)}`);
      if (problem === undefined || Date.now() + HEALTH_RETRY_MS > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, HEALTH_RETRY_MS));
    }
    if (problem !== undefined) {
      await this.revert(state, otherSlot(runningSlot), `health check failed: ${problem}`);
      return;
    }
    // The OS first: a power cut after it boots the new OS with the trial still open, which is
    // checked again; the other order could boot the old OS under a release recorded as installed.
    if (state.osTrial !== undefined) this.options.os!.commit(state.osTrial);
    const current = slots.read();
    const manifest = release?.commit === undefined ? undefined : this.manifestOf(release.commit);
    slots.write({
      ...current,
      trial: undefined,
      osTrial: undefined,
      counter: Math.max(current.counter, release?.counter ?? 0),
      addedKeys: manifest === undefined ? current.addedKeys : trustedAfter(this.trustedKeys(current), manifest).filter((key) => !this.options.imageKeys.some((own) => Buffer.from(own).equals(key))).map((key) => Buffer.from(key).toString('base64url')),
    });
    slots.clearTrialStarts();
    const onOs = state.osTrial === undefined ? '' : ` on rootfs-${state.osTrial}`;
    await this.record({ outcome: 'installed', version: release?.version ?? '?', counter: release?.counter ?? 0, commit: release?.commit, slot: runningSlot, detail: `health check passed${onOs}` });
  }

  /**
   * Makes `to` the active slot again after the release on trial failed, says so on the console,
   * and gets back to what was committed: a reboot when the OS that runs is not the committed
   * one, a restart when the app that runs is not `to`.
   */
  private async revert(state: SlotState, to: SlotName, reason: string): Promise<void> {
    const failed = state.trial!;
    const release = state.slots[failed];
    const { slots, os, runningSlot } = this.options;
    slots.write({ ...state, active: to, trial: undefined, osTrial: undefined, reverted: release?.commit === undefined ? state.reverted : [...state.reverted, release.commit] });
    slots.clearTrialStarts();
    const rebooting = os !== undefined && os.booted !== os.committed();
    const back = `slot ${to}${state.osTrial === undefined ? '' : ` and rootfs-${os?.committed() ?? otherSlot(state.osTrial)}`} ${rebooting ? 'come back after a reboot' : 'is back'}`;
    await this.record({ outcome: 'reverted', version: release?.version ?? '?', counter: release?.counter ?? 0, commit: release?.commit, slot: failed, detail: `${reason}; ${back}` });
    if (rebooting) this.options.reboot();
    else if (runningSlot !== to) this.options.restart();
  }

  /**
   * `ota rollback` on the console: back to the other slot's release, which ran here before
   * (not one that failed its trial). The counter stays: pushes older than the newest release
   * installed are still refused.
   */
  rollback(): string {
    const { slots } = this.options;
    const state = slots.read();
    if (state.trial !== undefined) throw new NymoteError('EOTA', 'a release is on trial: wait until it is settled');
    const to = otherSlot(state.active);
    const release = state.slots[to];
    if (!fs.existsSync(path.join(slots.slotDir(to), 'index.js'))) throw new NymoteError('EOTA', `slot ${to} holds no app to go back to`);
    if (release?.commit !== undefined && state.reverted.includes(release.commit)) throw new NymoteError('EOTA', `slot ${to} holds release ${release.version}, which failed its trial`);
    slots.write({ ...state, active: to });
    const version = release?.version ?? 'of the image';
    void this.record({ outcome: 'rolled-back', version, counter: release?.counter ?? 0, commit: release?.commit, slot: to, detail: 'by the owner on the console' }).then(() => this.options.restart());
    return `slot ${to} (release ${version}) is active again; restarting`;
  }

  /** The slots, which runs, and the last outcome, by name (`ota status`, the web UI's dashboard). */
  status(): Record<string, string> {
    const { slots, runningSlot } = this.options;
    // Not from a slot (a laptop's `nymote run`): no firmware.git is made just to say so.
    const { os } = this.options;
    const osSlots = os === undefined ? undefined : { booted: os.booted, committed: os.committed() };
    return describeSlots(slots.read(), runningSlot, runningSlot === undefined ? undefined : lastOutcome(this.options.repository()), osSlots);
  }

  private manifestOf(commit: ObjectId): ReleaseManifest | undefined {
    try {
      const bytes = this.options.repository().snapshot(commit).get(MANIFEST_PATH);
      return bytes === undefined ? undefined : parseManifest(bytes);
    } catch {
      return undefined;
    }
  }

  private defaultMaxAppBytes(inactive: SlotName): number {
    try {
      const stats = fs.statfsSync(this.options.slots.dir);
      return Math.max(0, Math.min(MAX_APP_BYTES, stats.bavail * stats.bsize + this.options.slots.slotBytes(inactive) - RESERVE_BYTES));
    } catch {
      return 0;
    }
  }

  /** One commit on refs/ota/status, and one log line (on a device: the console). */
  private async record(outcome: OtaOutcome): Promise<void> {
    const line = formatStatus(outcome);
    if (outcome.outcome === 'reverted') this.options.log.warn(`ota: ${line}`);
    else this.options.log.info(`ota: ${line}`);
    try {
      await this.options
        .repository()
        .refLine(STATUS_REF)
        .set('status.json', `${JSON.stringify({ ...outcome, at: this.now().toISOString() }, null, 1)}\n`, { message: `${line}\n` });
    } catch (error) {
      this.options.log.error('ota: cannot record the outcome', { error: describeError(error) });
    }
  }
}

/** A progress callback (bytes done so far) that tells the pusher each tenth of `total` once: "LABEL: 30%". */
function tenthsShown(ctx: ReceiveContext, label: string, total: number): (done: number) => void {
  let shown = 0;
  return (done) => {
    const tenth = Math.floor((done / Math.max(total, 1)) * 10);
    if (tenth > shown && tenth < 10) ctx.progress(`${label}: ${(shown = tenth) * 10}%`);
  };
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
