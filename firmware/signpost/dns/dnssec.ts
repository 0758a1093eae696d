/**
 * DNSSEC for the zone, signed online (RFC 4033-4035) with Ed25519, algorithm 15 (RFC 8080):
 * one combined key (flags 257, SEP) kept in secrets/dns/zone.key. RRSIGs are made when an
 * RRset is first asked for and kept until half their validity is gone. Denial of existence
 * uses NSEC with minimal ranges ("white lies", RFC 4470): each NSEC covers only the name
 * asked for, so the zone cannot be walked.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { DNS_CLASS_IN, DNS_TYPE } from '../../native.js';
import { writeFileDurable } from '../../runtime/index.js';

export const ALGORITHM_ED25519 = 15;
const DNSKEY_FLAGS_SEP = 257; // zone key + secure entry point
const SIGNATURE_VALIDITY_SECONDS = 14 * 86400;
/** Signatures start an hour back, for validators whose clocks run behind. */
const INCEPTION_SKEW_SECONDS = 3600;

export class ZoneKey {
  readonly dnskey: Buffer;
  readonly keyTag: number;

  constructor(private readonly privateKey: KeyObject) {
    const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
    const publicKey = Buffer.from(jwk.x!, 'base64url');
    this.dnskey = Buffer.concat([Buffer.from([DNSKEY_FLAGS_SEP >> 8, DNSKEY_FLAGS_SEP & 0xff, 3, ALGORITHM_ED25519]), publicKey]);
    this.keyTag = keyTag(this.dnskey);
  }

  /** The zone's key from `file`, made from the kernel's RNG (0600) when there is none yet. */
  static loadOrCreate(file: string): ZoneKey {
    if (!fs.existsSync(file)) {
      const { privateKey } = generateKeyPairSync('ed25519');
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      writeFileDurable(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), 0o600);
    }
    return new ZoneKey(createPrivateKey(fs.readFileSync(file)));
  }

  /** The DS record's RDATA for the parent zone (SHA-256, digest type 2). */
  ds(zoneWire: Buffer): Buffer {
    const digest = createHash('sha256').update(zoneWire).update(this.dnskey).digest();
    return Buffer.concat([u16(this.keyTag), Buffer.from([ALGORITHM_ED25519, 2]), digest]);
  }

  /**
   * RRSIG RDATA over one RRset (RFC 4034 section 3.1.8.1). `owner` and names inside `datas`
   * must already be in canonical (lower-case, uncompressed) form. Times are seconds since 1970.
   */
  signRRset(owner: Buffer, type: number, ttl: number, datas: readonly Uint8Array[], signer: Buffer, inception: number, expiration: number): Buffer {
    const head = Buffer.concat([u16(type), Buffer.from([ALGORITHM_ED25519, labelCount(owner)]), u32(ttl), u32(expiration >>> 0), u32(inception >>> 0), u16(this.keyTag), signer]);
    const prefix = Buffer.concat([owner, u16(type), u16(DNS_CLASS_IN), u32(ttl)]);
    const sorted = [...datas].sort((a, b) => Buffer.compare(a, b));
    const signed: Uint8Array[] = [head];
    let previous: Uint8Array | undefined;
    for (const data of sorted) {
      // Duplicate RRs count once in the canonical RRset.
      if (previous !== undefined && Buffer.compare(previous, data) === 0) continue;
      signed.push(prefix, u16(data.length), data);
      previous = data;
    }
    return Buffer.concat([head, sign(null, Buffer.concat(signed), this.privateKey)]);
  }
}

/** RFC 4034 appendix B. */
export function keyTag(dnskey: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < dnskey.length; i++) sum += i & 1 ? dnskey[i]! : dnskey[i]! << 8;
  sum += (sum >> 16) & 0xffff;
  return sum & 0xffff;
}

function labelCount(wire: Uint8Array): number {
  let count = 0;
  for (let at = 0; wire[at] !== 0; at += wire[at]! + 1) count++;
  return count;
}

/** NSEC RDATA: the next name and the type bitmap (RFC 4034 section 4.1.2). */
export function nsecRdata(next: Buffer, types: Iterable<number>): Buffer {
  const windows = new Map<number, number[]>();
  for (const type of new Set([...types, DNS_TYPE.RRSIG, DNS_TYPE.NSEC])) {
    const window = type >> 8;
    const bits = windows.get(window) ?? [];
    const low = type & 0xff;
    bits[low >> 3] = (bits[low >> 3] ?? 0) | (0x80 >> (low & 7));
    windows.set(window, bits);
  }
  const parts: Buffer[] = [next];
  for (const window of [...windows.keys()].sort((a, b) => a - b)) {
    const bits = windows.get(window)!;
    parts.push(Buffer.from([window, bits.length]), Buffer.from(Array.from(bits, (b) => b ?? 0)));
  }
  return Buffer.concat(parts);
}

const MAX_NAME = 255;
const MAX_LABEL = 63;

/**
 * The name right after `name` in canonical order: `\000.name` (RFC 4471 section 3.1.1), or
 * undefined when that would be over 255 bytes (the caller then uses a real neighbour).
 */
export function immediateSuccessor(name: Buffer): Buffer | undefined {
  return name.length + 2 > MAX_NAME ? undefined : Buffer.concat([Buffer.from([1, 0]), name]);
}

