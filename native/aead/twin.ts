/**
 * JS twin of the aead addon: chacha20-poly1305 on node:crypto, xsalsa20-poly1305 on tweetnacl
 * (secretbox). The same functions, the same validation, the same errors (see binding.ts). Used
 * when the addon is missing (or NYMOTE_NATIVE=js) and as the reference in tests.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { types as utilTypes } from 'node:util';
import nacl from 'tweetnacl';

import {
  KEY_BYTES,
  MAX_AAD,
  MAX_BATCH_BYTES,
  MAX_BATCH_RECORDS,
  MAX_PLAINTEXT,
  NONCE_BYTES,
  TAG_BYTES,
  type AeadAlgorithm,
  type AeadBinding,
} from './binding.js';

function typeError(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_TYPE' });
}

function rangeError(message: string): RangeError {
  return Object.assign(new RangeError(message), { code: 'ERR_OUT_OF_RANGE' });
}

/** What napi_is_array accepts: a real array, not a Proxy over one. */
function isPlainArray(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && !utilTypes.isProxy(value);
}

function checkAlgorithm(algorithm: unknown): AeadAlgorithm {
  if (algorithm !== 'chacha20-poly1305' && algorithm !== 'xsalsa20-poly1305') {
    throw typeError('algorithm must be "chacha20-poly1305" or "xsalsa20-poly1305"');
  }
  return algorithm;
}

/** A copy of the key, as the addon takes one. */
function checkKey(key: unknown): Buffer {
  if (!utilTypes.isUint8Array(key)) throw typeError('key must be a Uint8Array');
  if (key.byteLength !== KEY_BYTES) throw rangeError('key must be 32 bytes');
  return Buffer.from(key);
}

interface RecordArgs {
  nonce: Uint8Array;
  data: Uint8Array;
  aad: Uint8Array | undefined;
}

/** The addon's read_record: nonce, then data, then AAD; `suffix` is '' or '[i]'. */
function checkRecord(algorithm: AeadAlgorithm, sealing: boolean, batch: boolean, suffix: string, nonce: unknown, data: unknown, hasAad: boolean, aad: unknown): RecordArgs {
  const nonceName = `${batch ? 'nonces' : 'nonce'}${suffix}`;
  if (!utilTypes.isUint8Array(nonce)) throw typeError(`${nonceName} must be a Uint8Array`);
  if (nonce.byteLength !== NONCE_BYTES[algorithm]) throw rangeError(`${nonceName} must be ${NONCE_BYTES[algorithm]} bytes`);
  const dataName = `${sealing ? (batch ? 'plaintexts' : 'plaintext') : 'sealed'}${suffix}`;
  if (!utilTypes.isUint8Array(data)) throw typeError(`${dataName} must be a Uint8Array`);
  if (sealing && data.byteLength > MAX_PLAINTEXT) throw rangeError(`${dataName} must be at most ${MAX_PLAINTEXT} bytes`);
  if (hasAad) {
    const aadName = `${batch ? 'aads' : 'aad'}${suffix}`;
    if (!utilTypes.isUint8Array(aad)) throw typeError(`${aadName} must be a Uint8Array`);
    if (aad.byteLength > MAX_AAD) throw rangeError(`${aadName} must be at most ${MAX_AAD} bytes`);
  }
  return { nonce, data, aad: aad as Uint8Array | undefined };
}

function sealRecord(algorithm: AeadAlgorithm, key: Buffer, { nonce, data, aad }: RecordArgs): Buffer {
  if (algorithm === 'xsalsa20-poly1305') {
    const box = nacl.secretbox(data, nonce, key);
    return Buffer.from(box.buffer, box.byteOffset, box.byteLength);
  }
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
  if (aad !== undefined) cipher.setAAD(aad, { plaintextLength: data.byteLength });
  return Buffer.concat([cipher.update(data), cipher.final(), cipher.getAuthTag()]);
}

/** Whether a sealed record of this length could have come from seal. */
function openableLength(length: number): boolean {
  return length >= TAG_BYTES && length - TAG_BYTES <= MAX_PLAINTEXT;
}

