/** JS twin of the udpbatch addon: dgram binds the socket and sends one datagram per call. */
import type { UdpBatchBinding } from './binding.js';

export const udpBatchTwin: UdpBatchBinding = {
  bind: (socket, address, port) =>
    new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => {
        socket.off('error', reject);
        resolve({
          socket,
          sendAll(datagrams, ports, addresses) {
            for (let i = 0; i < datagrams.length; i++) socket.send(datagrams[i]!, ports[i]!, addresses[i]!);
          },
        });
      });
    }),
};
