import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import tty from 'node:tty';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Shell, startSession, type SessionStreams } from '../../firmware/console/index.js';
import { NymoteError } from '../../firmware/runtime/errors.js';
import { FakeSerialDriver, SerialPortDriver, createSerialPair, type SerialConnection } from '../../drivers/serial/index.js';
import { tempDir } from '../_lib/tmp.js';

const repo = path.resolve(import.meta.dirname, '../..');

/** Everything `stream` emits until `done(text)` says enough, or `ms` pass. */
function collectUntil(stream: NodeJS.ReadableStream, done: (bytes: Buffer) => boolean, ms = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let bytes = Buffer.alloc(0);
    const timer = setTimeout(() => {
      stream.off('data', onData);
      reject(new Error(`timed out; got ${JSON.stringify(bytes.toString('latin1'))}`));
    }, ms);
    const onData = (chunk: Buffer | string) => {
      bytes = Buffer.concat([bytes, Buffer.from(chunk)]);
      if (done(bytes)) {
        clearTimeout(timer);
        stream.off('data', onData);
        resolve(bytes);
      }
    };
    stream.on('data', onData);
  });
}

/** `promise`, or a failure after `ms`: a broken driver fails the test instead of hanging it. */
function within<T>(promise: Promise<T>, what: string, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test('the fake line: what the peer types comes out of input, what the device writes reaches the peer', async () => {
  const driver = new FakeSerialDriver();
  const conn = await driver.open('/dev/ttyFAKE');
  const streams: SessionStreams = conn; // the console takes it as it is
  assert.ok(streams.terminal);
  const peer = driver.peer('/dev/ttyFAKE')!;
  const fromPeer = collectUntil(conn.input, (b) => b.length >= 3);
  peer.toDevice.write(Buffer.from([0x00, 0xff, 0x0d]));
  assert.equal([...(await fromPeer)], [0x00, 0xff, 0x0d]);
  const toPeer = collectUntil(peer.fromDevice, (b) => b.toString().includes('ok'));
  conn.output.write('ok\r\n');
  assert.is((await toPeer).toString(), 'ok\r\n');
  const ended = new Promise((r) => conn.input.once('end', r));
  conn.input.resume();
  await within(conn.close(), 'close');
  await within(ended, 'end of input');
  await conn.close();
  assert.is(createSerialPair('x', { terminal: false, baudRate: 9600 }).baudRate, 9600);
});

test('a console session over the fake line answers help and ends on quit', async () => {
  const { connection, peer } = createSerialPair();
  const session = startSession(new Shell(), connection);
  const help = collectUntil(peer.fromDevice, (b) => b.toString().includes('quit'));
  peer.toDevice.write('help\r');
  assert.match((await help).toString(), /help/);
  peer.toDevice.write('quit\r');
  assert.is(await within(session.closed, 'the session to end'), 'quit');
});

// ---- the real driver on a real pty pair (socat) ----

function ensureSocat(): void {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
  } catch {
    execFileSync(path.join(repo, 'scripts/apt-deps.sh'), ['socat'], { stdio: 'inherit' });
  }
}

interface PtyPair {
  /** The end the driver opens (stands for /dev/ttyAMA0). */
  device: string;
  /** The end the test holds (stands for the person's USB-serial adapter). */
  peerPath: string;
  socat: ChildProcess;
}

