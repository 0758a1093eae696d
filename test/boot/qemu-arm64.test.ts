/**
 * The image boots: `make image BOARD=qemu-arm64` booted under QEMU (direct kernel boot, the
 * image as its virtio disk, untouched: writes go to an overlay). Waits for the firmware's ready
 * line on the serial console, asks /health over the forwarded HTTP port, answers the first-boot
 * setup and runs `status` over serial, then `poweroff`: nyinit stops Node and powers off, and
 * QEMU exits. Prints the time from QEMU's start to the ready line.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tool } from '../_lib/cli.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const IMAGE = path.join(REPO, 'out', 'qemu-arm64', 'nymote-qemu-arm64.img');

test('qemu-arm64: boots to ready, answers /health, takes setup and status on serial, powers off', async () => {
  assert.ok(fs.existsSync(IMAGE), `${IMAGE} is missing: make image BOARD=qemu-arm64`);
  const base = 20000 + Math.floor(Math.random() * 20000);
  const started = Date.now();
  const qemu = spawn(path.join(REPO, 'scripts', 'qemu.sh'), ['qemu-arm64'], { env: { ...process.env, QEMU_PORT_BASE: String(base), QEMU_SNAPSHOT: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let serial = '';
  qemu.stdout.setEncoding('utf8').on('data', (chunk: string) => (serial += chunk));
  qemu.stderr.setEncoding('utf8').on('data', (chunk: string) => (serial += chunk));
  const exited = new Promise<number | null>((resolve) => qemu.once('exit', (code) => resolve(code)));
  let position = 0;
  /** Waits until `pattern` shows on the serial line after what was matched before. */
  const expect = async (pattern: RegExp, seconds: number): Promise<void> => {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      const match = pattern.exec(serial.slice(position));
      if (match !== null) {
        position += match.index + match[0].length;
        return;
      }
      if (Date.now() > deadline || qemu.exitCode !== null) throw new Error(`no ${pattern} on the serial console; it showed:\n${serial.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const type = (line: string) => qemu.stdin.write(`${line}\r`);
  try {
    await expect(/msg="?ready"?/, 240);
    const readyMs = Date.now() - started;
    console.log(`  qemu-arm64: QEMU start to ready ${(readyMs / 1000).toFixed(1)} s`);

    // The device gets its address by DHCP (our client, QEMU's server) around the ready line.
    for (let i = 0; i < 600 && !/dhcp lease bound/.test(serial); i++) await new Promise((r) => setTimeout(r, 100));
    const health = tool('curl', ['-sS', '--max-time', '10', '--retry', '5', '--retry-connrefused', `http://127.0.0.1:${base + 80}/health`]);
    assert.is(health.status, 0, health.stderr);
    const report = JSON.parse(health.stdout) as { status: string; mode: string; services: Record<string, { state: string }> };
    assert.is(report.mode, 'device');
    assert.is(report.services.hardware?.state, 'running');
    assert.match(JSON.stringify(report.services.hardware), /net bound 10\.0\.2\.15\/24, watchdog running/);

    // A fresh device's console starts in setup.
    await expect(/owner name: /, 60);
    type('owner');
    await expect(/password for owner: /, 30);
    type('boot-test-pass-1');
    await expect(/password for owner again: /, 30);
    type('boot-test-pass-1');
    await expect(/hostname \[nymote\]: /, 30);
    type('qemu');
    await expect(/time zone \[UTC\]: /, 30);
    type('');
    await expect(/\[dhcp\]: /, 30);
    type('');
    await expect(/console password \(empty for none\): /, 30);
    type('');
    await expect(/set up: owner owner, hostname qemu/, 60);
    type('status');
    await expect(/device mode · up \d+s/, 30);
    await expect(/hardware +running +\(net bound 10\.0\.2\.15\/24/, 30);
    assert.not.match(serial, /boot-test-pass-1/, 'the password never shows on the console');

    type('poweroff');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 90_000))]);
    assert.is(code, 0, `QEMU did not power off cleanly:\n${serial.slice(-3000)}`);
    assert.match(serial, /nyinit: .*power/i);
  } finally {
    if (qemu.exitCode === null) qemu.kill('SIGKILL');
  }
});

test.run();
