/**
 * The host fake: a serial line as two in-memory pipes. The driver's side is what a console
 * session gets; the peer's side is the "person at the other end" a test types into and reads.
 */
import { PassThrough } from 'node:stream';
import { DEFAULT_BAUD_RATE, type SerialConnection, type SerialDriver, type SerialOpenOptions } from './connection.js';

export interface SerialPeer {
  /** Write here what the person types. */
  readonly toDevice: PassThrough;
  /** Read here what the device prints. */
  readonly fromDevice: PassThrough;
}

export interface FakeSerialLine {
  readonly connection: SerialConnection;
  readonly peer: SerialPeer;
  readonly baudRate: number;
}

/** One in-memory line: what the peer writes comes out of `connection.input`, and back. */
export function createSerialPair(path = 'fake-serial', options: SerialOpenOptions = {}): FakeSerialLine {
  const toDevice = new PassThrough();
  const fromDevice = new PassThrough();
  const connection: SerialConnection = {
    path,
    input: toDevice,
    output: fromDevice,
    terminal: options.terminal ?? true,
    close: async () => {
      // Like a port closing: the session sees end of input, the peer sees end of output.
      toDevice.end();
      fromDevice.end();
    },
  };
  return { connection, peer: { toDevice, fromDevice }, baudRate: options.baudRate ?? DEFAULT_BAUD_RATE };
}

/** A SerialDriver whose every open() makes a fresh in-memory line; tests find it in `lines`. */
export class FakeSerialDriver implements SerialDriver {
  readonly lines: FakeSerialLine[] = [];

  async open(path: string, options: SerialOpenOptions = {}): Promise<SerialConnection> {
    const line = createSerialPair(path, options);
    this.lines.push(line);
    return line.connection;
  }

  /** The peer of the most recent line opened on `path`. */
  peer(path: string): SerialPeer | undefined {
    return this.lines.findLast((l) => l.connection.path === path)?.peer;
  }
}
