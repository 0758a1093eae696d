/**
 * Signpost between the owner's devices, as one service: this device's keys and what it trusts
 * (identity/), the secure channel to the other devices (channel/), reliable streams over it
 * (streams/), and pairing (pairing/), which is how a device comes to trust an owner.
 *
 * - Who may talk: a peer's handshake carries its device certificate; it must be signed by this
 *   device's owner, current, not revoked in the owner's store, and for the static key that
 *   made the handshake. Revocation and expiry take effect at the next handshake (every 2 min).
 * - Who is known: the certificates in the owner's store (signpost/devices/, synced), re-read
 *   when the store moves; where they are: EndpointBook.
 * - What travels: streams to named services. 'http' reaches this device's HTTP router as if
 *   it were a local connection of the owner's device, which is how store sync runs
 *   (signpost://<device>[/<user>] remotes).
 * - A peer that restarted has lost its streams: each handshake also carries a random number
 *   made at start (the incarnation), and a new one resets the streams to that peer.
 */
import crypto from 'node:crypto';
import type { Duplex } from 'node:stream';
import { NymoteError, describeError, isLoopbackAddress, type Logger, type Service, type ServiceHealth } from '../runtime/index.js';
import type { Branch } from '../store/index.js';
import { streamHttpClient, type RemoteTransport } from '../git/index.js';
import { DEFAULT_MTU, MAX_DATA_PAYLOAD, SecureChannel, type Endpoint } from './channel/index.js';
import { EndpointBook } from './endpoints.js';
import {
  DeviceKeys,
  OwnerRecords,
  RENEW_BEFORE_DAYS,
  Trust,
  deviceCertificatePath,
  deviceCertificateSignedBy,
  formatDeviceCertificate,
  parseDeviceCertificate,
  tlsCertificateDue,
  verifyDeviceCertificate,
  type DeviceCertificate,
} from './identity/index.js';
import { pairAsDevice, type PairingPerson } from './pairing/index.js';
import { RENEWAL_SERVICE, answerRenewal, askRenewal, type RenewalGrant } from './renewal.js';
import { StreamMux } from './streams/index.js';

/** How often the owner's store is looked at for new, changed or revoked devices. */
const REFRESH_MS = 5_000;
const INCARNATION_BYTES = 8;
/** How often this device looks whether its certificates are due (also whenever a peer comes up). */
const RENEWAL_CHECK_MS = 3_600_000;
const DAY_MS = 86_400_000;
const LOOPBACK_WINDOW_BYTES = 16 << 20;
export const SIGNPOST_SCHEME = 'signpost:';

export interface SignpostOptions {
  listen: string;
  /** The channel's UDP port; pairing listens on the same number over TCP while it waits. */
  port: number;
  secretsDir: string;
  configDir: string;
  /** The owner's store (main branch) on this device, once there is a user. */
  ownerBranch: () => Branch | undefined;
  /** Serves one HTTP connection that arrived over a stream from device `device` (its name). */
  serveHttp: (connection: Duplex, device: string) => void;
  /** What this device asks the owner to certify at pairing. */
  pairingRequest: () => { device: string; services: string[]; tlsKey: string; dns: string[]; ips: string[] };
  /** The TLS certificate served now (PEM), to see when it is due for renewal. */
  tlsCertificate: () => string;
  /** Keeps a TLS certificate the owner's CA issued (at pairing, at renewal). */
  installTlsCertificate: (certificate: string) => void;
  log: Logger;
  /** Record size on a network path (DEFAULT_MTU); a loopback path takes the largest records. */
  mtu?: number;
}

interface KnownPeer {
  certificate: DeviceCertificate;
  mux: StreamMux | undefined;
  incarnation: string | undefined;
  endpoint: Endpoint | undefined;
}

