/** What the per-role handlers of a running SMTP service share. */
import type { Logger } from '../../../runtime/index.js';
import type { SmtpDependencies } from './dependencies.js';
import type { SmtpLimits } from './limits.js';
import type { OutboundQueue } from './queue.js';

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
