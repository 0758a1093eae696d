/**
 * DHCP messages (RFC 2131) and the options we use (RFC 2132): encode what the client sends,
 * parse what servers answer. Replies are untrusted: every field and option length is checked
 * against the bytes actually received, and anything malformed is a NymoteError with code
 * EDHCPPARSE, never an exception from a Buffer read.
 */
import { NymoteError } from '../../firmware/runtime/errors.js';
import { bytesToIpv4, ipv4ToBytes } from './ipv4.js';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;

/** op(1) htype(1) hlen(1) hops(1) xid(4) secs(2) flags(2) 4×addr(16) chaddr(16) sname(64) file(128). */
const FIXED_HEADER_BYTES = 236;
const MAGIC_COOKIE = 0x63825363;
const OPTIONS_OFFSET = FIXED_HEADER_BYTES + 4;
const SNAME_OFFSET = 44;
const SNAME_BYTES = 64;
const FILE_OFFSET = 108;
const FILE_BYTES = 128;
/** Some relays and old servers drop BOOTP messages shorter than this (RFC 1542 §2.1). */
const MIN_SENT_BYTES = 300;
/**
 * Servers must not send more than 576 bytes unless the client advertises a larger size
 * (option 57, which we do not); we accept up to an Ethernet MTU and reject the rest.
 */
export const MAX_DHCP_MESSAGE_BYTES = 1500;
const BROADCAST_FLAG = 0x8000;
const HTYPE_ETHERNET = 1;

export const OPTION = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS_SERVER: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  REQUESTED_ADDRESS: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  END: 255,
} as const;

const MESSAGE_KINDS = ['discover', 'offer', 'request', 'decline', 'ack', 'nak', 'release', 'inform'] as const;
export type DhcpMessageKind = (typeof MESSAGE_KINDS)[number];

export interface DhcpOptions {
  subnetMask?: string;
  routers?: string[];
  dnsServers?: string[];
  hostname?: string;
  domainName?: string;
  requestedAddress?: string;
  leaseSeconds?: number;
  serverId?: string;
  parameterRequestList?: number[];
  /** Option 56: a server's human-readable reason, e.g. in a NAK. */
  message?: string;
  renewalSeconds?: number;
  rebindingSeconds?: number;
}

export interface DhcpMessage {
  op: 'request' | 'reply';
  type: DhcpMessageKind;
  xid: number;
  secs: number;
  /** The BROADCAST flag: ask the server to broadcast its answer (we have no address yet). */
  broadcast: boolean;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** Client hardware address: 6 bytes for Ethernet. */
  chaddr: Buffer;
  options: DhcpOptions;
}

/** What the encoder needs; addresses default to 0.0.0.0. */
export type DhcpMessageFields = Pick<DhcpMessage, 'op' | 'type' | 'xid' | 'chaddr'> &
  Partial<Omit<DhcpMessage, 'op' | 'type' | 'xid' | 'chaddr'>>;

/** The options a client asks for (option 55): mask, router, DNS, hostname, domain, lease, T1, T2. */
export const CLIENT_PARAMETER_REQUEST = [
  OPTION.SUBNET_MASK,
  OPTION.ROUTER,
  OPTION.DNS_SERVER,
  OPTION.HOSTNAME,
  OPTION.DOMAIN_NAME,
  OPTION.LEASE_TIME,
  OPTION.RENEWAL_TIME,
  OPTION.REBINDING_TIME,
];

function malformed(message: string): NymoteError {
  return new NymoteError('EDHCPPARSE', `malformed DHCP message: ${message}`);
}

// ---------------------------------------------------------------------------------- encoding

function putOption(out: number[], code: number, value: Uint8Array): void {
  if (value.length === 0 || value.length > 255) {
    throw new NymoteError('EDHCPENCODE', `DHCP option ${code} must hold 1–255 bytes, not ${value.length}`);
  }
  out.push(code, value.length, ...value);
}

