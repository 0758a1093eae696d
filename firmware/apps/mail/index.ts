/**
 * The mail app: IMAP (with STARTTLS) and IMAPS over mailboxes kept in each user's versioned
 * store (store/), and SMTP submission and inbound delivery into them (smtp/). Messages are
 * parsed once (message/) and the parse cached by blob id (imap/messages.ts).
 *
 *   const mail = new MailApp({ stores, authenticate, secureContext, tlsOptions, localDomains, userOf, configDir, secretsDir, log });
 *   runtime.services.add(mail.imapService('imap', listen, 1143));
 *   runtime.services.add(mail.smtpService('submission', listen, 1587));
 *   await mail.deliver('alice', raw);      // into INBOX, one commit
 */
import type tls from 'node:tls';
import type { Logger } from '../../runtime/index.js';
import type { UserStores } from '../../store/index.js';
import { ImapService, MessageCache, type AuthResult } from './imap/index.js';
import { SmtpService, type SmtpRole } from './smtp/index.js';
import { INBOX, MailStore } from './store/index.js';

export { MailStore, MailError, INBOX, InvalidMailboxName, registerMailMergeTypes, type MailboxSnapshot, type MessageRecord } from './store/index.js';
export { ImapService } from './imap/index.js';
export { decodeCachedHeader, messageView, parseMessage, type MessageAttachment, type MessageView } from './message/index.js';
export { SmtpService, loadSmarthost, saveSmarthost, removeSmarthost, describeSmarthost } from './smtp/index.js';

/** APPENDLIMIT and the largest message SMTP accepts. */
export const MAX_MESSAGE_BYTES = 50 * 1024 * 1024;

export interface MailAppOptions {
  stores: UserStores;
  authenticate(user: string, password: string, remoteAddress: string): Promise<AuthResult>;
  /** The device's TLS: as a context (IMAP) and as PEM key and certificate (SMTP). */
  secureContext: () => tls.SecureContext;
  tlsOptions: () => { key: string; cert: string };
  /** Domains mail is received for (the hostname, the owner's zone). */
  localDomains: () => string[];
  /** The user an address of a local domain belongs to (its local part), if any. */
  userOf: (address: string) => string | undefined;
  /** Where the smarthost's settings and password are kept. */
  configDir: string;
  secretsDir: string;
  log: Logger;
}

export class MailApp {
  private readonly mailStores = new Map<string, Promise<MailStore>>();
  private readonly messages = new MessageCache();

  constructor(private readonly options: MailAppOptions) {}

  /** A user's mail, with INBOX and the special-use mailboxes made on first use. */
  mailOf(user: string): Promise<MailStore> {
    let mail = this.mailStores.get(user);
    if (mail === undefined) {
      const store = new MailStore(this.options.stores.ensure(user));
      mail = store.ensureDefaults().then(() => store);
      mail.catch(() => this.mailStores.delete(user));
      this.mailStores.set(user, mail);
    }
    return mail;
  }

  /** Durable delivery of one message (resolves once committed). */
  async deliver(user: string, raw: Buffer, mailbox = INBOX): Promise<void> {
    const mail = await this.mailOf(user);
    await mail.append(mailbox, [{ raw }]);
  }

  /** Submission (AUTH after STARTTLS; other domains through the smarthost) or inbound SMTP. */
  smtpService(role: SmtpRole, listen: string, port: number): SmtpService {
    const { authenticate, tlsOptions, localDomains, userOf, configDir, secretsDir, stores, log } = this.options;
    return new SmtpService(role, listen, port, {
      log: log.child(role === 'inbound' ? 'smtp' : 'submission'),
      tls: tlsOptions,
      authenticate: async (user, password, address) => {
        const result = await authenticate(user, password, address);
        return result.ok && result.user !== undefined ? { ok: true, user: result.user } : { ok: false, temporary: result.temporary === true, message: result.message ?? 'authentication failed' };
      },
      localDomains,
      userOf,
      deliver: (user, message, mailbox) => this.deliver(user, message, mailbox),
      store: (user) => stores.ensure(user),
      configDir,
      secretsDir,
    }, { maxMessageBytes: MAX_MESSAGE_BYTES });
  }

  imapService(name: 'imap' | 'imaps', listen: string, port: number): ImapService {
    return new ImapService(
      { name, listen, port, implicitTls: name === 'imaps', secureContext: this.options.secureContext, log: this.options.log.child(name) },
      { authenticate: this.options.authenticate, mailOf: (user) => this.mailOf(user), messages: this.messages, appendLimit: MAX_MESSAGE_BYTES },
    );
  }
}
