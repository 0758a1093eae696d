/**
 * Over-the-air updates. Now: release keys and signed release manifests — what a device checks
 * before it takes a release (signature by a trusted key, board, arch, anti-rollback counter,
 * expiry, size, every file's length and hash). Later: the push hook, slots, trial and rollback.
 */
export { ReleaseKey, formatTrustedKeys, parseTrustedKeys } from './release-keys.js';
export {
  ARCHES,
  MANIFEST_PATH,
  checkFiles,
  checkRelease,
  formatManifest,
  parseManifest,
  signRelease,
  trustedAfter,
  type Arch,
  type DeviceFacts,
  type ReleaseContents,
  type ReleaseFile,
  type ReleaseManifest,
  type ReleaseVerdict,
} from './manifest.js';
