/**
 * Release manifests: what a release is, signed by a release key. A device checks one before
 * anything of the release is written anywhere (checkRelease), and every file against it
 * (checkFiles): the signature by a key it trusts, its board and arch, a release counter above
 * the installed one (no rollback), expiry, total size, and each file's length and SHA-256.
 * Keys rotate by release: a release signed by a trusted key may add keys (addKeys), which the
 * device trusts once that release is installed. A release may also carry OS images (root file
 * systems, `os`) for full-system updates, one per board, each for the kernel its modules fit.
 */
import crypto from 'node:crypto';
import {
  formatDocument,
  isBase64url,
  isHex,
  isInstant,
  isLine,
  keyId,
  parseDocument,
  signDocument,
  signatureValid,
  type DocumentKind,
  type Signed,
  type SigningKey,
} from '../signpost/index.js';

export const MANIFEST_PATH = 'manifest.json';
/** What a release carries apps for: the boards' arches, and x64 for a laptop that runs nyinit (tests). */
export const ARCHES = ['arm64', 'armhf', 'x64'] as const;
export type Arch = (typeof ARCHES)[number];
const MAX_FILES = 256;
const MAX_MANIFEST_BYTES = 64 * 1024;
const VERSION = /^\d{1,5}\.\d{1,5}\.\d{1,5}(?:-[0-9A-Za-z.-]{1,32})?$/;
const BOARD = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** A kernel release as `uname -r` says it (6.12.57+deb13-arm64). */
const KERNEL_RELEASE = /^[0-9A-Za-z][0-9A-Za-z._+~-]{0,63}$/;
/** A release file's path: relative, slash-separated, no empty, `.` or `..` parts. */
const FILE_PATH = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9@._+-]+(?:\/[A-Za-z0-9@._+-]+)*$/;

/** A release file's digest as the manifest lists it: SHA-256, hex. */
export const fileDigest = (bytes: Uint8Array): string => crypto.createHash('sha256').update(bytes).digest('hex');

/** Where a release keeps a board's OS image (the squashfs of an OS slot, rootfs/build-image.sh). */
export const osImagePath = (board: string): string => `os/${board}/rootfs.squashfs`;

export interface ReleaseFile {
  path: string;
  length: number;
  sha256: string;
}

export interface ReleaseManifestFields {
  v: 1;
  version: string;
  /** Monotonic: a device takes only a counter above the one it runs. */
  counter: number;
  boards: string[];
  /** The arches it has an app for: each one's files are under `<arch>/` (ARCH_DIR). */
  arches: Arch[];
  created: string;
  expires: string;
  /** Sorted by path, each path once; MANIFEST_PATH itself is not listed. */
  files: ReleaseFile[];
  totalBytes: number;
  /**
   * OS images for full-system updates, by board: the kernel release their modules are for (an
   * OS update keeps the kernel on the boot partition). Each one's file is osImagePath(board).
   */
  os: Record<string, string>;
  /** Release keys (base64url Ed25519) trusted from this release on. */
  addKeys: string[];
  /** The signing release key (base64url Ed25519). */
  key: string;
}

export type ReleaseManifest = Signed<ReleaseManifestFields>;

const isCount = (value: unknown, max: number): value is number => Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= max;

const isFile = (value: unknown): value is ReleaseFile => {
  if (typeof value !== 'object' || value === null) return false;
  const { path, length, sha256, ...rest } = value as Record<string, unknown>;
  return Object.keys(rest).length === 0 && typeof path === 'string' && path.length <= 200 && FILE_PATH.test(path) && path !== MANIFEST_PATH && isCount(length, Number.MAX_SAFE_INTEGER) && isHex(sha256, 32);
};

