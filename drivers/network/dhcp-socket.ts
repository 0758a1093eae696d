/**
 * The DHCP client's UDP socket: 0.0.0.0:68 with broadcast enabled.
 *
 * Node cannot set SO_BINDTODEVICE, so this socket hears DHCP replies arriving on any
 * interface and we assume there is one network interface under DHCP (true of the boards we
 * support: one Ethernet port). Outgoing broadcasts are pinned to the interface by the
 * 255.255.255.255/32 route the driver adds; replies are matched by xid and hardware address.
 */
import dgram from 'node:dgram';
import { NymoteError } from '../../firmware/runtime/errors.js';
import type { DhcpTransport } from './dhcp-client.js';
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, MAX_DHCP_MESSAGE_BYTES } from './dhcp-packet.js';

export async function openDhcpSocket(port = DHCP_CLIENT_PORT): Promise<DhcpTransport> {
  const socket = dgram.createSocket({ type: 'udp4' });
  let receive: (packet: Buffer, from: string) => void = () => {};
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (err: NodeJS.ErrnoException) => {
      reject(new NymoteError('EDHCPBIND', `cannot bind UDP port ${port} for DHCP: ${err.code ?? err.message}`, { cause: err }));
    });
    socket.bind({ port, address: '0.0.0.0' }, () => resolve());
  });
  socket.setBroadcast(true);
  socket.on('error', () => {
    // Per-datagram errors (ICMP unreachable on a unicast renew) are handled by retransmission.
  });
  socket.on('message', (packet, rinfo) => {
    if (packet.length > MAX_DHCP_MESSAGE_BYTES || rinfo.port !== DHCP_SERVER_PORT) return;
    receive(packet, rinfo.address);
  });
  return {
    send: (packet, address) =>
      new Promise<void>((resolve, reject) => socket.send(packet, DHCP_SERVER_PORT, address, (err) => (err ? reject(err) : resolve()))),
    onMessage: (handler) => {
      receive = handler;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