export class SignpostService implements Service {
  readonly name = 'signpost';
  readonly keys: DeviceKeys;
  readonly channel: SecureChannel;
  private trust: Trust | undefined;
  private readonly endpoints: EndpointBook;
  private readonly incarnation = crypto.randomBytes(INCARNATION_BYTES).toString('hex');
  /** Peers by channel key (base64url of their X25519 key). */
  private readonly peers = new Map<string, KnownPeer>();
  private refreshedAt = '';
  private timer: NodeJS.Timeout | undefined;
  private renewalTimer: NodeJS.Timeout | undefined;
  private pairing = false;
  private renewing = false;

  constructor(private readonly options: SignpostOptions) {
    this.keys = DeviceKeys.loadOrCreate(options.secretsDir);
    this.trust = Trust.load(options.secretsDir);
    this.endpoints = new EndpointBook(options.configDir);
    this.channel = new SecureChannel({
      listen: options.listen,
      port: options.port,
      staticPrivate: this.keys.dhPrivate,
      staticPublic: this.keys.dhPublic,
      authorize: (remoteStatic, payload) => this.authorize(remoteStatic, payload),
      handshakePayload: () => this.handshakePayload(),
      log: options.log.child('channel'),
      mtu: MAX_DATA_PAYLOAD,
    });
    this.channel.onMessage((publicKey, data, endpoint) => this.onRecord(publicKey, data, endpoint));
    this.channel.onPeer((_, event) => {
      if (event === 'up') void this.renewIfDue();
    });
  }