const MANIFEST: DocumentKind<ReleaseManifestFields> = {
  name: 'release manifest',
  prefix: 'nymote release manifest v1\n',
  maxBytes: MAX_MANIFEST_BYTES,
  fields: {
    v: (value) => value === 1,
    version: (value) => isLine(value, 48) && VERSION.test(value),
    counter: (value) => isCount(value, Number.MAX_SAFE_INTEGER) && value >= 1,
    boards: (value) => Array.isArray(value) && value.length >= 1 && value.length <= 16 && value.every((b) => typeof b === 'string' && BOARD.test(b)),
    arches: (value) => Array.isArray(value) && value.length >= 1 && value.every((arch, i) => ARCHES.includes(arch as Arch) && value.indexOf(arch) === i),
    created: isInstant,
    expires: isInstant,
    files: (value) => Array.isArray(value) && value.length >= 1 && value.length <= MAX_FILES && value.every(isFile),
    totalBytes: (value) => isCount(value, Number.MAX_SAFE_INTEGER),
    os: (value) =>
      typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length <= 16 && Object.entries(value).every(([board, kernel]) => BOARD.test(board) && typeof kernel === 'string' && KERNEL_RELEASE.test(kernel)),
    addKeys: (value) => Array.isArray(value) && value.length <= 8 && value.every((k) => isBase64url(k, 32)),
    key: (value) => isBase64url(value, 32),
  },
  consistent: (manifest) => {
    if (Date.parse(manifest.expires) <= Date.parse(manifest.created)) return 'expires is not after created';
    const paths = manifest.files.map((f) => f.path);
    const osBoards = Object.keys(manifest.os);
    const stray = paths.find((path) => !manifest.arches.some((arch) => path.startsWith(`${arch}/`)) && !osBoards.some((board) => path === osImagePath(board)));
    if (stray !== undefined) return `${stray} is neither under the directory of one of the release's arches nor one of its OS images`;
    const strayBoard = osBoards.find((board) => !manifest.boards.includes(board));
    if (strayBoard !== undefined) return `an OS image for ${strayBoard}, which is not one of the release's boards`;
    const missing = osBoards.find((board) => !paths.includes(osImagePath(board)));
    if (missing !== undefined) return `no ${osImagePath(missing)} for the OS image of ${missing}`;
    if (paths.some((path, i) => i > 0 && path <= paths[i - 1]!)) return 'files are not sorted by path, each once';
    if (manifest.files.reduce((sum, f) => sum + f.length, 0) !== manifest.totalBytes) return 'totalBytes is not the sum of the files';
    return undefined;
  },
};

export interface ReleaseContents {
  version: string;
  counter: number;
  boards: string[];
  arches: Arch[];
  /** The release's files by path (MANIFEST_PATH excluded): each arch's app under `<arch>/`, OS images at osImagePath. */
  files: ReadonlyMap<string, Uint8Array>;
  /** The kernel release of each board's OS image among `files`. */
  os?: Record<string, string>;
  /** How long devices accept the release (days from now). */
  validDays: number;
  addKeys?: Uint8Array[];
  now?: Date;
}

/** The signed manifest of a release's files. */
export function signRelease(key: SigningKey, release: ReleaseContents): ReleaseManifest {
  const now = release.now ?? new Date();
  const files = [...release.files.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, bytes]) => ({ path, length: bytes.length, sha256: fileDigest(bytes) }));
  return signDocument(
    MANIFEST,
    {
      v: 1,
      version: release.version,
      counter: release.counter,
      boards: release.boards,
      arches: release.arches,
      created: now.toISOString(),
      expires: new Date(now.getTime() + release.validDays * 86_400_000).toISOString(),
      files,
      totalBytes: files.reduce((sum, f) => sum + f.length, 0),
      os: release.os ?? {},
      addKeys: (release.addKeys ?? []).map((k) => Buffer.from(k).toString('base64url')),
      key: Buffer.from(key.publicKey).toString('base64url'),
    },
    key,
  );
}

/** A manifest from its JSON text (at most 64 KiB); NymoteError EBADDOC naming the problem. */
export function parseManifest(text: string | Uint8Array): ReleaseManifest {
  return parseDocument(MANIFEST, text);
}

export function formatManifest(manifest: ReleaseManifest): string {
  return formatDocument(MANIFEST, manifest);
}

export interface DeviceFacts {
  /** Release keys this device trusts (raw Ed25519 public keys). */
  trusted: readonly Uint8Array[];
  board: string;
  arch: Arch;
  /** The highest counter it has installed (0 before any release): anti-rollback. */
  installedCounter: number;
  now: Date;
  /** The most bytes its arch's app may have (what the inactive slot can hold). */
  maxTotalBytes: number;
  /** Its OS slots: the kernel it runs and what the inactive one holds; undefined when it has none. */
  os: { kernel: string; maxBytes: number } | undefined;
}

export type ReleaseVerdict = { ok: true } | { ok: false; installed: boolean; reason: string };

