/**
 * Boots a board's image under QEMU (scripts/qemu.sh: direct kernel boot, the image as its disk,
 * untouched: writes go to an overlay) and checks it end to end: the firmware's ready line on the
 * serial console, /health and the web UI over the forwarded HTTP port, the first-boot setup and `status` over
 * serial, optionally an update pushed with git (it must be installed and run from slot b), then
 * `poweroff` (nyinit stops Node and powers off, and QEMU exits). Returns the time from QEMU's
 * start to the ready line.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { REPO, tool } from './cli.js';

export interface BootCheck {
  board: string;
  /** What /health and `status` must say of the hardware: e.g. /net bound 10\.0\.2\.15\/24, watchdog running/. */
  hardware: RegExp;
  /** False for a machine QEMU gives no network (its NIC is on USB): /health is not asked. */
  network?: boolean;
  /** Longest wait for the ready line (emulated 32-bit boards are slow). */
  readySeconds: number;
  /**
   * What poweroff ends in: QEMU exits ('exit'), or the kernel stops and QEMU stays, because
   * the emulated board cannot switch itself off ('halt': QEMU's cubieboard and raspi2b).
   */
  poweroff?: 'exit' | 'halt';
  /**
   * Push an update after setup: this arch's app with one line more, signed with the test
   * release key the image trusts (make boot-image), pushed with git over HTTPS.
   */
  update?: { arch: 'arm64' | 'armhf'; seconds: number };
}

/** The owner's password that setUpOwner sets. */
export const OWNER_PASSWORD = 'boot-test-pass-1';
/** The release key make boot-image builds the image to trust. */
const TEST_RELEASE = path.join(REPO, '.cache', 'test-release');

export async function bootAndCheck({ board, hardware, network = true, readySeconds, poweroff = 'exit', update }: BootCheck): Promise<number> {
  const session = await startBoard(board);
  const { qemu, exited, base, started, expect, type } = session;
  try {
    await expect(/msg="?ready"?/, readySeconds);
    const readyMs = Date.now() - started;
    console.log(`  ${board}: QEMU start to ready ${(readyMs / 1000).toFixed(1)} s`);

    if (network) {
      // The device gets its address by DHCP (our client, QEMU's server) around the ready line.
      for (let i = 0; i < 600 && !/dhcp lease bound/.test(session.serial); i++) await new Promise((r) => setTimeout(r, 100));
      const health = tool('curl', ['-sS', '--max-time', '10', '--retry', '5', '--retry-connrefused', `http://127.0.0.1:${base + 80}/health`]);
      assert.is(health.status, 0, health.stderr);
      const report = JSON.parse(health.stdout) as { status: string; mode: string; services: Record<string, { state: string }> };
      assert.is(report.mode, 'device');
      assert.is(report.services.hardware?.state, 'running');
      assert.match(JSON.stringify(report.services.hardware), hardware);
      // The web UI is in the image's bundle; signing in over plain HTTP from another machine
      // (QEMU's host is 10.0.2.2 to the device) is refused before any password is checked.
      const script = tool('curl', ['-sS', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code} %{content_type}', `http://127.0.0.1:${base + 80}/ui/app.js`]);
      assert.is(script.stdout, '200 text/javascript; charset=utf-8', script.stderr);
      const signIn = tool('curl', ['-sS', '--max-time', '10', '-H', 'content-type: application/json', '--data', JSON.stringify({ user: 'owner', password: OWNER_PASSWORD }), `http://127.0.0.1:${base + 80}/ui/api/session`]);
      assert.match(signIn.stdout, /"code": "EINSECURE"/, signIn.stdout);
    }

    await setUpOwner(session);
    type('status');
    await expect(/device mode · up \d+s/, 30);
    await expect(new RegExp(`hardware +running +\\(.*${hardware.source}`), 30);
    assert.not.ok(session.serial.includes(OWNER_PASSWORD), 'the password never shows on the console');

    if (update !== undefined) {
      const pushStarted = Date.now();
      const pushed = await pushUpdate(session, { board, arch: update.arch, version: '0.0.1-boot', counter: 1, seconds: update.seconds });
      assert.is(pushed.status, 0, `${pushed.stderr}\n${session.serial.slice(-3000)}`);
      assert.match(pushed.stderr, /remote: staged release 0\.0\.1-boot in slot b/);
      console.log(`  ${board}: update made, pushed, verified and staged in ${((Date.now() - pushStarted) / 1000).toFixed(1)} s`);
      await expect(/nyinit: slot b on trial: start 1 of 3/, 60);
      await expect(/ota: installed release 0\.0\.1-boot \(counter 1\) in slot b: health check passed/, update.seconds);
      type('ota status');
      await expect(/slot b: release 0\.0\.1-boot \(counter 1\) \[active, running\]/, 30);
    }

    type('poweroff');
    if (poweroff === 'halt') {
      await expect(/nyinit: poweroff requested[^]*nyinit: unmounted \/data[^]*(System halted|reboot: Power down)/, 90);
    } else {
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 90_000))]);
      assert.is(code, 0, `QEMU did not power off cleanly:\n${session.serial.slice(-3000)}`);
      assert.match(session.serial, /nyinit: poweroff requested[^]*nyinit: unmounted \/data/);
    }
    return readyMs;
  } finally {
    if (qemu.exitCode === null) qemu.kill('SIGKILL');
  }
}

