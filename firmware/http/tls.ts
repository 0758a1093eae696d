/**
 * The device's TLS identity for every TLS service (HTTPS, IMAPS, STARTTLS): a certificate and
 * its key in secrets/tls/ (cert.pem, key.pem 0600). At first start there is none, so a
 * self-signed one is made for the device's names: ECDSA P-256 (what curl, git, browsers and
 * Thunderbird all take), one year, renewed when fewer than 30 days remain or when a name is
 * missing (the hostname changed). After pairing, the owner's CA issues one and Signpost writes
 * it over the files; `reload()` (also run by a poll of the files) swaps it in without a
 * restart: servers that took a context from `secureContext()` get the new one through
 * `onChange`. A certificate that is not self-signed (owner-issued) is never overwritten here.
 *
 * Certificates come from Signpost's X.509 builder (signpost/identity/x509.ts), the one that
 * also makes the owner's CA; node's X509Certificate reads them back. The key is never logged.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { NymoteError, describeError, writeFileDurable, type Logger, type Service, type ServiceHealth } from '../runtime/index.js';
import { buildServerCertificate, newCertificateKey } from '../signpost/index.js';

const DAY_MS = 86_400_000;

/** The names a certificate must cover. */
export interface TlsNames {
  dns: string[];
  ips: string[];
}

/** The device's names: its hostname (and hostname.local for mDNS), localhost, and loopback. */
export function defaultTlsNames(hostname = os.hostname()): TlsNames {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  const dns = [host, host.endsWith('.local') ? undefined : `${host}.local`, 'localhost'];
  return { dns: [...new Set(dns.filter((n): n is string => n !== undefined && /^[a-z0-9.-]{1,253}$/.test(n)))], ips: ['127.0.0.1', '::1'] };
}

export interface TlsCredentialsOptions {
  names?: TlsNames;
  log?: Logger;
  /** Validity of a self-signed certificate (365 days). */
  validityDays?: number;
  /** Renew a self-signed certificate when fewer days than this remain (30). */
  renewBeforeDays?: number;
  /** How often the files are checked for a replacement and the expiry for renewal (60 s). */
  pollMs?: number;
  now?: () => Date;
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  selfSigned: boolean;
  notBefore: Date;
  notAfter: Date;
  dns: string[];
  ips: string[];
  fingerprint256: string;
}

interface Loaded {
  key: string;
  cert: string;
  info: CertificateInfo;
  context: tls.SecureContext;
  stamp: string;
}

/** Options for tls.createServer / https.createServer / setSecureContext. */
export interface TlsServerOptions {
  key: string;
  cert: string;
}

/**
 * The certificate and key of the device, kept current. A Service: `start` makes sure a usable
 * certificate exists and polls for replacements; `stop` ends the polling.
 */
export class TlsCredentials implements Service {
  readonly name = 'tls';
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  private loaded: Loaded | undefined;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  /** The names the device's certificate covers. */
  readonly names: TlsNames;
  private readonly now: () => Date;

  constructor(
    secretsDir: string,
    private readonly options: TlsCredentialsOptions = {},
  ) {
    this.dir = path.join(secretsDir, 'tls');
    this.certFile = path.join(this.dir, 'cert.pem');
    this.keyFile = path.join(this.dir, 'key.pem');
    this.names = options.names ?? defaultTlsNames();
    this.now = options.now ?? (() => new Date());
  }

