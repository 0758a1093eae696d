/**
 * native/dnswire: the addon and the JS twin agree on thousands of random inputs — random
 * messages (encoded bytes must be identical, decoded back they must be what was encoded),
 * random mutations of valid messages (bit flips, truncations, insertions, count changes) and
 * random message objects with bad fields. For every input both give deep-equal results or
 * the same error (name, code, and for decode the message). Seeded: a failure names its seed.
 * Needs the host addon (make native).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { DNSWIRE_ADDON_FUNCTIONS, loadAddon } from '../../firmware/native.js';
import { DNS_TYPE, type DnsMessage, type DnsRecord, type DnswireAddon } from '../../native/dnswire/binding.js';
import { dnswireTwin } from '../../native/dnswire/twin.js';
import { Random } from '../_lib/random.js';

const load = loadAddon<DnswireAddon>('dnswire', DNSWIRE_ADDON_FUNCTIONS);
if (load.addon === undefined) assert.unreachable(`dnswire addon not loadable (run make native): ${load.reason}`);
const addon = load.addon as DnswireAddon;

const SEED = 20251130;
const MESSAGES = 3000;
const MUTATIONS_PER_MESSAGE = 8;

// ---- random messages ----------------------------------------------------------------------

/** A few labels that recur, in mixed case, so that compression has suffixes to find. */
const COMMON_LABELS = ['example', 'test', 'www', 'mail', 'ns1', 'a', '_tcp', '_sip', 'xn--bcher-kva', 'EXAMPLE', 'Test'];

function randomLabel(random: Random): number[] {
  if (random.chance(0.7)) return [...Buffer.from(random.pick(COMMON_LABELS))];
  const length = random.chance(0.1) ? 60 + random.int(4) : 1 + random.int(12);
  // Mostly letters and digits; sometimes any byte (escapes: dots, backslashes, 0x00, 0xff).
  return Array.from({ length }, () => (random.chance(0.8) ? random.pick([...Buffer.from('abcXYZ019-_')]) : random.int(256)));
}

/** An uncompressed wire name of at most 255 bytes. */
function randomWireName(random: Random): Uint8Array {
  const out: number[] = [];
  const labels = random.chance(0.05) ? 0 : random.chance(0.05) ? 40 : 1 + random.int(5);
  for (let i = 0; i < labels; i++) {
    const label = randomLabel(random);
    if (out.length + 1 + label.length + 1 > 255) break;
    out.push(label.length, ...label);
  }
  out.push(0);
  return Uint8Array.from(out);
}

const text = (wire: Uint8Array): string => addon.decode(Uint8Array.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...wire, 0, 1, 0, 1])).questions[0]!.name;

function randomName(random: Random): string {
  return text(randomWireName(random));
}

const u16 = (value: number): number[] => [value >> 8, value & 0xff];

/** RDATA that fits its type (names uncompressed), or random bytes for opaque types. */
function randomData(random: Random, type: number): Uint8Array {
  const name = () => [...randomWireName(random)];
  const fixed = (n: number) => Array.from({ length: n }, () => random.int(256));
  const string = () => {
    const length = random.int(20);
    return [length, ...fixed(length)];
  };
  switch (type) {
    case 1: return Uint8Array.from(fixed(4));
    case 28: return Uint8Array.from(fixed(16));
    case 2: case 3: case 4: case 5: case 7: case 8: case 9: case 12: case 39: return Uint8Array.from(name());
    case 14: case 17: return Uint8Array.from([...name(), ...name()]);
    case 6: return Uint8Array.from([...name(), ...name(), ...fixed(20)]);
    case 15: case 18: case 21: case 36: return Uint8Array.from([...u16(random.int(65536)), ...name()]);
    case 26: return Uint8Array.from([...fixed(2), ...name(), ...name()]);
    case 33: return Uint8Array.from([...fixed(6), ...name()]);
    case 35: return Uint8Array.from([...fixed(4), ...string(), ...string(), ...string(), ...name()]);
    default: return Uint8Array.from(fixed(random.chance(0.02) ? 300 + random.int(2000) : random.int(40)));
  }
}

/** Every type decode knows the layout of, and a few opaque ones. */
const TYPES = [...Object.values(DNS_TYPE), 3, 4, 7, 8, 9, 14, 17, 18, 21, 26, 35, 36, 99, 65280];

function randomRecord(random: Random, names: string[]): DnsRecord {
  const type = random.pick(TYPES);
  // Reuse earlier names (in another case, sometimes) so owners compress too.
  const name = names.length > 0 && random.chance(0.6) ? random.pick(names) : randomName(random);
  names.push(random.chance(0.2) ? name.toUpperCase() : name);
  return {
    name,
    type,
    class: random.chance(0.8) ? 1 : random.int(65536),
    ttl: random.chance(0.1) ? random.pick([0, 0x7fffffff, 0x80000000, 0xffffffff]) : random.int(86400),
    data: randomData(random, type),
  };
}

