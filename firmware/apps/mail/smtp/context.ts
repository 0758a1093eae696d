/** What the per-role handlers of a running SMTP service share. */
import type { Logger } from '../../../runtime/index.js';
import type { SmtpDependencies } from './dependencies.js';
import type { SmtpLimits } from './limits.js';
import type { OutboundQueue } from './queue.js';
import { classifyRecipient } from './addresses.js';
import { smtpReply, type SmtpReplyError } from './replies.js';

export interface SmtpContext {
  deps: SmtpDependencies;
  limits: SmtpLimits;
  log: Logger;
  /** The name the server greets with and writes into Received lines. */
  hostname: string;
  /** The outbound queue (submission only). */
  queue: OutboundQueue | undefined;
}

/** A message as received, with what the handlers need to know about its session. */
export interface ReceivedMessage {
  sessionId: string;
  from: string;
  recipients: string[];
  helo: string | undefined;
  remoteAddress: string;
  /** ESMTP, ESMTPS, ESMTPSA… */
  protocol: string;
  /** The authenticated user (submission). */
  user: string | undefined;
  data: Buffer;
}

/** Each user once, in the order first seen: one delivery per user even for user and user+tag. */
export function uniqueUsers(users: readonly string[]): string[] {
  return [...new Set(users)];
}

/**
 * Why a recipient is refused, or undefined when it is accepted. Both roles answer local
 * addresses alike; `remote` says what a role answers for another domain.
 */
export function recipientRefusal(ctx: SmtpContext, address: string, remote: () => SmtpReplyError | undefined): SmtpReplyError | undefined {
  const recipient = classifyRecipient(address, ctx.deps.localDomains(), ctx.deps.userOf);
  switch (recipient.kind) {
    case 'local':
      return undefined;
    case 'unknown-user':
      return smtpReply(550, '5.1.1', `<${recipient.address}>: no such user here`);
    case 'invalid':
      return smtpReply(553, '5.1.3', `mailbox name not allowed: ${recipient.reason}`);
    case 'remote':
      return remote();
  }
}
