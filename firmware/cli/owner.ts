/** `nymote owner init|ca-cert|show|revoke`: the owner's key and CA, and the devices they certify. */
import crypto from 'node:crypto';
import path from 'node:path';

import { UserDirectory } from '../accounts/index.js';
import { TlsCredentials, defaultTlsNames, type TlsNames } from '../http/index.js';
import { DeviceSettings, NymoteError, PORT_NAMES, UsageError, prepareDataDir, type DataDir } from '../runtime/index.js';
import {
  DeviceKeys,
  OwnerCa,
  OwnerKey,
  OwnerRecords,
  Trust,
  deviceCertificatePath,
  formatDeviceCertificate,
  formatRevocation,
  issueDeviceCertificate,
  keyId,
  revocationPath,
  revokeDevice,
  verifyDeviceCertificate,
} from '../signpost/index.js';
import { Store, type Branch } from '../store/index.js';
import { dataOption, expectPositionals, stringOption, type OptionSpec, type Parsed } from './args.js';

export const OWNER_OPTIONS: OptionSpec = {
  reason: { type: 'string' },
};

export const OWNER_USAGE = [
  'usage: nymote owner init          make the owner key and CA here (on your laptop), and certify this',
  '                                  data directory as one of your devices, with an owner-issued TLS',
  '                                  certificate',
  '       nymote owner ca-cert       print the CA certificate (PEM) for clients to trust (curl --cacert,',
  '                                  a browser\'s or mail client\'s certificate settings)',
  '       nymote owner show          the owner key, the CA and the certified devices',
  '       nymote owner revoke DEVICE-ID [--reason TEXT]',
  '                                  revoke a device: a signed entry in the owner\'s store, which syncs',
  '',
  'The owner key (secrets/signpost/owner.key) certifies all your devices: keep a backup of it.',
].join('\n');

export async function ownerCommand({ values, positionals }: Parsed): Promise<number> {
  const [action, ...rest] = positionals;
  const data = () => prepareDataDir(dataOption(values));
  switch (action) {
    case 'init':
      expectPositionals('owner init', rest, []);
      await init(data());
      return 0;
    case 'ca-cert': {
      expectPositionals('owner ca-cert', rest, []);
      const { secrets } = data();
      const certificate = OwnerCa.load(secrets)?.certificate ?? Trust.load(secrets)?.caCertificate;
      if (certificate === undefined) throw noOwner('ca-cert');
      process.stdout.write(certificate);
      return 0;
    }
    case 'show':
      expectPositionals('owner show', rest, []);
      await show(data());
      return 0;
    case 'revoke': {
      const [id] = expectPositionals('owner revoke', rest, ['DEVICE-ID']) as [string];
      await revoke(data(), id, stringOption(values, 'reason') ?? 'revoked by the owner');
      return 0;
    }
    case undefined:
      throw new UsageError('owner: missing action (init, ca-cert, show, revoke)');
    default:
      throw new UsageError(`owner: unknown action '${action}' (init, ca-cert, show, revoke)`);
  }
}

