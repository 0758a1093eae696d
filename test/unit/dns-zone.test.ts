/**
 * The DNS server's pieces without sockets: master-file parsing and its errors, DNSSEC signing
 * against RFC 8080's Ed25519 example (key, key tag, DS, RRSIG; Ed25519 is deterministic), the
 * minimal-range NSEC names, and answers from a zone (CNAME chains, NODATA, NXDOMAIN proofs,
 * REFUSED outside the zone).
 */
import { createPrivateKey } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareCanonical, nameFromWire, nameToWire, DNS_TYPE } from '../../firmware/native.js';
import { RCODE, answerQuestion } from '../../firmware/signpost/dns/answer.js';
import { ZoneKey, ZoneSigner, keyTag, predecessorOwner, successorAfterSubtree } from '../../firmware/signpost/dns/dnssec.js';
import { parseZoneFile } from '../../firmware/signpost/dns/zone-file.js';
import { Zone } from '../../firmware/signpost/dns/zone.js';
import { ZoneSyntaxError } from '../../firmware/signpost/dns/rdata.js';

// RFC 8080 section 6.1: the private key as a raw 32-byte seed; the RRSIG below is the RFC's.
const RFC8080_SEED = Buffer.from('ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=', 'base64');
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const rfcKey = new ZoneKey(createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, RFC8080_SEED]), format: 'der', type: 'pkcs8' }));

test('RFC 8080 example: DNSKEY, key tag 3613, DS and the MX RRSIG', () => {
  assert.is(rfcKey.dnskey.subarray(4).toString('base64'), 'l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=');
  assert.is(keyTag(rfcKey.dnskey), 3613);
  assert.is(rfcKey.keyTag, 3613);
  assert.is(rfcKey.ds(nameToWire('example.com.')).toString('hex'), '0e1d0f02' + '3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b');
  const mx = Buffer.concat([Buffer.from([0, 10]), nameToWire('mail.example.com.')]);
  const rrsig = rfcKey.signRRset(nameToWire('example.com.'), DNS_TYPE.MX, 3600, [mx], nameToWire('example.com.'), 1438207200, 1440021600);
  const signature = rrsig.subarray(rrsig.length - 64).toString('base64');
  assert.is(signature, 'oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==');
  // type covered, algorithm, labels, original TTL, expiration, inception, key tag
  assert.is(rrsig.subarray(0, 18).toString('hex'), '000f0f0200000e1055d4fc6055b94ce00e1d');
});

test('master files: directives, relative names, carried owner, parentheses, quoted strings, units', () => {
  const records = parseZoneFile(
    ['$ORIGIN home.example.', '$TTL 1h', '@ SOA ns hostmaster ( 1 3600', '  900 1209600 300 ) ; comment', 'www 300 IN A 192.0.2.1', '    AAAA 2001:DB8::1', 'txt TXT "a \\"quoted\\" string" plain', 'srv IN 60 SRV 0 1 993 www'].join('\n'),
    'home.example.',
  );
  assert.equal(
    records.map((r) => [r.name, r.type, r.ttl]),
    [
      ['home.example.', DNS_TYPE.SOA, 3600],
      ['www.home.example.', DNS_TYPE.A, 300],
      ['www.home.example.', DNS_TYPE.AAAA, 3600],
      ['txt.home.example.', DNS_TYPE.TXT, 3600],
      ['srv.home.example.', DNS_TYPE.SRV, 60],
    ],
  );
  assert.is(records[2]!.data.toString('hex'), '20010db8000000000000000000000001');
  assert.is(records[3]!.data.toString('latin1'), '\x11a "quoted" string\x05plain');
  assert.is(nameFromWire(records[4]!.data, 6), 'www.home.example.');
});

test('master files: each mistake names its line', () => {
  const cases: [string, RegExp][] = [
    ['www A 192.0.2.256', /line 1: A: expected an IPv4 address/],
    ['\nwww MX ten mail', /line 2: MX: expected preference/],
    ['www TXT "open', /line 1: a quoted string is not closed/],
    ['www ( A 192.0.2.1', /a parenthesis is not closed/],
    ['*.x A 192.0.2.1', /wildcard names are not supported/],
    ['www.other.example. A 192.0.2.1', /outside the zone/],
    ['www CH TXT "x"', /class CH is not served/],
    ['www BOGUS x', /unknown type 'BOGUS'/],
    ['$INCLUDE /etc/passwd', /unsupported directive/],
    ['www TYPE65000 \\# 3 abcd', /expected 3 bytes of hex/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseZoneFile(text, 'home.example.'), (error: Error) => error instanceof ZoneSyntaxError && message.test(error.message), text);
  }
});

