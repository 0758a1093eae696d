/**
 * An SNTP client (RFC 4330): one request per server over UDP, answers checked against what
 * we sent, and a list of servers tried in order. Servers that send kiss-o'-death DENY or RSTR
 * are never asked again by this client; RATE puts a server aside for a while.
 *
 * t1 and t4 come from Date.now() at the send plus a monotonic (hrtime) measurement of the
 * round trip, so a clock step during the exchange cannot corrupt the delay.
 */
import dgram from 'node:dgram';
import dns from 'node:dns/promises';
import net from 'node:net';
import { NymoteError, describeError } from '../../firmware/runtime/errors.js';
import type { Logger } from '../../firmware/runtime/log.js';
import {
  KissOfDeath,
  MAX_NTP_PACKET_BYTES,
  NTP_PORT,
  checkServerReply,
  encodeNtpRequest,
  ntpToUnixMs,
  offsetAndDelay,
  parseNtpPacket,
  requestTimestamp,
} from './ntp-packet.js';

export interface SntpSample {
  /** The name (or address) from the server list. */
  server: string;
  /** The address that answered. */
  address: string;
  /** Add this to the local clock to get the server's time. */
  offsetMs: number;
  /** Round-trip delay of the exchange. */
  delayMs: number;
  stratum: number;
  referenceId: string;
}

export interface SntpQueryOptions {
  port?: number;
  timeoutMs?: number;
  /** The local clock (Unix ms); default Date.now. Tests inject a wrong clock here. */
  nowMs?: () => number;
}

export const DEFAULT_NTP_SERVERS = ['pool.ntp.org'];

/** A server list entry: `host`, `host:port`, `v6addr`, `[v6addr]` or `[v6addr]:port`. */
export function parseServerEntry(entry: string, defaultPort = NTP_PORT): { host: string; port: number } {
  const bad = (): NymoteError => new NymoteError('ENTPCONFIG', `not an NTP server: ${JSON.stringify(entry)}`);
  let host = entry;
  let port = String(defaultPort);
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed !== null) {
    host = bracketed[1] as string;
    port = bracketed[2] ?? port;
  } else if (net.isIPv6(entry)) {
    host = entry;
  } else if (entry.includes(':')) {
    const [name, portText, ...rest] = entry.split(':');
    if (rest.length > 0 || name === undefined || portText === undefined) throw bad();
    host = name;
    port = portText;
  }
  const portNumber = Number(port);
  if (!/^\d{1,5}$/.test(port) || portNumber < 1 || portNumber > 65535) throw bad();
  if (host.length === 0 || host.length > 253 || !/^[A-Za-z0-9.:_-]+$/.test(host)) throw bad();
  return { host, port: portNumber };
}

async function resolveServer(server: string): Promise<{ address: string; family: 4 | 6 }> {
  const literal = net.isIP(server);
  if (literal !== 0) return { address: server, family: literal as 4 | 6 };
  try {
    const found = await dns.lookup(server);
    return { address: found.address, family: found.family === 6 ? 6 : 4 };
  } catch (err) {
    throw new NymoteError('ENTPRESOLVE', `cannot resolve NTP server ${server}: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}`);
  }
}

/** One SNTP exchange with `server`; resolves to the sample or rejects (KissOfDeath among others). */
export async function querySntp(server: string, options: SntpQueryOptions = {}): Promise<SntpSample> {
  const port = options.port ?? NTP_PORT;
  const timeoutMs = options.timeoutMs ?? 3000;
  const nowMs = options.nowMs ?? Date.now;
  const { address, family } = await resolveServer(server);
  const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
  try {
    // A connected socket only hears from the server's address and port.
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return await new Promise<SntpSample>((resolve, reject) => {
      let lastRejection: unknown;
      const timer = setTimeout(() => {
        const why = lastRejection === undefined ? 'no answer' : describeError(lastRejection);
        reject(new NymoteError('ENTPTIMEOUT', `NTP server ${server} (${address}): ${why} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(new NymoteError('ENTPNET', `NTP server ${server} (${address}): ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      });
      const t1 = nowMs();
      const sentAt = process.hrtime.bigint();
      const sent = requestTimestamp(t1);
      socket.on('message', (packet) => {
        const t4 = t1 + Number(process.hrtime.bigint() - sentAt) / 1e6;
        if (packet.length > MAX_NTP_PACKET_BYTES) return;
        try {
          const reply = parseNtpPacket(packet);
          checkServerReply(reply, sent, server);
          const t2 = ntpToUnixMs(reply.receiveTime);
          const t3 = ntpToUnixMs(reply.transmitTime);
          clearTimeout(timer);
          resolve({ server, address, ...offsetAndDelay(t1, t2, t3, t4), stratum: reply.stratum, referenceId: reply.referenceId });
        } catch (err) {
          // A kiss-o'-death that echoes our request is the server's answer; anything else
          // (stale, forged, malformed) is dropped and we keep listening until the timeout.
          if (err instanceof KissOfDeath) {
            clearTimeout(timer);
            reject(err);
          } else {
            lastRejection = err;
          }
        }
      });
      socket.send(encodeNtpRequest(sent));
    });
  } finally {
    socket.close();
  }
}

export interface SntpClientOptions extends SntpQueryOptions {
  /** Entries as parseServerEntry reads them; `port` is the default port. */
  servers?: string[];
  /** How long a server that answered RATE is left alone; default 15 minutes. */
  rateBackoffMs?: number;
  log?: Logger;
}

export class SntpClient {
  readonly servers: string[];
  /** Servers that said DENY or RSTR: not asked again. */
  readonly denied = new Set<string>();
  /** Servers that said RATE, and until when (monotonic ms) they are left alone. */
  private readonly restUntil = new Map<string, number>();

  constructor(private readonly options: SntpClientOptions = {}) {
    this.servers = [...(options.servers ?? DEFAULT_NTP_SERVERS)];
    if (this.servers.length === 0) throw new NymoteError('ENTPCONFIG', 'no NTP servers configured');
    for (const server of this.servers) parseServerEntry(server);
  }

  /** Asks each usable server in order; the first valid answer wins. */
  async sample(): Promise<SntpSample> {
    const failures: string[] = [];
    for (const server of this.servers) {
      if (this.denied.has(server)) continue;
      if ((this.restUntil.get(server) ?? 0) > performance.now()) continue;
      try {
        const { host, port } = parseServerEntry(server, this.options.port);
        return { ...(await querySntp(host, { ...this.options, port })), server };
      } catch (err) {
        failures.push(describeError(err));
        if (err instanceof KissOfDeath) this.kissed(server, err.kissCode);
        this.options.log?.warn('ntp query failed', { server, error: describeError(err) });
      }
    }
    const usable = this.servers.filter((s) => !this.denied.has(s));
    const why = failures.length > 0 ? failures.join('; ') : `no usable server (denied: ${[...this.denied].join(', ') || 'none'}, resting: ${usable.join(', ')})`;
    throw new NymoteError('ENTPSYNC', `no NTP server gave the time: ${why}`);
  }

  private kissed(server: string, code: string): void {
    if (code === 'DENY' || code === 'RSTR') this.denied.add(server);
    else if (code === 'RATE') this.restUntil.set(server, performance.now() + (this.options.rateBackoffMs ?? 15 * 60_000));
  }
}
