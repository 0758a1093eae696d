/**
 * nyinit (native/init/nyinit.c), the device's PID 1, run on the host as PID 1 of a new PID
 * namespace (`unshare --pid --fork --mount-proc --uts`; as non-root also --user
 * --map-root-user). Its test hooks (see the header of nyinit.c) replace Node with a shell
 * script, /data with a temporary tree, the watchdog with a plain file and reboot(2) with a file
 * the action is written to. The binary is built (scripts/build-init.sh host) when missing or
 * older than its source.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NYINIT, ensureNyinit } from '../_lib/nyinit.js';
import { tempDir } from '../_lib/tmp.js';


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 5000, log = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${log()}`);
    await sleep(20);
  }
}

const readOr = (file: string, fallback = ''): string => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
};

interface Layout {
  /** Create <root>/data (default true): without it nyinit must not start the child. */
  data?: boolean;
  /** Files under <root>/data, by relative path. */
  files?: Record<string, string | Buffer>;
  /** Executable scripts in <root>, by name, for the child to run. */
  scripts?: Record<string, string>;
}

interface Init {
  root: string;
  out: string;
  /** nyinit's PID as the host sees it (it is 1 inside its namespace). */
  pid: number;
  log(): string;
  signal(name: NodeJS.Signals): void;
  /** Resolves with the exit code of unshare (nyinit's own) once the namespace is gone. */
  exit(timeoutMs?: number): Promise<number | null>;
  /** What nyinit would have asked reboot(2) for (NYINIT_TEST_REBOOT). */
  action(): string;
  /** A file the child wrote into $FAKE_OUT ('' while missing); `argv` holds its arguments. */
  outFile(name: string): string;
  kill(): void;
}

const running = new Set<Init>();

