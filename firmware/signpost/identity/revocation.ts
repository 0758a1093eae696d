/**
 * Revocations: the owner's signed statement that a device certificate (by serial) no longer
 * holds. Kept in the owner's store, which syncs to every device, so each learns of it.
 */
import { isKeyId, isSerial, type DeviceCertificate } from './certificate.js';
import type { Signer } from './keys.js';
import { formatDocument, isInstant, isLine, parseDocument, signDocument, signatureValid, type DocumentKind, type Signed } from './signed.js';

export interface RevocationFields {
  v: 1;
  /** The revoked certificate's serial. */
  serial: string;
  /** The revoked device's id. */
  device: string;
  /** When it was revoked. */
  revoked: string;
  reason: string;
}

export type Revocation = Signed<RevocationFields>;

const REVOCATION: DocumentKind<RevocationFields> = {
  name: 'revocation',
  prefix: 'nymote revocation v1\n',
  fields: {
    v: (value) => value === 1,
    serial: isSerial,
    device: isKeyId,
    revoked: isInstant,
    reason: (value) => isLine(value, 200),
  },
};

export function revokeDevice(owner: Signer, cert: DeviceCertificate, reason: string, now = new Date()): Revocation {
  return signDocument(REVOCATION, { v: 1, serial: cert.serial, device: cert.id, revoked: now.toISOString(), reason }, owner);
}

/** A revocation from its JSON text (at most 4 KiB); NymoteError EBADDOC if it is not one. */
export function parseRevocation(text: string | Uint8Array): Revocation {
  return parseDocument(REVOCATION, text);
}

export function formatRevocation(entry: Revocation): string {
  return formatDocument(REVOCATION, entry);
}

/** True when the owner with this public key signed `entry`. */
export function verifyRevocation(entry: Revocation, ownerPublic: Uint8Array): boolean {
  return signatureValid(REVOCATION, entry, ownerPublic);
}