function uint32(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new NymoteError('EDHCPENCODE', `not a 32-bit unsigned value: ${value}`);
  }
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value, 0);
  return bytes;
}

function addressList(addresses: string[]): Buffer {
  return Buffer.concat(addresses.map(ipv4ToBytes));
}

function encodeOptions(type: DhcpMessageKind, options: DhcpOptions): number[] {
  const out: number[] = [];
  // Message type first: some servers look for it there.
  putOption(out, OPTION.MESSAGE_TYPE, Uint8Array.of(MESSAGE_KINDS.indexOf(type) + 1));
  if (options.serverId !== undefined) putOption(out, OPTION.SERVER_ID, ipv4ToBytes(options.serverId));
  if (options.requestedAddress !== undefined) putOption(out, OPTION.REQUESTED_ADDRESS, ipv4ToBytes(options.requestedAddress));
  if (options.parameterRequestList !== undefined) putOption(out, OPTION.PARAMETER_REQUEST_LIST, Uint8Array.from(options.parameterRequestList));
  if (options.subnetMask !== undefined) putOption(out, OPTION.SUBNET_MASK, ipv4ToBytes(options.subnetMask));
  if (options.routers !== undefined) putOption(out, OPTION.ROUTER, addressList(options.routers));
  if (options.dnsServers !== undefined) putOption(out, OPTION.DNS_SERVER, addressList(options.dnsServers));
  if (options.hostname !== undefined) putOption(out, OPTION.HOSTNAME, Buffer.from(options.hostname, 'ascii'));
  if (options.domainName !== undefined) putOption(out, OPTION.DOMAIN_NAME, Buffer.from(options.domainName, 'ascii'));
  if (options.leaseSeconds !== undefined) putOption(out, OPTION.LEASE_TIME, uint32(options.leaseSeconds));
  if (options.renewalSeconds !== undefined) putOption(out, OPTION.RENEWAL_TIME, uint32(options.renewalSeconds));
  if (options.rebindingSeconds !== undefined) putOption(out, OPTION.REBINDING_TIME, uint32(options.rebindingSeconds));
  if (options.message !== undefined) putOption(out, OPTION.MESSAGE, Buffer.from(options.message, 'utf8'));
  out.push(OPTION.END);
  return out;
}

export function encodeDhcpMessage(fields: DhcpMessageFields): Buffer {
  if (fields.chaddr.length === 0 || fields.chaddr.length > 16) {
    throw new NymoteError('EDHCPENCODE', `hardware address must be 1–16 bytes, not ${fields.chaddr.length}`);
  }
  const options = encodeOptions(fields.type, fields.options ?? {});
  const packet = Buffer.alloc(Math.max(MIN_SENT_BYTES, OPTIONS_OFFSET + options.length));
  packet[0] = fields.op === 'request' ? 1 : 2;
  packet[1] = HTYPE_ETHERNET;
  packet[2] = fields.chaddr.length;
  packet[3] = 0;
  uint32(fields.xid).copy(packet, 4);
  packet.writeUInt16BE(Math.min(0xffff, Math.max(0, Math.floor(fields.secs ?? 0))), 8);
  packet.writeUInt16BE(fields.broadcast === true ? BROADCAST_FLAG : 0, 10);
  ipv4ToBytes(fields.ciaddr ?? '0.0.0.0').copy(packet, 12);
  ipv4ToBytes(fields.yiaddr ?? '0.0.0.0').copy(packet, 16);
  ipv4ToBytes(fields.siaddr ?? '0.0.0.0').copy(packet, 20);
  ipv4ToBytes(fields.giaddr ?? '0.0.0.0').copy(packet, 24);
  fields.chaddr.copy(packet, 28);
  packet.writeUInt32BE(MAGIC_COOKIE, FIXED_HEADER_BYTES);
  Buffer.from(options).copy(packet, OPTIONS_OFFSET);
  return packet;
}

// ----------------------------------------------------------------------------------- parsing

