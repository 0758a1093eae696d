/**
 * Reliable byte streams multiplexed over the secure channel's datagrams, one StreamMux per
 * paired peer. Git sync and HTTP to a peer's services run over its streams: a stream is a
 * Duplex that node:http takes for a socket on either side, e.g.
 *   http.request({ createConnection: () => mux.open('git'), ... })
 *   mux.listen('git', (stream) => httpServer.emit('connection', stream))
 * The wire format is described in wire.ts; reliability in sender.ts and receiver.ts;
 * congestion control in congestion.ts.
 */
export { StreamMux, type DatagramLink, type StreamMuxOptions, type StreamCounters, type StreamMuxDescription } from './mux.js';
export { MuxStream, type StreamDirection } from './stream.js';
export { RESET_CODE, WIRE_VERSION } from './wire.js';
