/**
 * SMTP for the mail app: submission (587/1587) and inbound (25/2525) on smtp-server, an
 * outbound queue in each user's store, and the smarthost that takes mail for other domains.
 *
 *   const submission = new SmtpService('submission', '127.0.0.1', 1587, deps);
 *   const inbound = new SmtpService('inbound', '127.0.0.1', 2525, deps, { maxMessageBytes: 10 << 20 });
 *   saveSmarthost(configDir, secretsDir, { host: 'smtp.example.net', port: 587, security: 'starttls', user: 'me' }, password);
 */
export { SmtpService, type SmtpRole } from './server.js';
export type { SmtpDependencies, AuthenticationResult } from './dependencies.js';
export { DEFAULT_SMTP_LIMITS, type SmtpLimits } from './limits.js';
export {
  loadSmarthost,
  saveSmarthost,
  removeSmarthost,
  describeSmarthost,
  checkSmarthostSettings,
  SMARTHOST_SETTINGS_FILE,
  SMARTHOST_PASSWORD_FILE,
  type SmarthostSettings,
  type Smarthost,
} from './smarthost-config.js';
export { OutboundQueue, type OutboundQueueOptions } from './queue.js';
export { classifyRecipient, senderOwnedBy, parseMailbox, type RecipientClass } from './addresses.js';
