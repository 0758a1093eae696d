/**
 * Pairing: the owner's computer (initiator, holding the owner key) and a device (responder,
 * its console showing `pair`) meet over one TCP connection and end with the device holding a
 * certificate signed by the owner, and the owner holding the device's. The handshake is
 * Noise_XX_25519_ChaChaPoly_SHA256: both sides learn each other's static channel key, neither
 * needs to know anything beforehand. What makes it safe is the person: both screens show a
 * six-digit code (code.ts) and nothing is issued or trusted until the person says the codes
 * match on both sides. No silent trust on first use.
 *
 *   owner                                         device
 *   XX1: e                                  →
 *                                           ←     XX2: e, ee, s, es   {commit}
 *   XX3: s, se   {nonce}                    →
 *                                           ←     T1 {nonce}                 both show the code
 *                                           ←     T2 {confirmed, request}    the person said yes here
 *   the person says yes here
 *   T3 {confirmed, certificate, ca, …}      →
 *                                           ←     T4 {done}
 *
 * T messages travel in the transport ciphers that XX's split gives. The request carries the
 * device's Ed25519 key with a signature over the handshake hash (proof that the device holds
 * it), its name, services, TLS public key and names. A "no" on either side sends
 * {confirmed: false} and both stop.
 */
import { NymoteError } from '../../runtime/index.js';
import { HandshakeState, NoiseError, type CipherState } from '../channel/index.js';
import { isStringList } from '../identity/signed.js';
import { commitToNonce, commitmentHolds, newPairingNonce, pairingCode, PAIRING_NONCE_BYTES } from './code.js';
import type { FramedConnection } from './framing.js';

export const PAIRING_PROTOCOL = 'Noise_XX_25519_ChaChaPoly_SHA256';
const PROLOGUE = Buffer.from('nymote pairing v1');
/** How long each side waits for the next protocol message (the person is not involved). */
export const STEP_TIMEOUT_MS = 15_000;
/** How long a side waits for the other person to compare the codes and answer. */
export const PERSON_TIMEOUT_MS = 5 * 60_000;
const PROOF_LABEL = 'nymote pairing proof v1\n';

/** What the device asks the owner to certify. */
export interface CertificateRequest {
  device: string;
  /** Ed25519 public key, base64url. */
  sign: string;
  services: string[];
  /** The device's TLS key (SPKI, PEM) and the names its certificate must cover. */
  tlsKey: string;
  dns: string[];
  ips: string[];
  /** Ed25519 signature over PROOF_LABEL ‖ handshake hash, base64url. */
  proof: string;
}

/** What the owner sends back once both people said yes. */
export interface PairingGrant {
  /** The device certificate, as its JSON text. */
  certificate: string;
  /** The owner's Ed25519 public key, base64url. */
  owner: string;
  ca: string;
  caBinding: string;
  /** The device's TLS certificate (PEM), issued by the owner's CA. */
  tls: string;
  /** Certificates of the owner's other devices (JSON texts), so the device can reach them. */
  devices: string[];
}

/** How a side talks to its person: show lines, ask yes/no. */
export interface PairingPerson {
  say(line: string): void;
  /** Resolves true only for an explicit yes. */
  confirm(question: string): Promise<boolean>;
}

export interface Handshaken {
  /** The other side's static X25519 key (its channel key). */
  remoteStatic: Buffer;
  handshakeHash: Buffer;
  send: CipherState;
  receive: CipherState;
  code: string;
}

export function proofMessage(handshakeHash: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(PROOF_LABEL), handshakeHash]);
}

/** The owner's half of the handshake, up to the code. */
export async function ownerHandshake(connection: FramedConnection, staticKey: { privateKey: Uint8Array; publicKey: Uint8Array }): Promise<Handshaken> {
  const handshake = new HandshakeState({ pattern: 'XX', initiator: true, prologue: PROLOGUE, staticPrivate: staticKey.privateKey, staticPublic: staticKey.publicKey });
  connection.send(handshake.writeMessage(Buffer.alloc(0)));
  const second = readJson(readHandshake(handshake, await connection.next(STEP_TIMEOUT_MS), 'the device'), 'the device');
  const commitment = hexField(second, 'commit', 32);
  const ownerNonce = newPairingNonce();
  connection.send(handshake.writeMessage(Buffer.from(JSON.stringify({ nonce: ownerNonce.toString('hex') }))));
  const [send, receive] = handshake.split();
  const reveal = readJson(openRecord(receive, await connection.next(STEP_TIMEOUT_MS)), 'the device');
  const deviceNonce = hexField(reveal, 'nonce', PAIRING_NONCE_BYTES);
  if (!commitmentHolds(commitment, deviceNonce)) throw new NymoteError('EPAIR', 'the device broke its commitment: pairing stopped (someone may be in the middle)');
  const handshakeHash = handshake.handshakeHash();
  return { remoteStatic: handshake.remoteStatic(), handshakeHash, send, receive, code: pairingCode(handshakeHash, ownerNonce, deviceNonce) };
}

