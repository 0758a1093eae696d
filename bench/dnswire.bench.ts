/**
 * DNS message parse/serialize, messages/s, the addon against its JS twin (the baseline):
 *   - decode of a typical query: dig's, one question and an OPT with a cookie (the DNS
 *     server's per-packet hot path);
 *   - decode of a 10-record response (Knot's answer with ten A records, all compressed);
 *   - encode of a response: an answer with NS, glue A/AAAA and OPT, names compressed.
 * The messages are the real ones test/unit/dnswire.test.ts checks. 256 calls per run.
 */
import { DNSWIRE_ADDON_FUNCTIONS, loadAddon } from '../firmware/native.js';
import type { DnsMessage, DnswireAddon, DnswireBinding } from '../native/dnswire/binding.js';
import { dnswireTwin } from '../native/dnswire/twin.js';
import type { Bench, BenchCase } from './harness.js';

const CALLS = 256;
const BASELINE = 'JS twin';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

const QUERY = hex(`113f 0120 0001 0000 0000 0001 03777777076578616d706c650474657374 00 0001 0001
  00 0029 04d0 00000000 000c 000a0008c63c292fb1c0245c`);
const TEN_RECORDS = hex(`e8ec 8400 0001 000a 0000 0001 03777777076578616d706c6504746573740000010001
  ${Array.from({ length: 10 }, (_, i) => `c00c 0001 0001 00000e10 0004 c00002${(i + 1).toString(16).padStart(2, '0')}`).join(' ')}
  00002904d0000000000000`);
const NS_RESPONSE = hex(`ce45 8400 0001 0002 0000 0004 076578616d706c6504746573740000020001
  c00c 0002 0001 00000e10 0006 036e7331c00c  c00c 0002 0001 00000e10 0006 036e7332c00c
  c02a 0001 0001 00000e10 0004 c0000235  c02a 001c 0001 00000e10 0010 20010db8000000000000000000000053
  c03c 0001 0001 00000e10 0004 c6336435  00002904d0000000000000`);

function cases(implementation: string, binding: DnswireBinding, response: DnsMessage): BenchCase[] {
  return [
    {
      case: 'decode query (1 question + OPT)',
      implementation,
      unitsPerRun: CALLS,
      run: () => {
        for (let i = 0; i < CALLS; i++) binding.decode(QUERY);
      },
    },
    {
      case: 'decode 10-record response',
      implementation,
      unitsPerRun: CALLS,
      run: () => {
        for (let i = 0; i < CALLS; i++) binding.decode(TEN_RECORDS);
      },
    },
    {
      case: 'encode NS response with glue (7 records)',
      implementation,
      unitsPerRun: CALLS,
      run: () => {
        for (let i = 0; i < CALLS; i++) binding.encode(response);
      },
    },
  ];
}

const bench: Bench = {
  name: 'dnswire',
  unit: 'messages/s',
  baseline: BASELINE,
  cases() {
    const load = loadAddon<DnswireAddon>('dnswire', DNSWIRE_ADDON_FUNCTIONS);
    if (load.addon === undefined) throw new Error(`dnswire addon not loadable (make native): ${load.reason}`);
    const response = dnswireTwin.decode(NS_RESPONSE);
    if (!load.addon.encode(response).equals(NS_RESPONSE)) throw new Error('the addon does not encode the response back');
    return [...cases('addon', load.addon, response), ...cases(BASELINE, dnswireTwin, response)];
  },
};

export default bench;
