/**
 * firmware/ota's updater, driven through its receive hooks on a real firmware.git (releases
 * made by buildRelease, as `nymote release` makes them) and a real slot directory: a good
 * release is staged whole into the inactive slot and switched to on trial; each refusal of the
 * issue names its reason and leaves state.json and the slots as they were; a trial is committed
 * when the self-test passes (the counter and a rotated key with it) and reverted when it fails
 * or when nyinit gave up on it; a reverted release is not taken again unless the pusher asks
 * (-o retry); `ota rollback`; every outcome is a commit on refs/ota/status.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { GitHookRejection, type ReceiveContext } from '../../firmware/git/index.js';
import { MANIFEST_PATH, OsSlots, ReleaseKey, SlotDirectory, Updater, buildRelease, lastOutcome, parseManifest, type Arch, type SlotName, type UpdaterOptions } from '../../firmware/ota/index.js';
import { STATUS_REF } from '../../firmware/ota/status.js';
import { LogSink } from '../../firmware/runtime/index.js';
import { Store } from '../../firmware/store/index.js';
import { tempDir } from '../_lib/tmp.js';

const log = new LogSink({ level: 'error' }).logger();
const key = ReleaseKey.init(tempDir('ota-key'));
const stranger = ReleaseKey.init(tempDir('ota-stranger'));

/** An app directory: index.js and a native addon, `tag` making each one different. */
function app(tag: string): string {
  const dir = tempDir('ota-app');
  fs.writeFileSync(path.join(dir, 'index.js'), `#!/usr/bin/env node\nconsole.log(${JSON.stringify(tag)});\n`);
  fs.mkdirSync(path.join(dir, 'native/linux-arm64'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'native/linux-arm64/sha1.node'), crypto.randomBytes(2048));
  return dir;
}

interface Device {
  store: Store;
  slots: SlotDirectory;
  /** The firmware that runs from slot a, as the image starts it. */
  updater: Updater;
  /** The firmware as it runs after nyinit started `slot` (`more`: e.g. the OS slots it booted from): same device, same store and slots. */
  updaterIn(slot: SlotName, more?: Partial<UpdaterOptions>): Updater;
  restarts: number;
  reboots: number;
  /** Pushes `commit` to refs/heads/release (the ref's old value is not checked here), to `updater` (default: slot a's). */
  push(commit: string, options?: { ref?: string; pushOptions?: string[]; remove?: boolean; updater?: Updater }): Promise<{ progress: string[]; refused?: string }>;
  /** state.json, trial-starts and the slot directories, to compare before and after a refusal. */
  snapshot(): string;
}

function device(options: Partial<UpdaterOptions> = {}): Device {
  const root = tempDir('ota-device');
  const store = Store.open(path.join(root, 'store/firmware.git'), { durability: 'none' });
  const slots = new SlotDirectory(path.join(root, 'firmware'));
  fs.mkdirSync(path.join(slots.dir, 'a'), { recursive: true });
  fs.writeFileSync(path.join(slots.dir, 'a/index.js'), '// the image\n');
  fs.writeFileSync(path.join(slots.dir, 'state.json'), '{"active":"a"}\n');
  const dev: Device = {
    store,
    slots,
    restarts: 0,
    reboots: 0,
    updater: undefined as unknown as Updater,
    updaterIn: (slot, more = {}) =>
      new Updater({ slots, repository: () => store, runningSlot: slot, board: 'rpi4', arch: 'arm64', imageKeys: [key.publicKey], restart: () => dev.restarts++, reboot: () => dev.reboots++, log, ...options, ...more }),
    push: async (commit, { ref = 'refs/heads/release', pushOptions = [], remove = false, updater = dev.updater } = {}) => {
      const progress: string[] = [];
      const ctx: ReceiveContext = { repo: 'firmware', user: 'alice', store, updates: [{ ref, old: undefined, new: remove ? undefined : commit }], pushOptions, progress: (line) => progress.push(line) };
      const hooks = updater.receiveHooks();
      try {
        await hooks.preReceive!(ctx);
      } catch (error) {
        if (!(error instanceof GitHookRejection)) throw error;
        return { progress, refused: error.message };
      }
      await hooks.postReceive!(ctx);
      return { progress };
    },
    snapshot: () => {
      const files: string[] = [];
      const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
          const full = path.join(dir, entry.name);
          if (entry.isDirectory()) walk(full);
          else files.push(`${path.relative(slots.dir, full)}=${crypto.createHash('sha1').update(fs.readFileSync(full)).digest('hex')}`);
        }
      };
      walk(slots.dir);
      return files.sort().join('\n');
    },
  };
  dev.updater = dev.updaterIn('a');
  return dev;
}

