/**
 * Submission (port 587): mail from this device's users, after STARTTLS and AUTH. The envelope
 * sender must be one of the user's own addresses. Local recipients are delivered at once;
 * the others go to the user's outbound queue for the smarthost — and are refused when there
 * is none. No copy goes to Sent: clients APPEND it over IMAP.
 */
import { describeError } from '../../../runtime/index.js';
import { classifyRecipient, senderOwnedBy } from './addresses.js';
import type { SmtpContext, ReceivedMessage } from './context.js';
import { recipientRefusal, uniqueUsers } from './context.js';
import { missingSubmissionHeaders, prependHeaders, receivedHeader, returnPathHeader } from './headers.js';
import { smtpReply, type SmtpReplyError } from './replies.js';
import { loadSmarthost } from './smarthost-config.js';

export function submissionSenderRefusal(ctx: SmtpContext, user: string | undefined, address: string): SmtpReplyError | undefined {
  if (user === undefined) return smtpReply(530, '5.7.0', 'authentication required');
  if (address === '') return smtpReply(553, '5.7.1', 'the null sender is not allowed for submission');
  if (!senderOwnedBy(address, user, ctx.deps.localDomains(), ctx.deps.userOf)) {
    return smtpReply(553, '5.7.1', `sender address <${address}> is not owned by user ${user}`);
  }
  return undefined;
}

export function submissionRecipientRefusal(ctx: SmtpContext, user: string, address: string): SmtpReplyError | undefined {
  return recipientRefusal(ctx, address, () => remoteRefusal(ctx, user));
}

function remoteRefusal(ctx: SmtpContext, user: string): SmtpReplyError | undefined {
  try {
    if (loadSmarthost(ctx.deps.configDir, ctx.deps.secretsDir) === undefined) {
      return smtpReply(550, '5.7.1', 'no smarthost configured for mail to other domains');
    }
  } catch (err) {
    ctx.log.error('smarthost settings unreadable', { error: describeError(err) });
    return smtpReply(451, '4.3.5', 'the smarthost settings of this server are broken; try again later');
  }
  if (ctx.queue === undefined) return smtpReply(550, '5.7.1', 'this server does not send mail to other domains');
  if (ctx.queue.size(user) >= ctx.limits.maxQueuedPerUser) return smtpReply(452, '4.3.1', 'your outbound queue is full; try again later');
  return undefined;
}

/** Takes a submitted message: local deliveries and one queue entry; returns the counts. */
export async function acceptSubmission(ctx: SmtpContext, message: ReceivedMessage): Promise<{ local: number; queued: number }> {
  const user = message.user!;
  const localUsers: string[] = [];
  const remote: string[] = [];
  for (const address of message.recipients) {
    const recipient = classifyRecipient(address, ctx.deps.localDomains(), ctx.deps.userOf);
    if (recipient.kind === 'local') localUsers.push(recipient.user);
    else if (recipient.kind === 'remote') remote.push(recipient.address);
    else ctx.log.warn('recipient gone before delivery', { id: message.sessionId, rcpt: address });
  }
  const now = new Date();
  const received = receivedHeader({
    helo: message.helo,
    by: ctx.hostname,
    protocol: message.protocol,
    id: message.sessionId,
    ...(message.recipients.length === 1 ? { recipient: message.recipients[0]! } : {}),
    date: now,
  });
  const outgoing = prependHeaders(received + missingSubmissionHeaders(message.data, ctx.hostname, now), message.data);
  if (remote.length > 0) {
    if (ctx.queue === undefined) throw new Error('no outbound queue');
    await ctx.queue.enqueue(user, message.from, remote, outgoing);
  }
  const targets = uniqueUsers(localUsers);
  const delivered = prependHeaders(returnPathHeader(message.from), outgoing);
  for (const target of targets) await ctx.deps.deliver(target, delivered, 'INBOX');
  return { local: targets.length, queued: remote.length };
}