  async start(): Promise<void> {
    await this.channel.start();
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    this.timer.unref();
    this.renewalTimer = setInterval(() => void this.renewIfDue(), RENEWAL_CHECK_MS);
    this.renewalTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.renewalTimer);
    for (const peer of this.peers.values()) peer.mux?.close('signpost stopped');
    await this.channel.stop();
  }

  describe(): Omit<ServiceHealth, 'state'> {
    const channel = this.channel.describe();
    const who = this.trust === undefined ? 'not paired' : `${this.trust.certificate.device} (${this.keys.id})`;
    return { ...channel, detail: `${who}; ${channel.detail ?? ''}` };
  }

  /** The owner's devices this one knows, with the channel's view of each. */
  devices(): { certificate: DeviceCertificate; up: boolean; endpoint: Endpoint | undefined }[] {
    return [...this.peers.values()].map((peer) => {
      const status = this.channel.peerStatus(Buffer.from(peer.certificate.dh, 'base64url'));
      return { certificate: peer.certificate, up: status?.up ?? false, endpoint: status?.endpoint };
    });
  }

  /** This device's certificate, once paired. */
  certificate(): DeviceCertificate | undefined {
    return this.trust?.certificate;
  }

  /** A stream to `service` on the owner's device named by id or name. */
  openStream(device: string, service: string): Duplex {
    this.refresh();
    const peer = [...this.peers.values()].find((p) => p.certificate.id === device || p.certificate.device === device);
    if (peer === undefined) throw new NymoteError('ENODEVICE', `no paired device '${device.slice(0, 64)}' (the owner's store lists the devices)`);
    return this.muxOf(peer).open(service);
  }

  /**
   * `pair` on the console: waits for the owner's computer, and once both people confirmed the
   * code, keeps what the owner granted. Resolves with this device's new certificate.
   */
  async pair(person: PairingPerson, signal: AbortSignal, waitMs?: number): Promise<DeviceCertificate> {
    if (this.pairing) throw new NymoteError('EBUSY', 'pairing is already waiting on another console');
    const branch = this.options.ownerBranch();
    if (branch === undefined) throw new NymoteError('ENOUSER', "pair: set this device up first ('setup'): the owner's store keeps the devices");
    this.pairing = true;
    try {
      const paired = await pairAsDevice({
        listen: this.options.listen,
        port: this.options.port,
        keys: this.keys,
        request: this.options.pairingRequest(),
        person,
        signal,
        ...(waitMs === undefined ? {} : { waitMs }),
      });
      this.options.installTlsCertificate(paired.tlsCertificate);
      this.trust = Trust.save(this.options.secretsDir, { owner: paired.owner, certificate: paired.certificate, caCertificate: paired.caCertificate });
      const known = [paired.certificate, ...paired.devices];
      await branch.transaction(
        (view) => {
          for (const cert of known) view.set(deviceCertificatePath(cert.id), formatDeviceCertificate(cert));
        },
        { message: `signpost: paired with owner ${paired.certificate.owner.slice(0, 11)}, as ${paired.certificate.device} (${paired.certificate.id})` },
      );
      this.options.log.info('paired', { device: paired.certificate.device, id: paired.certificate.id, owner: paired.certificate.owner });
      this.refreshedAt = '';
      this.refresh();
      return paired.certificate;
    } finally {
      this.pairing = false;
    }
  }

  private handshakePayload(): Uint8Array {
    const certificate = this.trust?.certificate;
    // The certificate as a compact object (about 600 bytes): a handshake carries at most 1 KiB.
    return Buffer.from(JSON.stringify({ certificate: certificate ?? null, incarnation: this.incarnation }));
  }

  private authorize(remoteStatic: Uint8Array, payload: Uint8Array): true | string {
    const trust = this.trust;
    if (trust === undefined) return 'this device is not paired';
    let certificate: DeviceCertificate;
    let incarnation: string;
    try {
      const parsed = JSON.parse(Buffer.from(payload).toString('utf8')) as { certificate?: unknown; incarnation?: unknown };
      if (typeof parsed.certificate !== 'object' || parsed.certificate === null || typeof parsed.incarnation !== 'string' || parsed.incarnation.length > 32) return 'no device certificate';
      certificate = parseDeviceCertificate(JSON.stringify(parsed.certificate));
      incarnation = parsed.incarnation;
    } catch {
      return 'malformed device certificate';
    }
    if (certificate.dh !== Buffer.from(remoteStatic).toString('base64url')) return `certificate of ${certificate.device} is for another key`;
    const verdict = verifyDeviceCertificate(certificate, { owner: trust.owner, now: new Date(), isRevoked: (serial) => this.records()?.isRevoked(serial) ?? false });
    if (!verdict.ok) return `${certificate.device} (${certificate.id}): ${verdict.reason}`;
    const peer = this.known(certificate);
    if (peer.incarnation !== undefined && peer.incarnation !== incarnation && peer.mux !== undefined) {
      // The peer restarted: its streams are gone, and its new ones must not meet our old ones.
      peer.mux.close(`${certificate.device} restarted`);
      peer.mux = undefined;
    }
    peer.incarnation = incarnation;
    return true;
  }

  private onRecord(publicKey: Buffer, data: Buffer, endpoint: Endpoint): void {
    const peer = this.peers.get(publicKey.toString('base64url'));
    if (peer === undefined) return;
    if (peer.endpoint?.address !== endpoint.address || peer.endpoint?.port !== endpoint.port) {
      peer.endpoint = endpoint;
      try {
        this.endpoints.set(peer.certificate.id, endpoint);
      } catch (err) {
        this.options.log.warn('could not record an endpoint', { device: peer.certificate.id, error: describeError(err) });
      }
    }
    this.muxOf(peer).receive(data);
  }

  private muxOf(peer: KnownPeer): StreamMux {
    if (peer.mux !== undefined) return peer.mux;
    const key = Buffer.from(peer.certificate.dh, 'base64url');
    const { recordBytes, ...windows } = pathProfile(peer.endpoint ?? this.endpoints.get(peer.certificate.id), this.options.mtu);
    const mux = new StreamMux(
      { send: (datagram) => this.channel.send(key, datagram), maxPayload: recordBytes },
      // Both sides must agree on who opens odd stream ids: the smaller channel key does.
      { role: Buffer.compare(this.keys.dhPublic, key) < 0 ? 'initiator' : 'responder', log: this.options.log.child('streams'), peer: peer.certificate.device, ...windows },
    );
    mux.listen('http', (stream) => this.options.serveHttp(stream, peer.certificate.device));
    mux.listen(RENEWAL_SERVICE, (stream) => void this.renewFor(stream, peer));
    peer.mux = mux;
    return mux;
  }

  /**
   * Asks the owner's devices that are up for new certificates when this one's are due (fewer
   * than RENEW_BEFORE_DAYS left); the device holding the owner key answers. What comes back is
   * taken only if it is the owner's, for this device's own keys, and later than what it has.
   */
  private async renewIfDue(): Promise<void> {
    const trust = this.trust;
    if (trust === undefined || this.renewing) return;
    this.renewing = true;
    try {
      const now = new Date();
      const certificateDue = Date.parse(trust.certificate.notAfter) - now.getTime() < RENEW_BEFORE_DAYS * DAY_MS;
      if (!certificateDue && !tlsCertificateDue(this.options.tlsCertificate(), trust.caCertificate, now)) return;
      const { tlsKey, dns, ips } = this.options.pairingRequest();
      for (const peer of this.peers.values()) {
        if (this.channel.peerStatus(Buffer.from(peer.certificate.dh, 'base64url'))?.up !== true) continue;
        try {
          const grant = await askRenewal(this.muxOf(peer).open(RENEWAL_SERVICE), { tlsKey, dns, ips });
          await this.adoptRenewal(trust, grant);
          this.options.log.info('certificates renewed', { by: peer.certificate.device, until: this.trust?.certificate.notAfter });
          return;
        } catch (err) {
          this.options.log.info('no renewal from a peer', { device: peer.certificate.device, reason: describeError(err) });
        }
      }
    } catch (err) {
      // Called from timers and channel events: a failure is logged, never thrown at them.
      this.options.log.warn('certificate renewal check failed', { error: describeError(err) });
    } finally {
      this.renewing = false;
    }
  }

  private async adoptRenewal(trust: Trust, grant: RenewalGrant): Promise<void> {
    const certificate = parseDeviceCertificate(grant.certificate);
    const own = trust.certificate;
    if (!deviceCertificateSignedBy(certificate, trust.owner) || certificate.sign !== own.sign || certificate.dh !== own.dh || certificate.notAfter <= own.notAfter) {
      throw new NymoteError('ERENEW', "the renewed certificate is not the owner's, not for this device, or not newer");
    }
    if (tlsCertificateDue(grant.tls, trust.caCertificate)) throw new NymoteError('ERENEW', "the renewed TLS certificate is not from the owner's CA or already due");
    this.options.installTlsCertificate(grant.tls);
    this.trust = Trust.save(this.options.secretsDir, { owner: trust.owner, certificate, caCertificate: trust.caCertificate });
    await this.options.ownerBranch()?.set(deviceCertificatePath(certificate.id), formatDeviceCertificate(certificate), { message: `signpost: renewed certificate of ${certificate.device} (${certificate.id})` });
  }

  /** Where the owner key is, a peer's request for new certificates gets them (and the owner's store records them). */
  private async renewFor(stream: Duplex, peer: KnownPeer): Promise<void> {
    const renewed = await answerRenewal(stream, peer.certificate, this.options.secretsDir);
    if (renewed === undefined) return;
    peer.certificate = renewed;
    this.options.log.info('renewed the certificates of a device', { device: renewed.device, id: renewed.id, until: renewed.notAfter });
    try {
      await this.options.ownerBranch()?.set(deviceCertificatePath(renewed.id), formatDeviceCertificate(renewed), { message: `signpost: renew device ${renewed.device} (${renewed.id})` });
    } catch (err) {
      this.options.log.warn('could not record a renewed certificate', { device: renewed.id, error: describeError(err) });
    }
  }

  /** The peer entry for a certificate (a newer certificate of the same key replaces the older). */
  private known(certificate: DeviceCertificate): KnownPeer {
    const existing = this.peers.get(certificate.dh);
    if (existing !== undefined) {
      if (existing.certificate.notAfter < certificate.notAfter) existing.certificate = certificate;
      return existing;
    }
    const peer: KnownPeer = { certificate, mux: undefined, incarnation: undefined, endpoint: undefined };
    this.peers.set(certificate.dh, peer);
    this.channel.addPeer(Buffer.from(certificate.dh, 'base64url'), this.endpoints.get(certificate.id));
    return peer;
  }

  private records(): OwnerRecords | undefined {
    const trust = this.trust;
    const branch = this.options.ownerBranch();
    return trust === undefined || branch === undefined ? undefined : new OwnerRecords(branch, trust.owner);
  }

  /**
   * Brings the peers in line with the owner's store when it moved: its devices are added, and
   * every peer (from the store or met by handshake) whose certificate is now revoked or expired
   * is dropped with its streams.
   */
  private refresh(): void {
    const trust = this.trust;
    const branch = this.options.ownerBranch();
    if (trust === undefined || branch === undefined) return;
    const state = `${branch.head() ?? ''}:${trust.certificate.serial}`;
    if (state === this.refreshedAt) return;
    this.refreshedAt = state;
    const records = new OwnerRecords(branch, trust.owner);
    const verdict = (certificate: DeviceCertificate) =>
      verifyDeviceCertificate(certificate, { owner: trust.owner, now: new Date(), isRevoked: (serial) => records.isRevoked(serial) });
    for (const certificate of records.devices()) {
      if (certificate.id !== this.keys.id && verdict(certificate).ok) this.known(certificate);
    }
    for (const [key, peer] of this.peers) {
      const judged = verdict(peer.certificate);
      if (judged.ok) continue;
      this.options.log.info('device no longer trusted', { device: peer.certificate.device, id: peer.certificate.id, reason: judged.reason });
      peer.mux?.close(`${peer.certificate.device} is no longer trusted (${judged.reason})`);
      this.channel.removePeer(Buffer.from(key, 'base64url'));
      this.peers.delete(key);
    }
  }
}