/**
 * Walks one options area (the options field, or sname/file when overloaded) and appends each
 * option's bytes to `into`; a repeated option is concatenated (RFC 3396).
 */
function collectOptions(area: Buffer, where: string, into: Map<number, Buffer[]>): void {
  let at = 0;
  while (at < area.length) {
    const code = area[at] as number;
    if (code === OPTION.PAD) {
      at += 1;
      continue;
    }
    if (code === OPTION.END) return;
    if (at + 1 >= area.length) throw malformed(`option ${code} in ${where} has no length byte`);
    const length = area[at + 1] as number;
    const start = at + 2;
    if (start + length > area.length) {
      throw malformed(`option ${code} in ${where} claims ${length} bytes but ${area.length - start} remain`);
    }
    const parts = into.get(code) ?? [];
    parts.push(area.subarray(start, start + length));
    into.set(code, parts);
    at = start + length;
  }
  // Ran off the end without an END option: tolerated, as most clients do; the lengths were sound.
}

function exactly(code: number, value: Buffer, length: number): Buffer {
  if (value.length !== length) throw malformed(`option ${code} must be ${length} bytes, not ${value.length}`);
  return value;
}

function addressesOf(code: number, value: Buffer): string[] {
  if (value.length === 0 || value.length % 4 !== 0) {
    throw malformed(`option ${code} must hold whole IPv4 addresses, not ${value.length} bytes`);
  }
  const addresses: string[] = [];
  for (let at = 0; at < value.length; at += 4) addresses.push(bytesToIpv4(value, at));
  return addresses;
}

/** Hostnames and domain names end up in resolv.conf: letters, digits, '-', '_' and dots only. */
const DOMAIN_TEXT = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/;

function domainText(value: Buffer): string | undefined {
  // Some servers count a trailing NUL in the length.
  let end = value.length;
  while (end > 0 && value[end - 1] === 0) end--;
  const text = value.subarray(0, end).toString('latin1');
  return text.length > 0 && text.length <= 253 && DOMAIN_TEXT.test(text) ? text : undefined;
}

function decodeOptions(raw: Map<number, Buffer[]>): { type: DhcpMessageKind; options: DhcpOptions } {
  const value = (code: number): Buffer | undefined => {
    const parts = raw.get(code);
    return parts === undefined ? undefined : Buffer.concat(parts);
  };
  const typeByte = value(OPTION.MESSAGE_TYPE);
  if (typeByte === undefined) throw malformed('no message type (option 53): a BOOTP message, not DHCP');
  const typeCode = exactly(OPTION.MESSAGE_TYPE, typeByte, 1)[0] as number;
  const type = MESSAGE_KINDS[typeCode - 1];
  if (type === undefined) throw malformed(`unknown message type ${typeCode}`);

  const options: DhcpOptions = {};
  const mask = value(OPTION.SUBNET_MASK);
  if (mask !== undefined) options.subnetMask = bytesToIpv4(exactly(OPTION.SUBNET_MASK, mask, 4));
  const routers = value(OPTION.ROUTER);
  if (routers !== undefined) options.routers = addressesOf(OPTION.ROUTER, routers);
  const dns = value(OPTION.DNS_SERVER);
  if (dns !== undefined) options.dnsServers = addressesOf(OPTION.DNS_SERVER, dns);
  // Text we cannot use safely is dropped rather than failing the whole lease.
  const hostname = value(OPTION.HOSTNAME);
  const hostnameText = hostname === undefined ? undefined : domainText(hostname);
  if (hostnameText !== undefined) options.hostname = hostnameText;
  const domain = value(OPTION.DOMAIN_NAME);
  const domainNameText = domain === undefined ? undefined : domainText(domain);
  if (domainNameText !== undefined) options.domainName = domainNameText;
  const requested = value(OPTION.REQUESTED_ADDRESS);
  if (requested !== undefined) options.requestedAddress = bytesToIpv4(exactly(OPTION.REQUESTED_ADDRESS, requested, 4));
  const lease = value(OPTION.LEASE_TIME);
  if (lease !== undefined) options.leaseSeconds = exactly(OPTION.LEASE_TIME, lease, 4).readUInt32BE(0);
  const serverId = value(OPTION.SERVER_ID);
  if (serverId !== undefined) options.serverId = bytesToIpv4(exactly(OPTION.SERVER_ID, serverId, 4));
  const requestList = value(OPTION.PARAMETER_REQUEST_LIST);
  if (requestList !== undefined) {
    if (requestList.length === 0) throw malformed('empty parameter request list (option 55)');
    options.parameterRequestList = [...requestList];
  }
  const message = value(OPTION.MESSAGE);
  if (message !== undefined) options.message = message.toString('latin1').replace(/[^\x20-\x7e]/g, '?');
  const renewal = value(OPTION.RENEWAL_TIME);
  if (renewal !== undefined) options.renewalSeconds = exactly(OPTION.RENEWAL_TIME, renewal, 4).readUInt32BE(0);
  const rebinding = value(OPTION.REBINDING_TIME);
  if (rebinding !== undefined) options.rebindingSeconds = exactly(OPTION.REBINDING_TIME, rebinding, 4).readUInt32BE(0);
  return { type, options };
}

