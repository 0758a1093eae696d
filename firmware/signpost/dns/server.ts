/**
 * The DNS server's sockets and message rules: UDP and TCP (RFC 7766) on one port, EDNS(0)
 * (RFC 6891) with a 1232-byte payload, truncation and TCP fallback, the checks that turn bad
 * queries into FORMERR/NOTIMP/REFUSED, rate limiting of UDP answers, and a cache of encoded
 * answers (the zone changes rarely; queries repeat).
 */
import dgram from 'node:dgram';
import net from 'node:net';

import { DNS_CLASS_IN, DNS_TYPE, dnswire, lowerName, udpBatch, type BatchSocket, type DnsMessage, type DnsRecord } from '../../native.js';
import { addressOf, bindError, listenTcp, type Logger } from '../../runtime/index.js';
import { RCODE, answerQuestion, type Answer } from './answer.js';
import type { ZoneSigner } from './dnssec.js';
import { ResponseRateLimiter } from './rrl.js';
import { TSIG_ERROR, signResponse, transferRecords, verifyTsig, type TransferKey } from './transfer.js';
import type { Zone } from './zone.js';

/** RFC 8085 / DNS flag day 2020: no fragmentation on any common path. */
export const EDNS_PAYLOAD = 1232;
const CLASSIC_UDP_PAYLOAD = 512;
const MAX_UDP_QUERY = 4096;
const TCP_IDLE_MS = 10_000;
const MAX_TCP_CONNECTIONS = 64;
/** A client that sends queries but does not read the answers is cut off past this. */
const MAX_TCP_UNREAD = 1 << 20;
const MAX_CACHED_ANSWERS = 20_000;
/** Cached answers carry RRSIGs; renewing them hourly keeps every signature far from expiry. */
const CACHE_LIFETIME_MS = 3600_000;

const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const FLAG_CD = 0x0010;
const EDNS_DO = 0x8000;
const OPCODE_QUERY = 0;

export interface ServedZone {
  zone: Zone;
  signer: ZoneSigner;
}

export interface DnsCounters {
  queries: number;
  /** Answers that could not be made (SERVFAIL). */
  failed: number;
  udp: number;
  tcp: number;
  malformed: number;
  refused: number;
  truncated: number;
  rateLimited: number;
  slipped: number;
  cacheHits: number;
}

export interface DnsServerOptions {
  listen: string;
  port: number;
  /** The zone being served now; called per query, so a new zone takes effect at once. */
  zone: () => ServedZone | undefined;
  /** Answers per second per client netblock and response; 0 = off. */
  rateLimit: number;
  log: Logger;
  /** The key the owner's devices sign zone transfer requests with; none, no transfers. */
  transferKey?: TransferKey;
  /** Told of each question's name and the zone's (Jitsu starts services on lookups). */
  onQuestion?: (name: string, zone: string) => void;
}

type Transport = 'udp' | 'tcp';

export class DnsServer {
  readonly counters: DnsCounters = { queries: 0, failed: 0, udp: 0, tcp: 0, malformed: 0, refused: 0, truncated: 0, rateLimited: 0, slipped: 0, cacheHits: 0 };
  private udp: BatchSocket | undefined;
  private tcp: net.Server | undefined;
  private readonly connections = new Set<net.Socket>();
  private readonly rrl: ResponseRateLimiter;
  private cache = new Map<string, Buffer>();
  private cacheZone: ServedZone | undefined;
  private cacheStarted = 0;
  /** UDP replies made in this turn of the event loop, sent together when it ends. */
  private readonly outgoing = { datagrams: [] as Buffer[], ports: [] as number[], addresses: [] as string[] };

  constructor(private readonly options: DnsServerOptions) {
    this.rrl = new ResponseRateLimiter(options.rateLimit);
  }

