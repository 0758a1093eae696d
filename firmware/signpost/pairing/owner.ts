/**
 * The owner's side of pairing (`nymote pair HOST[:PORT]` on the laptop that holds the owner
 * key): connect to the device, show the code, and once both people said yes, certify the
 * device and issue its TLS certificate.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import { NymoteError } from '../../runtime/index.js';
import { formatDeviceCertificate, issueDeviceCertificate, type DeviceCertificate } from '../identity/certificate.js';
import { certifiableServerKey, type OwnerCa } from '../identity/ca.js';
import { verifyEd25519, type DeviceKeys, type OwnerKey } from '../identity/keys.js';
import { FramedConnection } from './framing.js';
import { PERSON_TIMEOUT_MS, STEP_TIMEOUT_MS, ownerHandshake, parseRequest, proofMessage, receiveJson, sealRecord, type PairingGrant, type PairingPerson } from './protocol.js';

export interface OwnerSide {
  host: string;
  port: number;
  owner: OwnerKey;
  ca: OwnerCa;
  /** This computer's own device keys: its static key in the handshake. */
  keys: DeviceKeys;
  /** The owner's devices the new one should know about (this computer's among them). */
  devices: readonly DeviceCertificate[];
  person: PairingPerson;
  /** Validity of the device's certificates (365 days; the TLS one at most 397, what browsers take). */
  days?: number;
  now?: () => Date;
}

const CONNECT_TIMEOUT_MS = 10_000;
const DEVICE_CERTIFICATE_DAYS = 365;
const TLS_CERTIFICATE_DAYS = 397;

/** Pairs with the device at host:port; resolves with its new certificate. */
export async function pairWithDevice(side: OwnerSide): Promise<DeviceCertificate> {
  const connection = new FramedConnection(await connect(side.host, side.port));
  try {
    const handshake = await ownerHandshake(connection, { privateKey: side.keys.dhPrivate, publicKey: side.keys.dhPublic });
    side.person.say(`Code: ${handshake.code}`);
    // The device's answer may come first: the connection keeps it until it is read.
    if (!(await side.person.confirm('Does the device show the same code? [y/N] '))) {
      connection.send(sealRecord(handshake.send, { confirmed: false }));
      throw new NymoteError('EPAIR', 'pairing cancelled: the codes were not confirmed here');
    }
    const message = await receiveJson(connection, handshake.receive, PERSON_TIMEOUT_MS, 'the device');
    if (message.confirmed !== true) throw new NymoteError('EPAIR', 'pairing cancelled on the device');
    const request = parseRequest(message);
    const signPublic = Buffer.from(request.sign, 'base64url');
    if (signPublic.length !== 32 || !verifyEd25519(signPublic, proofMessage(handshake.handshakeHash), Buffer.from(request.proof, 'base64url'))) {
      throw new NymoteError('EPAIR', 'the device did not prove it holds its signing key: pairing stopped');
    }
    const now = side.now?.() ?? new Date();
    const days = side.days ?? DEVICE_CERTIFICATE_DAYS;
    const certificate = issueDeviceCertificate(side.owner, { device: request.device, signPublic, dhPublic: handshake.remoteStatic, services: request.services }, { now, days });
    const tls = side.ca.issueServerCertificate({ publicKey: tlsPublicKey(request.tlsKey), names: { dns: request.dns, ips: request.ips }, now, days: Math.min(days, TLS_CERTIFICATE_DAYS) });
    const grant: PairingGrant = {
      certificate: formatDeviceCertificate(certificate),
      owner: Buffer.from(side.owner.publicKey).toString('base64url'),
      ca: side.ca.certificate,
      caBinding: side.ca.binding,
      tls,
      devices: side.devices.filter((d) => d.id !== certificate.id).map(formatDeviceCertificate),
    };
    connection.send(sealRecord(handshake.send, { confirmed: true, ...grant }));
    const done = await receiveJson(connection, handshake.receive, STEP_TIMEOUT_MS, 'the device');
    if (done.done !== true) throw new NymoteError('EPAIR', `the device refused the certificate: ${typeof done.reason === 'string' ? done.reason.slice(0, 200) : 'no reason given'}`);
    return certificate;
  } finally {
    connection.close();
  }
}

function tlsPublicKey(pem: string): crypto.KeyObject {
  const key = certifiableServerKey(pem);
  if (key === undefined) throw new NymoteError('EPAIR', "the device's TLS key is not a public key this CA certifies");
  return key;
}

function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, timeout: CONNECT_TIMEOUT_MS });
    const fail = (reason: string) => {
      socket.destroy();
      reject(new NymoteError('EPAIR', `cannot reach a device waiting to pair at ${host}:${port} (${reason}); type 'pair' on its console first`));
    };
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('timeout', () => fail('timed out'));
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
  });
}
