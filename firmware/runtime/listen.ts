/** Binding sockets with errors that name the port and the service that wanted it. */
import type net from 'node:net';
import { NymoteError } from './errors.js';

export function listenTcp(server: net.Server, service: string, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(bindError(err, service, host, port));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

export function bindError(err: NodeJS.ErrnoException, service: string, host: string, port: number): NymoteError {
  if (err.code === 'EADDRINUSE') {
    return new NymoteError('EADDRINUSE', `port ${port} (${service}) is already in use on ${host}`, { cause: err });
  }
  if (err.code === 'EACCES') {
    return new NymoteError('EACCES', `port ${port} (${service}) needs privileges to bind on ${host}`, { cause: err });
  }
  if (err.code === 'EADDRNOTAVAIL') {
    return new NymoteError('EADDRNOTAVAIL', `address ${host} for ${service} is not on this machine`, { cause: err });
  }
  return new NymoteError('ELISTEN', `cannot listen on ${host}:${port} for ${service}: ${err.message}`, { cause: err });
}

/** "host:port" of a listening server (IPv6 hosts in brackets). */
export function addressOf(server: net.Server): string | undefined {
  const address = server.address();
  if (address === null || typeof address === 'string') return address ?? undefined;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${host}:${address.port}`;
}
