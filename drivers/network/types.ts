/**
 * The network driver's interface, shared by the device implementation and the host fake,
 * and the validation of its configuration (which reaches `ip` argv, so it is checked whole).
 */
import { NymoteError } from '../../firmware/runtime/errors.js';
import { isIpv4, isValidPrefix } from './ipv4.js';

export type NetworkConfig =
  | { iface: string; mode: 'dhcp' }
  | { iface: string; mode: 'static'; address: string; prefix: number; gateway?: string; dns?: string[] };

export type NetworkState =
  | 'unconfigured'
  /** DHCP: looking for a server (INIT/SELECTING/REQUESTING). */
  | 'discovering'
  | 'bound'
  | 'renewing'
  | 'rebinding'
  /** Static address applied (or, for the host fake, whatever the host has). */
  | 'configured'
  | 'stopped';

export interface InterfaceAddress {
  iface: string;
  address: string;
  prefix: number;
}

export interface LeaseStatus {
  serverId: string;
  leaseSeconds: number;
  renewalSeconds: number;
  rebindingSeconds: number;
  /** Seconds until the lease runs out (Infinity for an infinite lease). */
  expiresInSeconds: number;
  renewals: number;
}

export interface NetworkStatus {
  iface: string | undefined;
  mode: 'dhcp' | 'static' | 'host' | 'none';
  state: NetworkState;
  addresses: InterfaceAddress[];
  gateway?: string;
  dns: string[];
  domain?: string;
  lease?: LeaseStatus;
  /** The last failure, one line, until the next success. */
  error?: string;
}

export interface NetworkDriver {
  /** Applies `config`, replacing any earlier one. DHCP resolves once the client runs; 'change' reports the lease. */
  configure(config: NetworkConfig): Promise<void>;
  status(): NetworkStatus;
  /** Stops the DHCP client (releasing its lease); a static address stays as it is. */
  stop(): Promise<void>;
  on(event: 'change', listener: (status: NetworkStatus) => void): this;
  off(event: 'change', listener: (status: NetworkStatus) => void): this;
}

/** Kernel interface names: at most 15 bytes, no '/', and (for our argv) no leading '-'. */
const IFACE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,14}$/;

export function validateNetworkConfig(config: NetworkConfig): NetworkConfig {
  const bad = (message: string): NymoteError => new NymoteError('ENETCONFIG', message);
  if (!IFACE_NAME.test(config.iface)) throw bad(`not an interface name: ${JSON.stringify(config.iface)}`);
  if (config.mode === 'dhcp') return { iface: config.iface, mode: 'dhcp' };
  if (config.mode !== 'static') throw bad(`unknown network mode ${JSON.stringify((config as { mode: unknown }).mode)}`);
  if (!isIpv4(config.address)) throw bad(`not an IPv4 address: ${JSON.stringify(config.address)}`);
  if (!isValidPrefix(config.prefix) || config.prefix === 0) throw bad(`prefix must be 1–32, not ${config.prefix}`);
  if (config.gateway !== undefined && !isIpv4(config.gateway)) throw bad(`not an IPv4 gateway: ${JSON.stringify(config.gateway)}`);
  for (const server of config.dns ?? []) {
    if (!isIpv4(server)) throw bad(`not an IPv4 DNS server: ${JSON.stringify(server)}`);
  }
  const valid: NetworkConfig = { iface: config.iface, mode: 'static', address: config.address, prefix: config.prefix };
  if (config.gateway !== undefined) valid.gateway = config.gateway;
  if (config.dns !== undefined) valid.dns = [...config.dns];
  return valid;
}
