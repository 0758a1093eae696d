/**
 * The owner's small CA, for TLS clients (browsers, curl, Thunderbird, Apple Mail): they take
 * neither Ed25519 chains nor our JSON certificates, so the CA has an ECDSA P-256 key of its own
 * (secrets/signpost/ca.key, 0600) and a self-signed certificate (ca.pem: 10 years, CA with
 * path length 0). The owner's Ed25519 key binds it by signing the certificate's SHA-256
 * fingerprint (ca.binding), so a device can check that the CA it is handed at pairing is its
 * owner's. It issues the devices' TLS server certificates.
 */
import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TlsNames } from '../../http/tls.js';
import { NymoteError, writeFileDurable } from '../../runtime/index.js';
import { keyId, signpostSecrets, verifyEd25519, type Signer } from './keys.js';
import { isBase64url } from './signed.js';
import { buildCaCertificate, buildServerCertificate, newCertificateKey } from './x509.js';

const DAY_MS = 86_400_000;
/** Certificates (TLS and device) are renewed when fewer days than this remain. */
export const RENEW_BEFORE_DAYS = 30;
const CA_DAYS = 3650;
const BINDING_PREFIX = 'nymote owner ca v1\n';

export interface ServerCertificateRequest {
  /** The server's public key: SPKI PEM or a KeyObject (a private key's PEM or KeyObject does too). */
  publicKey: string | KeyObject;
  names: TlsNames;
  /** Validity (397 days, the longest browsers accept). */
  days?: number;
  now?: Date;
}

export class OwnerCa {
  /** The CA certificate, PEM: what clients are given to trust (`curl --cacert`). */
  readonly certificate: string;
  /** SHA-256 of the certificate, as openssl and browsers show it (AA:BB:…). */
  readonly fingerprint256: string;
  /** The owner's signature binding the CA to the owner's key (base64url). */
  readonly binding: string;
  private readonly x509: crypto.X509Certificate;

  private constructor(
    private readonly privateKey: KeyObject,
    certificate: string,
    binding: string,
  ) {
    this.certificate = certificate;
    this.x509 = new crypto.X509Certificate(certificate);
    this.fingerprint256 = this.x509.fingerprint256;
    this.binding = binding;
  }

  static files(secretsDir: string): { key: string; certificate: string; binding: string } {
    const dir = signpostSecrets(secretsDir);
    return { key: path.join(dir, 'ca.key'), certificate: path.join(dir, 'ca.pem'), binding: path.join(dir, 'ca.binding') };
  }

  /** Makes the owner's CA (over any left by an interrupted `owner init`). */
  static create(secretsDir: string, owner: Signer, options: { now?: Date } = {}): OwnerCa {
    const files = OwnerCa.files(secretsDir);
    const privateKey = newCertificateKey();
    const certificate = buildCaCertificate(privateKey, `Nymote owner CA ${keyId(owner.publicKey)}`, { now: options.now ?? new Date(), days: CA_DAYS });
    const binding = caBinding(owner, certificate);
    fs.mkdirSync(path.dirname(files.key), { recursive: true, mode: 0o700 });
    // The certificate last: its presence is what says a CA exists.
    writeFileDurable(files.key, privateKey.export({ type: 'pkcs8', format: 'pem' }), 0o600);
    writeFileDurable(files.binding, `${binding}\n`, 0o644);
    writeFileDurable(files.certificate, certificate, 0o644);
    return new OwnerCa(privateKey, certificate, binding);
  }

  /** The CA, or undefined where there is none. */
  static load(secretsDir: string): OwnerCa | undefined {
    const files = OwnerCa.files(secretsDir);
    if (!fs.existsSync(files.certificate)) return undefined;
    try {
      const privateKey = crypto.createPrivateKey(fs.readFileSync(files.key));
      const certificate = fs.readFileSync(files.certificate, 'utf8');
      const binding = fs.readFileSync(files.binding, 'utf8').trim();
      const ca = new OwnerCa(privateKey, certificate, binding);
      if (!ca.x509.checkPrivateKey(privateKey) || !isBase64url(binding, 64)) throw new Error('the files do not belong together');
      return ca;
    } catch (err) {
      throw new NymoteError('EBADKEY', `the owner CA in ${path.dirname(files.key)} is damaged (${(err as Error).message.split('\n')[0]}); restore it from a backup`);
    }
  }

  /** A TLS server certificate (PEM) for `names`, issued by this CA. */
  issueServerCertificate(request: ServerCertificateRequest): string {
    const given = request.publicKey;
    const publicKey = typeof given === 'string' || given.type === 'private' ? crypto.createPublicKey(given) : given;
    const validity = { now: request.now ?? new Date(), days: request.days ?? 397 };
    return buildServerCertificate(publicKey, request.names, validity, { privateKey: this.privateKey, certificate: this.certificate });
  }
}

/**
 * Whether a server certificate is due for a new one from the owner's CA: true unless it is
 * issued by `caCertificate` and has more than `beforeDays` left. A device checks its own with
 * the CA certificate it got at pairing; the owner's side has the CA itself.
 */
export function tlsCertificateDue(certificate: string, caCertificate: string, now = new Date(), beforeDays = RENEW_BEFORE_DAYS): boolean {
  let x509: crypto.X509Certificate;
  let ca: crypto.X509Certificate;
  try {
    x509 = new crypto.X509Certificate(certificate);
    ca = new crypto.X509Certificate(caCertificate);
  } catch {
    return true;
  }
  if (!x509.checkIssued(ca) || !x509.verify(ca.publicKey)) return true;
  return Date.parse(x509.validTo) - now.getTime() < beforeDays * DAY_MS;
}

/**
 * A device's TLS public key (SPKI PEM) if it is one the CA certifies: an EC key, as
 * TlsCredentials makes them (P-256); undefined for anything else, garbage included.
 */
export function certifiableServerKey(pem: string): crypto.KeyObject | undefined {
  try {
    const key = crypto.createPublicKey(pem);
    return key.asymmetricKeyType === 'ec' ? key : undefined;
  } catch {
    return undefined;
  }
}

/** The owner's signature over the CA certificate's SHA-256 fingerprint (base64url). */
export function caBinding(owner: Signer, caCertificate: string): string {
  return Buffer.from(owner.sign(bindingMessage(caCertificate))).toString('base64url');
}

/** True when `binding` is the owner's signature binding this CA certificate. */
export function verifyCaBinding(caCertificate: string, binding: string, ownerPublic: Uint8Array): boolean {
  if (!isBase64url(binding, 64)) return false;
  try {
    return verifyEd25519(ownerPublic, bindingMessage(caCertificate), Buffer.from(binding, 'base64url'));
  } catch {
    return false; // not a certificate
  }
}

function bindingMessage(caCertificate: string): Buffer {
  const fingerprint = crypto.createHash('sha256').update(new crypto.X509Certificate(caCertificate).raw).digest();
  return Buffer.concat([Buffer.from(BINDING_PREFIX), fingerprint]);
}
