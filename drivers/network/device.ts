/**
 * The network driver on the device: brings the link up, then either runs our DHCP client
 * and applies its leases, or applies a static configuration; and writes resolv.conf.
 * Commands are busybox `ip` applets run with execFile (the running system has no shell).
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { NymoteError, describeError } from '../../firmware/runtime/errors.js';
import type { Logger } from '../../firmware/runtime/log.js';
import { IpCommands, execCommand, writeResolvConf, type CommandRunner } from './apply.js';
import { DhcpClient, type DhcpLease, type DhcpState, type DhcpTransport, type RetransmitTiming } from './dhcp-client.js';
import { openDhcpSocket } from './dhcp-socket.js';
import { validateNetworkConfig, type NetworkConfig, type NetworkDriver, type NetworkState, type NetworkStatus } from './types.js';

export interface DeviceNetworkOptions {
  /** argv prefix of the ip applet; default ['busybox', 'ip']. */
  ip?: string[];
  /** How argv is executed; default execFile. */
  run?: CommandRunner;
  /** Default /etc/resolv.conf (on the device a symlink into /run; see writeResolvConf). */
  resolvConfPath?: string;
  /** Where interfaces' hardware addresses are read; default /sys/class/net. */
  sysClassNet?: string;
  /** Sent to the DHCP server as option 12. */
  hostname?: string;
  dhcp?: {
    retransmit?: Partial<RetransmitTiming>;
    minLeaseRetryMs?: number;
    requestAttempts?: number;
    restartDelayMs?: number;
  };
  /** The DHCP socket; default a real UDP socket on 0.0.0.0:68. */
  openTransport?: () => Promise<DhcpTransport>;
  log?: Logger;
}

/** Reads "aa:bb:cc:dd:ee:ff" from sysfs: the one place that has it before the interface has any address. */
export function readHardwareAddress(iface: string, sysClassNet = '/sys/class/net'): Buffer {
  let text: string;
  try {
    text = fs.readFileSync(path.join(sysClassNet, iface, 'address'), 'utf8').trim();
  } catch (err) {
    throw new NymoteError('ENOIFACE', `no network interface ${iface}`, { cause: err });
  }
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(text)) {
    throw new NymoteError('EDHCPHWADDR', `${iface} has no Ethernet address (sysfs says ${JSON.stringify(text)})`);
  }
  return Buffer.from(text.replaceAll(':', ''), 'hex');
}

const DHCP_TO_NETWORK_STATE: Record<DhcpState, NetworkState> = {
  init: 'discovering',
  selecting: 'discovering',
  requesting: 'discovering',
  bound: 'bound',
  renewing: 'renewing',
  rebinding: 'rebinding',
  stopped: 'stopped',
};

export class DeviceNetworkDriver extends EventEmitter implements NetworkDriver {
  private readonly ip: IpCommands;
  private readonly resolvConfPath: string;
  private config: NetworkConfig | undefined;
  private client: DhcpClient | undefined;
  private transport: DhcpTransport | undefined;
  private current: NetworkStatus = { iface: undefined, mode: 'none', state: 'unconfigured', addresses: [], dns: [] };

  constructor(private readonly options: DeviceNetworkOptions = {}) {
    super();
    this.ip = new IpCommands(options.ip, options.run ?? execCommand);
    this.resolvConfPath = options.resolvConfPath ?? '/etc/resolv.conf';
  }

  status(): NetworkStatus {
    const status: NetworkStatus = { ...this.current, addresses: [...this.current.addresses], dns: [...this.current.dns] };
    const lease = this.client?.lease;
    if (lease !== undefined) {
      const elapsedSeconds = (performance.now() - lease.startedAtMs) / 1000;
      status.lease = {
        serverId: lease.serverId,
        leaseSeconds: lease.leaseSeconds,
        renewalSeconds: lease.renewalSeconds,
        rebindingSeconds: lease.rebindingSeconds,
        expiresInSeconds: Math.max(0, lease.leaseSeconds - elapsedSeconds),
        renewals: this.client?.renewals ?? 0,
      };
    }
    return status;
  }

