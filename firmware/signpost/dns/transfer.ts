/**
 * Zone transfers (AXFR, RFC 5936) for the owner's devices only: a request must carry a TSIG
 * (RFC 8945) made with the transfer key in secrets/dns/transfer.key, which the owner hands
 * to their devices (`nymote zone transfer-key`). HMAC-SHA256 only. The answer is one message
 * (SOA, every record, SOA), signed back with the same key.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { DNS_CLASS_IN, DNS_TYPE, lowerName, nameToWire, type DnsMessage, type DnsRecord } from '../../native.js';
import { writeFileDurable } from '../../runtime/index.js';
import type { Zone } from './zone.js';

export const TSIG_ALGORITHM = 'hmac-sha256.';
/** Seconds of clock difference allowed (RFC 8945 section 10 recommends 300). */
const FUDGE = 300;
const CLASS_ANY = 255;
export const TSIG_ERROR = { BADSIG: 16, BADKEY: 17, BADTIME: 18 } as const;

export interface TransferKey {
  /** Absolute, lower case. */
  name: string;
  secret: Buffer;
}

/** The transfer key from `file`, made (256 random bits, 0600) when there is none yet. */
export function loadOrCreateTransferKey(file: string, name = 'nymote-transfer.'): TransferKey {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileDurable(file, `${randomBytes(32).toString('base64')}\n`, 0o600);
  }
  return { name, secret: Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64') };
}

/** As kdig -y and dig -y take it. */
export function formatTransferKey(key: TransferKey): string {
  return `hmac-sha256:${key.name.replace(/\.$/, '')}:${key.secret.toString('base64')}`;
}

export type TsigCheck = { ok: true; requestMac: Buffer } | { ok: false; error: number; requestMac?: Buffer };

interface TsigFields {
  algorithm: string;
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
}

function parseTsigData(data: Uint8Array): TsigFields | undefined {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let at = 0;
  const labels: string[] = [];
  while (at < bytes.length && bytes[at] !== 0) {
    labels.push(bytes.subarray(at + 1, at + 1 + bytes[at]!).toString('latin1'));
    at += bytes[at]! + 1;
  }
  at++;
  if (at + 10 > bytes.length) return undefined;
  const timeSigned = bytes.readUIntBE(at, 6);
  const fudge = bytes.readUInt16BE(at + 6);
  const macSize = bytes.readUInt16BE(at + 8);
  at += 10;
  if (at + macSize + 6 > bytes.length) return undefined;
  const mac = bytes.subarray(at, at + macSize);
  at += macSize;
  const originalId = bytes.readUInt16BE(at);
  const error = bytes.readUInt16BE(at + 2);
  const otherLength = bytes.readUInt16BE(at + 4);
  if (at + 6 + otherLength !== bytes.length) return undefined;
  return { algorithm: lowerName(`${labels.join('.')}.`), timeSigned, fudge, mac, originalId, error, other: bytes.subarray(at + 6) };
}

/** The TSIG variables that follow the message in the MAC (RFC 8945 section 4.3.3). */
function tsigVariables(key: TransferKey, fields: Pick<TsigFields, 'timeSigned' | 'fudge' | 'error' | 'other'>): Buffer {
  const classAndTtl = Buffer.alloc(6);
  classAndTtl.writeUInt16BE(CLASS_ANY, 0);
  const timing = Buffer.alloc(12);
  timing.writeUIntBE(fields.timeSigned, 0, 6);
  timing.writeUInt16BE(fields.fudge, 6);
  timing.writeUInt16BE(fields.error, 8);
  timing.writeUInt16BE(fields.other.length, 10);
  return Buffer.concat([nameToWire(key.name), classAndTtl, nameToWire(TSIG_ALGORITHM), timing, fields.other]);
}

/**
 * Checks the TSIG that ends `wire` (decoded as `query`). The MAC covers the message as sent
 * without its TSIG record, with ARCOUNT one less and the original ID.
 */
export function verifyTsig(wire: Buffer, query: DnsMessage, key: TransferKey, now: number): TsigCheck | undefined {
  const record = query.additionals.at(-1);
  if (record?.type !== DNS_TYPE.TSIG) return undefined;
  const fields = parseTsigData(record.data);
  if (fields === undefined || fields.algorithm !== TSIG_ALGORITHM || lowerName(record.name) !== key.name) return { ok: false, error: TSIG_ERROR.BADKEY };
  // The record's own length: its owner name is written in full (RFC 8945 section 4.2).
  const start = wire.length - (nameToWire(record.name).length + 10 + record.data.length);
  if (start < 12) return { ok: false, error: TSIG_ERROR.BADSIG };
  const signed = Buffer.from(wire.subarray(0, start));
  signed.writeUInt16BE(fields.originalId, 0);
  signed.writeUInt16BE(signed.readUInt16BE(10) - 1, 10);
  const expected = createHmac('sha256', key.secret).update(signed).update(tsigVariables(key, fields)).digest();
  if (fields.mac.length !== expected.length || !timingSafeEqual(fields.mac, expected)) return { ok: false, error: TSIG_ERROR.BADSIG };
  if (Math.abs(now - fields.timeSigned) > fields.fudge) return { ok: false, error: TSIG_ERROR.BADTIME, requestMac: fields.mac };
  return { ok: true, requestMac: fields.mac };
}

/**
 * Appends a TSIG record signing `response` (already encoded) as the answer to `requestMac`.
 * A BADTIME answer carries the server's time as other data (RFC 8945 section 5.2.3).
 */
export function signResponse(response: Buffer, requestMac: Buffer, key: TransferKey, now: number, error = 0): Buffer {
  const other = Buffer.alloc(error === TSIG_ERROR.BADTIME ? 6 : 0);
  if (other.length > 0) other.writeUIntBE(now, 0, 6);
  const fields = { timeSigned: now, fudge: FUDGE, error, other };
  const macLength = Buffer.alloc(2);
  macLength.writeUInt16BE(requestMac.length);
  const mac = createHmac('sha256', key.secret).update(macLength).update(requestMac).update(response).update(tsigVariables(key, fields)).digest();
  const timing = Buffer.alloc(10);
  timing.writeUIntBE(now, 0, 6);
  timing.writeUInt16BE(FUDGE, 6);
  timing.writeUInt16BE(mac.length, 8);
  const trailer = Buffer.alloc(6);
  trailer.writeUInt16BE(response.readUInt16BE(0), 0); // original ID
  trailer.writeUInt16BE(error, 2);
  trailer.writeUInt16BE(other.length, 4);
  const rdata = Buffer.concat([nameToWire(TSIG_ALGORITHM), timing, mac, trailer, other]);
  const recordHead = Buffer.alloc(10);
  recordHead.writeUInt16BE(DNS_TYPE.TSIG, 0);
  recordHead.writeUInt16BE(CLASS_ANY, 2);
  recordHead.writeUInt16BE(rdata.length, 8); // TTL 0 before it
  const signed = Buffer.concat([response, nameToWire(key.name), recordHead, rdata]);
  signed.writeUInt16BE(response.readUInt16BE(10) + 1, 10);
  return signed;
}

/** The records of a zone transfer: the SOA, every other record, the SOA again. */
export function transferRecords(zone: Zone): DnsRecord[] {
  const records: DnsRecord[] = [];
  for (const set of zone.rrsets()) for (const data of set.datas) records.push({ name: set.name, type: set.type, class: DNS_CLASS_IN, ttl: set.ttl, data });
  records.push(records[0]!);
  return records;
}
