import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LogSink } from '../../firmware/runtime/index.js';
import { formatLine } from '../../firmware/runtime/log.js';
import { tempDir } from '../_lib/tmp.js';

test('lines are logfmt with level, service and quoted values', () => {
  const line = formatLine('warn', 'port "busy"', { svc: 'http', port: 8080, addr: '127.0.0.1:80', note: 'two words', skip: undefined }, new Date(0));
  assert.is(line, 'ts=1970-01-01T00:00:00.000Z level=warn svc=http msg="port \\"busy\\"" port=8080 addr=127.0.0.1:80 note="two words"');
});

test('levels below the threshold are dropped; the ring keeps the last lines', () => {
  const sink = new LogSink({ stderr: false, level: 'info', ringSize: 3 });
  const log = sink.logger().child('t');
  log.debug('hidden');
  for (let i = 0; i < 5; i++) log.info(`line ${i}`);
  assert.is(sink.ring.length, 3);
  assert.ok(sink.ring[0]!.includes('"line 2"'));
  assert.ok(sink.ring.every((l) => l.includes('svc=t')));
});

test('the log file rotates by size and keeps a bounded number of old files', () => {
  const dir = tempDir();
  const sink = new LogSink({ stderr: false, dir, rotateBytes: 400, keep: 2 });
  const log = sink.logger();
  for (let i = 0; i < 40; i++) log.info(`message number ${i}`);
  sink.close();
  const files = fs.readdirSync(dir).sort();
  assert.equal(files, ['nymote.log', 'nymote.log.1', 'nymote.log.2']);
  for (const f of files) assert.ok(fs.statSync(path.join(dir, f)).size <= 400, f);
  assert.ok(fs.readFileSync(path.join(dir, 'nymote.log'), 'utf8').includes('"message number 39"'));
});

test.run();
