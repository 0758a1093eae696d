/**
 * Stream throughput, MB/s of one 16 MiB transfer one way, reader and writer in this process:
 *   - streams over an in-memory link (a datagram handed over on the next turn of the event
 *     loop, nothing lost) with 60,000-byte datagrams (loopback-class) and 1420-byte ones
 *     (a real network's MTU); the channel's sealing is not included;
 *   - node:net over TCP on 127.0.0.1 (the baseline: the kernel's reliable stream).
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';

import { LogSink } from '../firmware/runtime/index.js';
import { StreamMux, type MuxStream } from '../firmware/signpost/streams/index.js';
import type { Bench, BenchCase } from './harness.js';

const TRANSFER_BYTES = 16 << 20;
const CHUNK_BYTES = 64 * 1024;
const BASELINE = 'node:net TCP 127.0.0.1';
const log = new LogSink({ level: 'error' }).logger();

/** Writes TRANSFER_BYTES into `writer` and resolves when `reader` has them all. */
function transfer(writer: Duplex, reader: Duplex): Promise<void> {
  const chunk = Buffer.alloc(CHUNK_BYTES, 7);
  return new Promise((resolve, reject) => {
    let received = 0;
    reader.on('data', (data: Buffer) => {
      received += data.length;
      if (received === TRANSFER_BYTES) resolve();
    });
    reader.on('error', reject);
    let sent = 0;
    const pump = () => {
      while (sent < TRANSFER_BYTES) {
        sent += CHUNK_BYTES;
        if (!writer.write(chunk)) return void writer.once('drain', pump);
      }
      writer.end();
    };
    pump();
  });
}

function muxPair(maxPayload: number): { a: StreamMux; b: StreamMux } {
  const a: StreamMux = new StreamMux({ maxPayload, send: (datagram) => setImmediate(() => b.receive(datagram)) }, { role: 'initiator', log });
  const b: StreamMux = new StreamMux({ maxPayload, send: (datagram) => setImmediate(() => a.receive(datagram)) }, { role: 'responder', log });
  return { a, b };
}

function streamsCase(label: string, maxPayload: number): BenchCase {
  const { a, b } = muxPair(maxPayload);
  const accepted: Array<(stream: MuxStream) => void> = [];
  b.listen('bench', (stream) => {
    stream.end();
    accepted.shift()?.(stream);
  });
  return {
    case: '16 MiB one way',
    implementation: `streams, ${label} datagrams`,
    unitsPerRun: TRANSFER_BYTES / 1e6,
    runsPerRound: 2,
    run: async () => {
      const reader = new Promise<MuxStream>((resolve) => accepted.push(resolve));
      const writer = a.open('bench');
      writer.resume();
      await transfer(writer, await reader);
    },
  };
}

async function tcpCase(): Promise<BenchCase> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  server.unref();
  let incoming: Array<(socket: net.Socket) => void> = [];
  server.on('connection', (socket) => incoming.shift()?.(socket));
  return {
    case: '16 MiB one way',
    implementation: BASELINE,
    unitsPerRun: TRANSFER_BYTES / 1e6,
    runsPerRound: 2,
    run: async () => {
      const reader = new Promise<net.Socket>((resolve) => (incoming = [...incoming, resolve]));
      const writer = net.connect(port, '127.0.0.1');
      writer.resume();
      const socket = await reader;
      await transfer(writer, socket);
      socket.destroy();
    },
  };
}

const bench: Bench = {
  name: 'streams',
  unit: 'MB/s',
  baseline: BASELINE,
  async cases() {
    return [streamsCase('60,000-byte', 60_000), streamsCase('1420-byte', 1420), await tcpCase()];
  },
};

export default bench;