function randomMessage(random: Random): DnsMessage {
  const names: string[] = [];
  const records = (max: number) => Array.from({ length: random.int(max + 1) }, () => randomRecord(random, names));
  return {
    id: random.int(65536),
    flags: random.int(65536),
    questions: Array.from({ length: random.chance(0.9) ? 1 : random.int(3) }, () => {
      const name = randomName(random);
      names.push(name);
      return { name, type: random.pick(TYPES), class: random.int(65536) };
    }),
    answers: records(random.chance(0.1) ? 30 : 6),
    authorities: records(3),
    additionals: records(4),
  };
}

// ---- mutations ----------------------------------------------------------------------------

function mutate(random: Random, wire: Uint8Array): Uint8Array {
  const bytes = [...wire];
  const edits = 1 + random.int(3);
  for (let i = 0; i < edits; i++) {
    const at = random.int(bytes.length + 1);
    switch (random.int(7)) {
      case 0: // bit flip
        if (bytes.length > 0) bytes[at % bytes.length]! ^= 1 << random.int(8);
        break;
      case 1: // truncation
        bytes.length = random.int(bytes.length + 1);
        break;
      case 2: // insertion
        bytes.splice(at, 0, ...Array.from({ length: 1 + random.int(4) }, () => random.int(256)));
        break;
      case 3: // deletion
        bytes.splice(at, 1 + random.int(4));
        break;
      case 4: // a count, up or down by a little
        if (bytes.length >= 12) {
          const count = 4 + 2 * random.int(4);
          const value = (((bytes[count]! << 8) | bytes[count + 1]!) + random.pick([-1, 1, 2, 255])) & 0xffff;
          bytes[count] = value >> 8;
          bytes[count + 1] = value & 0xff;
        }
        break;
      case 5: // a compression pointer to anywhere
        if (bytes.length > 13) {
          const target = random.int(bytes.length + 4);
          bytes.splice(12 + random.int(bytes.length - 13), 2, 0xc0 | (target >> 8), target & 0xff);
        }
        break;
      default: // a byte set to a boundary value (label lengths, reserved types)
        if (bytes.length > 0) bytes[at % bytes.length] = random.pick([0, 1, 63, 64, 0x80, 0xbf, 0xc0, 0xff]);
    }
  }
  return Uint8Array.from(bytes);
}

// ---- comparison ---------------------------------------------------------------------------

type Outcome = { ok: true; value: unknown } | { ok: false; name: string; code: unknown; message: string };

function outcome(call: () => unknown): Outcome {
  try {
    return { ok: true, value: call() };
  } catch (error) {
    const { name, message } = error as Error;
    return { ok: false, name, code: (error as { code?: unknown }).code, message };
  }
}

function sameDecode(wire: Uint8Array, context: string): Outcome {
  const fromAddon = outcome(() => addon.decode(wire));
  const fromTwin = outcome(() => dnswireTwin.decode(wire));
  assert.equal(fromAddon, fromTwin, `${context}: ${Buffer.from(wire).toString('hex')}`);
  return fromAddon;
}

/** Encode errors agree on name and code (messages quote names, which C sees as UTF-8). */
function sameEncode(message: DnsMessage, context: string): Outcome {
  const fromAddon = outcome(() => addon.encode(message));
  const fromTwin = outcome(() => dnswireTwin.encode(message));
  if (fromAddon.ok && fromTwin.ok) {
    assert.is((fromAddon.value as Buffer).toString('hex'), (fromTwin.value as Buffer).toString('hex'), context);
  } else {
    const shape = (o: Outcome) => (o.ok ? 'ok' : `${o.name} ${String(o.code)}`);
    assert.is(shape(fromAddon), shape(fromTwin), `${context}: ${fromAddon.ok ? '' : fromAddon.message} / ${fromTwin.ok ? '' : fromTwin.message}`);
  }
  return fromAddon;
}

/** What decode gives back for names: equal ignoring ASCII case (compression keeps the first copy's). */
function foldCase(message: DnsMessage): unknown {
  const lower = (name: string) => name.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const compressible = new Set([2, 5, 6, 12, 15]);
  const record = (r: DnsRecord) => ({
    ...r,
    name: lower(r.name),
    data: compressible.has(r.type) ? Buffer.from(r.data).toString('latin1').toLowerCase() : Buffer.from(r.data).toString('hex'),
  });
  return {
    ...message,
    questions: message.questions.map((q) => ({ ...q, name: lower(q.name) })),
    answers: message.answers.map(record),
    authorities: message.authorities.map(record),
    additionals: message.additionals.map(record),
  };
}

// ---------------------------------------------------------------------------------------------

const twins = suite('dnswire addon vs JS twin on random inputs');
const valid: Uint8Array[] = [];