async function init(data: DataDir): Promise<void> {
  const existing = OwnerKey.load(data.secrets);
  if (existing !== undefined && OwnerCa.load(data.secrets) !== undefined) {
    throw new NymoteError('EEXIST', `owner init: there is an owner key here already (${existing.id}); 'nymote owner show' describes it`);
  }
  // A key without a CA is an init that was interrupted: it is finished, not refused.
  const owner = existing ?? OwnerKey.init(data.secrets);
  const ca = OwnerCa.create(data.secrets, owner);
  // The machine that holds the owner key is one of the owner's devices too.
  const keys = DeviceKeys.loadOrCreate(data.secrets);
  const certificate = issueDeviceCertificate(owner, { device: new DeviceSettings(data.config).hostname(), signPublic: keys.signPublic, dhPublic: keys.dhPublic, services: PORT_NAMES });
  Trust.save(data.secrets, { owner: owner.publicKey, certificate, caCertificate: ca.certificate });
  const names = defaultTlsNames();
  const certFile = installServerCertificate(data.secrets, ca, names);
  const out = [
    `owner key  ${owner.id}  in ${OwnerKey.file(data.secrets)}: back it up, it certifies all your devices`,
    `owner CA   SHA256 ${ca.fingerprint256}  ('nymote owner ca-cert' prints it for clients to trust)`,
    `device     ${certificate.device} (${certificate.id}), certified until ${certificate.notAfter}`,
    `TLS        ${certFile} issued by the owner CA for ${[...names.dns, ...names.ips].join(', ')}`,
  ];
  const user = new UserDirectory(data.secrets).owner();
  if (user !== undefined) {
    const commit = await withOwnerStore(data, user, (main) =>
      main.set(deviceCertificatePath(certificate.id), formatDeviceCertificate(certificate), { message: `signpost: certify device ${certificate.device} (${certificate.id})` }),
    );
    out.push(`store      ${deviceCertificatePath(certificate.id)} in ${user}'s store (${commit})`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

/** An owner-issued certificate for this data directory's TLS key, where `run` serves it from. */
function installServerCertificate(secrets: string, ca: OwnerCa, names: TlsNames): string {
  const tls = new TlsCredentials(secrets, { names });
  tls.install(ca.issueServerCertificate({ publicKey: tls.publicKey(), names }));
  return tls.certFile;
}

async function show(data: DataDir): Promise<void> {
  const owner = OwnerKey.load(data.secrets);
  const trust = Trust.load(data.secrets);
  const ownerPublic = owner?.publicKey ?? trust?.owner;
  if (ownerPublic === undefined) throw noOwner('show');
  const out = [`owner key  ${keyId(ownerPublic)}  ed25519 ${Buffer.from(ownerPublic).toString('base64url')}${owner === undefined ? '  (the key itself is not here)' : ''}`];
  const caCertificate = OwnerCa.load(data.secrets)?.certificate ?? trust?.caCertificate;
  if (caCertificate !== undefined) {
    const ca = new crypto.X509Certificate(caCertificate);
    out.push(`owner CA   SHA256 ${ca.fingerprint256}  until ${new Date(ca.validTo).toISOString()}`);
  }
  const user = new UserDirectory(data.secrets).owner();
  const devices = user === undefined ? deviceLines(ownerPublic, trust, undefined) : await withOwnerStore(data, user, (main) => deviceLines(ownerPublic, trust, new OwnerRecords(main, ownerPublic)));
  process.stdout.write(`${[...out, ...devices].join('\n')}\n`);
}

/** A line for each certified device: those in the owner's store, and this one. */
function deviceLines(ownerPublic: Uint8Array, trust: Trust | undefined, records: OwnerRecords | undefined): string[] {
  const certificates = records?.devices() ?? [];
  if (trust !== undefined && !certificates.some((c) => c.id === trust.certificate.id)) certificates.push(trust.certificate);
  if (certificates.length === 0) return ['devices    none certified'];
  const now = new Date();
  return [
    'devices:',
    ...certificates.map((cert) => {
      const verdict = verifyDeviceCertificate(cert, { owner: ownerPublic, now, isRevoked: (serial) => records?.isRevoked(serial) ?? false });
      const here = cert.id === trust?.certificate.id ? '  (this device)' : '';
      return `  ${cert.id}  ${cert.device}  until ${cert.notAfter}  ${verdict.ok ? 'valid' : verdict.reason}${here}`;
    }),
  ];
}

async function revoke(data: DataDir, id: string, reason: string): Promise<void> {
  const owner = OwnerKey.load(data.secrets);
  if (owner === undefined) throw new NymoteError('ENOOWNER', "owner revoke: the owner key is not here; run it where 'nymote owner init' ran");
  const user = new UserDirectory(data.secrets).owner();
  if (user === undefined) throw new NymoteError('ENOUSER', "owner revoke: no owner's store here; add a user with 'nymote user add NAME'");
  await withOwnerStore(data, user, async (main) => {
    const records = new OwnerRecords(main, owner.publicKey);
    const cert = records.device(id);
    if (cert === undefined) throw new NymoteError('ENODEVICE', `owner revoke: no device '${id}' in ${user}'s store ('nymote owner show' lists them)`);
    const earlier = records.revocation(cert.serial);
    if (earlier !== undefined) {
      process.stdout.write(`${cert.device} (${cert.id}) was revoked already, ${earlier.revoked}\n`);
      return;
    }
    const entry = revokeDevice(owner, cert, reason);
    const commit = await main.set(revocationPath(entry.serial), formatRevocation(entry), { message: `signpost: revoke device ${cert.device} (${cert.id})` });
    process.stdout.write(`revoked ${cert.device} (${cert.id}), certificate ${entry.serial} (${commit})\n`);
  });
}

async function withOwnerStore<T>(data: DataDir, user: string, use: (main: Branch) => T | Promise<T>): Promise<T> {
  const store = Store.open(path.join(data.store, `${user}.git`));
  try {
    return await use(store.branch('main'));
  } finally {
    await store.close();
  }
}

function noOwner(action: string): NymoteError {
  return new NymoteError('ENOOWNER', `owner ${action}: no owner here; run 'nymote owner init' on your laptop, or pair this device`);
}