test('minimal-range names: just before and just after, upper case handled, checked against the zone', () => {
  const missing = nameToWire('missing.home.example.');
  const before = predecessorOwner(missing, () => true)!;
  assert.is(nameFromWire(before), 'missinf.home.example.');
  assert.ok(compareCanonical(before, missing) < 0);
  const after = successorAfterSubtree(missing)!;
  assert.is(nameFromWire(after), 'missing\\000.home.example.');
  assert.ok(compareCanonical(nameToWire('a.missing.home.example.'), after) < 0, 'the subtree lies inside the range');
  // "[" is 0x5b: one less is "Z", which sorts as "z" (after "["), so "@" is used.
  assert.is(nameFromWire(predecessorOwner(nameToWire('a[.home.example.'), () => true)!), 'a\\@.home.example.');
  // When the short range would hide a real name, the exact predecessor (255 bytes) is used.
  const exact = predecessorOwner(missing, () => false)!;
  assert.is(exact.length, 255);
  assert.ok(compareCanonical(exact, missing) < 0 && compareCanonical(nameToWire('missinf.home.example.'), exact) < 0);
  assert.is(predecessorOwner(nameToWire('\\000.home.example.'), () => true), undefined, 'right after its parent: no name between');
});

const zoneText = ['$ORIGIN home.example.', '@ SOA ns hostmaster 1 3600 900 1209600 300', '@ NS ns', 'ns A 192.0.2.53', 'www A 192.0.2.80', 'blog CNAME www', 'loop1 CNAME loop2', 'loop2 CNAME loop1', 'out CNAME www.elsewhere.example.', '_imaps._tcp SRV 0 1 993 www'].join('\n');
const zone = new Zone('home.example.', parseZoneFile(zoneText, 'home.example.'));
const signer = new ZoneSigner(rfcKey, nameToWire('home.example.'));
const ask = (name: string, type: number, dnssec = false) => answerQuestion(zone, signer, { name, type, dnssec, minimalAny: true, now: 1_800_000_000 });
const summary = (records: { name: string; type: number }[]) => records.map((r) => `${r.name} ${r.type}`);

test('answers: data, CNAME chains (also a loop and one leaving the zone), SRV with its target address', () => {
  assert.equal(summary(ask('blog.home.example.', DNS_TYPE.A).answers), ['blog.home.example. 5', 'www.home.example. 1']);
  assert.is(ask('loop1.home.example.', DNS_TYPE.A).answers.length, 2, 'a loop ends when a name repeats');
  assert.equal(summary(ask('out.home.example.', DNS_TYPE.A).answers), ['out.home.example. 5']);
  const srv = ask('_imaps._tcp.home.example.', DNS_TYPE.SRV);
  assert.equal(summary(srv.additionals), ['www.home.example. 1']);
  const signed = ask('www.home.example.', DNS_TYPE.A, true);
  assert.equal(summary(signed.answers), ['www.home.example. 1', `www.home.example. ${DNS_TYPE.RRSIG}`]);
});

test('negative answers: NODATA at a name and an empty non-terminal, NXDOMAIN with two NSECs; REFUSED outside', () => {
  const nodata = ask('www.home.example.', DNS_TYPE.MX, true);
  assert.is(nodata.rcode, RCODE.NOERROR);
  assert.equal(summary(nodata.authorities), ['home.example. 6', `home.example. ${DNS_TYPE.RRSIG}`, `www.home.example. ${DNS_TYPE.NSEC}`, `www.home.example. ${DNS_TYPE.RRSIG}`]);
  assert.is(nodata.authorities[0]!.ttl, 300, 'negative TTL: the SOA minimum');
  const ent = ask('_tcp.home.example.', DNS_TYPE.A, true);
  assert.is(ent.rcode, RCODE.NOERROR);
  const nx = ask('nothere.home.example.', DNS_TYPE.A, true);
  assert.is(nx.rcode, RCODE.NXDOMAIN);
  assert.equal(nx.authorities.filter((r) => r.type === DNS_TYPE.NSEC).map((r) => r.name), ['notherd.home.example.', '\\).home.example.']);
  assert.is(ask('www.elsewhere.example.', DNS_TYPE.A).rcode, RCODE.REFUSED);
  assert.is(ask('home.example.', DNS_TYPE.ANY).answers[0]!.type, DNS_TYPE.HINFO);
});

test.run();
