/**
 * Bounces: a delivery status notification (RFC 3464, multipart/report; report-type=
 * delivery-status) for recipients that could not be reached, addressed to the sender and put
 * into their INBOX. It carries the original's header block only (text/rfc822-headers), so a
 * bounce of a 25 MiB message stays small.
 */
import crypto from 'node:crypto';
import { headerBlock, oneLine, rfc5322Date } from './headers.js';

export interface FailedRecipient {
  recipient: string;
  /** The smarthost's reply or why we gave up, one line. */
  reply: string;
  /** When it failed for good (ISO 8601). */
  at: string;
}

export interface BounceInput {
  /** The sender of the original message (the bounce goes to them). */
  sender: string;
  failed: FailedRecipient[];
  original: Buffer;
  /** This device's name (Reporting-MTA). */
  reportingMta: string;
  /** The smarthost, when one answered (Remote-MTA). */
  remoteMta?: string;
  /** When the original was queued. */
  arrival: Date;
  now: Date;
}

/** The enhanced status code in a reply ("… 550 5.1.1 …" → 5.1.1), else one from its class. */
export function statusOfReply(reply: string): string {
  const enhanced = /(?:^|\s)[245]\d\d[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply);
  if (enhanced !== null) return enhanced[1]!;
  if (/(?:^|\s)4\d\d\b/.test(reply)) return '4.0.0';
  return '5.0.0';
}

function recipientFields(failed: FailedRecipient, remoteMta: string | undefined): string {
  const status = statusOfReply(failed.reply).replace(/^4/, '5'); // a give-up after temporary errors is final
  const isSmtpReply = /^\d{3}[ -]/.test(failed.reply);
  return [
    `Final-Recipient: rfc822; ${oneLine(failed.recipient, 300)}`,
    'Action: failed',
    `Status: ${status}`,
    ...(remoteMta === undefined || !isSmtpReply ? [] : [`Remote-MTA: dns; ${oneLine(remoteMta, 255)}`]),
    `Diagnostic-Code: ${isSmtpReply ? 'smtp' : 'x-unix'}; ${oneLine(failed.reply, 900)}`,
    `Last-Attempt-Date: ${rfc5322Date(new Date(failed.at))}`,
  ].join('\r\n');
}

/** The bounce message, CRLF line ends, ready for delivery. */
export function buildBounce(input: BounceInput): Buffer {
  const boundary = `nymote-dsn-${crypto.randomBytes(12).toString('hex')}`;
  const host = oneLine(input.reportingMta, 255);
  const human = [
    'This is the mail system of ' + host + '.',
    '',
    'Your message could not be delivered to the following recipient(s):',
    '',
    ...input.failed.map((f) => `  <${oneLine(f.recipient, 300)}>: ${oneLine(f.reply, 900)}`),
    '',
    'The headers of your message are attached.',
  ].join('\r\n');
  const report = [
    `Reporting-MTA: dns; ${host}`,
    `Arrival-Date: ${rfc5322Date(input.arrival)}`,
    '',
    input.failed.map((f) => recipientFields(f, input.remoteMta)).join('\r\n\r\n'),
  ].join('\r\n');
  const original = headerBlock(input.original).replace(/\r?\n/g, '\r\n').replace(/\r\n$/, '');
  const message = [
    `From: Mail Delivery System <MAILER-DAEMON@${host}>`,
    `To: <${oneLine(input.sender, 300)}>`,
    'Subject: Undelivered Mail Returned to Sender',
    `Date: ${rfc5322Date(input.now)}`,
    `Message-ID: <${crypto.randomUUID()}@${host}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated message.',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    human,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    report,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    original,
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
  // The original's headers may hold 8-bit bytes; keep them as they were (latin1 round trip).
  return Buffer.from(`Return-Path: <>\r\n${message}`, 'latin1');
}
