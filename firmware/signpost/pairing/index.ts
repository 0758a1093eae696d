/**
 * Pairing: how a device becomes one of the owner's, with a six-digit code that the person
 * compares on both screens (protocol.ts has the message flow, code.ts why the code resists
 * grinding). The owner's side runs in `nymote pair`, the device's in `pair` on its console.
 */
export { PAIRING_PROTOCOL, type PairingPerson } from './protocol.js';
export { pairWithDevice, type OwnerSide } from './owner.js';
export { PAIRING_WAIT_MS, pairAsDevice, type DeviceSide, type Paired } from './device.js';
export { pairingCode } from './code.js';
