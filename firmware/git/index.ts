/** git over the network: the smart-HTTP server (upload-pack, receive-pack) and sync with remotes. */
export { Remotes, splitCredentials, remoteNameProblem, DEFAULT_SYNC_SECONDS, type Remote, type RemoteCredentials } from './remotes.js';
export { syncRemote, type RemoteTransport, type SyncResult } from './sync.js';
export { streamHttpClient } from './stream-http.js';
export { mountGit, DEFAULT_GIT_LIMITS, type GitAccess, type GitAuthorizer, type GitLimits, type GitServerOptions } from './routes.js';
export { GitHookRejection } from './errors.js';
export type { ReceiveContext, ReceiveHooks } from './receive-pack.js';
export { SyncService } from './sync-service.js';
