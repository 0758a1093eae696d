/**
 * The bounds of the SMTP services: what one client may send and hold, and how the outbound
 * queue retries. Every network input is bounded by one of these.
 */

export interface SmtpLimits {
  /** Largest message accepted (advertised as SIZE); 25 MiB. */
  maxMessageBytes: number;
  /** Bytes of messages held in memory at once by one service, across connections (64 MiB). */
  maxBufferedBytes: number;
  /** Recipients of one transaction (100). */
  maxRecipients: number;
  /** Connections served at once; more get 421 (32). */
  maxConnections: number;
  /** A client silent this long is disconnected (5 min). */
  idleTimeoutMs: number;
  /** Longest command line (RFC 5321 says 512; AUTH lines carry base64 credentials). */
  maxCommandBytes: number;
  /** Messages waiting in one user's outbound queue (1000); more get 452. */
  maxQueuedPerUser: number;
  /** Waits before the 1st, 2nd, … retry; the last repeats. */
  retryDelaysMs: number[];
  /** A message still undelivered this long after it was queued bounces (2 days). */
  giveUpAfterMs: number;
  /** The queue is looked at at least this often (1 min). */
  queuePollMs: number;
  /** Connect, greeting and idle timeout for the smarthost (2 min). */
  smarthostTimeoutMs: number;
  /** How long `stop` lets sessions finish before closing them (3 s). */
  closeTimeoutMs: number;
}

const MINUTE = 60_000;

export const DEFAULT_SMTP_LIMITS: Readonly<SmtpLimits> = Object.freeze({
  maxMessageBytes: 25 * 1024 * 1024,
  maxBufferedBytes: 64 * 1024 * 1024,
  maxRecipients: 100,
  maxConnections: 32,
  idleTimeoutMs: 5 * MINUTE,
  maxCommandBytes: 4096,
  maxQueuedPerUser: 1000,
  retryDelaysMs: [1 * MINUTE, 5 * MINUTE, 15 * MINUTE, 60 * MINUTE, 4 * 60 * MINUTE],
  giveUpAfterMs: 2 * 24 * 60 * MINUTE,
  queuePollMs: 1 * MINUTE,
  smarthostTimeoutMs: 2 * MINUTE,
  closeTimeoutMs: 3000,
});

export function resolveLimits(limits: Partial<SmtpLimits> = {}): SmtpLimits {
  const merged = { ...DEFAULT_SMTP_LIMITS, ...limits };
  if (merged.retryDelaysMs.length === 0) merged.retryDelaysMs = [...DEFAULT_SMTP_LIMITS.retryDelaysMs];
  return merged;
}
