/**
 * The real serial line through the serialport package. The package (and its native binding)
 * is imported on the first open(), never at module load, so host runs and tests that use the
 * fake do not load it. (Inside an ncc bundle, @serialport/bindings-cpp must stay external;
 * see shared/notes/toolchain.md.)
 *
 * The port is wrapped rather than handed out: its errors (a write after close, EIO when the
 * other end hangs up) would crash the process as unhandled 'error' events, and it never ends
 * its readable side on close. The wrapper ends `input` on close and drops late writes.
 */
import fs from 'node:fs';
import { PassThrough, Writable } from 'node:stream';
import type { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import { NymoteError, describeError } from '../../firmware/runtime/errors.js';
import { DEFAULT_BAUD_RATE, type SerialConnection, type SerialDriver, type SerialOpenOptions } from './connection.js';

/** The part of serialport's SerialPort stream we use. */
interface PortStream extends Duplex {
  readonly isOpen: boolean;
  open(callback: (err: Error | null) => void): void;
  close(callback?: (err: Error | null) => void): void;
}

/** serialport's binding contract (@serialport/bindings-interface), as far as we touch it. */
interface PortBinding {
  readonly isOpen: boolean;
  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }>;
}
interface Binding {
  list(): Promise<unknown[]>;
  open(options: object): Promise<PortBinding>;
}
/** The unix port binding's own fields (LinuxPortBinding, DarwinPortBinding). */
interface UnixPortBinding extends PortBinding {
  fd: number | null;
  readonly poller: { once(event: 'readable', callback: (err: Error | null) => void): unknown };
}

interface PortClass {
  new (options: { path: string; baudRate: number; autoOpen: false; binding: Binding }): PortStream;
  readonly binding: Binding;
}

let serialPort: Promise<{ SerialPort: PortClass; binding: Binding }> | undefined;

async function loadSerialPort(): Promise<{ SerialPort: PortClass; binding: Binding }> {
  serialPort ??= import('serialport').then((mod) => {
    const SerialPort = mod.SerialPort as unknown as PortClass;
    return { SerialPort, binding: hangupAware(SerialPort.binding) };
  });
  try {
    return await serialPort;
  } catch (err) {
    serialPort = undefined;
    throw new NymoteError('ESERIAL', `cannot load serialport: ${describeError(err)}`, { cause: err });
  }
}

const readAsync = promisify(fs.read);

/**
 * serialport's unix read retries a zero-byte read at once, forever (bindings-cpp issue #162):
 * when the other end hangs up (a pty's master closes, a USB adapter is pulled, a modem drops
 * carrier) that is a busy loop that also grows memory. A tty opened with VMIN=1 and O_NONBLOCK
 * returns EAGAIN when it has nothing, so zero bytes means hang-up: we end the port there, as a
 * disconnect. Otherwise this is the same read: try, and on EAGAIN wait for the poller.
 */
function hangupAware(base: Binding): Binding {
  return {
    list: () => base.list(),
    open: async (options) => {
      const port = await base.open(options);
      if (!isUnixPort(port)) return port;
      port.read = (buffer, offset, length) => readOrHangUp(port, buffer, offset, length);
      return port;
    },
  };
}

function isUnixPort(port: PortBinding): port is UnixPortBinding {
  return 'fd' in port && 'poller' in port;
}

async function readOrHangUp(port: UnixPortBinding, buffer: Buffer, offset: number, length: number) {
  for (;;) {
    if (!port.isOpen || port.fd === null) throw Object.assign(new Error('Port is not open'), { canceled: true });
    try {
      const bytesRead = await readAsync(port.fd, buffer, offset, length, null).then((r) => r.bytesRead);
      if (bytesRead === 0) throw Object.assign(new Error('the line hung up'), { code: 'EHANGUP' });
      return { buffer, bytesRead };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') throw err;
      if (!port.isOpen) throw Object.assign(new Error('Port is not open'), { canceled: true });
      await new Promise<void>((resolve, reject) => port.poller.once('readable', (e) => (e ? reject(e) : resolve())));
    }
  }
}

export interface SerialPortDriverOptions {
  /** Errors from an open port (after open() resolved), e.g. a disconnect; they also end `input`. */
  onError?: (err: NymoteError) => void;
}

export class SerialPortDriver implements SerialDriver {
  constructor(private readonly options: SerialPortDriverOptions = {}) {}

  async open(path: string, options: SerialOpenOptions = {}): Promise<SerialConnection> {
    const baudRate = options.baudRate ?? DEFAULT_BAUD_RATE;
    if (!Number.isInteger(baudRate) || baudRate <= 0) {
      throw new NymoteError('ESERIAL', `baud rate ${baudRate} is not a positive integer`);
    }
    const { SerialPort, binding } = await loadSerialPort();
    let port: PortStream;
    try {
      port = new SerialPort({ path, baudRate, autoOpen: false, binding });
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    } catch (err) {
      throw new NymoteError('ESERIAL', `cannot open serial port ${path}: ${describeError(err)}`, { cause: err });
    }
    return wrapPort(port, path, options.terminal ?? true, this.options.onError);
  }
}

function wrapPort(port: PortStream, path: string, terminal: boolean, onError?: (err: NymoteError) => void): SerialConnection {
  const input = new PassThrough();
  port.pipe(input, { end: false });

  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!port.isOpen) return done();
      // serialport reports write failures as a disconnect ('close' with an error), not here.
      port.write(chunk, () => done());
    },
  });

  const report = (err: Error) => onError?.(new NymoteError('ESERIAL', `serial port ${path}: ${describeError(err)}`, { cause: err }));
  let finish: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    let done = false;
    finish = () => {
      if (done) return;
      done = true;
      port.unpipe(input);
      input.end();
      output.destroy();
      resolve();
    };
  });
  port.once('close', (disconnect: Error | null) => {
    if (disconnect) report(disconnect);
    finish();
  });
  port.on('error', report);

  return {
    path,
    input,
    output,
    terminal,
    close: () => {
      // A failed close is reported, and the connection counts as closed all the same.
      if (port.isOpen) {
        port.close((err) => {
          if (err) {
            report(err);
            finish();
          }
        });
      }
      return closed;
    },
  };
}