twins(`${MESSAGES} random messages: identical bytes, and decoded back to what was encoded`, () => {
  const random = new Random(SEED);
  let encoded = 0;
  for (let i = 0; i < MESSAGES; i++) {
    const message = randomMessage(random);
    const result = sameEncode(message, `message ${i}`);
    if (!result.ok) {
      assert.is(result.code, 'ERR_DNS_TOO_LARGE', `message ${i}: ${result.message}`);
      continue;
    }
    encoded++;
    const wire = result.value as Buffer;
    valid.push(wire);
    const decoded = sameDecode(wire, `message ${i}`);
    assert.ok(decoded.ok, `message ${i} does not decode: ${decoded.ok ? '' : decoded.message}`);
    assert.equal(foldCase(decoded.value as DnsMessage), foldCase(message), `message ${i}`);
    // Encoding what was decoded gives the same bytes again (case is settled by then).
    assert.is(addon.encode(decoded.value as DnsMessage).toString('hex'), wire.toString('hex'), `message ${i}`);
  }
  assert.ok(encoded > MESSAGES * 0.9, `only ${encoded} encoded`);
});

twins(`${MESSAGES * MUTATIONS_PER_MESSAGE} mutations of valid messages: same result or same error`, () => {
  const random = new Random(SEED + 1);
  const codes = new Map<string, number>();
  for (const [index, wire] of valid.entries()) {
    for (let i = 0; i < MUTATIONS_PER_MESSAGE; i++) {
      const mutated = mutate(random, wire);
      const result = sameDecode(mutated, `mutation ${i} of message ${index}`);
      const key = result.ok ? 'ok' : String(result.code);
      codes.set(key, (codes.get(key) ?? 0) + 1);
      if (result.ok) sameEncode(result.value as DnsMessage, `re-encoding mutation ${i} of message ${index}`);
    }
  }
  // The mutations reach every decode rule (and many still parse).
  for (const code of ['ok', 'ERR_DNS_SHORT', 'ERR_DNS_TRAILING', 'ERR_DNS_LABEL', 'ERR_DNS_NAME_LENGTH', 'ERR_DNS_POINTER', 'ERR_DNS_RDATA']) {
    assert.ok((codes.get(code) ?? 0) > 0, `no mutation gave ${code}: ${JSON.stringify([...codes])}`);
  }
});

twins('random bytes, short and long: same result or same error', () => {
  const random = new Random(SEED + 2);
  for (let i = 0; i < 5000; i++) {
    const length = random.chance(0.5) ? random.int(24) : random.int(600);
    const bytes = Uint8Array.from({ length }, () => random.int(256));
    if (bytes.length >= 12 && random.chance(0.7)) bytes.fill(0, 4, 12).set([0, random.int(3), 0, random.int(3)], 4);
    sameDecode(bytes, `random input ${i}`);
  }
});

twins('random presentation names: same wire name or same error', () => {
  const random = new Random(SEED + 3);
  const pieces = ['a', 'B', '.', '..', '\\', '\\.', '\\\\', '\\0', '\\065', '\\256', '\\12', ' ', 'é', '\u{1F600}', '\0', '"', '$', '@', 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(30) + '.'];
  // Pieces that keep a name valid, so that long ones reach the 255-byte limit.
  const validPieces = ['a', 'B', '\\.', '\\065', 'v'.repeat(20) + '.', 'w'.repeat(50) + '.', 'x'.repeat(63) + '.'];
  for (let i = 0; i < 5000; i++) {
    let name = '';
    const count = random.int(random.chance(0.1) ? 40 : 8);
    const from = random.chance(0.3) ? validPieces : pieces;
    for (let j = 0; j < count; j++) name += random.pick(from);
    if (random.chance(0.7)) name += '.';
    sameEncode({ id: 1, flags: 0, questions: [{ name, type: 1, class: 1 }], answers: [], authorities: [], additionals: [] }, `name ${JSON.stringify(name)}`);
  }
});

twins('random message objects with bad fields: same error code', () => {
  const random = new Random(SEED + 4);
  const badValues: unknown[] = [undefined, null, -1, 65536, 2 ** 32, 1.5, Number.NaN, Infinity, '1', {}, [], true, 10n];
  for (let i = 0; i < 3000; i++) {
    const message = randomMessage(random) as unknown as Record<string, unknown>;
    const targets: Array<Record<string, unknown>> = [message];
    for (const section of ['questions', 'answers', 'authorities', 'additionals']) targets.push(...(message[section] as Array<Record<string, unknown>>));
    const target = random.pick(targets);
    const fields = target === message ? ['id', 'flags', 'questions', 'answers'] : ['name', 'type', 'class', 'ttl', 'data'];
    const field = random.pick(fields);
    target[field] = random.chance(0.2) && field === 'data' ? Uint8Array.from([0xc0, 0x0c]) : random.pick(badValues);
    sameEncode(message as unknown as DnsMessage, `bad ${field} in message ${i}`);
  }
});

twins.run();
