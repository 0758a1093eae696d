/**
 * The network driver's host fake: on a laptop the host owns its network, so configure()
 * records the wish and applies nothing, and status() reports the host's own IPv4 addresses.
 */
import dns from 'node:dns';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { prefixFromMask } from './ipv4.js';
import { validateNetworkConfig, type InterfaceAddress, type NetworkConfig, type NetworkDriver, type NetworkStatus } from './types.js';

/** The host's non-loopback IPv4 addresses; only `iface`'s when the host has that interface. */
export function hostAddresses(iface?: string, interfaces = os.networkInterfaces()): InterfaceAddress[] {
  const names = iface !== undefined && interfaces[iface] !== undefined ? [iface] : Object.keys(interfaces);
  const addresses: InterfaceAddress[] = [];
  for (const name of names) {
    for (const info of interfaces[name] ?? []) {
      if (info.family !== 'IPv4' || info.internal) continue;
      addresses.push({ iface: name, address: info.address, prefix: prefixFromMask(info.netmask) ?? 32 });
    }
  }
  return addresses;
}

export class HostNetworkDriver extends EventEmitter implements NetworkDriver {
  private config: NetworkConfig | undefined;
  private stopped = false;

  async configure(config: NetworkConfig): Promise<void> {
    this.config = validateNetworkConfig(config);
    this.stopped = false;
    this.emit('change', this.status());
  }

  status(): NetworkStatus {
    return {
      iface: this.config?.iface,
      mode: 'host',
      state: this.stopped ? 'stopped' : this.config === undefined ? 'unconfigured' : 'configured',
      addresses: hostAddresses(this.config?.iface),
      dns: dns.getServers().filter((server) => !server.includes(':')),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.emit('change', this.status());
  }
}
