/**
 * The authoritative answer to one question from one zone (RFC 1034 section 4.3.2, without
 * delegations or wildcards), signed when the query set DO (RFC 4035 section 3.1). Pure: no
 * sockets, no clock but the one passed in, so tests can call it directly.
 */
import { DNS_CLASS_IN, DNS_TYPE, nameFromWire, nameToWire, type DnsRecord } from '../../native.js';
import { immediateSuccessor, nsecRdata, predecessorOwner, successorAfterSubtree, type ZoneSigner } from './dnssec.js';
import type { RRset, Zone } from './zone.js';

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, NOTAUTH: 9, BADVERS: 16 } as const;

export interface Answer {
  rcode: number;
  authoritative: boolean;
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

export interface Question {
  /** Lower case, absolute. */
  name: string;
  type: number;
  dnssec: boolean;
  /** RFC 8482: over UDP, ANY gets one small synthesised record instead of everything. */
  minimalAny: boolean;
  now: number;
}

const MAX_CNAME_CHAIN = 8;

export function answerQuestion(zone: Zone, signer: ZoneSigner, question: Question): Answer {
  const answer: Answer = { rcode: RCODE.NOERROR, authoritative: true, answers: [], authorities: [], additionals: [] };
  let name = question.name;
  if (!zone.inZone(name)) return { ...answer, rcode: RCODE.REFUSED, authoritative: false };
  const add = (section: DnsRecord[], set: RRset) => addSet(section, set, question.dnssec ? signer.rrsig(set, question.now) : undefined);

  for (let hops = 0; ; hops++) {
    const node = zone.node(name);
    if (node === undefined) {
      // After a CNAME too: the RCODE tells of the last name of the chain (RFC 6604).
      answer.rcode = RCODE.NXDOMAIN;
      addNegative(answer, zone, signer, question, name, undefined);
      return answer;
    }
    const cname = node.get(DNS_TYPE.CNAME);
    if (cname !== undefined && question.type !== DNS_TYPE.CNAME && question.type !== DNS_TYPE.ANY) {
      add(answer.answers, cname);
      const target = nameFromWire(cname.datas[0]!);
      if (!zone.inZone(target) || hops + 1 >= MAX_CNAME_CHAIN || answer.answers.some((r) => r.name === target)) return answer;
      name = target;
      continue;
    }
    if (question.type === DNS_TYPE.ANY && node.size > 0) {
      if (question.minimalAny) {
        const hinfo: RRset = { name, owner: nameToWire(name), type: DNS_TYPE.HINFO, ttl: zone.soa.ttl, datas: [RFC8482_HINFO] };
        addSet(answer.answers, hinfo, question.dnssec ? signer.rrsigSynthesised(hinfo.owner, hinfo.type, hinfo.ttl, RFC8482_HINFO, question.now) : undefined);
      } else {
        for (const set of node.values()) add(answer.answers, set);
      }
      return answer;
    }
    const set = node.get(question.type);
    if (set === undefined) {
      addNegative(answer, zone, signer, question, name, node);
      return answer;
    }
    add(answer.answers, set);
    addTargetAddresses(answer, zone, set, add);
    return answer;
  }
}

/** RFC 8482 section 4.2: HINFO "RFC8482" "". */
const RFC8482_HINFO = Buffer.concat([Buffer.from([7]), Buffer.from('RFC8482'), Buffer.from([0])]);

function addSet(section: DnsRecord[], set: RRset, rrsig: Buffer | undefined): void {
  for (const data of set.datas) section.push({ name: set.name, type: set.type, class: DNS_CLASS_IN, ttl: set.ttl, data });
  if (rrsig !== undefined) section.push({ name: set.name, type: DNS_TYPE.RRSIG, class: DNS_CLASS_IN, ttl: set.ttl, data: rrsig });
}

/** Addresses of the names an answer points to (SRV and MX targets, NS hosts), when in the zone. */
function addTargetAddresses(answer: Answer, zone: Zone, set: RRset, add: (section: DnsRecord[], set: RRset) => void): void {
  const offset = set.type === DNS_TYPE.SRV ? 6 : set.type === DNS_TYPE.MX ? 2 : set.type === DNS_TYPE.NS ? 0 : undefined;
  if (offset === undefined) return;
  const seen = new Set<string>();
  for (const data of set.datas) {
    const target = nameFromWire(data, offset);
    if (seen.has(target) || !zone.inZone(target)) continue;
    seen.add(target);
    const node = zone.node(target);
    for (const type of [DNS_TYPE.A, DNS_TYPE.AAAA]) {
      const addresses = node?.get(type);
      if (addresses !== undefined) add(answer.additionals, addresses);
    }
  }
}

/**
 * NODATA (the name exists: `node` given) or NXDOMAIN: the SOA for negative caching, and with
 * DNSSEC the NSEC records that prove it (RFC 4035 section 3.1.3), with minimal ranges.
 */
function addNegative(answer: Answer, zone: Zone, signer: ZoneSigner, question: Question, name: string, node: ReadonlyMap<number, RRset> | undefined): void {
  const soa = zone.negativeSoa;
  addSet(answer.authorities, soa, question.dnssec ? signer.rrsig(soa, question.now) : undefined);
  if (!question.dnssec) return;
  const negativeTtl = soa.ttl;
  const nsec = (owner: Buffer, next: Buffer, types: Iterable<number>) => {
    const data = nsecRdata(next, types);
    const ownerName = nameFromWire(owner);
    if (answer.authorities.some((r) => r.type === DNS_TYPE.NSEC && r.name === ownerName)) return;
    answer.authorities.push({ name: ownerName, type: DNS_TYPE.NSEC, class: DNS_CLASS_IN, ttl: negativeTtl, data });
    answer.authorities.push({ name: ownerName, type: DNS_TYPE.RRSIG, class: DNS_CLASS_IN, ttl: negativeTtl, data: signer.rrsigSynthesised(owner, DNS_TYPE.NSEC, negativeTtl, data, question.now) });
  };
  const wire = nameToWire(name);
  if (node !== undefined) {
    // NODATA: the name's own NSEC lists what it has; the next name is the one right after.
    nsec(wire, immediateSuccessor(wire) ?? zone.nextName(wire), node.keys());
    return;
  }
  // NXDOMAIN: one NSEC covering the name, one covering the wildcard at the closest encloser.
  const encloser = zone.closestEncloser(name);
  for (const covered of [wire, nameToWire(`*.${encloser === '.' ? '' : encloser}`)]) {
    const owner = predecessorOwner(covered, (candidate) => zone.isEmptyBetween(candidate, covered));
    if (owner !== undefined) {
      nsec(owner, successorAfterSubtree(covered) ?? zone.nextName(covered), []);
    } else {
      // No short name fits: fall back to the real neighbours (an ordinary NSEC).
      const previous = zone.previousName(covered);
      nsec(previous, zone.nextName(previous), zone.node(nameFromWire(previous))!.keys());
    }
  }
}
