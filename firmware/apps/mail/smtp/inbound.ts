/**
 * Inbound SMTP (port 25): mail from the world for this device's users. No AUTH, no relaying:
 * a recipient must be on a local domain and belong to a user, else 550. Each recipient user
 * gets the message once in their INBOX, with Return-Path and Received in front.
 */
import type { SmtpContext, ReceivedMessage } from './context.js';
import { recipientRefusal, uniqueUsers } from './context.js';
import { classifyRecipient } from './addresses.js';
import { prependHeaders, receivedHeader, returnPathHeader } from './headers.js';
import { smtpReply, type SmtpReplyError } from './replies.js';

/** Why a recipient is refused on the inbound port, or undefined when it is one of ours. */
export function inboundRecipientRefusal(ctx: SmtpContext, address: string): SmtpReplyError | undefined {
  return recipientRefusal(ctx, address, () => smtpReply(550, '5.7.1', 'relaying denied: this server only receives mail for its own domains'));
}

/** Delivers an accepted message to each recipient user; returns how many users got it. */
export async function deliverInbound(ctx: SmtpContext, message: ReceivedMessage): Promise<number> {
  const users: string[] = [];
  for (const address of message.recipients) {
    const recipient = classifyRecipient(address, ctx.deps.localDomains(), ctx.deps.userOf);
    // Checked at RCPT; a user removed since then is skipped rather than guessed at.
    if (recipient.kind === 'local') users.push(recipient.user);
    else ctx.log.warn('recipient gone before delivery', { id: message.sessionId, rcpt: address });
  }
  const received = receivedHeader({
    helo: message.helo,
    clientAddress: message.remoteAddress,
    by: ctx.hostname,
    protocol: message.protocol,
    id: message.sessionId,
    ...(message.recipients.length === 1 ? { recipient: message.recipients[0]! } : {}),
    date: new Date(),
  });
  const delivered = prependHeaders(returnPathHeader(message.from) + received, message.data);
  const targets = uniqueUsers(users);
  for (const user of targets) await ctx.deps.deliver(user, delivered, 'INBOX');
  return targets.length;
}