function openRecord(algorithm: AeadAlgorithm, key: Buffer, { nonce, data, aad }: RecordArgs): Buffer | null {
  // Not a record anyone sealed under our bounds: forged input, not a caller error.
  if (!openableLength(data.byteLength)) return null;
  if (algorithm === 'xsalsa20-poly1305') {
    const plain = nacl.secretbox.open(data, nonce, key);
    return plain === null ? null : Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
  }
  const length = data.byteLength - TAG_BYTES;
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(data.subarray(length));
  if (aad !== undefined) decipher.setAAD(aad, { plaintextLength: length });
  const plain = decipher.update(data.subarray(0, length));
  try {
    decipher.final(); // throws when the tag does not match
  } catch {
    plain.fill(0);
    return null;
  }
  return plain;
}

function oneRecord(sealing: boolean, algorithmArg: unknown, keyArg: unknown, nonce: unknown, data: unknown, aad: unknown): Buffer | null {
  const algorithm = checkAlgorithm(algorithmArg);
  const key = checkKey(keyArg);
  if (aad !== undefined && algorithm === 'xsalsa20-poly1305') throw typeError('aad is not supported by xsalsa20-poly1305');
  const record = checkRecord(algorithm, sealing, false, '', nonce, data, aad !== undefined, aad);
  return sealing ? sealRecord(algorithm, key, record) : openRecord(algorithm, key, record);
}

function batch(sealing: boolean, algorithmArg: unknown, keyArg: unknown, nonces: unknown, data: unknown, aads: unknown): Array<Buffer | null> {
  const algorithm = checkAlgorithm(algorithmArg);
  const key = checkKey(keyArg);
  const dataName = sealing ? 'plaintexts' : 'sealed';
  if (!isPlainArray(nonces)) throw typeError('nonces must be an array of Uint8Array');
  if (!isPlainArray(data)) throw typeError(`${dataName} must be an array of Uint8Array`);
  if (data.length !== nonces.length) throw typeError(`nonces and ${dataName} must have the same length`);
  const count = nonces.length;
  if (count > MAX_BATCH_RECORDS) throw rangeError('too many records in one batch');
  if (aads !== undefined) {
    if (algorithm === 'xsalsa20-poly1305') throw typeError('aads is not supported by xsalsa20-poly1305');
    if (!isPlainArray(aads)) throw typeError('aads must be an array of Uint8Array');
    if (aads.length !== count) throw typeError(`aads and ${dataName} must have the same length`);
  }
  // Every record, and the batch's running size, is checked before any is sealed or opened (as
  // the addon does).
  const records: RecordArgs[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    // Elements in the addon's order. With aads given, every one must be a Uint8Array
    // (undefined there is not "no AAD").
    const nonce = nonces[i];
    const item = data[i];
    const aad = aads === undefined ? undefined : (aads as readonly unknown[])[i];
    const record = checkRecord(algorithm, sealing, true, `[${i}]`, nonce, item, aads !== undefined, aad);
    const length = record.data.byteLength;
    total += sealing ? length + TAG_BYTES : openableLength(length) ? length - TAG_BYTES : 0;
    if (total > MAX_BATCH_BYTES) throw rangeError(`a batch must come to at most ${MAX_BATCH_BYTES} bytes`);
    records.push(record);
  }
  return records.map((record) => (sealing ? sealRecord(algorithm, key, record) : openRecord(algorithm, key, record)));
}

export const aeadTwin: AeadBinding = {
  seal: (algorithm, key, nonce, plaintext, aad) => oneRecord(true, algorithm, key, nonce, plaintext, aad) as Buffer,
  open: (algorithm, key, nonce, sealed, aad) => oneRecord(false, algorithm, key, nonce, sealed, aad),
  sealBatch: (algorithm, key, nonces, plaintexts, aads) => batch(true, algorithm, key, nonces, plaintexts, aads) as Buffer[],
  openBatch: (algorithm, key, nonces, sealed, aads) => batch(false, algorithm, key, nonces, sealed, aads),
  backend: () => 'node:crypto',
};