async function ptyPair(): Promise<PtyPair> {
  const dir = tempDir('pty');
  const device = path.join(dir, 'device');
  const peerPath = path.join(dir, 'peer');
  const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${device}`, `pty,raw,echo=0,link=${peerPath}`], { stdio: 'ignore' });
  const deadline = Date.now() + 5000;
  while (!(fs.existsSync(device) && fs.existsSync(peerPath))) {
    if (Date.now() > deadline || socat.exitCode !== null) throw new Error('socat did not make its pty pair');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { device, peerPath, socat };
}

/** The test's end of the pair, read through a tty stream and written synchronously. */
function openPeer(peerPath: string) {
  const fd = fs.openSync(peerPath, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  const input = new tty.ReadStream(fd);
  return {
    input,
    write: (data: string | Uint8Array) => fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data),
    close: () => input.destroy(),
  };
}

function stopSocat(socat: ChildProcess): Promise<void> {
  if (socat.exitCode !== null || socat.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    socat.once('exit', () => resolve());
    socat.kill('SIGTERM');
  });
}

ensureSocat();

async function withPty(fn: (pair: PtyPair, conn: SerialConnection, peer: ReturnType<typeof openPeer>) => Promise<void>): Promise<void> {
  const pair = await ptyPair();
  const conn = await new SerialPortDriver().open(pair.device);
  const peer = openPeer(pair.peerPath);
  try {
    await fn(pair, conn, peer);
  } finally {
    peer.close();
    await within(conn.close(), 'close');
    await stopSocat(pair.socat);
  }
}

test('serialport on a pty: every byte value passes both ways unchanged', async () => {
  await withPty(async (_pair, conn, peer) => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const atDevice = collectUntil(conn.input, (b) => b.length >= 512);
    peer.write(all);
    peer.write(all);
    assert.equal((await atDevice).equals(Buffer.concat([all, all])), true, 'peer → device');
    const atPeer = collectUntil(peer.input, (b) => b.length >= 256);
    conn.output.write(all);
    assert.equal((await atPeer).equals(all), true, 'device → peer');
  });
});

/**
 * Bytes the noise leaves out: Ctrl-D (ends the session, as it should), line ends (would run
 * the noise as commands), and Ctrl-Z: readline answers it with process.kill(pid, 'SIGTSTP')
 * unless the interface has a 'SIGTSTP' listener, which stops the whole firmware. The console
 * session must add one before Ctrl-Z can be part of this noise.
 */
const NOT_NOISE = [0x04, 0x0a, 0x0d, 0x1a];

test('serialport on a pty: a console session survives garbage and binary, then answers help', async () => {
  await withPty(async (_pair, conn, peer) => {
    const session = startSession(new Shell(), conn);
    const garbage = Buffer.concat([
      Buffer.from([0x00, 0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82, 0x80, 0xf0, 0x90]), // invalid UTF-8
      Buffer.from('\x1b[\x1b[999999999;999999999H\x1b]0;title\x07\x1bOP\x1b'), // broken and odd escapes
      Buffer.from([0x03, 0x01, 0x05, 0x0b, 0x15, 0x17, 0x7f, 0x08, 0x1c]), // Ctrl-C, editing keys, Ctrl-\
      Buffer.from('x'.repeat(5000) + '\r'), // over-long line
      Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 131 + 7) & 0xff).filter((b) => !NOT_NOISE.includes(b))),
    ]);
    peer.write(garbage);
    peer.write('\x05\x15'); // Ctrl-E, Ctrl-U: clear whatever the noise left on the line
    await new Promise((r) => setTimeout(r, 200));
    const answer = collectUntil(peer.input, (b) => /quit\s/.test(b.toString('latin1')));
    peer.write('help\r');
    assert.match((await answer).toString('latin1'), /help/);
    peer.write('quit\r');
    assert.is(await within(session.closed, 'the session to end'), 'quit');
  });
});

test('serialport on a pty: the other end hanging up ends input without a crash; close still resolves', async () => {
  const pair = await ptyPair();
  const errors: NymoteError[] = [];
  const conn = await new SerialPortDriver({ onError: (e) => errors.push(e) }).open(pair.device, { baudRate: 9600 });
  const ended = new Promise((r) => conn.input.once('end', r));
  conn.input.resume();
  await stopSocat(pair.socat); // the pty pair disappears under the open port
  await within(ended, 'end of input after the hang-up');
  conn.output.write('into the void\r\n'); // dropped, not thrown
  await within(conn.close(), 'close');
  await conn.close();
  // Reported once, as a disconnect (serialport itself would spin on the zero-byte reads).
  assert.is(errors.length, 1);
  assert.is(errors[0]!.code, 'ESERIAL');
});

test('serialport: a missing device or a bad baud rate is one ESERIAL line', async () => {
  const driver = new SerialPortDriver();
  const missing = path.join(tempDir('pty'), 'ttyNONE');
  for (const [open, pattern] of [
    [() => driver.open(missing), /^cannot open serial port .*ttyNONE: /],
    [() => driver.open(missing, { baudRate: 0 }), /baud rate 0/],
  ] as const) {
    try {
      await open();
      assert.unreachable('opened');
    } catch (err) {
      assert.instance(err, NymoteError);
      assert.is((err as NymoteError).code, 'ESERIAL');
      assert.match((err as Error).message, pattern);
      assert.not.match((err as Error).message, /\n/);
    }
  }
});

test('host drivers load neither serialport nor onoff (native bindings stay out of host runs)', () => {
  const script = `
    import { createRequire } from 'node:module';
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => /node_modules\\/(serialport|@serialport|onoff|epoll)\\//.test(k)).length;
    const { hostDrivers } = await import(${JSON.stringify(path.join(repo, 'drivers/index.ts'))});
    const drivers = hostDrivers();
    await drivers.serial.open(drivers.consolePath);
    drivers.watchdog.start();
    drivers.gpio.led.show('ready');
    drivers.close();
    const host = loaded();
    await import('serialport');
    await import('onoff');
    console.log(JSON.stringify({ host, after: loaded() }));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repo, encoding: 'utf8' });
  const { host, after } = JSON.parse(out.trim().split('\n').pop()!) as { host: number; after: number };
  assert.is(host, 0, 'host drivers loaded a native package');
  assert.ok(after > 0, 'the check sees serialport and onoff once they are loaded');
});

test.run();
