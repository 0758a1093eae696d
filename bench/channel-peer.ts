/**
 * The receiving instance of bench/channel.bench.ts, in its own process: a SecureChannel with a
 * StreamMux per peer (sized for the path named by argv[2]: 127.0.0.1, or a network address)
 * and a plain TCP server, both reading every byte of each transfer and
 * answering "done" when its sender ends. Prints its ports and channel key as one JSON line.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';

import { LogSink } from '../firmware/runtime/index.js';
import { MAX_DATA_PAYLOAD, SecureChannel, generateKeyPair } from '../firmware/signpost/channel/index.js';
import { pathProfile } from '../firmware/signpost/index.js';
import { StreamMux } from '../firmware/signpost/streams/index.js';

const log = new LogSink({ level: 'error' }).logger();
const { recordBytes, ...windows } = pathProfile({ address: process.argv[2] ?? '127.0.0.1', port: 0 });
const keys = generateKeyPair();
const channel = new SecureChannel({ listen: '127.0.0.1', port: 0, staticPrivate: keys.privateKey, staticPublic: keys.publicKey, authorize: () => true, log, mtu: MAX_DATA_PAYLOAD });
const muxes = new Map<string, StreamMux>();

/** Reads a transfer to its end, then says so. */
function drain(connection: Duplex): void {
  connection.on('data', () => undefined);
  connection.once('end', () => connection.end('done'));
  connection.on('error', () => undefined);
}

channel.onMessage((publicKey, data) => {
  let mux = muxes.get(publicKey.toString('hex'));
  if (mux === undefined) {
    mux = new StreamMux({ send: (datagram) => channel.send(publicKey, datagram), maxPayload: recordBytes }, { role: 'responder', log, ...windows });
    mux.listen('bulk', drain);
    muxes.set(publicKey.toString('hex'), mux);
  }
  mux.receive(data);
});
await channel.start();
const tcp = net.createServer(drain);
await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
process.stdout.write(`${JSON.stringify({ channelPort: channel.boundPort(), tcpPort: (tcp.address() as net.AddressInfo).port, publicKey: keys.publicKey.toString('hex') })}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