/** Whether this device takes the release: the first rule it breaks, as one line for `remote:`. */
export function checkRelease(manifest: ReleaseManifest, device: DeviceFacts): ReleaseVerdict {
  const refuse = (reason: string, installed = false): ReleaseVerdict => ({ ok: false, installed, reason });
  const signer = Buffer.from(manifest.key, 'base64url');
  if (!device.trusted.some((key) => Buffer.from(key).equals(signer))) return refuse(`signed by release key ${keyId(signer)}, which this device does not trust`);
  if (!signatureValid(MANIFEST, manifest, signer)) return refuse('the manifest signature does not verify');
  if (!manifest.boards.includes(device.board)) return refuse(`release for ${manifest.boards.join(', ')}, this device is ${device.board}`);
  if (!manifest.arches.includes(device.arch)) return refuse(`release for ${manifest.arches.join(', ')}, this device is ${device.arch}`);
  if (manifest.counter === device.installedCounter) return refuse(`release ${manifest.version} (counter ${manifest.counter}) is already installed`, true);
  if (manifest.counter < device.installedCounter) return refuse(`release counter ${manifest.counter} is below the installed ${device.installedCounter}: no rollback`);
  if (device.now.getTime() >= Date.parse(manifest.expires)) return refuse(`release expired at ${manifest.expires}`);
  const appBytes = appFiles(manifest, device.arch).reduce((sum, file) => sum + file.length, 0);
  if (appBytes > device.maxTotalBytes) return refuse(`release of ${appBytes} bytes for ${device.arch}, this device takes at most ${device.maxTotalBytes}`);
  const image = osImage(manifest, device.board);
  if (image !== undefined) {
    if (device.os === undefined) return refuse(`the release carries an OS image for ${device.board}, and this device has no OS slots to take it`);
    if (image.kernel !== device.os.kernel) return refuse(`the OS image is for kernel ${image.kernel}, this device runs ${device.os.kernel} (a new kernel needs a new card image)`);
    if (image.file.length > device.os.maxBytes) return refuse(`the OS image is ${image.file.length} bytes, the OS slot holds ${device.os.maxBytes}`);
  }
  return { ok: true };
}

/** The release's OS image for `board` (its file and kernel release), if it carries one. */
export function osImage(manifest: ReleaseManifest, board: string): { file: ReleaseFile; kernel: string } | undefined {
  const kernel = Object.hasOwn(manifest.os, board) ? manifest.os[board] : undefined;
  const file = manifest.files.find((f) => f.path === osImagePath(board));
  return kernel === undefined || file === undefined ? undefined : { file, kernel };
}

/**
 * Whether a release commit's files (`paths`, MANIFEST_PATH excluded) are exactly the
 * manifest's, each of its length and SHA-256. Reads one file at a time (`read`), so a release
 * is never whole in memory.
 */
export function checkFiles(manifest: ReleaseManifest, paths: Iterable<string>, read: (path: string) => Uint8Array | undefined): { ok: true } | { ok: false; reason: string } {
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const path of paths) {
    if (!listed.has(path)) return { ok: false, reason: `${path.slice(0, 200)} is in the release but not in its manifest` };
  }
  for (const file of manifest.files) {
    const bytes = read(file.path);
    if (bytes === undefined) return { ok: false, reason: `the manifest names ${file.path}, which the release does not have` };
    if (bytes.length !== file.length) return { ok: false, reason: `${file.path} is ${bytes.length} bytes, the manifest says ${file.length}` };
    if (fileDigest(bytes) !== file.sha256) return { ok: false, reason: `${file.path} does not match its SHA-256 in the manifest` };
  }
  return { ok: true };
}

/** The files of `arch`'s app, with paths relative to the app (the slot). */
export function appFiles(manifest: ReleaseManifest, arch: Arch): ReleaseFile[] {
  const prefix = `${arch}/`;
  return manifest.files.filter((file) => file.path.startsWith(prefix)).map((file) => ({ ...file, path: file.path.slice(prefix.length) }));
}

/** The keys trusted once `manifest` is installed: the ones before, and those it adds. */
export function trustedAfter(trusted: readonly Uint8Array[], manifest: ReleaseManifest): Uint8Array[] {
  const keys = [...trusted];
  for (const added of manifest.addKeys.map((k) => Buffer.from(k, 'base64url'))) {
    if (!keys.some((key) => Buffer.from(key).equals(added))) keys.push(added);
  }
  return keys;
}
