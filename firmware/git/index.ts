/** git over the network: the smart-HTTP server (upload-pack, receive-pack) and sync with remotes. */
export { Remotes, splitCredentials, remoteNameProblem, DEFAULT_SYNC_SECONDS, type Remote, type RemoteCredentials } from './remotes.js';
export { syncRemote, type SyncResult } from './sync.js';
export { SyncService } from './sync-service.js';
