/**
 * `nymote console`: attach this terminal (or a pipe) to a running instance's console socket.
 * On a terminal the line editing happens in the firmware, so the local tty goes raw.
 */
import net from 'node:net';
import { NymoteError } from '../runtime/index.js';
import { CONSOLE_HELLO } from './socket.js';

export async function attachConsole(socketPath: string): Promise<void> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once('connect', () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? new NymoteError('ENOTRUNNING', `no running nymote on this data directory (${socketPath})`)
          : err,
      ),
    );
  });
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  socket.write(`${CONSOLE_HELLO} tty=${tty ? 1 : 0}\n`);
  if (tty) stdin.setRawMode(true);
  stdin.pipe(socket);
  socket.pipe(process.stdout);
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
  });
  if (tty) stdin.setRawMode(false);
  stdin.unpipe(socket);
  stdin.pause();
}
