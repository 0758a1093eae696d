/**
 * The device's side of pairing (`pair` on its console): listen on the channel's port number
 * over TCP for as long as the person waits, take the first connection whose handshake
 * succeeds, show the code, and
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
import { PERSON_TIMEOUT_MS, deviceHandshake, parseGrant, proofMessage, receiveJson, sealRecord, type CertificateRequest, type Handshaken, type PairingPerson } from './protocol.js';

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
  const listener = await PairingListener.open(side);
  try {
    // Until a handshake shows a code, a connection that fails (a port scan, garbage, someone
    // else's client) costs nothing: the device says so and keeps waiting for the owner.
    for (;;) {
      const socket = await listener.next();
      const connection = new FramedConnection(socket);
      let handshake: Handshaken;
      try {
        handshake = await deviceHandshake(connection, { privateKey: side.keys.dhPrivate, publicKey: side.keys.dhPublic });
      } catch (err) {
        connection.close();
        side.person.say(`a connection from ${socket.remoteAddress ?? 'somewhere'} was not a pairing (${(err as Error).message}); still waiting…`);
        continue;
      }
      try {
        return await finishPairing(connection, handshake, side, socket.remoteAddress ?? '');
      } finally {
        connection.close();
      }
    }
  } finally {
    listener.close();
  }
}

/** From the code on: the person's answer, the request, and the owner's grant checked. */
async function finishPairing(connection: FramedConnection, handshake: Handshaken, side: DeviceSide, ownerAddress: string): Promise<Paired> {
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
    paired = checkGrant(answer, side, ownerAddress);
  } catch (err) {
    connection.send(sealRecord(handshake.send, { done: false, reason: (err as Error).message }));
    throw err;
  }
  connection.send(sealRecord(handshake.send, { done: true }));
  return paired;
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

/**
 * The pairing port while the person waits: one connection at a time (others are turned away
 * while a handshake runs), until the wait ends or the person cancels.
 */
class PairingListener {
  private readonly waiting: net.Socket[] = [];
  private wake: (() => void) | undefined;
  private ended: Error | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly cancel = () => this.end(new NymoteError('ECANCELED', 'pairing cancelled'));

  private constructor(
    private readonly server: net.Server,
    private readonly side: DeviceSide,
  ) {
    const waitMs = side.waitMs ?? PAIRING_WAIT_MS;
    this.timer = setTimeout(() => this.end(new NymoteError('ETIMEDOUT', `nobody paired within ${Math.round(waitMs / 60_000)} minutes`)), waitMs);
    side.signal.addEventListener('abort', this.cancel, { once: true });
    server.on('connection', (socket) => {
      if (this.waiting.length > 0) return void socket.destroy();
      this.waiting.push(socket);
      this.wake?.();
    });
  }

  static open(side: DeviceSide): Promise<PairingListener> {
    const server = net.createServer();
    server.maxConnections = 1;
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(bindError(err, 'pairing', side.listen, side.port)));
      server.listen(side.port, side.listen, () => resolve(new PairingListener(server, side)));
    });
  }

  /** The next connection; rejects when the wait is over. */
  async next(): Promise<net.Socket> {
    for (;;) {
      if (this.ended !== undefined) throw this.ended;
      const socket = this.waiting.shift();
      if (socket !== undefined) return socket;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  close(): void {
    this.end(new NymoteError('ECANCELED', 'pairing ended'));
  }

  private end(reason: Error): void {
    if (this.ended !== undefined) return;
    this.ended = reason;
    clearTimeout(this.timer);
    this.side.signal.removeEventListener('abort', this.cancel);
    this.server.close();
    for (const socket of this.waiting.splice(0)) socket.destroy();
    this.wake?.();
  }
}
