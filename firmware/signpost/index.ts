/**
 * Signpost: the owner's devices finding, trusting and reaching each other.
 * - identity/: device and owner keys, device certificates, revocations, the owner's TLS CA;
 * - pairing/: how a device comes to trust an owner (a code compared by the person);
 * - channel/: the secure channel between devices (Noise IK over UDP, WireGuard's design);
 * - streams/: reliable streams over the channel, for sync and services;
 * - service.ts: all of these as one service, and signpost:// git remotes;
 * - dns/, mdns/, jitsu.ts: naming, and summoning services on lookup.
 */
export { DnsService, ZONE_PATH, ZONE_TTL_SECONDS, buildZone, formatTransferKey, loadOrCreateTransferKey, transferKeyFile, zoneKeyFile, ZoneKey, ZoneSyntaxError, parseZoneFile, publishedAddresses, showZone, zoneOrigin, type PublishedService, type ZoneInputs } from './dns/index.js';
export * from './identity/index.js';
export { Jitsu, type Summonable, type SummonState } from './jitsu.js';
export { MdnsResponder } from './mdns/index.js';
export { PAIRING_PROTOCOL, pairWithDevice, type PairingPerson } from './pairing/index.js';
export { SignpostService, pathProfile, signpostTransport, type SignpostOptions } from './service.js';
export { EndpointBook } from './endpoints.js';
export { signpostCommands } from './commands.js';
