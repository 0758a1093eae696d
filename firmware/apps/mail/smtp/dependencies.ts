/** What the SMTP services need from the rest of the firmware; the integrator provides it. */
import type { Logger } from '../../../runtime/log.js';
import type { Store } from '../../../store/index.js';

export type AuthenticationResult = { ok: true; user: string } | { ok: false; temporary: boolean; message: string };

export interface SmtpDependencies {
  log: Logger;
  /** TLS for STARTTLS: returns the current key/cert (certificates can be renewed while running). */
  tls: () => { key: string; cert: string };
  /** Password check: the firmware's Authenticator (rate limited). remoteAddress for the limiter. */
  authenticate: (user: string, password: string, remoteAddress: string) => Promise<AuthenticationResult>;
  /** Domains this device receives mail for (the owner's domains and the hostname). */
  localDomains: () => string[];
  /** Which user a local address belongs to (local part = user name, case-insensitive; plus-addressing user+tag), or undefined. */
  userOf: (address: string) => string | undefined;
  /** Durable delivery into a user's mailbox (resolves once committed to the store). */
  deliver: (user: string, message: Buffer, mailbox?: string) => Promise<void>;
  /** The store of a user (for the outbound queue). */
  store: (user: string) => Store;
  /** Where the smarthost is configured: config dir (JSON settings) and secrets dir (its password). */
  configDir: string;
  secretsDir: string;
}
