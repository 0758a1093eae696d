/**
 * Signpost identity: who the owner's devices are. The owner's Ed25519 key (on a laptop, made
 * by `nymote owner init`) certifies each device's Ed25519 signing key and X25519 channel key
 * in a small signed certificate; a revocation is a signed entry in the owner's store. For TLS
 * clients, the owner's CA (ECDSA P-256, bound to the owner's key) issues the devices' server
 * certificates. Private keys live in secrets/signpost/, never in the store.
 */
export { DeviceKeys, OwnerKey, SigningKey, keyId, verifyEd25519, type Signer } from './keys.js';
export {
  deviceCertificateSignedBy,
  formatDeviceCertificate,
  issueDeviceCertificate,
  parseDeviceCertificate,
  verifyDeviceCertificate,
  type DeviceCertificate,
  type DeviceCertificateFields,
  type DeviceCertificateRequest,
  type Verdict,
  type VerifyOptions,
} from './certificate.js';
export { formatRevocation, parseRevocation, revokeDevice, verifyRevocation, type Revocation, type RevocationFields } from './revocation.js';
export { DEVICES_DIR, REVOCATIONS_DIR, OwnerRecords, deviceCertificatePath, revocationPath } from './records.js';
export {
  MAX_SIGNED_DOCUMENT_BYTES,
  formatDocument,
  isBase64url,
  isHex,
  isInstant,
  isLine,
  isStringList,
  parseDocument,
  signDocument,
  signatureValid,
  type DocumentKind,
  type Signed,
} from './signed.js';
export { Trust, type TrustRecord } from './trust.js';
export { OwnerCa, RENEW_BEFORE_DAYS, caBinding, certifiableServerKey, tlsCertificateDue, verifyCaBinding, type ServerCertificateRequest } from './ca.js';
export { buildCaCertificate, buildServerCertificate, newCertificateKey, type CertificateIssuer, type CertificateValidity } from './x509.js';