  async configure(config: NetworkConfig): Promise<void> {
    const valid = validateNetworkConfig(config);
    await this.stopClient();
    this.config = valid;
    this.update({ iface: valid.iface, mode: valid.mode, state: 'unconfigured', addresses: [], dns: [] });
    try {
      await this.ip.linkUp(valid.iface);
      // Whatever an earlier run of the firmware left on the interface goes; we own it now.
      await this.ip.flushAddresses(valid.iface);
      if (valid.mode === 'static') await this.applyStatic(valid);
      else await this.startDhcp(valid.iface);
    } catch (err) {
      this.update({ ...this.current, error: describeError(err) });
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.stopClient();
    if (this.config !== undefined) this.update({ ...this.current, state: this.config.mode === 'static' ? 'configured' : 'stopped' });
  }

  private update(status: NetworkStatus): void {
    this.current = status;
    this.emit('change', this.status());
  }

  private async applyStatic(config: Extract<NetworkConfig, { mode: 'static' }>): Promise<void> {
    await this.ip.replaceAddress(config.iface, config.address, config.prefix);
    if (config.gateway !== undefined) await this.ip.replaceDefaultRoute(config.iface, config.gateway);
    const dns = config.dns ?? [];
    if (dns.length > 0) writeResolvConf(this.resolvConfPath, { nameservers: dns, source: `static on ${config.iface}` });
    const status: NetworkStatus = {
      iface: config.iface,
      mode: 'static',
      state: 'configured',
      addresses: [{ iface: config.iface, address: config.address, prefix: config.prefix }],
      dns,
    };
    if (config.gateway !== undefined) status.gateway = config.gateway;
    this.update(status);
    this.options.log?.info('network configured', { iface: config.iface, address: `${config.address}/${config.prefix}` });
  }

  private async startDhcp(iface: string): Promise<void> {
    const hardwareAddress = readHardwareAddress(iface, this.options.sysClassNet);
    const transport = await (this.options.openTransport ?? (() => openDhcpSocket()))();
    this.transport = transport;
    const dhcp = this.options.dhcp ?? {};
    const client = new DhcpClient({
      hardwareAddress,
      transport,
      hooks: {
        discovering: () => this.ip.replaceBroadcastRoute(iface),
        bound: (lease, previous) => this.applyLease(iface, lease, previous),
        unbound: (lease) => this.ip.deleteAddress(iface, lease.address, lease.prefix),
      },
      ...(dhcp.retransmit !== undefined && { retransmit: dhcp.retransmit }),
      ...(dhcp.minLeaseRetryMs !== undefined && { minLeaseRetryMs: dhcp.minLeaseRetryMs }),
      ...(dhcp.requestAttempts !== undefined && { requestAttempts: dhcp.requestAttempts }),
      ...(dhcp.restartDelayMs !== undefined && { restartDelayMs: dhcp.restartDelayMs }),
      ...(this.options.hostname !== undefined && { hostname: this.options.hostname }),
      ...(this.options.log !== undefined && { log: this.options.log }),
      onChange: (state, lease) => this.leaseChanged(iface, state, lease),
    });
    this.client = client;
    client.start();
  }

  private async applyLease(iface: string, lease: DhcpLease, previous: DhcpLease | undefined): Promise<void> {
    if (previous !== undefined && (previous.address !== lease.address || previous.prefix !== lease.prefix)) {
      await this.ip.deleteAddress(iface, previous.address, previous.prefix);
    }
    await this.ip.replaceAddress(iface, lease.address, lease.prefix);
    if (lease.gateway !== undefined) await this.ip.replaceDefaultRoute(iface, lease.gateway);
    else if (previous?.gateway !== undefined) await this.ip.deleteDefaultRoute(iface);
    if (lease.dnsServers.length > 0) {
      const resolver = { nameservers: lease.dnsServers, source: `dhcp on ${iface}` };
      writeResolvConf(this.resolvConfPath, lease.domainName === undefined ? resolver : { ...resolver, search: lease.domainName });
    }
  }

  private leaseChanged(iface: string, state: DhcpState, lease: DhcpLease | undefined): void {
    // INIT, SELECTING and REQUESTING are all "discovering" to the outside: report the first only.
    if (lease === undefined && this.current.state === DHCP_TO_NETWORK_STATE[state] && this.current.addresses.length === 0) return;
    const status: NetworkStatus = { iface, mode: 'dhcp', state: DHCP_TO_NETWORK_STATE[state], addresses: [], dns: [] };
    if (lease !== undefined) {
      status.addresses = [{ iface, address: lease.address, prefix: lease.prefix }];
      status.dns = [...lease.dnsServers];
      if (lease.gateway !== undefined) status.gateway = lease.gateway;
      if (lease.domainName !== undefined) status.domain = lease.domainName;
    }
    this.update(status);
  }

  private async stopClient(): Promise<void> {
    const client = this.client;
    const transport = this.transport;
    this.client = undefined;
    this.transport = undefined;
    if (client !== undefined) await client.stop({ release: true });
    if (transport !== undefined) await transport.close();
    const iface = this.config?.iface;
    if (client !== undefined && iface !== undefined) {
      try {
        await this.ip.deleteBroadcastRoute(iface);
      } catch (err) {
        this.options.log?.warn('network: removing the broadcast route failed', { iface, error: describeError(err) });
      }
    }
  }
}
