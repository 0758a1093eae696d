/**
 * Jitsu's rules on a service that takes a while to start: parked until used, every request
 * that comes meanwhile waits for the one start, a lookup of its name starts it in the
 * background, idle it parks, and a request during parking starts it again afterwards.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Jitsu, type Summonable } from '../../firmware/signpost/index.js';
import { LogSink } from '../../firmware/runtime/index.js';

const log = new LogSink({ level: 'error' }).logger();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function slowService(events: string[], startMs = 30): Summonable {
  return {
    name: 'dav',
    dnsNames: ['_caldavs._tcp'],
    start: async () => {
      events.push('start');
      await sleep(startMs);
      events.push('started');
    },
    park: async () => {
      events.push('park');
      await sleep(20);
      events.push('parked');
    },
  };
}

test('requests to a parked service wait for one shared start, none is refused', async () => {
  const events: string[] = [];
  const jitsu = new Jitsu({ idleMs: 60_000, log });
  jitsu.declare(slowService(events));
  await jitsu.start();
  assert.is(jitsu.states().dav!.state, 'parked');
  const done: string[] = [];
  await Promise.all([1, 2, 3].map((i) => jitsu.use('dav').then(() => done.push(`request ${i}`))));
  assert.equal(events, ['start', 'started']);
  assert.is(done.length, 3);
  assert.equal(jitsu.states().dav, { state: 'running', summons: 1 });
  await jitsu.stop();
  assert.equal(events, ['start', 'started', 'park', 'parked']);
});

test("a lookup of the service's name summons it before the connection comes; other names do not", async () => {
  const events: string[] = [];
  const jitsu = new Jitsu({ idleMs: 60_000, log });
  jitsu.declare(slowService(events));
  jitsu.onQuestion('_imaps._tcp.home.example.', 'home.example.');
  jitsu.onQuestion('_caldavs._tcp.other.example.', 'home.example.');
  assert.is(jitsu.states().dav!.state, 'parked');
  jitsu.onQuestion('_caldavs._tcp.home.example.', 'home.example.');
  assert.is(jitsu.states().dav!.state, 'summoning');
  await jitsu.use('dav');
  assert.equal(jitsu.states().dav, { state: 'running', summons: 1 });
  assert.equal(events, ['start', 'started']);
});

test('idle past its time it parks; a request while it parks starts it again afterwards', async () => {
  const events: string[] = [];
  const jitsu = new Jitsu({ idleMs: 150, log });
  jitsu.declare(slowService(events, 5));
  await jitsu.start();
  await jitsu.use('dav');
  const deadline = Date.now() + 3000;
  while (jitsu.states().dav!.state !== 'parking' && Date.now() < deadline) await sleep(5);
  assert.is(jitsu.states().dav!.state, 'parking');
  await jitsu.use('dav');
  assert.equal(events, ['start', 'started', 'park', 'parked', 'start', 'started']);
  assert.equal(jitsu.states().dav, { state: 'running', summons: 2 });
  await jitsu.stop();
});

test.run();
