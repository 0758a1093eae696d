/**
 * The IMAP server: listeners (server.ts) and their connections (connection.ts), one Session
 * per client (session.ts) with the commands of each state (mailbox-commands.ts,
 * message-commands.ts), the selected mailbox's view (selected.ts), and messages read and
 * parsed once per blob (messages.ts). The protocol's text: reader.ts, parser*.ts, encode.ts.
 */
export { ImapService, DEFAULT_IMAP_LIMITS, type ImapLimits } from './server.js';
export { MessageCache, type LoadedMessage } from './messages.js';
export type { AuthResult, SessionContext } from './session.js';