/**
 * A command run without blocking this process: QEMU's serial output must keep being read while
 * it runs, or the guest blocks writing its console (spawnSync would stall the device).
 */
export function runAsync(command: string, args: string[], timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (status, signal) => resolve({ status, stdout, stderr: signal === null ? stderr : `${stderr}\n(${command} ended by ${signal})` }));
  });
}

/** PUT or GET of a file in the owner's store (main branch) over the forwarded HTTPS port, with curl. */
export const ownerFile = (session: BoardSession, method: 'PUT' | 'GET', body?: string) =>
  runAsync('curl', ['-sS', '-k', '--max-time', '20', '-u', `owner:${OWNER_PASSWORD}`, '-X', method, ...(body === undefined ? [] : ['--data-binary', body]), `https://127.0.0.1:${session.base + 443}/api/v1/owner/tree/main/ota/marker.txt`], 30_000);

export interface BoardSession {
  qemu: ChildProcessWithoutNullStreams;
  exited: Promise<number | null>;
  /** What QEMU printed: the serial console and its own errors. */
  serial: string;
  base: number;
  started: number;
  /** Waits until `pattern` shows on the serial line after what was matched before. */
  expect(pattern: RegExp, seconds: number): Promise<void>;
  /** A line typed on the serial console. */
  type(line: string): void;
}

/**
 * The board's image under QEMU (scripts/qemu.sh), its services on host ports from a random
 * base; the image untouched (writes go to a throw-away overlay, or to `overlay`, a qcow2 file
 * kept across boots). A guest reboot ends QEMU unless `reboot`.
 */
export async function startBoard(board: string, { overlay, reboot = false }: { overlay?: string; reboot?: boolean } = {}): Promise<BoardSession> {
  const image = path.join(REPO, 'out', board, `nymote-${board}.img`);
  assert.ok(fs.existsSync(image), `${image} is missing: make image BOARD=${board}`);
  // QEMU's host forwarding fails when a port of the chosen base is taken (say by an earlier
  // test's socket in TIME_WAIT, which a node listener would not even notice): another base then.
  // Bases stay below the ephemeral port range (32768…).
  for (let attempt = 1; ; attempt++) {
    const session = launch(board, 20000 + Math.floor(Math.random() * 10000), overlay, reboot);
    // Such a failure ends QEMU within seconds (qemu.sh first checks its packages); the boot goes on meanwhile.
    const early = await Promise.race([session.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 10_000))]);
    if (early === 'running' || attempt === 5 || !/Could not set up host forwarding/.test(session.serial)) return session;
  }
}