/**
 * How a path to a peer is used. On a network: WireGuard's 1420-byte records and the streams'
 * default windows. On loopback (two instances on one machine): the largest records UDP takes,
 * and windows big enough to keep a bulk transfer going while the other process catches up.
 */
export function pathProfile(endpoint: Endpoint | undefined, networkMtu = DEFAULT_MTU): { recordBytes: number; streamWindowBytes?: number; sendBufferBytes?: number } {
  if (endpoint === undefined || !isLoopbackAddress(endpoint.address)) return { recordBytes: networkMtu };
  return { recordBytes: MAX_DATA_PAYLOAD, streamWindowBytes: LOOPBACK_WINDOW_BYTES, sendBufferBytes: LOOPBACK_WINDOW_BYTES };
}

/**
 * signpost://<device>[/<user>] as a git remote: git's smart HTTP over a stream to the device's
 * 'http' service, for <user>'s store there (by default the same user as here).
 */
export function signpostTransport(signpost: Pick<SignpostService, 'openStream'>): RemoteTransport {
  return (url, user) => {
    const parsed = new URL(url);
    if (parsed.protocol !== SIGNPOST_SCHEME) return undefined;
    const device = decodeURIComponent(parsed.hostname);
    const remoteUser = parsed.pathname.replace(/^\/+|\/+$/g, '') || user;
    if (device === '' || !/^[A-Za-z0-9._-]{1,64}$/.test(remoteUser)) throw new NymoteError('EINVAL', `invalid signpost remote '${url.slice(0, 200)}': use signpost://<device>[/<user>]`);
    return { http: streamHttpClient(() => signpost.openStream(device, 'http')), url: `http://${device}.signpost.invalid/git/${remoteUser}.git` };
  };
}
