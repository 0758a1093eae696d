/**
 * SMTP error replies with enhanced status codes (RFC 3463). smtp-server picks an enhanced code
 * from the reply code alone (550 is always 5.1.1), so our replies carry their own in the text
 * ("5.7.1 relaying denied") and `useOwnEnhancedCodes` makes the connection send such a text
 * without adding a second code.
 */
import type { SMTPServer } from 'smtp-server';

export interface SmtpReplyError extends Error {
  responseCode: number;
}

/** An error for a smtp-server callback: `code enhanced text` on the wire. */
export function smtpReply(code: number, enhanced: string, text: string): SmtpReplyError {
  const err = new Error(`${enhanced} ${text}`) as SmtpReplyError;
  err.responseCode = code;
  return err;
}

/** A reply text that starts with its own enhanced status code. */
const OWN_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;

type Connection = SMTPServer['connections'] extends Set<infer C> ? C : never;

/**
 * Wraps the connection's `send`: texts with their own enhanced code go out as they are, and
 * before TLS the EHLO reply does not offer AUTH, so no client sends a password in clear
 * (AUTH itself is still refused there by smtp-server with 538).
 */
export function useOwnEnhancedCodes(connection: Connection, hideAuthBeforeTls: boolean): void {
  const send = connection.send.bind(connection);
  connection.send = (code, data, context) => {
    if (typeof data === 'string' && context === undefined && OWN_CODE.test(data)) return send(code, data, false);
    if (hideAuthBeforeTls && Array.isArray(data) && code === 250 && !connection.secure) {
      return send(code, data.filter((line) => !/^AUTH\b/i.test(line)), context);
    }
    return send(code, data, context);
  };
}

/** The connection a session belongs to (there are at most maxConnections). */
export function connectionOf(server: SMTPServer, sessionId: string): Connection | undefined {
  for (const connection of server.connections) if (connection.session.id === sessionId) return connection;
  return undefined;
}
