/**
 * The channel's handshake: Noise IK in WireGuard's messages 1 and 2 (noise.c's create and
 * consume functions). The initiator's payload starts with a TAI64N timestamp, which the
 * responder keeps per peer so a replayed initiation is refused; then comes the application's
 * opaque payload, which `authorize` judges. Macs are added by the caller (cookie.ts), which
 * knows the cookie state.
 */
import { Keypair } from './keypair.js';
import { INITIATION_NOISE_OFFSET, RESPONSE_NOISE_OFFSET, TIMESTAMP_LEN, initiation, noiseMessageOf, response, tai64n } from './messages.js';
import { HandshakeState, NoiseError, type KeyPair } from './noise.js';

/** Mixed into every handshake hash (WireGuard's identifier): this protocol, this version. */
const PROLOGUE = Buffer.from('Nymote Signpost channel v1');

const handshakeOf = (staticKeys: KeyPair, initiator: boolean, remoteStatic?: Uint8Array) =>
  new HandshakeState({ pattern: 'IK', initiator, prologue: PROLOGUE, staticPrivate: staticKeys.privateKey, staticPublic: staticKeys.publicKey, ...(remoteStatic === undefined ? {} : { remoteStatic }) });

export function createInitiation(staticKeys: KeyPair, peerPublic: Uint8Array, senderIndex: number, payload: Uint8Array, now: number): { message: Buffer; handshake: HandshakeState } {
  const handshake = handshakeOf(staticKeys, true, peerPublic);
  const noise = handshake.writeMessage(Buffer.concat([tai64n(now), payload]));
  return { message: initiation(senderIndex, noise), handshake };
}

export interface ConsumedInitiation {
  handshake: HandshakeState;
  senderIndex: number;
  remoteStatic: Buffer;
  timestamp: Buffer;
  payload: Buffer;
}

/** What an initiation (of checked length and mac1) says, or undefined when it does not authenticate. */
export function consumeInitiation(staticKeys: KeyPair, message: Buffer): ConsumedInitiation | undefined {
  const handshake = handshakeOf(staticKeys, false);
  const plaintext = authenticated(() => handshake.readMessage(noiseMessageOf(message, INITIATION_NOISE_OFFSET)));
  if (plaintext === undefined || plaintext.length < TIMESTAMP_LEN) return undefined;
  return {
    handshake,
    senderIndex: message.readUInt32LE(4),
    remoteStatic: handshake.remoteStatic(),
    timestamp: plaintext.subarray(0, TIMESTAMP_LEN),
    payload: plaintext.subarray(TIMESTAMP_LEN),
  };
}

export function createResponse(handshake: HandshakeState, senderIndex: number, receiverIndex: number, payload: Uint8Array): Buffer {
  return response(senderIndex, receiverIndex, handshake.writeMessage(payload));
}

/** The responder's payload, or undefined (the handshake unchanged) when the response does not authenticate. */
export function consumeResponse(handshake: HandshakeState, message: Buffer): Buffer | undefined {
  return authenticated(() => handshake.readMessage(noiseMessageOf(message, RESPONSE_NOISE_OFFSET)));
}

/** Forged handshake messages are normal on a network: undefined rather than an exception. */
function authenticated(read: () => Buffer): Buffer | undefined {
  try {
    return read();
  } catch (error) {
    if (error instanceof NoiseError) return undefined;
    throw error;
  }
}

/** The session keys of a completed handshake. */
export function keypairOf(handshake: HandshakeState, localIndex: number, remoteIndex: number, now: number): Keypair {
  const [initiatorToResponder, responderToInitiator] = handshake.split();
  const [send, receive] = handshake.initiator ? [initiatorToResponder, responderToInitiator] : [responderToInitiator, initiatorToResponder];
  return new Keypair(send.key!, receive.key!, handshake.initiator, localIndex, remoteIndex, now);
}
