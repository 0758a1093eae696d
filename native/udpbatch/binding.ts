/**
 * The interface of the udpbatch addon (udpbatch.c) and its JS twin (twin.ts): a UDP socket
 * whose replies leave many at a time. Only firmware/native.ts uses this directly.
 */
import type { Socket } from 'node:dgram';

/** What the addon exports (see udpbatch.c). */
export interface UdpBatchAddon {
  openUdp(address: string, port: number): number;
  sendBatch(fd: number, datagrams: readonly Uint8Array[], ports: readonly number[], addresses: readonly string[]): number;
}

/** A dgram socket bound to address:port, and a way to send many datagrams from it at once. */
export interface BatchSocket {
  readonly socket: Socket;
  /** Sends datagram i to addresses[i]:ports[i], in order, as socket.send would. */
  sendAll(datagrams: readonly Uint8Array[], ports: readonly number[], addresses: readonly string[]): void;
}

export interface UdpBatchBinding {
  /** Binds a new socket (errors as dgram's: EADDRINUSE, EACCES, ... in `code`). */
  bind(socket: Socket, address: string, port: number): Promise<BatchSocket>;
}