  async start(): Promise<void> {
    const { listen, port } = this.options;
    const socket = dgram.createSocket({ type: net.isIPv6(listen) ? 'udp6' : 'udp4', recvBufferSize: 1 << 20, sendBufferSize: 1 << 20, lookup: literalLookup });
    try {
      this.udp = await udpBatch.bind(socket, listen, port);
    } catch (error) {
      throw bindError(error as NodeJS.ErrnoException, 'dns', listen, port);
    }
    socket.on('error', (err) => this.options.log.warn('dns udp error', { error: err.message }));
    socket.on('message', (wire, remote) => this.onDatagram(wire, remote));
    // TCP on the same port number the UDP socket got (port 0 picks once, for both).
    const tcp = net.createServer((connection) => this.onConnection(connection));
    tcp.maxConnections = MAX_TCP_CONNECTIONS;
    await listenTcp(tcp, 'dns', listen, socket.address().port);
    this.tcp = tcp;
  }

  async stop(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.socket.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
    ]);
    this.udp = undefined;
    this.tcp = undefined;
  }

  addresses(): string[] {
    const tcp = this.tcp === undefined ? undefined : addressOf(this.tcp);
    return tcp === undefined ? [] : [`${tcp} udp+tcp`];
  }

  private onDatagram(wire: Buffer, remote: dgram.RemoteInfo): void {
    this.counters.udp++;
    if (wire.length > MAX_UDP_QUERY) {
      this.counters.malformed++;
      return;
    }
    const reply = this.respond(wire, 'udp', remote.address);
    if (reply === undefined) return;
    const { datagrams, ports, addresses } = this.outgoing;
    if (datagrams.length === 0) setImmediate(() => this.flush());
    datagrams.push(reply);
    ports.push(remote.port);
    addresses.push(remote.address);
  }

  /** One system call for the replies to every query read in one turn (sendmmsg, native/udpbatch). */
  private flush(): void {
    const { datagrams, ports, addresses } = this.outgoing;
    this.udp?.sendAll(datagrams, ports, addresses);
    datagrams.length = 0;
    ports.length = 0;
    addresses.length = 0;
  }

  private onConnection(socket: net.Socket): void {
    this.connections.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      // Each message is prefixed by its two-byte length (RFC 1035 section 4.2.2); several may
      // arrive in one chunk (pipelining, RFC 7766 section 6.2.1). 65535 bytes at most by design.
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const message = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        this.counters.tcp++;
        const reply = this.respond(message, 'tcp', socket.remoteAddress ?? '');
        if (reply === undefined) {
          socket.destroy();
          return;
        }
        const framed = Buffer.allocUnsafe(2 + reply.length);
        framed.writeUInt16BE(reply.length, 0);
        reply.copy(framed, 2);
        socket.write(framed);
        if (socket.writableLength > MAX_TCP_UNREAD) {
          socket.destroy();
          return;
        }
      }
    });
  }

  /** The reply to one message, or undefined to send nothing (not a query, or rate limited). */
  respond(wire: Buffer, transport: Transport, client: string): Buffer | undefined {
    this.counters.queries++;
    try {
      return this.reply(wire, transport, client);
    } catch (error) {
      // A bug or an answer too big even for TCP (a huge zone's transfer): SERVFAIL, never a crash.
      this.counters.failed++;
      this.options.log.error('dns answer failed', { error: (error as Error).message });
      return this.headerOnlyError(wire, RCODE.SERVFAIL);
    }
  }

  private reply(wire: Buffer, transport: Transport, client: string): Buffer | undefined {
    let query: DnsMessage;
    try {
      query = dnswire.decode(wire);
    } catch {
      this.counters.malformed++;
      return this.headerOnlyError(wire, RCODE.FORMERR);
    }
    if ((query.flags & FLAG_QR) !== 0) {
      this.counters.malformed++;
      return undefined;
    }
    const opts = query.additionals.filter((r) => r.type === DNS_TYPE.OPT);
    const opt = opts[0];
    const edns: Edns | undefined = opt === undefined ? undefined : { payload: Math.max(CLASSIC_UDP_PAYLOAD, Math.min(EDNS_PAYLOAD, opt.class)), dnssec: (opt.ttl & EDNS_DO) !== 0 };
    const send = (reply: Buffer, rateKey: string) => this.limit(reply, query, edns, transport, client, rateKey);
    const error = (rcode: number) => send(this.encode(query, edns, { ...NO_RECORDS, rcode, authoritative: false }, 0), `error|${rcode}`);

    const question = query.questions[0];
    if (opts.length > 1 || (opt !== undefined && opt.name !== '.') || question === undefined || query.questions.length > 1) {
      this.counters.malformed++;
      return error(RCODE.FORMERR);
    }
    if (opt !== undefined && ((opt.ttl >>> 16) & 0xff) !== 0) return error(RCODE.BADVERS);
    if (((query.flags >> 11) & 0xf) !== OPCODE_QUERY) return error(RCODE.NOTIMP);
    const qtype = question.type;
    if (qtype === DNS_TYPE.OPT) return error(RCODE.FORMERR);
    if (qtype === DNS_TYPE.AXFR || qtype === DNS_TYPE.IXFR) {
      // An IXFR gets the whole zone, which RFC 1995 section 4 allows.
      return transport === 'udp' ? error(RCODE.NOTIMP) : this.transfer(wire, query, edns);
    }
    if (question.class !== DNS_CLASS_IN) {
      this.counters.refused++;
      return error(RCODE.REFUSED);
    }
    if ((qtype >= 128 && qtype <= 254) || qtype === DNS_TYPE.RRSIG) return error(RCODE.NOTIMP);

    const served = this.options.zone();
    if (served === undefined) return error(RCODE.SERVFAIL);
    const name = lowerName(question.name);
    this.options.onQuestion?.(name, served.zone.origin);
    const dnssec = edns?.dnssec ?? false;
    const cacheKey = `${name}|${qtype}|${transport}|${edns?.payload ?? 0}|${dnssec ? 1 : 0}`;
    let reply = this.cached(served, cacheKey);
    if (reply !== undefined) {
      this.counters.cacheHits++;
      reply = this.personalise(reply, wire, query);
    } else {
      const answer = answerQuestion(served.zone, served.signer, { name, type: qtype, dnssec, minimalAny: transport === 'udp', now: Math.floor(Date.now() / 1000) });
      if (answer.rcode === RCODE.REFUSED) this.counters.refused++;
      reply = this.encode(query, edns, answer, 0);
      this.remember(cacheKey, reply);
    }
    // NXDOMAINs share one bucket per client, so random names cannot each get a fresh one.
    const rcode = reply.readUInt16BE(2) & 0xf;
    return send(reply, rcode === RCODE.NXDOMAIN ? 'nxdomain' : `${name}|${qtype}|${rcode}`);
  }

  /** A zone transfer over TCP, for a request signed with the transfer key only. */
  private transfer(wire: Buffer, query: DnsMessage, edns: Edns | undefined): Buffer {
    const served = this.options.zone();
    const key = this.options.transferKey;
    const now = Math.floor(Date.now() / 1000);
    const check = key === undefined ? undefined : verifyTsig(wire, query, key, now);
    const refuse = (rcode: number) => this.encode(query, edns, { ...NO_RECORDS, rcode, authoritative: false }, 0);
    if (served === undefined || key === undefined || check === undefined || lowerName(query.questions[0]!.name) !== served.zone.origin) {
      this.counters.refused++;
      return refuse(RCODE.REFUSED);
    }
    if (!check.ok) {
      this.counters.refused++;
      this.options.log.warn('zone transfer refused', { reason: check.error === TSIG_ERROR.BADTIME ? 'clock' : check.error === TSIG_ERROR.BADKEY ? 'unknown key' : 'bad signature' });
      // BADTIME is answered signed, so the client can trust the time it is told (RFC 8945 5.2.3).
      return check.requestMac === undefined ? refuse(RCODE.NOTAUTH) : signResponse(refuse(RCODE.NOTAUTH), check.requestMac, key, now, check.error);
    }
    const reply = this.encode(query, undefined, { ...NO_RECORDS, rcode: RCODE.NOERROR, authoritative: true, answers: transferRecords(served.zone) }, 0);
    return signResponse(reply, check.requestMac, key, now);
  }

  /** Rate limiting (UDP only), then truncation to the client's payload size. */
  private limit(reply: Buffer, query: DnsMessage, edns: Edns | undefined, transport: Transport, client: string, rateKey: string): Buffer | undefined {
    const truncated = () => {
      const header = reply.readUInt16BE(2);
      return this.encode(query, edns, { ...NO_RECORDS, rcode: header & 0xf, authoritative: (header & FLAG_AA) !== 0 }, FLAG_TC);
    };
    if (transport === 'tcp') return reply;
    const decision = this.rrl.decide(client, rateKey, Date.now());
    if (decision === 'drop') {
      this.counters.rateLimited++;
      return undefined;
    }
    if (decision === 'slip') {
      this.counters.slipped++;
      return truncated();
    }
    if (reply.length <= (edns?.payload ?? CLASSIC_UDP_PAYLOAD)) return reply;
    // Too big for UDP: an empty truncated answer sends the client to TCP (RFC 7766 section 5).
    this.counters.truncated++;
    return truncated();
  }

  private encode(query: DnsMessage, edns: Edns | undefined, answer: Answer, extraFlags: number): Buffer {
    const flags = FLAG_QR | (query.flags & (0x7800 | FLAG_RD | FLAG_CD)) | (answer.authoritative ? FLAG_AA : 0) | extraFlags | (answer.rcode & 0xf);
    const additionals: DnsRecord[] = [...answer.additionals];
    if (edns !== undefined) {
      // Extended RCODE in the OPT TTL's top byte; DO echoed (RFC 3225).
      additionals.push({ name: '.', type: DNS_TYPE.OPT, class: EDNS_PAYLOAD, ttl: (((answer.rcode >> 4) << 24) | (edns.dnssec ? EDNS_DO : 0)) >>> 0, data: EMPTY });
    }
    return dnswire.encode({ id: query.id, flags, questions: query.questions, answers: answer.answers, authorities: answer.authorities, additionals });
  }

  /** An error with only a header (FORMERR, SERVFAIL), when the header at least says it is a query. */
  private headerOnlyError(wire: Buffer, rcode: number): Buffer | undefined {
    if (wire.length < 12 || (wire[2]! & 0x80) !== 0) return undefined;
    const reply = Buffer.alloc(12);
    wire.copy(reply, 0, 0, 2);
    reply.writeUInt16BE(FLAG_QR | (wire.readUInt16BE(2) & (0x7800 | FLAG_RD)) | rcode, 2);
    return reply;
  }

  private cached(served: ServedZone, key: string): Buffer | undefined {
    const now = Date.now();
    if (served !== this.cacheZone || now - this.cacheStarted > CACHE_LIFETIME_MS) {
      this.cache = new Map();
      this.cacheZone = served;
      this.cacheStarted = now;
      return undefined;
    }
    return this.cache.get(key);
  }

  private remember(key: string, encoded: Buffer): void {
    if (this.cache.size >= MAX_CACHED_ANSWERS) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, encoded);
  }

  /**
   * A cached answer made for this query: its ID, RD and CD bits, and the question's name as
   * the client spelled it (same length, only case differs), so 0x20 randomisation still works.
   */
  private personalise(cached: Buffer, wire: Buffer, query: DnsMessage): Buffer {
    const reply = Buffer.from(cached);
    reply.writeUInt16BE(query.id, 0);
    reply.writeUInt16BE((reply.readUInt16BE(2) & ~(FLAG_RD | FLAG_CD)) | (query.flags & (FLAG_RD | FLAG_CD)), 2);
    // The question is the first name of both messages, so it is never compressed in the reply;
    // a query that compressed it (into its header) keeps the cached spelling.
    let end = 12;
    while (end < wire.length && wire[end]! !== 0 && wire[end]! < 0x40) end += wire[end]! + 1;
    if (wire[end] === 0) wire.copy(reply, 12, 12, end + 1);
    return reply;
  }
}

interface Edns {
  payload: number;
  dnssec: boolean;
}

const NO_RECORDS = { answers: [], authorities: [], additionals: [] };
const EMPTY = new Uint8Array(0);

/**
 * Replies go back to the address a query came from, always an IP literal: skip the resolver
 * call dgram otherwise makes for every send that falls back to it.
 */
const literalLookup = ((address: string, family: number, callback: (error: null, address: string, family: number) => void) =>
  callback(null, address, family)) as unknown as dgram.SocketOptions['lookup'];
