/**
 * `counter`: a decimal integer as text, written `42\n` (optional '-', at most 1000 digits;
 * whitespace around it is accepted on reading). Merged = base + (ours − base) + (theirs − base)
 * in BigInt, an absent base counting as 0, so concurrent increments from all devices add up.
 * Both sides holding the identical bytes count as one change (the trivial rule), as in git.
 */
import { conflict, defineContentType, merged } from './content-type.js';

const COUNTER_PATTERN = /^-?\d{1,1000}$/;
/** Digits plus room for a sign and whitespace; longer input is not decoded at all. */
const MAX_COUNTER_BYTES = 1100;

/** undefined when the bytes are not a counter. */
export function parseCounter(bytes: Buffer): bigint | undefined {
  if (bytes.length > MAX_COUNTER_BYTES) return undefined;
  const text = bytes.toString('latin1').trim();
  return COUNTER_PATTERN.test(text) ? BigInt(text) : undefined;
}

export function formatCounter(value: bigint): Buffer {
  return Buffer.from(`${value}\n`, 'latin1');
}

export const counterType = defineContentType('counter', (base, ours, theirs) => {
  const baseCount = base === undefined ? 0n : parseCounter(base);
  const ourCount = parseCounter(ours);
  const theirCount = parseCounter(theirs);
  if (baseCount === undefined) return conflict('counter: base is not a decimal integer');
  if (ourCount === undefined) return conflict('counter: ours is not a decimal integer');
  if (theirCount === undefined) return conflict('counter: theirs is not a decimal integer');
  return merged(formatCounter(ourCount + theirCount - baseCount));
});
