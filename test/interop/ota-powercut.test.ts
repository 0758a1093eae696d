/**
 * Power cuts during updates (test/_lib/ota-device.ts): 20 times, a release is pushed with git
 * and the whole device is killed at a random moment from the push through staging, the switch
 * and the trial; then it boots again as at power-on. Each time it must come up on a slot that
 * answers /health, settle any trial, leave no staging directory, keep the user's data, and run
 * either the release before or the new one — never a half-written one.
 *
 * What this does not cover: the processes die at once but the page cache survives, so the order
 * of the steps is what is tested here, not the fsyncs; cutting QEMU's power is not done yet.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { OtaDevice, PASSWORD } from '../_lib/ota-device.js';

const CUTS = 20;
/** A push, its staging, the restart and the trial take about this long here; cuts fall within it. */
const WINDOW_MS = 1500;

const device = new OtaDevice();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test.before(async () => {
  await device.prepare(20);
  await device.start();
});

test.after(() => device.remove());

test(`${CUTS} power cuts at random moments of an update: every boot runs a whole, healthy slot with the data intact`, async () => {
  const card = 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:cut-card\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\nEND:VCARD\r\n';
  execFileSync('curl', ['-sS', '-f', '-u', `alice:${PASSWORD}`, '-X', 'PUT', '-H', 'content-type: text/vcard', '--data-binary', card, `${device.httpUrl}/dav/alice/contacts/default/grace.vcf`]);
  const head = device.storeHead('alice');
  const outcomes: Record<string, number> = {};
  for (let cut = 1; cut <= CUTS; cut++) {
    device.release(`0.5.${cut}`, device.app(`// cut ${cut}`));
    const before = device.state();
    const delay = Math.floor(Math.random() * WINDOW_MS);
    const pusher = device.pushInBackground();
    await sleep(delay);
    await device.cut();
    pusher.kill('SIGKILL');

    const at = device.mark();
    await device.start();
    // A trial cut short goes on (nyinit counts the start) and settles.
    if (device.state().trial !== undefined) await device.waitFor(`cut ${cut}: the trial to settle`, () => /ota: (installed|reverted) release/.test(device.since(at)), 60_000);
    const after = device.state();
    const where = `cut ${cut} after ${delay} ms (${JSON.stringify(before)} → ${JSON.stringify(after)})`;
    assert.is(await device.health(), 'ok', where);
    assert.is(after.trial, undefined, where);
    const slotDir = path.join(device.data, 'firmware', after.active);
    const running = fs.readFileSync(path.join(slotDir, 'index.js'), 'utf8');
    // The app in the active slot is whole: the image's, or a release's last line.
    const last = /\/\/ cut (\d+)\n$/.exec(running);
    assert.ok(last !== null || after.active === 'a', `${where}: the active slot's index.js is not a whole app`);
    assert.ok(after.active === before.active || last?.[1] === String(cut), `${where}: a switch lands on the new release`);
    assert.not.ok(fs.readdirSync(path.join(device.data, 'firmware')).some((name) => name.endsWith('.staging')), `${where}: staging left behind`);
    assert.is(device.storeHead('alice'), head, `${where}: the user's store moved`);
    const outcome = after.active === before.active ? 'not switched' : 'installed';
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  }
  const card2 = execFileSync('curl', ['-sS', '-f', '-u', `alice:${PASSWORD}`, `${device.httpUrl}/dav/alice/contacts/default/grace.vcf`], { encoding: 'utf8' });
  assert.match(card2, /FN:Grace Hopper/);
  process.stdout.write(`  (${CUTS} cuts: ${Object.entries(outcomes).map(([k, v]) => `${v} ${k}`).join(', ')})\n`);
});

test.run();
