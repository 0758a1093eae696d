/**
 * Renewal of a device's certificates before they expire, over the channel. A device whose
 * device certificate or TLS certificate has fewer than RENEW_BEFORE_DAYS left opens a
 * 'certificates' stream to the owner's devices that are up; the one holding the owner key
 * (the owner's laptop, where `nymote owner init` ran) answers with new ones. The request
 * carries only the TLS key and names: who asks is known from the channel's handshake, and the
 * new device certificate repeats what the owner certified before (name, keys, services).
 *
 *   device → owner's device   {tlsKey, dns, ips}            then end
 *   owner's device → device   {certificate, tls} | {error}  then end
 */
import crypto from 'node:crypto';
import type { Duplex } from 'node:stream';
import { NymoteError } from '../runtime/index.js';
import { OwnerCa, OwnerKey, certifiableServerKey, formatDeviceCertificate, isStringList, issueDeviceCertificate, type DeviceCertificate } from './identity/index.js';

export const RENEWAL_SERVICE = 'certificates';
const MAX_MESSAGE_BYTES = 16 * 1024;
const TIMEOUT_MS = 15_000;

export interface RenewalRequest {
  tlsKey: string;
  dns: string[];
  ips: string[];
}

export interface RenewalGrant {
  certificate: string;
  tls: string;
}

/** The owner's side: new certificates for `peer` (authenticated by the channel), if the owner key is here. */
export async function answerRenewal(stream: Duplex, peer: DeviceCertificate, secretsDir: string): Promise<DeviceCertificate | undefined> {
  try {
    const request = parseRequest(await readMessage(stream));
    const owner = OwnerKey.load(secretsDir);
    const ca = OwnerCa.load(secretsDir);
    if (owner === undefined || ca === undefined) {
      stream.end(JSON.stringify({ error: 'the owner key is not on this device' }));
      return undefined;
    }
    const certificate = issueDeviceCertificate(owner, {
      device: peer.device,
      signPublic: Buffer.from(peer.sign, 'base64url'),
      dhPublic: Buffer.from(peer.dh, 'base64url'),
      services: peer.services,
    });
    const tls = ca.issueServerCertificate({ publicKey: tlsPublicKey(request.tlsKey), names: { dns: request.dns, ips: request.ips } });
    stream.end(JSON.stringify({ certificate: formatDeviceCertificate(certificate), tls } satisfies RenewalGrant));
    return certificate;
  } catch (err) {
    stream.end(JSON.stringify({ error: (err as Error).message.slice(0, 200) }));
    return undefined;
  }
}

/** The device's side: asks over `stream`; the answer still has to be checked by the caller. */
export async function askRenewal(stream: Duplex, request: RenewalRequest): Promise<RenewalGrant> {
  stream.end(JSON.stringify(request));
  const answer = await readMessage(stream);
  if (typeof answer.error === 'string') throw new NymoteError('ERENEW', answer.error);
  if (typeof answer.certificate !== 'string' || typeof answer.tls !== 'string') throw new NymoteError('ERENEW', 'malformed renewal answer');
  return { certificate: answer.certificate, tls: answer.tls };
}

function parseRequest(message: Record<string, unknown>): RenewalRequest {
  if (typeof message.tlsKey !== 'string' || message.tlsKey.length > 1024 || !isStringList(message.dns, 16, 253) || !isStringList(message.ips, 16, 253)) {
    throw new NymoteError('ERENEW', 'malformed renewal request');
  }
  return { tlsKey: message.tlsKey, dns: message.dns as string[], ips: message.ips as string[] };
}

function tlsPublicKey(pem: string): crypto.KeyObject {
  const key = certifiableServerKey(pem);
  if (key === undefined) throw new NymoteError('ERENEW', 'the TLS key is not an EC public key');
  return key;
}

/** One JSON object, the whole of what the other side writes before it ends, bounded in size and time. */
function readMessage(stream: Duplex): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (err: Error) => {
      clearTimeout(timer);
      stream.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new NymoteError('ETIMEDOUT', 'no renewal answer in time')), TIMEOUT_MS);
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_MESSAGE_BYTES) return fail(new NymoteError('ERENEW', 'renewal message too large'));
      chunks.push(chunk);
    });
    stream.once('error', fail);
    stream.once('end', () => {
      clearTimeout(timer);
      try {
        const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
        resolve(value as Record<string, unknown>);
      } catch {
        reject(new NymoteError('ERENEW', 'malformed renewal message'));
      }
    });
  });
}