/** Starts nyinit with `child` (a /bin/sh script body) in place of node. */
async function boot(child: string, env: Record<string, string> = {}, layout: Layout = {}): Promise<Init> {
  ensureNyinit();
  const root = tempDir('nyinit');
  const out = path.join(root, 'out');
  fs.mkdirSync(out);
  if (layout.data !== false) {
    const files = { 'firmware/a/index.js': '#!/usr/bin/env node\n', ...layout.files };
    for (const [name, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, 'data', name)), { recursive: true });
      fs.writeFileSync(path.join(root, 'data', name), content);
    }
  }
  for (const [name, body] of Object.entries(layout.scripts ?? {})) fs.writeFileSync(path.join(root, name), body, { mode: 0o755 });
  const script = path.join(root, 'child.sh');
  fs.writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$@" > "$FAKE_OUT/argv"\n${child}\n`, { mode: 0o755 });

  const userns = process.getuid?.() === 0 ? [] : ['--user', '--map-root-user'];
  const proc: ChildProcess = spawn('unshare', [...userns, '--pid', '--fork', '--mount-proc', '--uts', NYINIT], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      FAKE_OUT: out,
      NYINIT_ROOT: root,
      NYINIT_NO_MOUNT: '1',
      NYINIT_CHILD: script,
      NYINIT_CONSOLE: '', // keep our pipes: never the host's /dev/console
      NYINIT_WATCHDOG: '', // never the host's /dev/watchdog
      NYINIT_TEST_REBOOT: path.join(root, 'action'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout?.on('data', (chunk) => (output += chunk));
  proc.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  const log = () => output;

  // unshare --fork waits for its one child, which execs nyinit. A nyinit that is done at
  // once (node exits 100) may be gone before it is seen: then there is nothing to signal,
  // and exit() and action() tell whether it ran (unshare itself failing exits non-zero).
  const unsharePid = proc.pid!;
  const pid = await waitFor('nyinit to start', () => {
    const children = readOr(`/proc/${unsharePid}/task/${unsharePid}/children`).trim();
    return children ? Number(children.split(' ')[0]) : gone ? -1 : undefined;
  }, 5000, log);

  const init: Init = {
    root,
    out,
    pid,
    log,
    signal: (name) => {
      assert.ok(pid > 0 && !gone, `nyinit is not running:\n${log()}`);
      process.kill(pid, name);
    },
    exit: async (timeoutMs = 8000) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      const code = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (code === 'timeout') throw new Error(`nyinit did not exit within ${timeoutMs} ms\n${log()}`);
      running.delete(init);
      return code;
    },
    action: () => readOr(path.join(root, 'action')),
    outFile: (name) => readOr(path.join(out, name)),
    kill: () => {
      if (!gone && pid > 0) process.kill(pid, 'SIGKILL'); // PID 1 of the namespace: takes everything with it
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  running.add(init);
  return init;
}

/** Runs `body`, then kills whatever is left and removes the tree. */
async function withInit(init: Init, body: (init: Init) => Promise<void>): Promise<void> {
  try {
    await body(init);
  } finally {
    running.delete(init);
    init.kill();
  }
}

const started = (init: Init) => waitFor('the child to start', () => init.outFile('argv') !== '' || undefined, 5000, init.log);
/** Milliseconds since the epoch, from `date +%s%N` lines. */
const stamps = (text: string) => text.trim().split('\n').filter(Boolean).map((line) => Number(BigInt(line.split(' ').pop()!) / 1_000_000n));

// A child that records SIGTERM and then exits; the trap goes first, before any request.
const TERM_TRAP = `trap 'echo "node $(date +%s%N)" >> "$FAKE_OUT/signals"; exit 0' TERM`;
const IDLE = 'while :; do sleep 0.05; done';

test('boot: slot and node flags from the data tree, hostname, entropy seed, environment; SIGTERM: node first, then everyone, then reboot', async () => {
  const seed = crypto.randomBytes(512);
  const daemon = `#!/bin/sh
trap 'echo "daemon $(date +%s%N)" >> "$FAKE_OUT/signals"; exit 0' TERM
echo up > "$FAKE_OUT/daemon-up"
while :; do sleep 0.05; done`;
  const init = await boot(
    `trap 'echo "node $(date +%s%N)" >> "$FAKE_OUT/signals"; sleep 0.3; exit 0' TERM
setsid "$FAKE_OUT/../daemon.sh" &
cat /proc/sys/kernel/hostname > "$FAKE_OUT/hostname"
echo "$NYMOTE_DATA $NYMOTE_MODE" > "$FAKE_OUT/data"
while :; do sleep 0.05; done`,
    {},
    {
      files: {
        'firmware/state.json': '{"trial": "active", "active" : "b", "previous": "a"}\n',
        'firmware/b/index.js': '#!/usr/bin/env -S node --max-semi-space-size=1 --max-old-space-size=512\nrequire("x");\n',
        'firmware/a/index.js': '#!/usr/bin/env -S node --wrong-slot\n',
        'config/hostname': 'unit-7\n',
        '.random-seed': seed,
      },
      scripts: { 'daemon.sh': daemon },
    },
  );
  await withInit(init, async () => {
    await started(init);
    const argv = init.outFile('argv').trimEnd().split('\n');
    assert.equal(argv, ['--max-semi-space-size=1', '--max-old-space-size=512', path.join(init.root, 'data/firmware/b/index.js'), 'run']);
    await waitFor('the child to report', () => init.outFile('data') !== '' || undefined);
    assert.is(init.outFile('hostname').trim(), 'unit-7');
    assert.is(init.outFile('data').trim(), `${path.join(init.root, 'data')} device`);
    const newSeed = fs.readFileSync(path.join(init.root, 'data/.random-seed'));
    assert.is(newSeed.length, 512);
    assert.not.ok(newSeed.equals(seed), 'the seed was replaced at boot');
    assert.is(fs.statSync(path.join(init.root, 'data/.random-seed')).mode & 0o777, 0o600);

    await waitFor('the daemon', () => init.outFile('daemon-up') !== '' || undefined, 5000, init.log);
    init.signal('SIGTERM');
    assert.is(await init.exit(), 0, init.log());
    assert.is(init.action(), 'reboot\n');
    const signals = Object.fromEntries(init.outFile('signals').trim().split('\n').map((line) => line.split(' ')));
    assert.ok(signals.node && signals.daemon, `both got SIGTERM: ${init.outFile('signals')}\n${init.log()}`);
    // Node alone first, and nyinit waited for it (it takes 0.3 s) before signalling everyone.
    assert.ok(Number(BigInt(signals.daemon) - BigInt(signals.node)) / 1e6 >= 250, init.outFile('signals'));
    assert.match(init.log(), /nyinit: reboot requested/);
  });
});

test('orphans that daemonize are adopted by nyinit and reaped: no zombie is left in the namespace', async () => {
  const init = await boot(`for i in 1 2 3 4 5; do
  ( sh -c 'sleep 0.3; read -r pid comm state ppid rest < /proc/$$/stat; echo "$ppid" > "$1"' orphan "$FAKE_OUT/ppid.$i" & )
done
sleep 1.2
for f in /proc/[0-9]*/stat; do
  read -r pid comm state rest 2>/dev/null < "$f" || continue
  [ "$state" = Z ] && echo "$pid $comm $state"
done > "$FAKE_OUT/zombies"
echo done > "$FAKE_OUT/scanned"
${TERM_TRAP}
${IDLE}`);
  await withInit(init, async () => {
    await waitFor('the /proc scan', () => init.outFile('scanned') !== '' || undefined, 5000, init.log);
    for (let i = 1; i <= 5; i++) assert.is(init.outFile(`ppid.${i}`).trim(), '1', `orphan ${i} was adopted by PID 1`);
    assert.is(init.outFile('zombies'), '', 'zombies in the namespace');
    init.signal('SIGTERM');
    assert.is(await init.exit(), 0);
  });
});

test('a child that dies at once is restarted with a growing delay, never in a busy loop', async () => {
  const init = await boot('date +%s%N >> "$FAKE_OUT/starts"; exit 3');
  await withInit(init, async () => {
    await started(init);
    await sleep(7800); // starts expected at 0, 1, 3, 7 s
    const times = stamps(init.outFile('starts'));
    assert.ok(times.length >= 4 && times.length <= 5, `${times.length} starts in 7.8 s\n${init.log()}`);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    assert.ok(gaps[0]! >= 900 && gaps[0]! <= 1500, `first delay ${gaps[0]} ms`);
    for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i]! >= 1.6 * gaps[i - 1]!, `delays grow: ${gaps.join(', ')} ms`);
    assert.match(init.log(), /node \(pid \d+\) exited with 3/);
    init.signal('SIGTERM'); // while waiting to restart: nothing to stop first
    assert.is(await init.exit(), 0);
    assert.is(init.action(), 'reboot\n');
  });
});

