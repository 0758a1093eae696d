/**
 * Device certificates: the owner's statement that a device — its name, its Ed25519 signing key
 * and X25519 channel key, the services it offers — is one of the owner's, from notBefore to
 * notAfter. A small signed JSON document (see signed.ts), not X.509: devices check them
 * among themselves, and only TLS clients need X.509 (that is the CA's job, ca.ts).
 */
import crypto from 'node:crypto';
import { keyId, type Signer } from './keys.js';
import { formatDocument, isBase64url, isHex, isInstant, isLine, parseDocument, signDocument, signatureValid, type DocumentKind, type Signed } from './signed.js';

const DAY_MS = 86_400_000;
/** Certificates start a day back, for devices whose clocks run behind (no RTC). */
const BACKDATE_MS = DAY_MS;
const SERVICE = /^[a-z0-9][a-z0-9-]{0,31}$/;

export interface DeviceCertificateFields {
  v: 1;
  /** The device's name (its hostname). */
  device: string;
  /** keyId of the signing key. */
  id: string;
  /** The device's Ed25519 public key, base64url. */
  sign: string;
  /** The device's X25519 public key (the channel's static key), base64url. */
  dh: string;
  services: string[];
  /** 16 random bytes, hex: what a revocation names. */
  serial: string;
  notBefore: string;
  notAfter: string;
  /** The owner's Ed25519 public key, base64url. */
  owner: string;
}

export type DeviceCertificate = Signed<DeviceCertificateFields>;

/** What the owner certifies: a device's name, public keys and services. */
export interface DeviceCertificateRequest {
  device: string;
  signPublic: Uint8Array;
  dhPublic: Uint8Array;
  services: readonly string[];
}

export type Verdict = { ok: true } | { ok: false; reason: string };

export interface VerifyOptions {
  /** The owner's Ed25519 public key (raw). */
  owner: Uint8Array;
  now: Date;
  isRevoked(serial: string): boolean;
}

const CERTIFICATE: DocumentKind<DeviceCertificateFields> = {
  name: 'device certificate',
  prefix: 'nymote device certificate v1\n',
  fields: {
    v: (value) => value === 1,
    device: (value) => isLine(value, 63),
    id: isKeyId,
    sign: (value) => isBase64url(value, 32),
    dh: (value) => isBase64url(value, 32),
    services: (value) => Array.isArray(value) && value.length <= 32 && value.every((s) => typeof s === 'string' && SERVICE.test(s)),
    serial: isSerial,
    notBefore: isInstant,
    notAfter: isInstant,
    owner: (value) => isBase64url(value, 32),
  },
  consistent: (cert) => {
    if (cert.id !== keyId(Buffer.from(cert.sign, 'base64url'))) return 'id does not match the signing key';
    if (Date.parse(cert.notAfter) <= Date.parse(cert.notBefore)) return 'notAfter is not after notBefore';
    return undefined;
  },
};

/** A device id as keyId makes it: 16 base32 characters. */
export function isKeyId(value: unknown): value is string {
  return typeof value === 'string' && /^[a-z2-7]{16}$/.test(value);
}

export function isSerial(value: unknown): value is string {
  return isHex(value, 16);
}

/** The owner certifies a device for `days` (365). */
export function issueDeviceCertificate(owner: Signer, request: DeviceCertificateRequest, options: { now?: Date; days?: number } = {}): DeviceCertificate {
  const now = (options.now ?? new Date()).getTime();
  return signDocument(
    CERTIFICATE,
    {
      v: 1,
      device: request.device,
      id: keyId(request.signPublic),
      sign: Buffer.from(request.signPublic).toString('base64url'),
      dh: Buffer.from(request.dhPublic).toString('base64url'),
      services: [...request.services],
      serial: crypto.randomBytes(16).toString('hex'),
      notBefore: new Date(now - BACKDATE_MS).toISOString(),
      notAfter: new Date(now + (options.days ?? 365) * DAY_MS).toISOString(),
      owner: Buffer.from(owner.publicKey).toString('base64url'),
    },
    owner,
  );
}

/** A certificate from its JSON text (at most 4 KiB); NymoteError EBADDOC if it is not one. */
export function parseDeviceCertificate(text: string | Uint8Array): DeviceCertificate {
  return parseDocument(CERTIFICATE, text);
}

export function formatDeviceCertificate(cert: DeviceCertificate): string {
  return formatDocument(CERTIFICATE, cert);
}

/** True when the owner with this public key issued `cert`, whether or not it holds now. */
export function deviceCertificateSignedBy(cert: DeviceCertificate, owner: Uint8Array): boolean {
  return cert.owner === Buffer.from(owner).toString('base64url') && signatureValid(CERTIFICATE, cert, owner);
}

/** Whether `cert` holds now for this owner; if not, why, in a few words for a log line. */
export function verifyDeviceCertificate(cert: DeviceCertificate, options: VerifyOptions): Verdict {
  if (cert.owner !== Buffer.from(options.owner).toString('base64url')) return { ok: false, reason: 'wrong owner' };
  if (!signatureValid(CERTIFICATE, cert, options.owner)) return { ok: false, reason: 'bad signature' };
  if (options.isRevoked(cert.serial)) return { ok: false, reason: 'revoked' };
  const now = options.now.getTime();
  if (now < Date.parse(cert.notBefore)) return { ok: false, reason: `not yet valid (from ${cert.notBefore})` };
  if (now >= Date.parse(cert.notAfter)) return { ok: false, reason: `expired (${cert.notAfter})` };
  return { ok: true };
}
