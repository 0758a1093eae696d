/**
 * The network driver: DHCP or static IPv4 on the device's one Ethernet interface, and a
 * host fake that applies nothing. Reached only through firmware/runtime.
 */
import { DeviceNetworkDriver, type DeviceNetworkOptions } from './device.js';
import { HostNetworkDriver } from './host.js';
import type { NetworkDriver } from './types.js';

export type { NetworkConfig, NetworkDriver, NetworkStatus, NetworkState, InterfaceAddress, LeaseStatus } from './types.js';
export { validateNetworkConfig } from './types.js';
export { DeviceNetworkDriver, readHardwareAddress, type DeviceNetworkOptions } from './device.js';
export { HostNetworkDriver, hostAddresses } from './host.js';
export { DhcpClient, leaseFromAck, leaseTimes, retransmitDelayMs, DEFAULT_RETRANSMIT } from './dhcp-client.js';
export type { DhcpLease, DhcpState, DhcpTransport, LeaseHooks, RetransmitTiming, DhcpClientOptions } from './dhcp-client.js';
export { encodeDhcpMessage, parseDhcpMessage, OPTION as DHCP_OPTION, MAX_DHCP_MESSAGE_BYTES } from './dhcp-packet.js';
export type { DhcpMessage, DhcpMessageKind, DhcpOptions, DhcpMessageFields } from './dhcp-packet.js';
export { openDhcpSocket } from './dhcp-socket.js';
export { IpCommands, execCommand, renderResolvConf, writeResolvConf, type CommandRunner, type ResolverConfig } from './apply.js';

/** The device driver on a board, the fake on a host. */
export function createNetworkDriver(mode: 'host' | 'device', options: DeviceNetworkOptions = {}): NetworkDriver {
  return mode === 'device' ? new DeviceNetworkDriver(options) : new HostNetworkDriver();
}
