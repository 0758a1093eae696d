/**
 * The secure channel's bulk transfer between two processes on loopback (issue target ≥ 300
 * MB/s), against plain TCP between the same two processes: MB/s of one 32 MiB transfer over
 * one stream, from the first byte written to the receiver's "done" (it has read every byte).
 *   - streams over the channel as two instances on one machine use it (pathProfile: 65,475-byte
 *     records, 16 MiB stream windows): ChaCha20-Poly1305 with native/aead, sendmmsg with
 *     native/udpbatch;
 *   - the same sized for a network path (1420-byte records, default windows);
 *   - node:net TCP on 127.0.0.1 (the baseline).
 * The receiver is bench/channel-peer.ts in a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';

import { LogSink } from '../firmware/runtime/index.js';
import { MAX_DATA_PAYLOAD, SecureChannel, generateKeyPair } from '../firmware/signpost/channel/index.js';
import { pathProfile } from '../firmware/signpost/index.js';
import { StreamMux } from '../firmware/signpost/streams/index.js';
import type { Bench, BenchCase } from './harness.js';

const TRANSFER_BYTES = 32 << 20;
const CHUNK_BYTES = 256 * 1024;
const CASE = '32 MiB one way, two processes';
const BASELINE = 'node:net TCP 127.0.0.1';
const log = new LogSink({ level: 'error' }).logger();
const peerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'channel-peer.ts');
const children: ChildProcess[] = [];

interface Peer {
  channelPort: number;
  tcpPort: number;
  publicKey: string;
}

/** Starts the receiver, its streams sized for a path like `like` (loopback, or a network address). */
async function startPeer(like: string): Promise<Peer> {
  const child = spawn(process.execPath, ['--import', 'tsx', peerScript, like], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`channel peer exited with ${code}`)));
  });
  return JSON.parse(line) as Peer;
}

/** Writes TRANSFER_BYTES and resolves when the receiver says it has read them all. */
function transfer(connection: Duplex): Promise<void> {
  const chunk = Buffer.alloc(CHUNK_BYTES, 7);
  return new Promise((resolve, reject) => {
    let answer = '';
    connection.on('data', (data: Buffer) => (answer += data.toString()));
    connection.once('end', () => (answer === 'done' ? resolve() : reject(new Error(`receiver said '${answer}'`))));
    connection.once('error', reject);
    let sent = 0;
    const pump = () => {
      while (sent < TRANSFER_BYTES) {
        sent += CHUNK_BYTES;
        if (!connection.write(chunk)) return void connection.once('drain', pump);
      }
      connection.end();
    };
    pump();
  });
}

async function channelCase(label: string, like: string): Promise<BenchCase> {
  const peer = await startPeer(like);
  const { recordBytes, ...windows } = pathProfile({ address: like, port: 0 });
  const keys = generateKeyPair();
  const channel = new SecureChannel({ listen: '127.0.0.1', port: 0, staticPrivate: keys.privateKey, staticPublic: keys.publicKey, authorize: () => true, log, mtu: MAX_DATA_PAYLOAD });
  await channel.start();
  const peerKey = Buffer.from(peer.publicKey, 'hex');
  channel.addPeer(peerKey, { address: '127.0.0.1', port: peer.channelPort });
  const mux = new StreamMux({ send: (datagram) => channel.send(peerKey, datagram), maxPayload: recordBytes }, { role: 'initiator', log, ...windows });
  channel.onMessage((_, data) => mux.receive(data));
  await warmUp(() => transfer(mux.open('bulk')));
  return {
    case: CASE,
    implementation: `streams over the channel, ${label} records`,
    unitsPerRun: TRANSFER_BYTES / 1e6,
    runsPerRound: 2,
    run: () => transfer(mux.open('bulk')),
  };
}

async function tcpCase(peer: Peer): Promise<BenchCase> {
  await warmUp(() => transfer(net.connect(peer.tcpPort, '127.0.0.1')));
  return {
    case: CASE,
    implementation: BASELINE,
    unitsPerRun: TRANSFER_BYTES / 1e6,
    runsPerRound: 2,
    run: () => transfer(net.connect(peer.tcpPort, '127.0.0.1')),
  };
}

/**
 * Both processes' hot paths are JIT-compiled after a few hundred MB; the harness's one warm-up
 * run is not enough for that, so each case moves 256 MiB before it is timed.
 */
async function warmUp(run: () => Promise<void>): Promise<void> {
  for (let i = 0; i < 8; i++) await run();
}

process.once('exit', () => children.forEach((child) => child.kill()));

const bench: Bench = {
  name: 'channel',
  unit: 'MB/s',
  baseline: BASELINE,
  async cases() {
    // The 1420-byte case runs on loopback too, sized as if the peer were across a network.
    const loopback = await channelCase('65,475-byte', '127.0.0.1');
    const network = await channelCase('1420-byte', '192.0.2.1');
    return [loopback, network, await tcpCase(await startPeer('127.0.0.1'))];
  },
};

export default bench;
