/**
 * Mail on the versioned store: `mail/<mailbox>/<uid>.eml` and `mail/<mailbox>/.mailbox.json`
 * (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, flags and modseq per message), one commit per batch
 * of changes.
 */
export { MailStore, MailError, DEFAULT_MAILBOXES, SPECIAL_USES, type MailboxSnapshot, type MailboxEntry, type NewMessage, type FlagChange } from './mail-store.js';
export { InvalidMailboxName, canonicalName, DELIMITER, INBOX, MAIL_ROOT, messagePath, statePath } from './names.js';
export { indexOfUid, normalizeFlags, SYSTEM_FLAGS, type MailboxState, type MessageRecord } from './state.js';
export { mailboxMergeType, registerMailMergeTypes } from './merge.js';
