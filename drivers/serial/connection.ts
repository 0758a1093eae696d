/**
 * What a console session needs from a serial line: a readable, a writable, and whether a
 * person is at the other end. It has the shape of firmware/console's SessionStreams, so an
 * open connection can be handed to startSession() as it is.
 */
import type { Readable, Writable } from 'node:stream';

export const DEFAULT_BAUD_RATE = 115200;

export interface SerialConnection {
  readonly path: string;
  /** Bytes from the line. Ends when the port closes or the line goes away. */
  readonly input: Readable;
  /** Bytes to the line. Writes after the port closed are dropped, never thrown. */
  readonly output: Writable;
  /** true: a person at a terminal (line editing, prompt). */
  readonly terminal: boolean;
  /** Resolves once the port is closed; safe to call twice. */
  close(): Promise<void>;
}

export interface SerialOpenOptions {
  baudRate?: number;
  /** Default true: a serial console has a person at the other end. */
  terminal?: boolean;
}

export interface SerialDriver {
  open(path: string, options?: SerialOpenOptions): Promise<SerialConnection>;
}