const release = (store: Store, version: string, counter: number, extra: { signer?: ReleaseKey; boards?: string[]; arches?: Arch[]; addKeys?: Uint8Array[]; dir?: string; os?: Map<string, string> } = {}) =>
  buildRelease(store, {
    key: extra.signer ?? key,
    apps: new Map((extra.arches ?? ['arm64']).map((arch) => [arch, extra.dir ?? app(`${version}-${arch}`)])),
    version,
    counter,
    boards: extra.boards ?? ['rpi3', 'rpi4'],
    validDays: 30,
    ...(extra.addKeys === undefined ? {} : { addKeys: extra.addKeys }),
    ...(extra.os === undefined ? {} : { os: extra.os }),
  });

/** A commit like `base` with `change` applied to its tree (what a forger or a broken tool pushes). */
async function altered(store: Store, base: string, change: (view: ReturnType<Store['snapshot']>) => void): Promise<string> {
  const name = `altered-${crypto.randomBytes(4).toString('hex')}`;
  await store.createBranch(name, base);
  const { commit } = await store.branch(name).transaction(change);
  return commit!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Settles a trial whose self-test keeps answering `problem`, its 60 s health window on a fast clock. */
async function settleFailing(updater: Updater, problem: string): Promise<void> {
  const originalNow = Date.now;
  let offset = 0;
  Date.now = () => originalNow() + offset;
  try {
    await updater.settleAfterStart(async () => {
      offset += 20_000;
      return problem;
    });
  } finally {
    Date.now = originalNow;
  }
}

test('a good release: verified, staged whole into slot b, switched to on trial, restart asked for', async () => {
  const dev = device();
  const dir = app('good');
  const { commit } = await release(dev.store, '0.2.0', 1, { dir, arches: ['arm64', 'armhf'] });
  const pushed = await dev.push(commit);
  assert.is(pushed.refused, undefined, pushed.progress.join('\n'));
  assert.match(pushed.progress.join('\n'), /release 0\.2\.0 \(counter 1\) for rpi4\/arm64: signature, board, counter and expiry are good[^]*staged release 0\.2\.0 in slot b[^]*restarting, slot b on trial/);
  for (const file of ['index.js', 'native/linux-arm64/sha1.node']) {
    assert.equal(fs.readFileSync(path.join(dev.slots.dir, 'b', file)), fs.readFileSync(path.join(dir, file)), file);
  }
  assert.not.ok(fs.existsSync(path.join(dev.slots.dir, 'b/arm64')), 'only the app of this arch, without its directory');
  assert.not.ok(fs.existsSync(path.join(dev.slots.dir, 'b.staging')));
  const state = dev.slots.read();
  assert.equal({ active: state.active, trial: state.trial, counter: state.counter, b: state.slots.b?.commit }, { active: 'b', trial: 'b', counter: 0, b: commit });
  assert.match(fs.readFileSync(path.join(dev.slots.dir, 'state.json'), 'utf8'), /^\{\n "active": "b",\n "trial": "b",/, "nyinit's keys come first");
  await sleep(600);
  assert.is(dev.restarts, 1);
  assert.is(lastOutcome(dev.store)?.outcome, 'staged');
});

test('each refusal names its reason and changes nothing', async () => {
  const dev = device({ maxAppBytes: () => 100_000 });
  const store = dev.store;
  const good = await release(store, '0.3.0', 5);
  const before = dev.snapshot();
  const refusals: [string, Promise<string>, RegExp][] = [];
  const refuse = (what: string, commit: Promise<string>, reason: RegExp) => refusals.push([what, commit, reason]);
  const commitOf = async (made: Promise<{ commit: string }>) => (await made).commit;
  refuse('unknown key', commitOf(release(store, '0.3.0', 5, { signer: stranger })), /release refused: signed by release key \w+, which this device does not trust/);
  refuse(
    'bad signature',
    altered(store, good.commit, (view) => view.set(MANIFEST_PATH, view.get(MANIFEST_PATH)!.toString().replace('"0.3.0"', '"0.3.1"'))),
    /release refused: the manifest signature does not verify/,
  );
  refuse('wrong board', commitOf(release(store, '0.3.0', 5, { boards: ['cubieboard'] })), /release for cubieboard, this device is rpi4/);
  refuse('wrong arch', commitOf(release(store, '0.3.0', 5, { arches: ['armhf'] })), /release for armhf, this device is arm64/);
  refuse('tampered file', altered(store, good.commit, (view) => view.set('arm64/index.js', 'evil()\n')), /arm64\/index\.js is 7 bytes, the manifest says \d+/);
  refuse('same length, other bytes', altered(store, good.commit, (view) => {
    const bytes = Buffer.from(view.get('arm64/native/linux-arm64/sha1.node')!);
    bytes[100] ^= 1;
    view.set('arm64/native/linux-arm64/sha1.node', bytes);
  }), /arm64\/native\/linux-arm64\/sha1\.node does not match its SHA-256/);
  refuse('a file the manifest names is missing', altered(store, good.commit, (view) => view.remove('arm64/index.js')), /the manifest names arm64\/index\.js, which the release does not have/);
  refuse('a file the manifest does not name', altered(store, good.commit, (view) => view.set('arm64/extra.js', 'x')), /arm64\/extra\.js is in the release but not in its manifest/);
  refuse('garbage manifest', altered(store, good.commit, (view) => view.set(MANIFEST_PATH, '{"v": 1, garbage')), /^manifest\.json: .*not JSON/);
  refuse('no manifest', altered(store, good.commit, (view) => view.remove(MANIFEST_PATH)), /the release commit has no manifest\.json/);
  refuse('oversize', commitOf(release(store, '0.3.0', 5, { dir: (() => {
    const dir = app('big');
    fs.writeFileSync(path.join(dir, 'big.bin'), crypto.randomBytes(200_000));
    return dir;
  })() })), /release of \d+ bytes for arm64, this device takes at most 100000/);
  for (const [what, commit, reason] of refusals) {
    const pushed = await dev.push(await commit);
    assert.match(pushed.refused ?? `accepted: ${pushed.progress.join(" / ")}`, reason, `${what}: ${pushed.refused}`);
    assert.is(dev.snapshot(), before, `${what}: nothing changed`);
  }
  assert.match((await dev.push(good.commit, { remove: true })).refused!, /not deleted/);
  assert.match((await dev.push(good.commit, { ref: 'refs/tags/v1' })).refused!, /push a release to a branch/);
  const expired = device({ now: () => new Date(Date.now() + 31 * 86_400_000) });
  const old = await release(expired.store, '0.3.0', 5);
  assert.match((await expired.push(old.commit)).refused!, /release refused: release expired at /);
  const notFromSlot = device({ runningSlot: undefined });
  assert.match((await notFromSlot.push((await release(notFromSlot.store, '0.3.0', 5)).commit)).refused!, /not started from an app slot by nyinit/);
  assert.is(dev.restarts + expired.restarts + notFromSlot.restarts, 0);
});

test('trial: a passing self-test commits (counter, rotated key); then lower or equal counters are refused', async () => {
  const dev = device();
  const next = ReleaseKey.init(tempDir('ota-next'));
  const rotating = await release(dev.store, '0.2.0', 3, { addKeys: [next.publicKey] });
  await dev.push(rotating.commit);
  // The new firmware starts in slot b and settles its trial.
  const started = dev.updaterIn('b');
  await started.settleAfterStart(async () => undefined);
  const state = dev.slots.read();
  assert.equal({ active: state.active, trial: state.trial, counter: state.counter, addedKeys: state.addedKeys }, { active: 'b', trial: undefined, counter: 3, addedKeys: [Buffer.from(next.publicKey).toString('base64url')] });
  assert.is(lastOutcome(dev.store)?.outcome, 'installed');
  assert.equal(dev.slots.trialStarts(), { starts: 0, timedOut: false });

  const pushTo = async (commit: string) => {
    const pushed = await dev.push(commit, { updater: started });
    return pushed.refused ?? pushed.progress.join('\n');
  };
  assert.match(await pushTo((await release(dev.store, '0.1.9', 2)).commit), /release counter 2 is below the installed 3: no rollback/);
  assert.match(await pushTo(rotating.commit), /release 0\.2\.0 is already installed: nothing to do/);
  assert.match(await pushTo((await release(dev.store, '0.2.0', 3)).commit), /release 0\.2\.0 \(counter 3\) is already installed; another release needs a higher counter/);
  assert.not.ok(fs.existsSync(path.join(dev.slots.dir, 'a.staging')));
  assert.match(await pushTo((await release(dev.store, '0.4.0', 4, { signer: next })).commit), /staged release 0\.4\.0 in slot a/, 'the rotated key is trusted now');
});

test('trial: a failing self-test reverts at once; a trial nyinit gave up on is recorded; a reverted release needs -o retry', async () => {
  const dev = device();
  const bad = await release(dev.store, '0.2.0', 1);
  await dev.push(bad.commit);
  await settleFailing(dev.updaterIn('b'), 'imap on 127.0.0.1:143: closed without a greeting');
  let state = dev.slots.read();
  assert.equal({ active: state.active, trial: state.trial, reverted: state.reverted, counter: state.counter }, { active: 'a', trial: undefined, reverted: [bad.commit], counter: 0 });
  assert.match(JSON.stringify(lastOutcome(dev.store)), /"outcome":"reverted".*health check failed: imap on 127\.0\.0\.1:143: closed without a greeting; slot a is back/);
  const restartsAfterRevert = dev.restarts;
  assert.ok(restartsAfterRevert >= 2, 'the push and the revert each restart');

  const refused = await dev.push(bad.commit);
  assert.match(refused.refused!, /release 0\.2\.0 failed its trial here before; push it with -o retry/);
  const retried = await dev.push(bad.commit, { pushOptions: ['retry'] });
  assert.is(retried.refused, undefined);
  // This time it never came up: nyinit counted 3 starts, then started slot a.
  fs.writeFileSync(path.join(dev.slots.dir, 'trial-starts'), '3\n');
  await dev.updater.settleAfterStart(async () => undefined);
  state = dev.slots.read();
  assert.equal({ active: state.active, trial: state.trial }, { active: 'a', trial: undefined });
  assert.equal(dev.slots.trialStarts(), { starts: 0, timedOut: false });
  assert.match(JSON.stringify(lastOutcome(dev.store)), /it did not come up in 3 starts; slot a is back/);
  await dev.push(bad.commit, { pushOptions: ['retry'] });
  fs.writeFileSync(path.join(dev.slots.dir, 'trial-starts'), '3 timeout\n');
  await dev.updater.settleAfterStart(async () => undefined);
  assert.match(JSON.stringify(lastOutcome(dev.store)), /it did not pass its health check in time; slot a is back/);
  const status = dev.updater.status();
  assert.equal({ a: status['slot a'], b: status['slot b'] }, { a: 'the app the image was built with [active, running]', b: 'release 0.2.0 (counter 1) [reverted]' });
  assert.match(status.last!, /^reverted release 0\.2\.0 \(counter 1\) in slot b: it did not pass its health check in time; slot a is back \(/);
  assert.throws(() => dev.updater.rollback(), /slot b holds release 0\.2\.0, which failed its trial/);
  const history = dev.store.refLine(STATUS_REF).history();
  assert.equal(history.map((entry) => entry.message.split(' ')[0]), ['reverted', 'staged', 'reverted', 'staged', 'reverted', 'staged']);
  assert.is(parseManifest(dev.store.snapshot(bad.commit).get(MANIFEST_PATH)!).version, '0.2.0');
});

test('ota rollback goes back to the release before, which ran here; the counter stays', async () => {
  const dev = device();
  await dev.push((await release(dev.store, '0.2.0', 1)).commit);
  const inB = dev.updaterIn('b');
  await inB.settleAfterStart(async () => undefined);
  assert.match(inB.rollback(), /slot a \(release of the image\) is active again; restarting/);
  const state = dev.slots.read();
  assert.equal({ active: state.active, counter: state.counter }, { active: 'a', counter: 1 });
  await sleep(50);
  assert.is(lastOutcome(dev.store)?.outcome, 'rolled-back');
});

/** A board's OS directory as build-image.sh leaves it: the root file system and its kernel release. */
function osDir(image: Uint8Array, kernel = 'test-kernel'): string {
  const dir = tempDir('ota-os');
  fs.writeFileSync(path.join(dir, 'rootfs.squashfs'), image);
  fs.writeFileSync(path.join(dir, 'kernel-release'), `${kernel}\n`);
  return dir;
}

/** OS slots on files (what the initramfs names NYMOTE_OS_A/B), booted from `booted`. */
function osSlots(dir: string, booted: SlotName): OsSlots {
  for (const slot of ['a', 'b']) {
    const device = path.join(dir, `rootfs-${slot}`);
    if (!fs.existsSync(device)) fs.writeFileSync(device, Buffer.alloc(256 * 1024, slot));
  }
  return new OsSlots(path.join(dir, 'firmware/os'), { booted, devices: { a: path.join(dir, 'rootfs-a'), b: path.join(dir, 'rootfs-b') }, kernel: 'test-kernel' });
}

test('an OS image: checked, written to the inactive OS slot, tried once after a reboot, committed with the app', async () => {
  const root = tempDir('ota-os-device');
  const dev = device({ os: osSlots(root, 'a') });
  const image = crypto.randomBytes(100_000);
  const { commit } = await release(dev.store, '0.5.0', 1, { boards: ['rpi4'], os: new Map([['rpi4', osDir(image)]]) });
  const pushed = await dev.push(commit);
  assert.is(pushed.refused, undefined, pushed.progress.join('\n'));
  assert.match(pushed.progress.join('\n'), /writing the OS image \(0\.1 MiB\) to rootfs-b[^]*staged release 0\.5\.0 in slot b and rootfs-b[^]*rebooting into rootfs-b, slot b on trial/);
  const written = fs.readFileSync(path.join(root, 'rootfs-b'));
  assert.equal(written.subarray(0, image.length), image);
  assert.equal(written.subarray(image.length), Buffer.alloc(256 * 1024 - image.length, 'b'), 'the rest of the slot is left alone');
  assert.equal(fs.readFileSync(path.join(root, 'rootfs-a')), Buffer.alloc(256 * 1024, 'a'), 'the running OS is not touched');
  assert.is(fs.readFileSync(path.join(root, 'firmware/os/try'), 'utf8'), 'b\n');
  assert.not.ok(fs.existsSync(path.join(root, 'firmware/os/slot')), 'not committed before its trial');
  assert.equal(dev.slots.read().osTrial, 'b');
  await sleep(600);
  assert.equal({ restarts: dev.restarts, reboots: dev.reboots }, { restarts: 0, reboots: 1 });

  // The initramfs booted rootfs-b once (and removed try); nyinit started app slot b.
  fs.rmSync(path.join(root, 'firmware/os/try'));
  const onB = dev.updaterIn('b', { os: osSlots(root, 'b') });
  await onB.settleAfterStart(async () => undefined);
  assert.is(fs.readFileSync(path.join(root, 'firmware/os/slot'), 'utf8'), 'b\n');
  const state = dev.slots.read();
  assert.equal({ active: state.active, trial: state.trial, osTrial: state.osTrial, counter: state.counter }, { active: 'b', trial: undefined, osTrial: undefined, counter: 1 });
  assert.match(lastOutcome(dev.store)!.detail, /health check passed on rootfs-b/);
  const status = onB.status();
  assert.equal({ a: status['os rootfs-a'], b: status['os rootfs-b'] }, { a: '-', b: 'committed, running' });
});

test('an OS image that does not start, or whose release fails its health check, ends on the old OS and app', async () => {
  const root = tempDir('ota-os-device');
  const dev = device({ os: osSlots(root, 'a') });
  const zeros = Buffer.alloc(64 * 1024);
  const { commit } = await release(dev.store, '0.5.0', 1, { boards: ['rpi4'], os: new Map([['rpi4', osDir(zeros)]]) });
  assert.is((await dev.push(commit)).refused, undefined);
  assert.equal(fs.readFileSync(path.join(root, 'rootfs-b')).subarray(0, zeros.length), zeros);
  await sleep(600);
  // The initramfs tried rootfs-b, could not mount it and rebooted: the committed rootfs-a came
  // up, and nyinit started app slot b, as state.json says.
  fs.rmSync(path.join(root, 'firmware/os/try'));
  const inB = dev.updaterIn('b');
  await inB.settleAfterStart(async () => undefined);
  let state = dev.slots.read();
  assert.equal({ active: state.active, trial: state.trial, osTrial: state.osTrial, reverted: state.reverted }, { active: 'a', trial: undefined, osTrial: undefined, reverted: [commit] });
  assert.match(lastOutcome(dev.store)!.detail, /its OS did not start from rootfs-b; slot a and rootfs-a is back/);
  assert.not.ok(fs.existsSync(path.join(root, 'firmware/os/slot')));
  assert.equal({ restarts: dev.restarts, reboots: dev.reboots }, { restarts: 1, reboots: 1 }, 'the push rebooted; the revert restarts into app slot a, on the old OS already');

  // Tried again on purpose: the OS comes up but the health check fails: a reboot to rootfs-a.
  const retried = await release(dev.store, '0.5.1', 2, { boards: ['rpi4'], os: new Map([['rpi4', osDir(crypto.randomBytes(1000))]]) });
  assert.is((await dev.push(retried.commit)).refused, undefined);
  fs.rmSync(path.join(root, 'firmware/os/try'));
  await settleFailing(dev.updaterIn('b', { os: osSlots(root, 'b') }), 'dns on 127.0.0.1:53: no answer');
  state = dev.slots.read();
  assert.equal({ active: state.active, trial: state.trial, osTrial: state.osTrial }, { active: 'a', trial: undefined, osTrial: undefined });
  assert.match(lastOutcome(dev.store)!.detail, /health check failed: dns on 127\.0\.0\.1:53: no answer; slot a and rootfs-a come back after a reboot/);
  await sleep(600);
  assert.equal({ restarts: dev.restarts, reboots: dev.reboots }, { restarts: 1, reboots: 3 }, 'the second push and its revert each reboot too');

  // Once more: on rootfs-b the app never came up; nyinit rebooted after 3 starts, rootfs-a came back with app slot a.
  const third = await release(dev.store, '0.5.2', 3, { boards: ['rpi4'], os: new Map([['rpi4', osDir(crypto.randomBytes(1000))]]) });
  assert.is((await dev.push(third.commit)).refused, undefined);
  await sleep(600);
  fs.rmSync(path.join(root, 'firmware/os/try'));
  fs.writeFileSync(path.join(dev.slots.dir, 'trial-starts'), '3\n');
  await dev.updaterIn('a', { os: osSlots(root, 'a') }).settleAfterStart(async () => undefined);
  assert.match(lastOutcome(dev.store)!.detail, /it did not come up in 3 starts on rootfs-b; slot a and rootfs-a is back/);
  assert.equal({ restarts: dev.restarts, reboots: dev.reboots }, { restarts: 1, reboots: 4 }, 'already back on both: nothing more to do');
});

test('OS images are refused, with nothing written, for a device without OS slots, another kernel, or a slot too small', async () => {
  const root = tempDir('ota-os-device');
  const dev = device({ os: osSlots(root, 'a') });
  const before = () => [dev.snapshot(), fs.readFileSync(path.join(root, 'rootfs-b')).toString('hex'), fs.existsSync(path.join(root, 'firmware/os'))].join('\n');
  const start = before();
  const image = crypto.randomBytes(1000);
  const refusedFor = async (target: Device, os: Map<string, string>) => (await target.push((await release(target.store, '0.6.0', 1, { boards: ['rpi4'], os })).commit)).refused;
  assert.match((await refusedFor(dev, new Map([['rpi4', osDir(image, '6.1.0-other')]])))!, /the OS image is for kernel 6\.1\.0-other, this device runs test-kernel/);
  assert.match((await refusedFor(dev, new Map([['rpi4', osDir(crypto.randomBytes(300 * 1024))]])))!, /the OS image is 307200 bytes, the OS slot holds 262144/);
  assert.is(before(), start);
  const withoutOs = device();
  assert.match((await refusedFor(withoutOs, new Map([['rpi4', osDir(image)]])))!, /carries an OS image for rpi4, and this device has no OS slots/);
  const tampered = await altered(dev.store, (await release(dev.store, '0.6.0', 1, { boards: ['rpi4'], os: new Map([['rpi4', osDir(image)]]) })).commit, (view) => {
    const bytes = Buffer.from(view.get('os/rpi4/rootfs.squashfs')!);
    bytes[10] ^= 1;
    view.set('os/rpi4/rootfs.squashfs', bytes);
  });
  assert.match((await dev.push(tampered)).refused!, /os\/rpi4\/rootfs\.squashfs does not match its SHA-256/);
  assert.is(before(), start);
  assert.is(dev.reboots + dev.restarts + withoutOs.restarts, 0);
});

test('state.json: unreadable or odd contents read as slot a with defaults, as nyinit reads them', () => {
  const slots = new SlotDirectory(tempDir('ota-state'));
  const read = (text: string) => {
    fs.writeFileSync(path.join(slots.dir, 'state.json'), text);
    return slots.read();
  };
  assert.equal(read('{"active": "b", garbage'), { active: 'a', counter: 0, slots: {}, addedKeys: [], reverted: [] });
  assert.equal(read('{"active":"c","counter":-1}'), { active: 'a', counter: 0, slots: {}, addedKeys: [], reverted: [] });
  const good = { version: '0.2.0', counter: 2, staged: '2026-11-30T00:00:00.000Z' };
  const state = read(JSON.stringify({ active: 'b', trial: 'a', slots: { a: 5, b: good, c: good }, reverted: [1, 'x'] }));
  assert.equal(state, { active: 'b', counter: 0, slots: { b: good }, addedKeys: [], reverted: ['x'] }, 'a trial of the other slot is no trial');
});

test.run();
