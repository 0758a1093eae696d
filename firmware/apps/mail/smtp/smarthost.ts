/**
 * Sends one queued message through the smarthost with nodemailer's SMTP client: TLS always
 * (implicit or required STARTTLS, certificates verified), login when a user is set. The answer
 * is sorted per recipient into sent, temporary (retry later) and permanent (bounce now): a 5xx
 * reply is permanent, except a refused login, which is the device's problem, not the message's.
 */
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { oneLine } from './headers.js';
import type { Smarthost } from './smarthost-config.js';

export type DeliveryStatus = 'sent' | 'temporary' | 'permanent';

export interface RecipientOutcome {
  recipient: string;
  status: DeliveryStatus;
  /** The smarthost's reply or what went wrong, one line. */
  reply: string;
}

/** What the queue needs of a smarthost (a fake one in tests). */
export interface SmarthostSender {
  /** Where it sends to, for bounces (Remote-MTA). */
  readonly name: string;
  send(from: string, recipients: string[], message: Buffer): Promise<RecipientOutcome[]>;
}

type SendInfo = SMTPConnection.SentMessageInfo;
type SmtpError = SMTPConnection.SMTPError;

function statusOfCode(code: number | undefined): DeliveryStatus {
  return code !== undefined && code >= 500 ? 'permanent' : 'temporary';
}

/** Sorts a send result (or the error that ended it) into one outcome per recipient. */
export function outcomesOf(recipients: string[], result: { info: SendInfo } | { error: SmtpError }): RecipientOutcome[] {
  const byRecipient = new Map<string, RecipientOutcome>();
  const rejected = 'info' in result ? result.info.rejectedErrors : result.error.rejectedErrors;
  for (const err of rejected ?? []) {
    if (err.recipient === undefined) continue;
    byRecipient.set(err.recipient, { recipient: err.recipient, status: statusOfCode(err.responseCode), reply: oneLine(err.response ?? err.message) });
  }
  if ('info' in result) {
    for (const recipient of result.info.accepted) byRecipient.set(recipient, { recipient, status: 'sent', reply: oneLine(result.info.response) });
  }
  const err = 'error' in result ? result.error : undefined;
  // A refused login or a failed TLS handshake is about this device, not the message: retry.
  const aboutUs = err !== undefined && ['EAUTH', 'ENOAUTH', 'ETLS', 'ECONFIG'].includes(err.code ?? '');
  return recipients.map(
    (recipient) =>
      byRecipient.get(recipient) ?? {
        recipient,
        status: err === undefined || aboutUs ? 'temporary' : statusOfCode(err.responseCode),
        reply: oneLine(err === undefined ? 'no reply for this recipient' : err.response ?? err.message),
      },
  );
}

export interface SmarthostSenderOptions {
  /** The name this device gives in EHLO. */
  helloName: string;
  timeoutMs: number;
}

/** A sender for the configured smarthost; one connection per message. */
export function smarthostSender(smarthost: Smarthost, options: SmarthostSenderOptions): SmarthostSender {
  return {
    name: smarthost.host,
    async send(from, recipients, message) {
      try {
        const info = await exchange(smarthost, options, from, recipients, message);
        return outcomesOf(recipients, { info });
      } catch (error) {
        return outcomesOf(recipients, { error: error as SmtpError });
      }
    },
  };
}

function exchange(smarthost: Smarthost, options: SmarthostSenderOptions, from: string, to: string[], message: Buffer): Promise<SendInfo> {
  return new Promise((resolve, reject) => {
    const connection = new SMTPConnection({
      host: smarthost.host,
      port: smarthost.port,
      secure: smarthost.security === 'tls',
      requireTLS: smarthost.security === 'starttls',
      name: options.helloName,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      allowInternalNetworkInterfaces: true,
      logger: false,
      tls: { minVersion: 'TLSv1.2', ...(smarthost.ca === undefined ? {} : { ca: smarthost.ca }) },
    });
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      connection.close();
      reject(err);
    };
    connection.on('error', fail);
    connection.once('end', () => fail(Object.assign(new Error('the smarthost closed the connection'), { code: 'ECONNECTION' })));
    connection.connect((err) => {
      if (err) return fail(err);
      const send = () =>
        connection.send({ from, to }, message, (sendErr, info) => {
          if (sendErr) return fail(sendErr);
          settled = true;
          connection.quit();
          resolve(info);
        });
      if (smarthost.user === undefined) return send();
      connection.login({ user: smarthost.user, pass: smarthost.password ?? '' }, (loginErr) => (loginErr ? fail(loginErr) : send()));
    });
  });
}
