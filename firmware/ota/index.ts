/**
 * Over-the-air updates by `git push` to firmware.git: release keys and signed manifests
 * (what a release is and whether this device takes it), the app slots and state.json that
 * nyinit starts from, the OS slots the initramfs boots from, the updater (verify and stage on push, switch on trial, health check,
 * commit or revert), the outcome on refs/ota/status, and `ota status|rollback`.
 */
export { ReleaseKey, formatTrustedKeys, parseTrustedKeys } from './release-keys.js';
export {
  ARCHES,
  MANIFEST_PATH,
  appFiles,
  checkFiles,
  checkRelease,
  formatManifest,
  osImage,
  osImagePath,
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
export { SlotDirectory, SLOTS, MAX_TRIAL_STARTS, STATE_FILE, TRIAL_STARTS_FILE, otherSlot, type SlotName, type SlotRelease, type SlotState } from './slots.js';
export { OsSlots, osSlotFacts, OS_SLOT_FILE, OS_TRY_FILE, type OsSlotFacts } from './os-slots.js';
export { Updater, TRIAL_HEALTH_MS, type UpdaterOptions } from './updater.js';
export { STATUS_REF, formatStatus, lastOutcome, type OtaOutcome } from './status.js';
export { selfTest } from './self-test.js';
export { imageFacts, type ImageFacts } from './image.js';
export { otaCommands } from './commands.js';
export { buildRelease, RELEASE_BRANCH, type ReleaseBuild } from './release-build.js';