/**
 * The first name after `name` and everything under it: its first label with \000 appended.
 * An NSEC proving `name` does not exist must end there, not at `\000.name`, which would say
 * that `name` has descendants and so exists (validators read it as an empty non-terminal).
 */
export function successorAfterSubtree(name: Buffer): Buffer | undefined {
  const labelLength = name[0]!;
  if (labelLength === MAX_LABEL || name.length + 1 > MAX_NAME) return undefined;
  return Buffer.concat([Buffer.from([labelLength + 1]), name.subarray(1, 1 + labelLength), Buffer.from([0]), name.subarray(1 + labelLength)]);
}

/**
 * An NSEC owner name just before `name` in canonical order. The short candidate decrements
 * the last byte of the first label (upper case skipped, it sorts as lower case): "missinf"
 * for "missing". The range it opens must hold no existing name, which `isEmptyBefore(owner)`
 * checks against the zone; if it does, the exact predecessor of RFC 4471 section 3.1.2 is
 * used (up to 255 bytes long, so only then). `name` is lower-case wire form with a label
 * under the zone; undefined when neither fits (the caller uses a real neighbour).
 */
export function predecessorOwner(name: Buffer, isEmptyBefore: (owner: Buffer) => boolean): Buffer | undefined {
  const labelLength = name[0]!;
  const last = name[labelLength]!;
  if (last === 0) {
    // "\000" is the smallest label: right before "x\000.parent" is the last descendant of
    // "x.parent"; right before "\000.parent" is the parent itself, an existing name.
    if (labelLength === 1) return undefined;
    return fillWithLastDescendant(Buffer.concat([Buffer.from([labelLength - 1]), name.subarray(1, labelLength), name.subarray(labelLength + 1)]));
  }
  let decremented = last - 1;
  if (decremented >= 0x41 && decremented <= 0x5a) decremented = 0x40;
  const short = Buffer.from(name);
  short[labelLength] = decremented;
  if (isEmptyBefore(short)) return short;
  // Exact: the decremented label filled with \255 as far as it may grow, then its last descendant.
  const parent = name.subarray(labelLength + 1);
  const grownLength = Math.min(MAX_LABEL, MAX_NAME - parent.length - 1);
  const grown = Buffer.alloc(1 + grownLength, 0xff);
  grown[0] = grownLength;
  short.copy(grown, 1, 1, labelLength + 1);
  return fillWithLastDescendant(Buffer.concat([grown, parent]));
}

/** The greatest name under `base`: labels of \255 prepended while the name fits. */
function fillWithLastDescendant(base: Buffer): Buffer {
  const labels: Buffer[] = [];
  let length = base.length;
  while (length + 2 <= MAX_NAME) {
    const size = Math.min(MAX_LABEL, MAX_NAME - length - 1);
    labels.unshift(Buffer.concat([Buffer.from([size]), Buffer.alloc(size, 0xff)]));
    length += size + 1;
  }
  return Buffer.concat([...labels, base]);
}

function u16(value: number): Buffer {
  return Buffer.from([value >> 8, value & 0xff]);
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out;
}

/** Signatures for one zone's RRsets, made when first needed and renewed at half-life. */
export class ZoneSigner {
  /** Signatures of synthesised sets (NSEC white lies), bounded: they are per query name. */
  private readonly synthesised = new Map<string, { rdata: Buffer; expires: number }>();

  constructor(
    readonly key: ZoneKey,
    private readonly signer: Buffer,
    private readonly maxSynthesised = 10_000,
  ) {}

  /** Signs for two weeks from an hour ago; renewed when half of that is gone. */
  private sign(owner: Buffer, type: number, ttl: number, datas: readonly Uint8Array[], now: number): { rdata: Buffer; expires: number } {
    const rdata = this.key.signRRset(owner, type, ttl, datas, this.signer, now - INCEPTION_SKEW_SECONDS, now + SIGNATURE_VALIDITY_SECONDS);
    return { rdata, expires: now + SIGNATURE_VALIDITY_SECONDS / 2 };
  }

  /** RRSIG RDATA over a set of the zone; kept on the set until half its validity is gone. */
  rrsig(set: { owner: Buffer; type: number; ttl: number; datas: readonly Uint8Array[]; signature?: { rdata: Buffer; expires: number } }, now: number): Buffer {
    if (set.signature === undefined || set.signature.expires <= now) set.signature = this.sign(set.owner, set.type, set.ttl, set.datas, now);
    return set.signature.rdata;
  }

  /** RRSIG RDATA over a one-record set made for an answer (an NSEC). */
  rrsigSynthesised(owner: Buffer, type: number, ttl: number, data: Buffer, now: number): Buffer {
    const cacheKey = `${owner.toString('latin1')}|${type}|${ttl}|${data.toString('latin1')}`;
    const cached = this.synthesised.get(cacheKey);
    if (cached !== undefined && cached.expires > now) return cached.rdata;
    const signature = this.sign(owner, type, ttl, [data], now);
    // Insertion order makes the first key the oldest: drop it when full.
    if (this.synthesised.size >= this.maxSynthesised) this.synthesised.delete(this.synthesised.keys().next().value!);
    this.synthesised.set(cacheKey, signature);
    return signature.rdata;
  }
}