function launch(board: string, base: number, overlay: string | undefined, reboot: boolean): BoardSession {
  const env = { ...process.env, QEMU_PORT_BASE: String(base), ...(overlay === undefined ? { QEMU_SNAPSHOT: '1' } : { QEMU_OVERLAY: overlay }), ...(reboot ? { QEMU_REBOOT: '1' } : {}) };
  const qemu = spawn(path.join(REPO, 'scripts', 'qemu.sh'), [board], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let position = 0;
  const session: BoardSession = {
    qemu,
    exited: new Promise((resolve) => qemu.once('exit', (code) => resolve(code))),
    serial: '',
    base,
    started: Date.now(),
    expect: async (pattern, seconds) => {
      const deadline = Date.now() + seconds * 1000;
      for (;;) {
        const match = pattern.exec(session.serial.slice(position));
        if (match !== null) {
          position += match.index + match[0].length;
          return;
        }
        if (Date.now() > deadline || qemu.exitCode !== null) throw new Error(`no ${pattern} on the serial console; it showed:\n${session.serial.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    type: (line) => void qemu.stdin.write(`${line}\r`),
  };
  qemu.stdout.setEncoding('utf8').on('data', (chunk: string) => (session.serial += chunk));
  qemu.stderr.setEncoding('utf8').on('data', (chunk: string) => (session.serial += chunk));
  return session;
}

/** A fresh device's console starts in setup: the owner "owner" (OWNER_PASSWORD), hostname qemu. */
export async function setUpOwner({ expect, type }: BoardSession): Promise<void> {
  await expect(/owner name: /, 60);
  type('owner');
  await expect(/password for owner: /, 30);
  type(OWNER_PASSWORD);
  await expect(/password for owner again: /, 30);
  type(OWNER_PASSWORD);
  await expect(/hostname \[nymote\]: /, 30);
  type('qemu');
  await expect(/time zone \[UTC\]: /, 30);
  type('');
  await expect(/\[dhcp\]: /, 30);
  type('');
  await expect(/console password \(empty for none\): /, 30);
  type('');
  await expect(/set up: owner owner, hostname qemu/, 60);
}

/**
 * Pushes an update with git over HTTPS: this arch's app with one line more (and with `os`, the
 * board's OS directory as build-image.sh writes out/<board>/os), signed with the test release
 * key the image trusts (make boot-image). Resolves once the push is answered.
 */
export async function pushUpdate(
  session: BoardSession,
  release: { board: string; arch: 'arm64' | 'armhf'; version: string; counter: number; seconds: number; repo?: string; os?: string },
): Promise<{ status: number | null; stderr: string }> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'boot-update-'));
  try {
    const app = path.join(work, 'app');
    const assembled = await runAsync(path.join(REPO, 'scripts/assemble-app.sh'), [release.arch, app], 120_000);
    assert.is(assembled.status, 0, assembled.stderr);
    fs.appendFileSync(path.join(app, 'index.js'), `// update ${release.version}\n`);
    const repo = release.repo ?? path.join(work, 'release.git');
    const made = await runAsync(process.execPath, [path.join(REPO, 'dist/firmware/index.js'), 'release', '--data', TEST_RELEASE, '--repo', repo, '--version', release.version, '--counter', String(release.counter), '--boards', release.board, ...(release.os === undefined ? [] : ['--os', `${release.board}=${release.os}`]), `${release.arch}=${app}`], 120_000);
    assert.is(made.status, 0, made.stderr);
    // Over HTTPS (credentials are refused on plain HTTP from another machine). The device's
    // certificate names the device, not the forwarded 127.0.0.1: not verified here.
    const pushed = await runAsync('git', ['--git-dir', repo, '-c', 'http.sslVerify=false', 'push', '--force', `https://owner:${OWNER_PASSWORD}@127.0.0.1:${session.base + 443}/git/firmware.git`, 'release'], release.seconds * 1000);
    return { status: pushed.status, stderr: pushed.stderr };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
