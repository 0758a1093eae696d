/**
 * The device's side of pairing (`pair` on its console): listen on the channel's port number
 * over TCP for as long as the person waits, take one owner's connection, show the code, and
 * once the person said yes, send the certificate request and check what the owner grants:
 * a certificate for exactly this device's keys, signed by the owner key that also signed the
 * CA binding, and a TLS certificate from that CA for this device's TLS key.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import { NymoteError, bindError } from '../../runtime/index.js';
import { verifyCaBinding } from '../identity/ca.js';
import { deviceCertificateSignedBy, parseDeviceCertificate, type DeviceCertificate } from '../identity/certificate.js';
import type { DeviceKeys } from '../identity/keys.js';
import { FramedConnection } from './framing.js';
import { PERSON_TIMEOUT_MS, deviceHandshake, parseGrant, proofMessage, receiveJson, sealRecord, type CertificateRequest, type PairingPerson } from './protocol.js';

export interface DeviceSide {
  listen: string;
  port: number;
  keys: DeviceKeys;
  /** What to ask the owner to certify (the proof is added here). */
  request: Omit<CertificateRequest, 'sign' | 'proof'>;
  person: PairingPerson;
  /** Ends the wait (Ctrl-C on the console). */
  signal: AbortSignal;
  waitMs?: number;
}

/** What pairing gave this device: all checked, ready to be kept. */
export interface Paired {
  owner: Buffer;
  certificate: DeviceCertificate;
  caCertificate: string;
  tlsCertificate: string;
  /** The owner's other devices, each checked to be signed by the owner. */
  devices: DeviceCertificate[];
  /** Where the owner's computer connected from. */
  ownerAddress: string;
}

export const PAIRING_WAIT_MS = 5 * 60_000;

export async function pairAsDevice(side: DeviceSide): Promise<Paired> {
  const socket = await acceptOne(side);
  const connection = new FramedConnection(socket);
  try {
    const handshake = await deviceHandshake(connection, { privateKey: side.keys.dhPrivate, publicKey: side.keys.dhPublic });
    side.person.say(`Code: ${handshake.code}`);
    if (!(await side.person.confirm("Does the owner's computer show the same code? [y/N] "))) {
      connection.send(sealRecord(handshake.send, { confirmed: false }));
      throw new NymoteError('EPAIR', 'pairing cancelled: the codes were not confirmed here');
    }
    const proof = Buffer.from(side.keys.sign(proofMessage(handshake.handshakeHash))).toString('base64url');
    const request: CertificateRequest = { ...side.request, sign: Buffer.from(side.keys.signPublic).toString('base64url'), proof };
    connection.send(sealRecord(handshake.send, { confirmed: true, request }));
    side.person.say("waiting for the owner's computer to confirm…");
    const answer = await receiveJson(connection, handshake.receive, PERSON_TIMEOUT_MS, 'the owner');
    if (answer.confirmed !== true) throw new NymoteError('EPAIR', "pairing cancelled on the owner's computer");
    let paired: Paired;
    try {
      paired = checkGrant(answer, side, socket.remoteAddress ?? '');
    } catch (err) {
      connection.send(sealRecord(handshake.send, { done: false, reason: (err as Error).message }));
      throw err;
    }
    connection.send(sealRecord(handshake.send, { done: true }));
    return paired;
  } finally {
    connection.close();
  }
}

function checkGrant(message: Record<string, unknown>, side: DeviceSide, ownerAddress: string): Paired {
  const grant = parseGrant(message);
  const owner = Buffer.from(grant.owner, 'base64url');
  const refuse = (why: string) => new NymoteError('EPAIR', `the owner's answer was refused: ${why}`);
  if (owner.length !== 32) throw refuse('no owner key');
  const certificate = parse(grant.certificate, refuse);
  if (!deviceCertificateSignedBy(certificate, owner)) throw refuse('the certificate is not signed by the owner');
  if (certificate.sign !== Buffer.from(side.keys.signPublic).toString('base64url') || certificate.dh !== Buffer.from(side.keys.dhPublic).toString('base64url')) {
    throw refuse("the certificate is not for this device's keys");
  }
  if (!verifyCaBinding(grant.ca, grant.caBinding, owner)) throw refuse('the CA is not bound to the owner key');
  const ca = new crypto.X509Certificate(grant.ca);
  let tls: crypto.X509Certificate;
  try {
    tls = new crypto.X509Certificate(grant.tls);
  } catch {
    throw refuse('the TLS certificate is not X.509');
  }
  if (!tls.verify(ca.publicKey)) throw refuse('the TLS certificate is not issued by the CA');
  if (!tls.publicKey.equals(crypto.createPublicKey(side.request.tlsKey))) throw refuse("the TLS certificate is not for this device's TLS key");
  const devices = grant.devices.map((text) => parse(text, refuse)).filter((d) => deviceCertificateSignedBy(d, owner));
  return { owner, certificate, caCertificate: grant.ca, tlsCertificate: grant.tls, devices, ownerAddress };
}

function parse(text: string, refuse: (why: string) => Error): DeviceCertificate {
  try {
    return parseDeviceCertificate(text);
  } catch (err) {
    throw refuse((err as Error).message);
  }
}

/** Listens until one connection arrives, the wait ends, or the person cancels; then stops listening. */
function acceptOne(side: DeviceSide): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.maxConnections = 1;
    const finish = (outcome: () => void) => {
      clearTimeout(timer);
      side.signal.removeEventListener('abort', cancel);
      server.close();
      outcome();
    };
    const cancel = () => finish(() => reject(new NymoteError('ECANCELED', 'pairing cancelled')));
    const timer = setTimeout(
      () => finish(() => reject(new NymoteError('ETIMEDOUT', `nobody paired within ${Math.round((side.waitMs ?? PAIRING_WAIT_MS) / 60_000)} minutes`))),
      side.waitMs ?? PAIRING_WAIT_MS,
    );
    side.signal.addEventListener('abort', cancel, { once: true });
    server.once('connection', (socket) => finish(() => resolve(socket)));
    server.once('error', (err: NodeJS.ErrnoException) => finish(() => reject(bindError(err, 'pairing', side.listen, side.port))));
    server.listen(side.port, side.listen);
  });
}
