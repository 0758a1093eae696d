/**
 * Power cuts in QEMU during updates (`make test-cuts`; not in `make test`: about 25 minutes).
 * A qemu-arm64 device whose card survives its power cuts (a qcow2 overlay over the image) is
 * set up once, and a file is written to the owner's store. Then, CUTS times (default 20), a
 * signed release is pushed with git and QEMU is killed (SIGKILL: the guest's page cache is lost,
 * what it flushed to its disk stays) at a random moment from the push through staging, the
 * switch, the restart (or for every other cut, a full-system update: the OS image's write, the
 * reboot and the boot of the new OS slot) and the trial. Each boot after it must come up,
 * settle any trial, answer /health, run a whole app from a whole OS slot (the release before or
 * the new one, says `ota status`), and still serve the owner's file.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { REPO } from '../_lib/cli.js';
import { ownerFile, pushUpdate, runAsync, setUpOwner, startBoard, type BoardSession } from '../_lib/qemu-boot.js';

const BOARD = 'qemu-arm64';
const CUTS = Number(process.env.CUTS ?? 20);
/** From the push: about 10 s to verify and stage, 25 s to restart and be ready, a few s of trial. */
const WINDOW_MS = 45_000;
/** With an OS image: about 35 s to send, verify and write it, 45 s to reboot and be ready. */
const OS_WINDOW_MS = 90_000;
const OS_DIR = path.join(REPO, 'out', BOARD, 'os');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


/** Boots the card and waits until the firmware is ready and no trial is left. */
async function bootSettled(overlay: string): Promise<BoardSession> {
  const session = await startBoard(BOARD, { overlay, reboot: true });
  await session.expect(/msg="?ready"?/, 240);
  // A trial cut short goes on: wait for its outcome (or a revert, if it ran out of starts).
  for (let i = 0; i < 20; i++) {
    // An OS trial that did not finish is reverted right after ready, with a reboot.
    await sleep(5000);
    const sinceReady = session.serial.slice(session.serial.search(/msg="?ready"?(?![^]*msg="?ready)/));
    if (/come back after a reboot/.test(sinceReady)) {
      await session.expect(/come back after a reboot/, 10);
      await session.expect(/msg="?ready"?/, 240);
      continue;
    }
    session.type('ota status');
    await session.expect(/anti-rollback: /, 60);
    const tail = session.serial.slice(-2000);
    if (!/\[[^\]]*on trial/.test(tail.slice(tail.lastIndexOf('slot a:')))) return session;
    await sleep(10_000);
  }
  throw new Error(`the trial did not settle:\n${session.serial.slice(-3000)}`);
}

test(`qemu-arm64: ${CUTS} power cuts at random moments of an update; each boot runs a whole, healthy slot and keeps the data`, async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cuts-'));
  const overlay = path.join(work, 'card.qcow2');
  const releases = path.join(work, 'release.git');
  const marker = crypto.randomBytes(8).toString('hex');
  let session = await startBoard(BOARD, { overlay, reboot: true });
  try {
    await session.expect(/msg="?ready"?/, 240);
    await setUpOwner(session);
    const put = await ownerFile(session, 'PUT', marker);
    assert.match(put.stdout, /"commit"/, `${put.stdout}${put.stderr}`);
    const tally: Record<string, number> = {};
    for (let cut = 1; cut <= CUTS; cut++) {
      const withOs = cut % 2 === 0;
      const delay = Math.floor(Math.random() * (withOs ? OS_WINDOW_MS : WINDOW_MS));
      const pushing = pushUpdate(session, { board: BOARD, arch: 'arm64', version: `0.9.${cut}`, counter: cut, seconds: 300, repo: releases, ...(withOs ? { os: OS_DIR } : {}) });
      // The delay counts from when the push starts talking to the device (after the release is made).
      await session.expect(/service="git-receive-pack refs"/, 120);
      await sleep(delay);
      session.qemu.kill('SIGKILL');
      await session.exited;
      await pushing;

      session = await bootSettled(overlay);
      const where = `cut ${cut} (${withOs ? 'OS and app' : 'app'}) after ${delay} ms`;
      const health = await runAsync('curl', ['-sS', '--max-time', '20', '--retry', '5', '--retry-connrefused', `http://127.0.0.1:${session.base + 80}/health`], 120_000);
      assert.match(health.stdout, /"status": "ok"/, `${where}: ${health.stdout}${session.serial.slice(-3000)}`);
      session.type('ota status');
      await session.expect(/last: /, 60);
      const running = /slot ([ab]): ([^\n]*)\[[^\]]*running/.exec(session.serial.slice(-3000));
      assert.ok(running !== null, `${where}: ota status names no running slot:\n${session.serial.slice(-3000)}`);
      assert.match(running[2]!, /^(the app the image was built with|release 0\.9\.\d+ \(counter \d+\)) $/, where);
      const osRunning = /os rootfs-([ab]): ([^\n]*)/g;
      const osLines = [...session.serial.slice(-3000).matchAll(osRunning)].slice(-2).map((m) => `${m[1]}: ${m[2]!.trim()}`);
      assert.ok(osLines.some((line) => /^[ab]: committed, running$/.test(line)), `${where}: the running OS slot is the committed one: ${osLines.join(' / ')}`);
      assert.is((await ownerFile(session, 'GET')).stdout, marker, `${where}: the owner's file`);
      const outcome = `${withOs ? 'OS and app' : 'app'} update: ${running[2]!.includes(`0.9.${cut} `) ? 'new release' : 'release before'}`;
      tally[outcome] = (tally[outcome] ?? 0) + 1;
    }
    console.log(`  ${CUTS} cuts: ${Object.entries(tally).map(([k, v]) => `${k} ×${v}`).join(', ')}`);
  } finally {
    if (session.qemu.exitCode === null) session.qemu.kill('SIGKILL');
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test.run();
