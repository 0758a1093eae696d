/**
 * A full-system update in QEMU (`make boot-image`'s qemu-arm64, its card an overlay that
 * survives reboots). A release carrying the board's OS image (out/qemu-arm64/os) is pushed with
 * git: the device writes it to rootfs-b, reboots, the initramfs tries rootfs-b once, the release
 * passes its health check and both slots are committed; the owner's file is still there. Then a
 * release whose OS image is all zeros: it is written to rootfs-a, the initramfs cannot mount it
 * and reboots, rootfs-b comes back by itself and the release is recorded as reverted.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { REPO } from '../_lib/cli.js';
import { ownerFile, pushUpdate, setUpOwner, startBoard } from '../_lib/qemu-boot.js';

const BOARD = 'qemu-arm64';

test('qemu-arm64: an OS update by git push boots its OS slot once, passes and is committed; a zero-filled OS image ends on the OS before', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'os-update-'));
  const session = await startBoard(BOARD, { overlay: path.join(work, 'card.qcow2'), reboot: true });
  const { expect, type } = session;
  const releases = path.join(work, 'release.git');
  const marker = crypto.randomBytes(8).toString('hex');
  try {
    await expect(/msg="?ready"?/, 240);
    await setUpOwner(session);
    const put = await ownerFile(session, 'PUT', marker);
    assert.match(put.stdout, /"commit"/, `${put.stdout}${put.stderr}`);

    const started = Date.now();
    const good = await pushUpdate(session, { board: BOARD, arch: 'arm64', version: '0.1.0-os', counter: 1, seconds: 300, repo: releases, os: path.join(REPO, 'out', BOARD, 'os') });
    assert.is(good.status, 0, `${good.stderr}\n${session.serial.slice(-3000)}`);
    assert.match(good.stderr, /remote: writing the OS image \(\d+\.\d MiB\) to rootfs-b[^]*remote: staged release 0\.1\.0-os in slot b and rootfs-b[^]*remote: rebooting into rootfs-b/);
    console.log(`  ${BOARD}: OS update made, pushed, verified and written in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await expect(/initramfs: trying rootfs-b once/, 120);
    await expect(/msg="?ready"?/, 240);
    await expect(/ota: installed release 0\.1\.0-os \(counter 1\) in slot b: health check passed on rootfs-b/, 120);
    console.log(`  ${BOARD}: push to committed on the new OS in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    type('ota status');
    await expect(/os rootfs-a: -[^]*os rootfs-b: committed, running/, 30);
    assert.is((await ownerFile(session, 'GET')).stdout, marker, "the owner's file after the OS update");

    // An OS image of zeros, signed like any release: written, tried once, not mountable.
    const zeros = path.join(work, 'zeros');
    fs.mkdirSync(zeros);
    fs.writeFileSync(path.join(zeros, 'rootfs.squashfs'), Buffer.alloc(4 * 1024 * 1024));
    fs.copyFileSync(path.join(REPO, 'out', BOARD, 'os', 'kernel-release'), path.join(zeros, 'kernel-release'));
    const zero = await pushUpdate(session, { board: BOARD, arch: 'arm64', version: '0.1.1-zero', counter: 2, seconds: 300, repo: releases, os: zeros });
    assert.is(zero.status, 0, `${zero.stderr}\n${session.serial.slice(-3000)}`);
    assert.match(zero.stderr, /remote: staged release 0\.1\.1-zero in slot a and rootfs-a/);
    await expect(/initramfs: trying rootfs-a once/, 120);
    await expect(/initramfs: rootfs-a does not mount; back to the committed OS/, 60);
    await expect(/msg="?ready"?/, 240);
    await expect(/ota: reverted release 0\.1\.1-zero \(counter 2\) in slot a: its OS did not start from rootfs-a; slot b and rootfs-b is back/, 120);
    // The revert restarts the firmware into app slot b.
    await expect(/msg="?ready"?/, 240);
    type('ota status');
    await expect(/slot b: release 0\.1\.0-os \(counter 1\) \[active, running\][^]*os rootfs-b: committed, running/, 30);
    assert.is((await ownerFile(session, 'GET')).stdout, marker, "the owner's file after the revert");

    type('poweroff');
    const code = await Promise.race([session.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 90_000))]);
    assert.is(code, 0, `QEMU did not power off cleanly:\n${session.serial.slice(-3000)}`);
  } finally {
    if (session.qemu.exitCode === null) session.qemu.kill('SIGKILL');
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test.run();
