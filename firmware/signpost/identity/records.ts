/**
 * The owner's records of their devices, in the owner's store (synced to every device):
 * signpost/devices/<id>.json, the certificates, and signpost/revoked/<serial>.json, the
 * revocations. Anyone who can write the store could add files there, so only what the owner's
 * key signed counts.
 */
import type { Branch } from '../../store/index.js';
import { deviceCertificateSignedBy, isKeyId, isSerial, parseDeviceCertificate, type DeviceCertificate } from './certificate.js';
import { parseRevocation, verifyRevocation, type Revocation } from './revocation.js';

export const DEVICES_DIR = 'signpost/devices';
export const REVOCATIONS_DIR = 'signpost/revoked';

export function deviceCertificatePath(id: string): string {
  return `${DEVICES_DIR}/${id}.json`;
}

export function revocationPath(serial: string): string {
  return `${REVOCATIONS_DIR}/${serial}.json`;
}

export class OwnerRecords {
  constructor(
    private readonly branch: Pick<Branch, 'get' | 'list'>,
    /** The owner's Ed25519 public key (raw). */
    private readonly owner: Uint8Array,
  ) {}

  /** The owner's revocation of the certificate with this serial, if there is one. */
  revocation(serial: string): Revocation | undefined {
    if (!isSerial(serial)) return undefined;
    const entry = this.read(revocationPath(serial), parseRevocation);
    return entry !== undefined && entry.serial === serial && verifyRevocation(entry, this.owner) ? entry : undefined;
  }

  isRevoked(serial: string): boolean {
    return this.revocation(serial) !== undefined;
  }

  /** The certificate of device `id` if the owner signed it (valid or not: expiry is the caller's to judge). */
  device(id: string): DeviceCertificate | undefined {
    if (!isKeyId(id)) return undefined;
    const cert = this.read(deviceCertificatePath(id), parseDeviceCertificate);
    return cert !== undefined && cert.id === id && deviceCertificateSignedBy(cert, this.owner) ? cert : undefined;
  }

  /** Every device certificate the owner signed, by id. */
  devices(): DeviceCertificate[] {
    return this.branch
      .list(DEVICES_DIR)
      .flatMap((entry) => (entry.kind === 'file' && entry.name.endsWith('.json') ? [this.device(entry.name.slice(0, -'.json'.length))] : []))
      .filter((cert): cert is DeviceCertificate => cert !== undefined)
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  private read<T>(path: string, parse: (bytes: Uint8Array) => T): T | undefined {
    const bytes = this.branch.get(path);
    if (bytes === undefined) return undefined;
    try {
      return parse(bytes);
    } catch {
      return undefined; // not a document: it counts for nothing
    }
  }
}
