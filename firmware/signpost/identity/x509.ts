/**
 * The one X.509 certificate builder of the firmware: typed structures of @peculiar/asn1-x509,
 * signed with node:crypto. Keys are ECDSA P-256 and signatures ECDSA with SHA-256, which every
 * TLS client takes (browsers, NSS and Apple clients refuse Ed25519 in a chain). Two kinds:
 * a TLS server certificate for a set of names, self-signed (an unpaired device) or issued by
 * the owner's CA, and the owner's CA certificate itself. node's X509Certificate reads them back.
 */
import crypto, { type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_serverAuth,
} from '@peculiar/asn1-x509';
import type { TlsNames } from '../../http/tls.js';

const DAY_MS = 86_400_000;
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const OID_COMMON_NAME = '2.5.4.3';
const OID_ORGANIZATION = '2.5.4.10';

/** When a certificate is made and for how many days it is valid. */
export interface CertificateValidity {
  now: Date;
  days: number;
}

/** Who signs: a private key, and its certificate unless the new certificate is self-signed. */
export interface CertificateIssuer {
  privateKey: KeyObject;
  /** The issuer's certificate (PEM); absent for a self-signed certificate. */
  certificate?: string;
}

/** A new ECDSA P-256 private key from the kernel's RNG, for a certificate. */
export function newCertificateKey(): KeyObject {
  return crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

/** A TLS server certificate (PEM) for `names`: serverAuth, the names as SANs, not a CA. */
export function buildServerCertificate(publicKey: KeyObject, names: TlsNames, validity: CertificateValidity, issuer: CertificateIssuer): string {
  const sans = [...names.dns.map((dNSName) => new GeneralName({ dNSName })), ...names.ips.map((iPAddress) => new GeneralName({ iPAddress }))];
  return build(distinguishedName(names.dns[0] ?? names.ips[0] ?? 'nymote'), publicKey, validity, issuer, [
    // An end-entity certificate (browsers refuse a CA certificate used as a server's).
    extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
    extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
    extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth])),
    extension(id_ce_subjectAltName, false, new SubjectAlternativeName(sans)),
  ]);
}

/** A self-signed CA certificate (PEM) that may sign server certificates only (path length 0). */
export function buildCaCertificate(privateKey: KeyObject, commonName: string, validity: CertificateValidity): string {
  return build(distinguishedName(commonName), crypto.createPublicKey(privateKey), validity, { privateKey }, [
    extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: true, pathLenConstraint: 0 })),
    extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)),
  ]);
}

function build(subject: Name, publicKey: KeyObject, validity: CertificateValidity, issuer: CertificateIssuer, extensions: Extension[]): string {
  if (issuer.privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('certificates are signed with ECDSA P-256 keys only');
  const subjectPublicKeyInfo = AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
  const issuerCertificate = issuer.certificate === undefined ? undefined : AsnConvert.parse(new crypto.X509Certificate(issuer.certificate).raw, Certificate).tbsCertificate;
  // The issuer's name is copied from its certificate, byte for byte, so that chains link up.
  const issuerName = issuerCertificate?.subject ?? subject;
  const issuerKeyId = keyIdentifier(issuerCertificate?.subjectPublicKeyInfo ?? subjectPublicKeyInfo);
  const serial = crypto.randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and exactly 16 bytes
  const signature = new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: toArrayBuffer(serial),
    signature,
    issuer: issuerName,
    // A little backdating tolerates clocks slightly behind (a board without an RTC).
    validity: new Validity({ notBefore: new Date(validity.now.getTime() - DAY_MS), notAfter: new Date(validity.now.getTime() + validity.days * DAY_MS) }),
    subject,
    subjectPublicKeyInfo,
    extensions: new Extensions([
      ...extensions,
      extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyIdentifier(subjectPublicKeyInfo))),
      extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(issuerKeyId) })),
    ]),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  // node:crypto signs ECDSA in DER (ECDSA-Sig-Value), as X.509 wants.
  const signatureValue = crypto.sign('sha256', tbsDer, issuer.privateKey);
  const certificate = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: signature, signatureValue: toArrayBuffer(signatureValue) });
  return toPem('CERTIFICATE', Buffer.from(AsnConvert.serialize(certificate)));
}

function distinguishedName(commonName: string): Name {
  return new Name([
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type: OID_ORGANIZATION, value: new AttributeValue({ utf8String: 'Nymote' }) })]),
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type: OID_COMMON_NAME, value: new AttributeValue({ utf8String: commonName }) })]),
  ]);
}

/** The key identifier of RFC 5280 4.2.1.2 (1): SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(publicKeyInfo: SubjectPublicKeyInfo): ArrayBuffer {
  return toArrayBuffer(crypto.createHash('sha1').update(new Uint8Array(publicKeyInfo.subjectPublicKey)).digest());
}

function extension(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