for (const [signal, action] of [['SIGUSR1', 'halt'], ['SIGPWR', 'halt']] as const) {
  test(`${signal} → ${action}, after node got SIGTERM`, async () => {
    const init = await boot(`${TERM_TRAP}\n${IDLE}`);
    await withInit(init, async () => {
      await started(init);
      init.signal(signal);
      assert.is(await init.exit(), 0, init.log());
      assert.is(init.action(), `${action}\n`);
      assert.match(init.outFile('signals'), /^node \d+\n$/);
    });
  });
}

test('SIGUSR2 → poweroff; a node that ignores SIGTERM is killed after NYINIT_NODE_TIMEOUT', async () => {
  const init = await boot(`trap '' TERM\nwhile :; do sleep 0.05; done`, { NYINIT_NODE_TIMEOUT: '1' });
  await withInit(init, async () => {
    await started(init);
    const sent = Date.now();
    init.signal('SIGUSR2');
    assert.is(await init.exit(), 0, init.log());
    assert.is(init.action(), 'poweroff\n');
    assert.ok(Date.now() - sent >= 1000, 'node had its second');
    assert.match(init.log(), /node did not stop within 1 s/);
    assert.match(init.log(), /node \(pid \d+\) killed by signal 9/);
  });
});

for (const [code, action] of [[100, 'reboot'], [101, 'poweroff'], [102, 'halt']] as const) {
  test(`node exit code ${code} → ${action} (slot a and no flags by default)`, async () => {
    const init = await boot(`exit ${code}`);
    await withInit(init, async () => {
      assert.is(await init.exit(), 0, init.log());
      assert.is(init.action(), `${action}\n`);
      assert.equal(init.outFile('argv').trimEnd().split('\n'), [path.join(init.root, 'data/firmware/a/index.js'), 'run']);
      assert.not.match(init.log(), /restarting/);
    });
  });
}

