/**
 * Signpost: naming and (later) identity and the secure channel between the owner's devices.
 * Now: the authoritative DNS server for the owner's zone, mDNS on the LAN, and Jitsu, which
 * summons services on lookup or first use and parks them when idle.
 */
export { DnsService, ZONE_PATH, ZONE_TTL_SECONDS, buildZone, formatTransferKey, loadOrCreateTransferKey, transferKeyFile, zoneKeyFile, ZoneKey, ZoneSyntaxError, parseZoneFile, publishedAddresses, showZone, zoneOrigin, type PublishedService, type ZoneInputs } from './dns/index.js';
export * from './identity/index.js';
export { Jitsu, type Summonable, type SummonState } from './jitsu.js';
export { MdnsResponder } from './mdns/index.js';
