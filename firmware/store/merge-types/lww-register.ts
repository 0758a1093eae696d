/**
 * `lww`, a last-writer-wins register: `{"value": <any JSON>, "time": <ms since epoch>,
 * "writer": "<device id>"}` (other keys are kept but ignored). When both sides wrote, the
 * larger (time, writer) wins, ties broken by the bytes, so the choice is deterministic and
 * commutative; the winner is returned byte for byte. The base is not read: the timestamp only
 * arbitrates concurrent writes — a side that did not write yields to the one that did, even
 * with a later clock.
 */
import { conflict, defineContentType, merged } from './content-type.js';
import { isJsonObject, ownValue, parseJson, type JsonValue } from './json-value.js';

export interface LwwRegister {
  value: JsonValue;
  time: number;
  writer: string;
}

/** undefined when the bytes are not a register. */
export function parseLwwRegister(bytes: Buffer): LwwRegister | undefined {
  const document = parseJson(bytes);
  if (!isJsonObject(document)) return undefined;
  const value = ownValue(document, 'value');
  const time = ownValue(document, 'time');
  const writer = ownValue(document, 'writer');
  if (value === undefined || typeof time !== 'number' || typeof writer !== 'string') return undefined;
  return { value, time, writer };
}

export function formatLwwRegister(register: LwwRegister): Buffer {
  return Buffer.from(`${JSON.stringify({ value: register.value, time: register.time, writer: register.writer })}\n`, 'utf8');
}

export const lwwType = defineContentType('lww', (_base, ours, theirs) => {
  const ourWrite = parseLwwRegister(ours);
  const theirWrite = parseLwwRegister(theirs);
  if (ourWrite === undefined) return conflict('lww: ours is not a {value, time, writer} register');
  if (theirWrite === undefined) return conflict('lww: theirs is not a {value, time, writer} register');
  const order = ourWrite.time - theirWrite.time || compareText(ourWrite.writer, theirWrite.writer) || Buffer.compare(ours, theirs);
  return merged(order > 0 ? ours : theirs);
});

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
