/**
 * Envelope address checks of the SMTP services: what is local, what is a relay attempt in
 * disguise (source routes, quoted local parts, the percent hack, bang paths, trailing dots,
 * other spellings of a local domain), and which senders a user may use.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classifyRecipient, isLocalDomain, normalizeDomain, parseMailbox, senderOwnedBy } from '../../firmware/apps/mail/smtp/addresses.js';

const LOCAL = ['example.org', 'nymote.home.arpa.', 'bücher.example'];
const USERS = new Set(['alice', 'bob']);
/** The firmware's rule: the local part up to '+' names the user, case-insensitively. */
const userOf = (address: string) => {
  const name = address.slice(0, address.lastIndexOf('@')).split('+')[0]!.toLowerCase();
  return USERS.has(name) ? name : undefined;
};
const kind = (address: string) => classifyRecipient(address, LOCAL, userOf).kind;

test('local users, with tags and any case, on every local domain', () => {
  assert.equal(classifyRecipient('alice@example.org', LOCAL, userOf), { kind: 'local', user: 'alice', address: 'alice@example.org' });
  assert.equal(classifyRecipient('Alice+News@EXAMPLE.ORG', LOCAL, userOf), { kind: 'local', user: 'alice', address: 'Alice+News@example.org' });
  assert.is(kind('bob@nymote.home.arpa'), 'local', 'a configured name with a trailing dot still matches');
  assert.is(kind('bob@xn--bcher-kva.example'), 'local', 'punycode of a local IDN domain');
  assert.is(kind('bob@bücher.example'), 'local', 'the same domain in Unicode');
  assert.is(kind('carol@example.org'), 'unknown-user');
  assert.is(kind('postmaster@example.org'), 'unknown-user');
});

test('other domains are remote, including look-alikes of local ones', () => {
  for (const address of ['b@foreign.example', 'alice@example.org.foreign.example', 'alice@sub.example.org', 'alice@example.orgx', 'alice@[192.0.2.1]', 'alice@[IPv6:2001:db8::1]']) {
    assert.is(kind(address), 'remote', address);
  }
});

test('relay tricks never become a local delivery nor parse as something else', () => {
  const tricks = [
    '@a:b@foreign.example', // source route (smtp-server strips it; the rest is checked as b@foreign)
    '@example.org:b@foreign.example',
    '"b@foreign.example"@example.org', // quoted local part
    '"alice"@example.org',
    'b%foreign.example@example.org', // percent hack
    'foreign.example!b@example.org', // bang path
    'alice%example.org@example.org',
    'b@foreign.example@example.org',
    'alice@example.org.', // trailing dots
    'b@foreign.example.',
    'alice@example..org',
    'alice@.example.org',
    'alice@-example.org',
    'alice@example.org\r\nRCPT TO:<b@foreign.example>',
    'alice@example.org b@foreign.example',
    'alice@',
    '@example.org',
    'alice',
    '',
    '.alice@example.org',
    'al..ice@example.org',
    'alice@[999.1.1.1]',
    'alice@[example.org]',
    `${'a'.repeat(65)}@example.org`,
    `alice@${'a'.repeat(250)}.org`,
  ];
  for (const address of tricks) {
    const result = kind(address);
    assert.ok(result === 'invalid', `${JSON.stringify(address)} is ${result}`);
  }
});

test('a relay trick on a foreign domain is still only remote (submission queues it; inbound refuses it)', () => {
  assert.is(kind('b%other.example@foreign.example'), 'remote');
  assert.is(kind('!b@foreign.example'), 'remote');
});

test('parseMailbox normalizes the domain and keeps the local part as given', () => {
  assert.equal(parseMailbox('Bob.Smith+x@Example.ORG'), { local: 'Bob.Smith+x', domain: 'example.org' });
  assert.equal(parseMailbox('x@[IPv6:2001:DB8::1]'), { local: 'x', domain: '[IPv6:2001:db8::1]' });
  assert.is(normalizeDomain('Example.ORG.'), 'example.org');
  assert.is(normalizeDomain('exa mple.org'), '');
  assert.ok(isLocalDomain('example.org', LOCAL));
  assert.not.ok(isLocalDomain('example.com', LOCAL));
});

test('a user may send only from their own addresses', () => {
  assert.ok(senderOwnedBy('alice@example.org', 'alice', LOCAL, userOf));
  assert.ok(senderOwnedBy('ALICE+lists@nymote.home.arpa', 'alice', LOCAL, userOf));
  assert.not.ok(senderOwnedBy('bob@example.org', 'alice', LOCAL, userOf), 'another user');
  assert.not.ok(senderOwnedBy('alice@foreign.example', 'alice', LOCAL, userOf), 'own name on another domain');
  assert.not.ok(senderOwnedBy('alice%x@example.org', 'alice', LOCAL, userOf));
  assert.not.ok(senderOwnedBy('"alice"@example.org', 'alice', LOCAL, userOf));
  assert.not.ok(senderOwnedBy('', 'alice', LOCAL, userOf), 'the null sender');
  assert.not.ok(senderOwnedBy('carol@example.org', 'alice', LOCAL, userOf));
});

test.run();
