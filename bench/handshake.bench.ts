/**
 * What a flood of handshake initiations costs the responder, in initiations handled per second
 * of one core: one genuine initiation (valid mac1, captured on its way) sent again and again.
 *   - without the cookie defence (its threshold set out of reach): the responder does the Noise
 *     work (X25519 operations) before the timestamp shows a replay, which it drops (the baseline);
 *   - under load (forced here; past 50 initiations/s in use): initiations without a valid mac2
 *     get a cookie reply instead, one HMAC and one XSalsa20-Poly1305 seal, no X25519.
 * The ratio is how much further a flooded device's CPU goes before it falls behind.
 */
import dgram from 'node:dgram';

import { LogSink } from '../firmware/runtime/index.js';
import { SecureChannel, generateKeyPair, type ChannelCounters } from '../firmware/signpost/channel/index.js';
import type { Bench, BenchCase } from './harness.js';

const BURST = 64;
const BASELINE = 'no cookie defence (X25519, then replay dropped)';
const log = new LogSink({ level: 'error' }).logger();

/** One initiation from a real initiator, caught by a socket standing where the responder would be. */
async function captureInitiation(responderKey: Uint8Array): Promise<Buffer> {
  const catcher = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => catcher.bind(0, '127.0.0.1', resolve));
  const keys = generateKeyPair();
  const initiator = new SecureChannel({ listen: '127.0.0.1', port: 0, staticPrivate: keys.privateKey, staticPublic: keys.publicKey, authorize: () => true, log });
  await initiator.start();
  initiator.addPeer(responderKey, { address: '127.0.0.1', port: catcher.address().port });
  const caught = new Promise<Buffer>((resolve) => catcher.once('message', resolve));
  initiator.send(responderKey, Buffer.from('hello'));
  const packet = await caught;
  await initiator.stop();
  catcher.close();
  return packet;
}

async function responderCase(implementation: string, underLoad: boolean, handled: (c: ChannelCounters) => number): Promise<BenchCase> {
  const keys = generateKeyPair();
  const defence = underLoad ? { forceUnderLoad: true } : { underLoadThreshold: Number.POSITIVE_INFINITY };
  const responder = new SecureChannel({ listen: '127.0.0.1', port: 0, staticPrivate: keys.privateKey, staticPublic: keys.publicKey, authorize: () => true, log, ...defence });
  await responder.start();
  const initiation = await captureInitiation(keys.publicKey);
  const flood = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => flood.bind(0, '127.0.0.1', resolve));
  const port = responder.boundPort()!;
  // The first copy is a genuine handshake (not a replay): let it through before timing.
  await new Promise<void>((resolve) => flood.send(initiation, port, '127.0.0.1', () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 50));
  return {
    case: `${BURST} copies of one initiation`,
    implementation,
    unitsPerRun: BURST,
    run: async () => {
      const target = handled(responder.counters) + BURST;
      for (let i = 0; i < BURST; i++) flood.send(initiation, port, '127.0.0.1');
      while (handled(responder.counters) < target) await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const bench: Bench = {
  name: 'handshake',
  unit: 'initiations/s',
  baseline: BASELINE,
  async cases() {
    return [
      await responderCase(BASELINE, false, (c) => c.replayedInitiations + c.initiationsTooFast),
      await responderCase('responder under load (cookie reply, no X25519)', true, (c) => c.cookieRepliesSent),
    ];
  },
};

export default bench;