/** Parses one datagram; throws NymoteError EDHCPPARSE on anything malformed. */
export function parseDhcpMessage(packet: Uint8Array): DhcpMessage {
  const bytes = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (bytes.length < OPTIONS_OFFSET) throw malformed(`${bytes.length} bytes is shorter than the ${OPTIONS_OFFSET}-byte header`);
  if (bytes.length > MAX_DHCP_MESSAGE_BYTES) throw malformed(`${bytes.length} bytes is over the ${MAX_DHCP_MESSAGE_BYTES}-byte limit`);
  const opCode = bytes[0];
  if (opCode !== 1 && opCode !== 2) throw malformed(`op ${opCode} is neither BOOTREQUEST nor BOOTREPLY`);
  const hardwareLength = bytes[2] as number;
  if (hardwareLength === 0 || hardwareLength > 16) throw malformed(`hardware address length ${hardwareLength}`);
  if (bytes.readUInt32BE(FIXED_HEADER_BYTES) !== MAGIC_COOKIE) throw malformed('no DHCP magic cookie');

  const raw = new Map<number, Buffer[]>();
  collectOptions(bytes.subarray(OPTIONS_OFFSET), 'options', raw);
  const overload = raw.get(OPTION.OVERLOAD);
  if (overload !== undefined) {
    const how = exactly(OPTION.OVERLOAD, Buffer.concat(overload), 1)[0] as number;
    if (how < 1 || how > 3) throw malformed(`option overload value ${how}`);
    raw.delete(OPTION.OVERLOAD);
    // RFC 2131 §4.1: the file field is read before sname.
    if (how & 1) collectOptions(bytes.subarray(FILE_OFFSET, FILE_OFFSET + FILE_BYTES), 'file', raw);
    if (how & 2) collectOptions(bytes.subarray(SNAME_OFFSET, SNAME_OFFSET + SNAME_BYTES), 'sname', raw);
    if (raw.has(OPTION.OVERLOAD)) throw malformed('option overload inside an overloaded field');
  }
  const { type, options } = decodeOptions(raw);

  return {
    op: opCode === 1 ? 'request' : 'reply',
    type,
    xid: bytes.readUInt32BE(4),
    secs: bytes.readUInt16BE(8),
    broadcast: (bytes.readUInt16BE(10) & BROADCAST_FLAG) !== 0,
    ciaddr: bytesToIpv4(bytes, 12),
    yiaddr: bytesToIpv4(bytes, 16),
    siaddr: bytesToIpv4(bytes, 20),
    giaddr: bytesToIpv4(bytes, 24),
    chaddr: Buffer.from(bytes.subarray(28, 28 + hardwareLength)),
    options,
  };
}
