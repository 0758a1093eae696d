/**
 * Header lines the server adds: Received (trace, RFC 5321 4.4) on every message it accepts,
 * Return-Path at final delivery, and Date / Message-ID on submitted messages that lack them
 * (RFC 6409 8.2, 8.3). Only the header block is looked at; the body is never parsed.
 */
import crypto from 'node:crypto';

/** RFC 5322 date-time in UTC: "Tue, 14 Jan 2025 10:00:00 +0000". */
export function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

/** One line of printable text, bounded: replies go into state files, logs and bounces. */
export function oneLine(text: string, max = 400): string {
  return text.replace(/[\r\n\t]+/g, ' ').replace(/[^\x20-\x7e]/g, '?').trim().slice(0, max);
}

/** Keeps a value that goes into a header on one line of printable ASCII. */
function headerSafe(value: string, max = 200): string {
  return value.replace(/[^\x21-\x7e ]/g, '?').slice(0, max);
}

export interface ReceivedFields {
  /** The name the client gave in HELO/EHLO. */
  helo: string | undefined;
  /** The client's address; omitted for submission, so a sender's own address does not travel. */
  clientAddress?: string;
  by: string;
  /** ESMTP, ESMTPS, ESMTPSA… */
  protocol: string;
  id: string;
  /** The recipient, when there is only one. */
  recipient?: string;
  date: Date;
}

export function receivedHeader(fields: ReceivedFields): string {
  const from = fields.helo === undefined ? '' : `from ${headerSafe(fields.helo, 100)}${fields.clientAddress === undefined ? '' : ` ([${headerSafe(fields.clientAddress, 60)}])`}\r\n\t`;
  const forClause = fields.recipient === undefined ? '' : `\r\n\tfor <${headerSafe(fields.recipient)}>`;
  return `Received: ${from}by ${headerSafe(fields.by, 100)} with ${headerSafe(fields.protocol, 20)} id ${headerSafe(fields.id, 40)}${forClause};\r\n\t${rfc5322Date(fields.date)}\r\n`;
}

export function returnPathHeader(sender: string): string {
  return `Return-Path: <${headerSafe(sender, 300)}>\r\n`;
}

/** The header block of a message (up to the first empty line), as latin1 text. */
export function headerBlock(message: Buffer): string {
  const crlf = message.indexOf('\r\n\r\n');
  const lf = message.indexOf('\n\n');
  const ends = [crlf, lf].filter((i) => i >= 0);
  const end = ends.length === 0 ? message.length : Math.min(...ends);
  return message.subarray(0, Math.min(end, 256 * 1024)).toString('latin1');
}

function hasHeader(headers: string, name: string): boolean {
  return new RegExp(`^${name}:`, 'im').test(headers);
}

/** How many Received lines a message carries: more than MAX_HOPS means it is going round in a loop. */
export function hopCount(message: Buffer): number {
  return headerBlock(message).match(/^Received:/gim)?.length ?? 0;
}

/** RFC 5321 6.3 suggests at least 100; a personal device sees far fewer. */
export const MAX_HOPS = 50;

/** The Date and Message-ID lines a submitted message lacks ('' when it has both). */
export function missingSubmissionHeaders(message: Buffer, hostname: string, now: Date): string {
  const headers = headerBlock(message);
  let added = '';
  if (!hasHeader(headers, 'date')) added += `Date: ${rfc5322Date(now)}\r\n`;
  if (!hasHeader(headers, 'message-id')) added += `Message-ID: <${crypto.randomUUID()}@${headerSafe(hostname, 100)}>\r\n`;
  return added;
}

/** The message with `lines` (complete header lines) put in front. */
export function prependHeaders(lines: string, message: Buffer): Buffer {
  return lines === '' ? message : Buffer.concat([Buffer.from(lines, 'latin1'), message]);
}
