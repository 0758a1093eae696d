/**
 * Signed JSON documents (device certificates and revocations, signed by the owner; release
 * manifests, signed by a release key). The Ed25519 signature covers a canonical encoding: a prefix naming the kind of document (so a signature over one
 * kind never passes for another), then the fields in a fixed order as JSON without
 * whitespace. They travel and are stored as JSON; parsing is strict — bounded size, exactly
 * the expected fields, each checked — since they arrive from the network and synced stores.
 */
import { NymoteError } from '../../runtime/index.js';
import { verifyEd25519, type Signer } from './keys.js';

export const MAX_SIGNED_DOCUMENT_BYTES = 4096;

/** A kind of signed document with the fields of type T. */
export interface DocumentKind<T extends object> {
  /** For error messages: "device certificate". */
  name: string;
  /** The domain separation prefix of the signed bytes, ending in a newline. */
  prefix: string;
  /** Every signed field, in signing order, with the check its value must pass. */
  fields: { [K in keyof T]-?: (value: unknown) => boolean };
  /** A check across fields: the problem, or undefined. */
  consistent?: (document: T) => string | undefined;
  /** The largest JSON text taken (MAX_SIGNED_DOCUMENT_BYTES). */
  maxBytes?: number;
}

/** A document and its signer's signature over it (base64url). */
export type Signed<T> = T & { readonly signature: string };

/** The document with its fields in signing order and the signer's signature. */
export function signDocument<T extends object>(kind: DocumentKind<T>, document: T, signer: Signer): Signed<T> {
  const ordered = Object.fromEntries(Object.keys(kind.fields).map((field) => [field, document[field as keyof T]])) as T;
  checkDocument(kind, ordered);
  return { ...ordered, signature: Buffer.from(signer.sign(signedBytes(kind, ordered))).toString('base64url') };
}

export function signatureValid<T extends object>(kind: DocumentKind<T>, document: Signed<T>, publicKey: Uint8Array): boolean {
  return verifyEd25519(publicKey, signedBytes(kind, document), Buffer.from(document.signature, 'base64url'));
}

/** A document from its JSON text; a NymoteError (EBADDOC) naming the first problem. */
export function parseDocument<T extends object>(kind: DocumentKind<T>, text: string | Uint8Array): Signed<T> {
  const size = typeof text === 'string' ? Buffer.byteLength(text) : text.length;
  const maxBytes = kind.maxBytes ?? MAX_SIGNED_DOCUMENT_BYTES;
  if (size > maxBytes) throw problem(kind, `over ${maxBytes} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(typeof text === 'string' ? text : Buffer.from(text).toString('utf8'));
  } catch {
    throw problem(kind, 'not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw problem(kind, 'not a JSON object');
  const { signature, ...fields } = value as Record<string, unknown>;
  if (!isBase64url(signature, 64)) throw problem(kind, signature === undefined ? 'missing field signature' : 'bad field signature');
  checkDocument(kind, fields);
  return value as Signed<T>;
}

/** The stored form: indented JSON, fields in signing order. */
export function formatDocument<T extends object>(kind: DocumentKind<T>, document: Signed<T>): string {
  return `${JSON.stringify({ ...canonicalFields(kind, document), signature: document.signature }, null, 2)}\n`;
}

function signedBytes<T extends object>(kind: DocumentKind<T>, document: T): Buffer {
  return Buffer.from(kind.prefix + JSON.stringify(canonicalFields(kind, document)));
}

/**
 * The signed fields in signing order, without the signature; objects inside them (a
 * manifest's files) with their keys sorted. (A replacer array would not do: JSON.stringify
 * applies it at every depth and would drop the nested objects' keys from what is signed.)
 */
function canonicalFields<T extends object>(kind: DocumentKind<T>, document: T): Record<string, unknown> {
  return Object.fromEntries(Object.keys(kind.fields).map((field) => [field, canonicalValue((document as Record<string, unknown>)[field])]));
}

function canonicalValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalValue);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonicalValue((value as Record<string, unknown>)[key])]));
  }
  return value;
}

function checkDocument<T extends object>(kind: DocumentKind<T>, document: object): asserts document is T {
  const expected = Object.keys(kind.fields);
  const extra = Object.keys(document).find((field) => !expected.includes(field));
  if (extra !== undefined) throw problem(kind, `unexpected field ${extra.slice(0, 40)}`);
  for (const [field, check] of Object.entries(kind.fields) as [string, (value: unknown) => boolean][]) {
    if (!Object.hasOwn(document, field)) throw problem(kind, `missing field ${field}`);
    if (!check((document as Record<string, unknown>)[field])) throw problem(kind, `bad field ${field}`);
  }
  const inconsistency = kind.consistent?.(document as T);
  if (inconsistency !== undefined) throw problem(kind, inconsistency);
}

function problem<T extends object>(kind: DocumentKind<T>, what: string): NymoteError {
  return new NymoteError('EBADDOC', `${kind.name}: ${what}`);
}

// Field checks.

export function isBase64url(value: unknown, bytes: number): value is string {
  if (typeof value !== 'string' || value.length !== Math.ceil((bytes * 4) / 3)) return false;
  // Re-encoding must give the same text: one spelling per value (no stray bits, no padding).
  const decoded = Buffer.from(value, 'base64url');
  return decoded.length === bytes && decoded.toString('base64url') === value;
}

export function isHex(value: unknown, bytes: number): value is string {
  return typeof value === 'string' && value.length === bytes * 2 && /^[0-9a-f]*$/.test(value);
}

/** An instant as toISOString() writes it, and only so (one spelling per instant). */
export function isInstant(value: unknown): value is string {
  return typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(value) && !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value;
}

/** At most `maxItems` strings, each 1 to `maxLength` characters (names, services). */
export function isStringList(value: unknown, maxItems: number, maxLength: number): value is string[] {
  return Array.isArray(value) && value.length <= maxItems && value.every((v) => typeof v === 'string' && v.length > 0 && v.length <= maxLength);
}

/** One line of printable text, 1 to `max` characters. */
export function isLine(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= max && !/[\p{Cc}\u2028\u2029]/u.test(value);
}
