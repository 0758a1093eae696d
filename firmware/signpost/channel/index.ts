/**
 * Signpost's secure channel between the owner's devices: WireGuard's protocol over UDP with a
 * Noise IK handshake (channel.ts), and the Noise framework itself, whose XX pattern pairing
 * uses (noise.ts).
 */
export {
  DEFAULT_MTU,
  DEFAULT_UNDER_LOAD_THRESHOLD,
  SecureChannel,
  type ChannelCounters,
  type MessageListener,
  type PeerListener,
  type PeerStatus,
  type SecureChannelOptions,
} from './channel.js';
export type { Endpoint } from './peer.js';
export { MAX_DATA_PAYLOAD, MAX_HANDSHAKE_PAYLOAD } from './messages.js';
export {
  REJECT_AFTER_MESSAGES,
  REJECT_AFTER_TIME_MS,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME_MS,
  REKEY_ATTEMPT_TIME_MS,
  REKEY_TIMEOUT_MS,
  KEEPALIVE_TIMEOUT_MS,
} from './timers.js';
export {
  CipherState,
  HandshakeState,
  NoiseError,
  SymmetricState,
  generateKeyPair,
  publicKeyOf,
  protocolName,
  type HandshakeOptions,
  type KeyPair,
  type PatternName,
} from './noise.js';
