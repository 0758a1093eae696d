/** pkt-line framing: encoding, reading with bounds, side-band splitting. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { GitRequestError } from '../../firmware/git/errors.js';
import { MAX_PKT_PAYLOAD_BYTES, PktLineReader, pktLine, pktLines, sideBand, type ByteSource } from '../../firmware/git/pkt-line.js';
import { rejects } from '../_lib/assert.js';

function source(bytes: Buffer): ByteSource {
  let at = 0;
  return {
    async readExact(length) {
      if (at === bytes.length) return undefined;
      if (at + length > bytes.length) throw new GitRequestError('EBADPKT', 'request body ends early');
      const out = bytes.subarray(at, at + length);
      at += length;
      return out;
    },
  };
}

const badPkt = (err: unknown) => err instanceof GitRequestError && err.code === 'EBADPKT';

test('encodes lines with their length and the special packets', () => {
  assert.is(pktLine('want x\n').toString(), '000bwant x\n');
  assert.is(pktLines(['a', 'b']).toString(), '0006a\n0006b\n0000');
  assert.throws(() => pktLine(Buffer.alloc(MAX_PKT_PAYLOAD_BYTES + 1)));
});

test('reads data, flush, delim, response-end and the end of input', async () => {
  const reader = new PktLineReader(source(Buffer.from('0009done\n000000010002')));
  assert.is(await reader.line(), 'done');
  assert.is(await reader.line(), 'flush');
  assert.is(await reader.line(), 'delim');
  assert.is(await reader.line(), 'response-end');
  assert.is(await reader.line(), 'end');
});

test('refuses bad lengths, short packets and truncated input', async () => {
  for (const bad of ['zzzz', '0003', 'fff1', '00ffwant']) {
    await rejects(() => new PktLineReader(source(Buffer.from(bad))).next(), badPkt, bad);
  }
  await rejects(() => new PktLineReader(source(Buffer.from('00'))).next(), badPkt, 'a half length');
});

test('side-band packets never exceed the mode\'s size and carry the channel byte', () => {
  const data = Buffer.alloc(70_000, 7);
  const packets = sideBand(1, data, 65520);
  assert.is(packets.length, 2);
  assert.ok(packets.every((p) => p.length <= 65520 && p[4] === 1));
  assert.is(packets.reduce((n, p) => n + p.length - 5, 0), data.length);
  assert.ok(sideBand(2, Buffer.alloc(5000), 1000).every((p) => p.length <= 1000));
});

test.run();
