import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PORTS, PORT_NAMES, UsageError, parsePort, resolvePorts } from '../../firmware/runtime/index.js';

test('host and device defaults are the ones DESIGN.md lists', () => {
  const host = resolvePorts('host', 0, {});
  assert.equal(host, { http: 8080, https: 8443, imap: 1143, imaps: 1993, submission: 1587, smtp: 2525, dns: 1053, channel: 7171 });
  const device = resolvePorts('device', 0, {});
  assert.equal(device, { http: 80, https: 443, imap: 143, imaps: 993, submission: 587, smtp: 25, dns: 53, channel: 7171 });
});

test('--port-base shifts every default, explicit flags are taken as given', () => {
  const ports = resolvePorts('host', 100, { imap: 2000 });
  for (const name of PORT_NAMES) {
    assert.is(ports[name], name === 'imap' ? 2000 : PORTS[name].host + 100, name);
  }
});

test('a base that pushes a port past 65535 is a usage error', () => {
  assert.throws(() => resolvePorts('host', 60000, {}), (err: unknown) => err instanceof UsageError && /past 65535/.test((err as Error).message));
});

test('parsePort accepts 0..65535 and nothing else', () => {
  assert.is(parsePort('0', 'p'), 0);
  assert.is(parsePort('65535', 'p'), 65535);
  for (const bad of ['65536', '-1', 'http', '', '80.5', '1e3', ' 80']) {
    assert.throws(() => parsePort(bad, '--http port'), (err: unknown) => err instanceof UsageError, bad);
  }
});

test.run();