test('control FIFO: "reboot 0 tryboot" passes the argument through; unknown and over-long lines are ignored', async () => {
  const init = await boot(`${TERM_TRAP}
printf 'bogus\\n%0300d\\n' 0 > "$NYINIT_CTL"
sleep 0.2
echo "reboot 0 tryboot" > "$NYINIT_CTL"
${IDLE}`);
  await withInit(init, async () => {
    assert.is(await init.exit(), 0, init.log());
    assert.is(init.action(), 'reboot 0 tryboot\n');
    assert.match(init.outFile('signals'), /^node \d+\n$/);
    assert.match(init.log(), /unknown request "bogus"/);
    assert.match(init.log(), /reboot 0 tryboot requested/);
  });
});

test('watchdog: petted while node sends heartbeats, not after they stop; magic close on shutdown', async () => {
  // A plain file: the timeout ioctls fail on it, so nyinit uses NYINIT_WATCHDOG_TIMEOUT.
  const dir = tempDir('nywd');
  const watchdog = path.join(dir, 'watchdog');
  fs.writeFileSync(watchdog, '');
  const pets = () => readOr(watchdog);
  const init = await boot(
    `${TERM_TRAP}
i=0
while [ $i -lt 10 ]; do echo alive > "$NYINIT_CTL"; sleep 0.25; i=$((i + 1)); done
echo quiet > "$FAKE_OUT/quiet"
${IDLE}`,
    { NYINIT_WATCHDOG: watchdog, NYINIT_WATCHDOG_TIMEOUT: '2' },
  );
  try {
    await withInit(init, async () => {
      await waitFor('the heartbeats to stop', () => init.outFile('quiet') !== '' || undefined, 6000, init.log);
      assert.ok(/^k+$/.test(pets()) && pets().length >= 3, `petted every second while node checked in: ${JSON.stringify(pets())}`);
      await sleep(2400); // past the 2 s timeout since the last heartbeat
      const stopped = pets().length;
      await sleep(2200); // two petting intervals
      assert.is(pets().length, stopped, 'no petting without heartbeats');
      assert.match(init.log(), /no heartbeat from node: no longer petting the watchdog/);
      init.signal('SIGTERM');
      assert.is(await init.exit(), 0, init.log());
      assert.match(pets(), /^k+V$/, 'magic close last');
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an update on trial: exit 103 switches at once; 3 crashed starts, or no commit in time, start the other slot (on an OS on trial: reboot); a committed trial is left alone', async () => {
  // Slot a plays the old firmware that staged an update: once, it switches state.json to b on trial and exits 103.
  const child = `${TERM_TRAP}
echo "$NYMOTE_SLOT $(date +%s%N)" >> "$FAKE_OUT/starts"
if [ "$NYMOTE_SLOT" = a ] && [ ! -e "$FAKE_OUT/switched" ]; then
  touch "$FAKE_OUT/switched"
  printf '{"active":"b","trial":"b","counter":1}\\n' > "$NYINIT_ROOT/data/firmware/state.json"
  exit 103
fi
case "$NYMOTE_SLOT:$(cat "$FAKE_OUT/mode")" in
  b:crash) exit 1 ;;
  b:commit) printf '{"active":"b","counter":1}\\n' > "$NYINIT_ROOT/data/firmware/state.json" ;;
esac
${IDLE}`;
  const run = async (mode: string, env: Record<string, string>, check: (init: Init, starts: () => string[]) => Promise<void>) => {
    const init = await boot(`echo ${mode} > "$FAKE_OUT/mode"\n${child}`, env, { files: { 'firmware/state.json': '{"active":"a"}\n', 'firmware/b/index.js': '#!/usr/bin/env node\n' } });
    await withInit(init, () => check(init, () => init.outFile('starts').trim().split('\n').map((line) => line.split(' ')[0]!)));
  };
  const state = (init: Init) => fs.readFileSync(path.join(init.root, 'data/firmware/state.json'), 'utf8');
  const trialStarts = (init: Init) => readOr(path.join(init.root, 'data/firmware/trial-starts')).trim();

  await run('crash', {}, async (init, starts) => {
    await waitFor('slot a again', () => starts().length >= 5 || undefined, 15_000, init.log);
    assert.equal(starts().slice(0, 5), ['a', 'b', 'b', 'b', 'a'], init.log());
    const [switchedAt, firstTrial] = stamps(init.outFile('starts')).slice(0, 2);
    assert.ok(firstTrial! - switchedAt! < 800, `exit 103 restarts at once, not after the back-off (${firstTrial! - switchedAt!} ms)`);
    assert.match(init.log(), /reverted: the update in slot b failed its trial \(3 starts\); starting slot a/);
    assert.is(trialStarts(init), '3');
    assert.match(state(init), /"trial":"b"/, 'nyinit leaves state.json to Node');
  });
  await run('hang', { NYINIT_TRIAL_TIMEOUT: '1' }, async (init, starts) => {
    await waitFor('slot a again', () => starts().length >= 3 || undefined, 15_000, init.log);
    assert.equal(starts().slice(0, 3), ['a', 'b', 'a'], init.log());
    assert.match(init.log(), /slot b was not committed within 1 s: stopping it/);
    assert.is(trialStarts(init), '3 timeout');
    assert.ok(init.outFile('signals').includes('node'), 'the hung start got SIGTERM first');
  });
  // On an OS slot the initramfs tries once, a failed trial reboots (to the committed OS) instead.
  await run('crash', { NYMOTE_OS_TRIAL: '1' }, async (init, starts) => {
    assert.is(await init.exit(15_000), 0, init.log());
    assert.equal(starts(), ['a', 'b', 'b', 'b'], init.log());
    assert.match(init.log(), /reverted: the update in slot b failed its trial \(3 starts\); rebooting to the committed OS/);
    assert.is(init.action(), 'reboot\n');
    assert.is(trialStarts(init), '3');
  });
  await run('commit', { NYINIT_TRIAL_TIMEOUT: '1' }, async (init, starts) => {
    await waitFor('the commit', () => !state(init).includes('trial') || undefined, 5000, init.log);
    await sleep(2000);
    assert.equal(starts(), ['a', 'b'], 'a committed start outlives the trial deadline');
    assert.is(trialStarts(init), '1');
    assert.not.match(init.log(), /reverted|not committed/);
  });
});

test('without /data node is not started, and signals still work', async () => {
  const init = await boot('echo ran > "$FAKE_OUT/ran"', {}, { data: false });
  await withInit(init, async () => {
    await waitFor('the refusal', () => /not starting node/.test(init.log()) || undefined, 5000, init.log);
    await sleep(300);
    assert.is(init.outFile('argv'), '');
    init.signal('SIGUSR2');
    assert.is(await init.exit(), 0, init.log());
    assert.is(init.action(), 'poweroff\n');
  });
});

test.after(() => {
  for (const init of running) init.kill();
});

test.run();