/** The device's half of the handshake, up to the code. */
export async function deviceHandshake(connection: FramedConnection, staticKey: { privateKey: Uint8Array; publicKey: Uint8Array }): Promise<Handshaken> {
  const handshake = new HandshakeState({ pattern: 'XX', initiator: false, prologue: PROLOGUE, staticPrivate: staticKey.privateKey, staticPublic: staticKey.publicKey });
  readHandshake(handshake, await connection.next(STEP_TIMEOUT_MS), 'the owner');
  const deviceNonce = newPairingNonce();
  connection.send(handshake.writeMessage(Buffer.from(JSON.stringify({ commit: commitToNonce(deviceNonce).toString('hex') }))));
  const third = readJson(readHandshake(handshake, await connection.next(STEP_TIMEOUT_MS), 'the owner'), 'the owner');
  const ownerNonce = hexField(third, 'nonce', PAIRING_NONCE_BYTES);
  const [receive, send] = handshake.split();
  connection.send(sealRecord(send, { nonce: deviceNonce.toString('hex') }));
  const handshakeHash = handshake.handshakeHash();
  return { remoteStatic: handshake.remoteStatic(), handshakeHash, send, receive, code: pairingCode(handshakeHash, ownerNonce, deviceNonce) };
}

function readHandshake(handshake: HandshakeState, message: Buffer, from: string): Buffer {
  try {
    return handshake.readMessage(message);
  } catch (err) {
    if (err instanceof NoiseError) throw new NymoteError('EPAIR', `${from} sent a handshake message that does not authenticate: pairing stopped`);
    throw err;
  }
}

export function sealRecord(cipher: CipherState, value: unknown): Buffer {
  return cipher.encryptWithAd(Buffer.alloc(0), Buffer.from(JSON.stringify(value)));
}

export function openRecord(cipher: CipherState, record: Buffer): Buffer {
  try {
    return cipher.decryptWithAd(Buffer.alloc(0), record);
  } catch {
    throw new NymoteError('EPAIR', 'a pairing message did not authenticate: pairing stopped');
  }
}

export async function receiveJson(connection: FramedConnection, cipher: CipherState, timeoutMs: number, from: string): Promise<Record<string, unknown>> {
  return readJson(openRecord(cipher, await connection.next(timeoutMs)), from);
}

export function readJson(bytes: Buffer, from: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new NymoteError('EPAIR', `${from} sent a malformed pairing message`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new NymoteError('EPAIR', `${from} sent a malformed pairing message`);
  return value as Record<string, unknown>;
}

function hexField(message: Record<string, unknown>, field: string, bytes: number): Buffer {
  const value = message[field];
  if (typeof value !== 'string' || !new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(value)) throw new NymoteError('EPAIR', `pairing message without a valid '${field}'`);
  return Buffer.from(value, 'hex');
}

/** Reads the request of T2 with every field checked. */
export function parseRequest(message: Record<string, unknown>): CertificateRequest {
  const request = message.request;
  if (typeof request !== 'object' || request === null) throw new NymoteError('EPAIR', 'the device sent no certificate request');
  const r = request as Record<string, unknown>;
  const text = (field: string, max: number): string => {
    const value = r[field];
    if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new NymoteError('EPAIR', `certificate request: invalid '${field}'`);
    return value;
  };
  const list = (field: string): string[] => {
    const value = r[field];
    if (!isStringList(value, 16, 253)) throw new NymoteError('EPAIR', `certificate request: invalid '${field}'`);
    return value;
  };
  return { device: text('device', 63), sign: text('sign', 64), services: list('services'), tlsKey: text('tlsKey', 1024), dns: list('dns'), ips: list('ips'), proof: text('proof', 128) };
}

/** Reads the grant of T3 with every field checked. */
export function parseGrant(message: Record<string, unknown>): PairingGrant {
  const text = (field: string): string => {
    const value = message[field];
    if (typeof value !== 'string' || value.length === 0 || value.length > 8192) throw new NymoteError('EPAIR', `the owner's answer has an invalid '${field}'`);
    return value;
  };
  const devices = message.devices;
  if (!Array.isArray(devices) || devices.length > 64 || !devices.every((d) => typeof d === 'string' && d.length <= 4096)) {
    throw new NymoteError('EPAIR', "the owner's answer has an invalid 'devices'");
  }
  return { certificate: text('certificate'), owner: text('owner'), ca: text('ca'), caBinding: text('caBinding'), tls: text('tls'), devices: devices as string[] };
}
