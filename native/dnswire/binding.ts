/**
 * The interface shared by the dnswire addon (dnswire.c over dnswire_core.c) and its JS twin
 * (twin.ts): DNS messages (RFC 1035) to and from wire format, with the bounds checks of
 * RFC 9267. Both implementations must give byte-identical output and identical error codes
 * for every input; the equivalence tests hold them to it. Only firmware/native.ts uses this
 * directly.
 *
 * Names are absolute, in presentation form with a trailing dot ("www.example.test.", root
 * "."), case as on the wire. Label bytes 0x21-0x7e are written as they are, except
 * `. \ " ( ) ; @ $`, which get a backslash ("\."); every other byte is "\DDD" (three decimal
 * digits). encode() accepts exactly that form back, plus "\DDD" for any byte.
 */

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

/**
 * One resource record. `data` is the RDATA with every domain name uncompressed: decode()
 * expands the compression pointers of the types that may carry them (NS, CNAME, PTR, MX, SOA,
 * and on receipt also SRV, DNAME, RP, AFSDB, RT, KX, PX, NAPTR, MINFO, MB, MG, MR, MD, MF).
 * The EDNS OPT pseudo-record is an ordinary record here (type 41; `class` is the UDP payload
 * size, `ttl` holds extended RCODE, version and flags). From decode(), the `data` of all
 * records of one message are views into one ArrayBuffer (copied: never the input's memory).
 */
export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  /** Unsigned 32-bit. */
  ttl: number;
  data: Uint8Array;
}

export interface DnsMessage {
  id: number;
  /** The 16-bit header word after the ID: QR, OPCODE, AA, TC, RD, RA, Z, AD, CD, RCODE. */
  flags: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

export interface DnswireBinding {
  /**
   * Parses one whole message. Throws a RangeError whose `code` is one of DNSWIRE_ERRORS on
   * anything malformed: short header, a count the message cannot hold, a label over 63 bytes
   * or of type 0x40/0x80, a name over 255 bytes, a compression pointer that does not point
   * strictly before the name or pointer that uses it (so no loops), RDLENGTH past the end,
   * RDATA whose structure does not fill RDLENGTH exactly (A not 4 bytes, AAAA not 16, a name
   * running past RDLENGTH, SOA without its five numbers, ...), or bytes after the last record.
   *
   * Precisely (both implementations check in this order, so they agree on the code):
   * - over 65535 bytes: ERR_DNS_TOO_LARGE; under 12: ERR_DNS_SHORT;
   * - counts: 5 bytes per question and 11 per record must fit after the header, checked
   *   before anything else is read, else ERR_DNS_SHORT;
   * - a pointer must point strictly before where the labels that lead to it began (the
   *   name's first byte for its first pointer, the previous pointer's target after that) and
   *   not into the 12-byte header, else ERR_DNS_POINTER: offsets only go down, so no loops,
   *   and pointers to themselves, forward or out of the message all fail the same way;
   * - a name (or pointer) running past the message is ERR_DNS_SHORT; a name in RDATA running
   *   past RDLENGTH before its first pointer is ERR_DNS_RDATA; a label running past the end is
   *   reported before the 255-byte limit it would also break;
   * - RDLENGTH past the end of the message is ERR_DNS_SHORT; RDATA structure is checked for
   *   A, AAAA and the name-carrying types listed at DnsRecord (NAPTR's three strings too),
   *   the rest is opaque.
   */
  decode(wire: Uint8Array): DnsMessage;
  /**
   * Writes a message. Names (questions, owners, and the names inside NS, CNAME, PTR, MX and SOA
   * RDATA) are compressed; other types' RDATA is written as given (RFC 3597 section 4).
   * Compression: each name is written label by label; before each label, if the rest of the
   * name equals (ASCII case-insensitively) a name suffix already written in full at an offset
   * below 0x4000, a pointer to the first such offset ends the name. Every suffix written in
   * full is remembered at its offset. Throws a RangeError (DNSWIRE_ERRORS) on a bad name,
   * a number out of range, RDATA of a compressible type that does not parse, or a message
   * over 65535 bytes.
   *
   * Precisely: every label written (not replaced by a pointer) starts a remembered suffix,
   * also when the rest of its name then became a pointer; names inside other types' RDATA
   * are neither compressed nor remembered. Matching ignores ASCII case, so a compressed name
   * decodes with the case of the copy it points to (the question's, for answers to it). Fields are read and checked in order (id, flags,
   * the four arrays, then each entry's name, type, class, ttl, data); an entry is checked
   * whole before it is written, and ERR_DNS_TOO_LARGE comes when an entry takes the message
   * past 65535 bytes (or up front for a section of over 65535 entries). A field of the wrong
   * JS type (or a non-object message or entry, a non-array section, data not a Uint8Array) is
   * a TypeError with code ERR_DNS_VALUE. NS, CNAME, PTR, MX and SOA data must be exactly
   * their fields with uncompressed names; anything else is ERR_DNS_RDATA.
   */
  encode(message: DnsMessage): Buffer;
}

/** The addon's extras for tests and benchmarks (none yet beyond the binding). */
export type DnswireAddon = DnswireBinding;

/** Error codes both implementations use, one per rule broken. */
export const DNSWIRE_ERRORS = [
  'ERR_DNS_SHORT', // message or a field ends before it should
  'ERR_DNS_TRAILING', // bytes after the last record
  'ERR_DNS_LABEL', // label over 63 bytes, or a reserved label type (0x40, 0x80)
  'ERR_DNS_NAME_LENGTH', // name over 255 bytes in wire form
  'ERR_DNS_POINTER', // compression pointer not strictly backwards, or out of the message
  'ERR_DNS_RDATA', // RDATA not matching its type's structure or RDLENGTH
  'ERR_DNS_NAME_SYNTAX', // encode: a presentation name that does not parse
  'ERR_DNS_VALUE', // encode: a number out of range or a field of the wrong type
  'ERR_DNS_TOO_LARGE', // more than 65535 bytes (encode's output, or decode's input)
] as const;
export type DnswireErrorCode = (typeof DNSWIRE_ERRORS)[number];

/** Record types the server and tests name. */
export const DNS_TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  DNAME: 39,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  NSEC3: 50,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
  CAA: 257,
} as const;

export const DNS_CLASS_IN = 1;