  async start(): Promise<void> {
    this.ensure();
    const pollMs = this.options.pollMs ?? 60_000;
    this.timer = setInterval(() => this.check(), pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  describe(): Omit<ServiceHealth, 'state'> {
    const info = this.loaded?.info;
    if (info === undefined) return {};
    return { detail: `${info.selfSigned ? 'self-signed' : `issued by ${info.issuer}`}, expires ${info.notAfter.toISOString()}` };
  }

  /** The current key and certificate, for a server's options. */
  serverOptions(): TlsServerOptions {
    const { key, cert } = this.current();
    return { key, cert };
  }

  /** The current context, for IMAPS / STARTTLS (`new tls.TLSSocket(s, {isServer, secureContext})`). */
  secureContext(): tls.SecureContext {
    return this.current().context;
  }

  /** What the current certificate says. */
  info(): CertificateInfo {
    return this.current().info;
  }

  /** Calls `listener` after the certificate changed (renewed or replaced); returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Makes sure the files hold a usable certificate for the device's names: makes a
   * self-signed one if there is none, it does not match its key, or it is self-signed and
   * expiring or missing a name. Loads it. Returns true when it changed what is served.
   */
  ensure(): boolean {
    const existing = this.readFiles();
    if (existing === undefined || this.needsNewSelfSigned(existing)) {
      this.makeSelfSigned();
      return this.adopt(this.readFiles());
    }
    const remaining = existing.info.notAfter.getTime() - this.now().getTime();
    if (!existing.info.selfSigned && remaining < this.renewBeforeMs()) {
      this.options.log?.warn('certificate expires soon', { notAfter: existing.info.notAfter.toISOString(), issuer: existing.info.issuer });
    }
    return this.adopt(existing);
  }

  /** Re-reads the files (after Signpost wrote an owner-issued certificate). True when it changed. */
  reload(): boolean {
    return this.ensure();
  }

  /** The public half of the device's TLS key (made, with a self-signed certificate, if there is none): what the owner's CA certifies. */
  publicKey(): crypto.KeyObject {
    return crypto.createPublicKey(this.current().key);
  }

  /** Takes a certificate issued for the device's key (by the owner's CA) and serves it from now on. */
  install(certificate: string): void {
    const x509 = new crypto.X509Certificate(certificate);
    if (!x509.publicKey.equals(this.publicKey())) throw new NymoteError('ETLS', "the certificate is not for this device's TLS key");
    writeFileDurable(this.certFile, certificate, 0o644);
    this.reload();
  }

  private current(): Loaded {
    if (this.loaded === undefined) this.ensure();
    return this.loaded!;
  }

  private check(): void {
    try {
      this.ensure();
    } catch (err) {
      this.options.log?.error('certificate check failed', { error: describeError(err) });
    }
  }

  private renewBeforeMs(): number {
    return (this.options.renewBeforeDays ?? 30) * DAY_MS;
  }

  private needsNewSelfSigned(loaded: Loaded): boolean {
    if (!loaded.info.selfSigned) return false;
    if (loaded.info.notAfter.getTime() - this.now().getTime() < this.renewBeforeMs()) return true;
    const dns = new Set(loaded.info.dns);
    const ips = new Set(loaded.info.ips.map(normalizeIp));
    return this.names.dns.some((n) => !dns.has(n)) || this.names.ips.some((ip) => !ips.has(normalizeIp(ip)));
  }

  private adopt(loaded: Loaded | undefined): boolean {
    if (loaded === undefined) throw new NymoteError('ETLS', `no usable certificate in ${this.dir}`);
    if (this.loaded?.stamp === loaded.stamp) return false;
    const first = this.loaded === undefined;
    this.loaded = loaded;
    const { info } = loaded;
    this.options.log?.info(first ? 'certificate loaded' : 'certificate changed', {
      subject: info.subject,
      selfSigned: info.selfSigned,
      notAfter: info.notAfter.toISOString(),
      sha256: info.fingerprint256,
    });
    if (!first) {
      for (const listener of this.listeners) {
        try {
          listener();
        } catch (err) {
          this.options.log?.error('certificate listener failed', { error: describeError(err) });
        }
      }
    }
    return true;
  }

  /** The certificate and key on disk if they are readable and belong together. */
  private readFiles(): Loaded | undefined {
    let key: string;
    let cert: string;
    try {
      key = fs.readFileSync(this.keyFile, 'utf8');
      cert = fs.readFileSync(this.certFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const stamp = crypto.createHash('sha256').update(key).update('\0').update(cert).digest('hex');
    if (this.loaded?.stamp === stamp) return this.loaded;
    try {
      const privateKey = crypto.createPrivateKey(key);
      const x509 = new crypto.X509Certificate(cert);
      if (!x509.checkPrivateKey(privateKey)) throw new Error('the certificate does not match the key');
      const context = tls.createSecureContext({ key, cert });
      return { key, cert, info: describeCertificate(x509), context, stamp };
    } catch (err) {
      this.options.log?.warn('unusable certificate files; making a new self-signed one', { error: describeError(err) });
      return undefined;
    }
  }

  private makeSelfSigned(): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const { key, cert } = makeSelfSignedCertificate(this.names, {
      now: this.now(),
      validityDays: this.options.validityDays ?? 365,
    });
    // Key first: a crash between the two writes leaves a mismatch, which the next start repairs.
    writeFileDurable(this.keyFile, key, 0o600);
    writeFileDurable(this.certFile, cert, 0o644);
    this.options.log?.info('made a self-signed certificate', { names: [...this.names.dns, ...this.names.ips].join(',') });
  }
}

/** A self-signed ECDSA P-256 server certificate for `names`; PEM key (PKCS#8) and certificate. */
export function makeSelfSignedCertificate(names: TlsNames, options: { now?: Date; validityDays?: number } = {}): TlsServerOptions {
  const privateKey = newCertificateKey();
  const validity = { now: options.now ?? new Date(), days: options.validityDays ?? 365 };
  return {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    cert: buildServerCertificate(crypto.createPublicKey(privateKey), names, validity, { privateKey }),
  };
}

export function describeCertificate(x509: crypto.X509Certificate): CertificateInfo {
  const dns: string[] = [];
  const ips: string[] = [];
  for (const part of (x509.subjectAltName ?? '').split(', ')) {
    if (part.startsWith('DNS:')) dns.push(part.slice(4).toLowerCase());
    else if (part.startsWith('IP Address:')) ips.push(part.slice(11));
  }
  const selfSigned = x509.subject === x509.issuer && x509.verify(x509.publicKey);
  return {
    subject: x509.subject.replace(/\n/g, ', '),
    issuer: x509.issuer.replace(/\n/g, ', '),
    selfSigned,
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    dns,
    ips,
    fingerprint256: x509.fingerprint256,
  };
}

function normalizeIp(ip: string): string {
  // node prints IPv6 SANs in full (0:0:0:0:0:0:0:1); compare in one form.
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':');
}
