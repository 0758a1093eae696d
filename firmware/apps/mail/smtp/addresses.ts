/**
 * Envelope addresses: parsing and the checks that keep the device from being a relay. An
 * address is `local@domain` with a dot-atom local part (no quoted strings: `"b@x"@here` is
 * refused, not interpreted) and a domain compared in its ASCII form without a trailing dot.
 * Local recipients may only use the characters of user names and tags, so the old relay
 * tricks (`b%foreign@here`, `foreign!b@here`, source routes) never reach a user lookup.
 */
import net from 'node:net';
import { domainToASCII } from 'node:url';

export interface Mailbox {
  local: string;
  /** Lower-case ASCII (punycode) domain, or an address literal like `[192.0.2.1]`. */
  domain: string;
}

export type RecipientClass =
  | { kind: 'local'; user: string; address: string }
  | { kind: 'unknown-user'; address: string }
  | { kind: 'remote'; address: string }
  | { kind: 'invalid'; reason: string };

const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
/** What a local part of ours may hold: user names (`[a-z][a-z0-9_-]*`), dots, and `+tag`. */
const LOCAL_PART = /^[A-Za-z0-9._=+-]+$/;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A domain in the form we compare: lower case, ASCII, no trailing dot; '' if it is not one. */
export function normalizeDomain(domain: string): string {
  const trimmed = domain.trim().replace(/\.$/, '');
  if (trimmed === '' || trimmed.includes('..')) return '';
  const ascii = domainToASCII(trimmed).toLowerCase();
  if (ascii === '' || ascii.length > 253) return '';
  return ascii.split('.').every((label) => LABEL.test(label)) ? ascii : '';
}

function addressLiteral(domain: string): string | undefined {
  const inner = domain.slice(1, -1);
  if (net.isIPv4(inner)) return `[${inner}]`;
  if (/^ipv6:/i.test(inner) && net.isIPv6(inner.slice(5))) return `[IPv6:${inner.slice(5).toLowerCase()}]`;
  return undefined;
}

/** Parses an envelope address (without angle brackets); undefined when it is not a plain mailbox. */
export function parseMailbox(address: string): Mailbox | undefined {
  if (address.length === 0 || address.length > 254) return undefined;
  const at = address.indexOf('@');
  if (at <= 0 || at !== address.lastIndexOf('@')) return undefined;
  const local = address.slice(0, at);
  const rawDomain = address.slice(at + 1);
  if (local.length > 64 || !DOT_ATOM.test(local)) return undefined;
  if (rawDomain.startsWith('[') && rawDomain.endsWith(']')) {
    const literal = addressLiteral(rawDomain);
    return literal === undefined ? undefined : { local, domain: literal };
  }
  // A trailing dot is legal in DNS but not in an address (RFC 5321); "b@here." is refused.
  if (rawDomain.endsWith('.')) return undefined;
  const domain = normalizeDomain(rawDomain);
  return domain === '' ? undefined : { local, domain };
}

/** Whether `domain` (normalized) is one of the device's own. */
export function isLocalDomain(domain: string, localDomains: readonly string[]): boolean {
  return localDomains.some((d) => normalizeDomain(d) === domain);
}

/**
 * Where a recipient goes: a user of this device, a local address nobody has, another domain,
 * or nowhere (bad syntax, or relay-trick characters in a local address).
 */
export function classifyRecipient(
  address: string,
  localDomains: readonly string[],
  userOf: (address: string) => string | undefined,
): RecipientClass {
  const mailbox = parseMailbox(address);
  if (mailbox === undefined) return { kind: 'invalid', reason: 'not a plain mailbox address' };
  const normalized = `${mailbox.local}@${mailbox.domain}`;
  if (!isLocalDomain(mailbox.domain, localDomains)) return { kind: 'remote', address: normalized };
  if (!LOCAL_PART.test(mailbox.local)) return { kind: 'invalid', reason: 'characters not allowed in a local address' };
  const user = userOf(normalized);
  return user === undefined ? { kind: 'unknown-user', address: normalized } : { kind: 'local', user, address: normalized };
}

/** Whether `user` may send with `address` as envelope sender: their own address on a local domain. */
export function senderOwnedBy(
  address: string,
  user: string,
  localDomains: readonly string[],
  userOf: (address: string) => string | undefined,
): boolean {
  const recipient = classifyRecipient(address, localDomains, userOf);
  return recipient.kind === 'local' && recipient.user === user;
}
