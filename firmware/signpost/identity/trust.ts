/**
 * What a paired device trusts, in secrets/signpost/trust.json (0600): its owner's public key,
 * its own certificate from that owner, and the owner's CA certificate. Pairing saves it;
 * before pairing there is none.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NymoteError, readFileIfExists, writeFileDurable } from '../../runtime/index.js';
import { deviceCertificateSignedBy, parseDeviceCertificate, type DeviceCertificate } from './certificate.js';
import { signpostSecrets } from './keys.js';
import { isBase64url } from './signed.js';

export interface TrustRecord {
  /** The owner's Ed25519 public key (raw). */
  owner: Uint8Array;
  /** This device's certificate, issued by that owner. */
  certificate: DeviceCertificate;
  /** The owner's CA certificate, PEM. */
  caCertificate: string;
}

export class Trust implements TrustRecord {
  private constructor(
    readonly owner: Uint8Array,
    readonly certificate: DeviceCertificate,
    readonly caCertificate: string,
  ) {}

  static file(secretsDir: string): string {
    return path.join(signpostSecrets(secretsDir), 'trust.json');
  }

  /** What this device trusts, or undefined before pairing. */
  static load(secretsDir: string): Trust | undefined {
    const file = Trust.file(secretsDir);
    const text = readFileIfExists(file);
    if (text === undefined) return undefined;
    try {
      const { v, owner, certificate, caCertificate } = JSON.parse(text) as Record<string, unknown>;
      if (v !== 1 || !isBase64url(owner, 32) || typeof caCertificate !== 'string') throw new Error('unexpected contents');
      return Trust.checked({ owner: Buffer.from(owner, 'base64url'), certificate: parseDeviceCertificate(JSON.stringify(certificate)), caCertificate });
    } catch (err) {
      throw new NymoteError('EBADTRUST', `${file} is damaged (${(err as Error).message.split('\n')[0]}); pair the device again`);
    }
  }

  /** Records what this device trusts (pairing); the certificate must be the owner's. */
  static save(secretsDir: string, record: TrustRecord): Trust {
    const trust = Trust.checked(record);
    const file = Trust.file(secretsDir);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const json = { v: 1, owner: Buffer.from(trust.owner).toString('base64url'), certificate: trust.certificate, caCertificate: trust.caCertificate };
    writeFileDurable(file, `${JSON.stringify(json, null, 2)}\n`, 0o600);
    return trust;
  }

  private static checked(record: TrustRecord): Trust {
    if (!deviceCertificateSignedBy(record.certificate, record.owner)) throw new NymoteError('EBADTRUST', "the device certificate is not the owner's");
    try {
      new crypto.X509Certificate(record.caCertificate);
    } catch {
      throw new NymoteError('EBADTRUST', 'the CA certificate is not an X.509 certificate');
    }
    return new Trust(record.owner, record.certificate, record.caCertificate);
  }
}
