/**
 * The mDNS / DNS-SD responder (firmware/signpost/mdns) against an independent client,
 * python-zeroconf, over real multicast: two network namespaces joined by a veth pair, the
 * responder in one (10.77.0.1), the client in the other (10.77.0.2). Nothing of the host's
 * network is touched. Needs root for the namespaces (CI runs tests as root); without it the
 * tests fail saying so.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { createNetnsPair, netnsUnavailable, type NetnsPair } from '../_lib/netns-pair.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLIENT = path.join(ROOT, 'test', '_lib', 'mdns_client.py');
const DEV = '10.77.0.1';
const PEER = '10.77.0.2';
const HOST = 'nymote-test';

// Run inside the responder's namespace: the responder, driven by lines on stdin.
const RESPONDER = `
import readline from 'node:readline';
import { MdnsResponder } from ${JSON.stringify(path.join(ROOT, 'firmware/signpost/mdns/index.ts'))};
import { LogSink } from ${JSON.stringify(path.join(ROOT, 'firmware/runtime/log.ts'))};
const config = JSON.parse(process.env.MDNS_CONFIG);
const log = new LogSink({ level: 'debug', stderr: true }).logger().child('mdns');
const responder = new MdnsResponder({
  hostname: () => config.hostname,
  addresses: () => config.addresses,
  services: () => config.services,
  interfaceAddress: config.interfaceAddress,
  log,
});
const say = (event) => process.stdout.write(JSON.stringify(event) + '\\n');
await responder.start();
say({ event: 'started' });
responder.ready().then(() => say({ event: 'ready', stats: responder.stats() }));
for await (const line of readline.createInterface({ input: process.stdin })) {
  if (line === 'stats') say({ event: 'stats', stats: responder.stats(), describe: responder.describe() });
  if (line === 'stop') {
    await responder.stop();
    say({ event: 'stopped', stats: responder.stats() });
    process.exit(0);
  }
}
`;

/** A child process whose stdout is JSON lines. */
class Proc {
  readonly child: ChildProcess;
  readonly events: any[] = [];
  stderr = '';
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;

  constructor(command: string, args: string[], env: Record<string, string> = {}) {
    this.child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line));
      } catch {
        this.events.push({ text: line });
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child.stderr!.on('data', (chunk) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => {
      for (const wake of this.waiters.splice(0)) wake();
      resolve(code);
    }));
  }

  /** The first event (from `from` on) that `match` accepts. */
  async next(match: (event: any) => boolean, timeoutMs = 15_000, from = 0): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(match);
      if (found !== undefined) return found;
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no matching event (exit ${this.child.exitCode}); events ${JSON.stringify(this.events)}; stderr:\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  send(line: string): void {
    this.child.stdin!.write(line + '\n');
  }

  async result(): Promise<any> {
    const code = await this.exited;
    assert.is(code, 0, `exit ${code}; stderr:\n${this.stderr}`);
    return this.events.at(-1);
  }
}

let net: NetnsPair;
let responder: Proc;

function startResponder(hostname = HOST): Proc {
  const config = {
    hostname,
    addresses: [DEV],
    services: [
      { type: '_imap._tcp', port: 143, txt: ['path=/mail'] },
      { type: '_http._tcp', port: 80 },
    ],
    interfaceAddress: DEV,
  };
  return new Proc(
    'ip',
    ['netns', 'exec', net.server, process.execPath, '--import', 'tsx', '--input-type=module', '-e', RESPONDER],
    { MDNS_CONFIG: JSON.stringify(config) },
  );
}

/** python-zeroconf (or a raw query) in the client's namespace. */
function client(...args: string[]): Proc {
  return new Proc('ip', ['netns', 'exec', net.client, '/usr/bin/python3', CLIENT, ...args]);
}

async function stats(): Promise<any> {
  const from = responder.events.length;
  responder.send('stats');
  return (await responder.next((e) => e.event === 'stats', 5000, from)).stats;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isResponse = (p: any) => (p.flags & 0x8000) !== 0;

test.before(() => {
  const why = netnsUnavailable();
  if (why !== undefined) throw new Error(`mdns interop needs network namespaces: ${why}`);
  net = createNetnsPair('m', DEV);
  net.ip(net.client, 'addr', 'add', `${PEER}/24`, 'dev', net.clientIface);
  net.ip(net.client, 'link', 'set', net.clientIface, 'up');
  // Fresh namespaces have no route for multicast; a real LAN has a default route.
  net.ip(net.server, 'route', 'add', '224.0.0.0/4', 'dev', net.serverIface);
  net.ip(net.client, 'route', 'add', '224.0.0.0/4', 'dev', net.clientIface);
});

test.after(async () => {
  for (const proc of [responder]) {
    if (proc !== undefined && proc.child.exitCode === null) proc.child.kill();
  }
  net?.remove();
});

test('probes the names three times, then announces twice a second apart', async () => {
  const sniffer = client('sniff', PEER, '4.5');
  await sniffer.next((e) => e.listening === true);
  responder = startResponder();
  const ready = await responder.next((e) => e.event === 'ready');
  assert.is(ready.stats.hostName, `${HOST}.local.`);
  const { packets } = await sniffer.result();
  const probes = packets.filter((p: any) => !isResponse(p) && p.authorities > 0);
  assert.is(probes.length, 3, JSON.stringify(packets));
  assert.ok(probes[0].questions.some((q: any) => q.name === `${HOST}.local.` && q.type === 255 && q.qu), 'first probe asks ANY with QU');
  assert.ok(probes[0].records.some((r: any) => r.type === 1 && r.address === DEV), 'proposed A record in the authority section');
  const gaps = probes.slice(1).map((p: any, i: number) => p.at - probes[i].at);
  assert.ok(gaps.every((g: number) => g > 0.2 && g < 0.6), `probes 250 ms apart: ${gaps}`);
  const announcements = packets.filter((p: any) => isResponse(p) && p.src.startsWith(DEV));
  assert.is(announcements.length, 2, JSON.stringify(announcements));
  const gap = announcements[1].at - announcements[0].at;
  assert.ok(gap > 0.9 && gap < 1.6, `announcements 1 s apart: ${gap}`);
  assert.ok(announcements[0].at > probes[2].at, 'announced after probing');
  const records = announcements[0].records;
  const a = records.find((r: any) => r.type === 1 && r.name === `${HOST}.local.`);
  assert.ok(a && a.address === DEV && a.unique && a.ttl === 120, `A record with cache-flush: ${JSON.stringify(a)}`);
  const ptr = records.find((r: any) => r.type === 12 && r.name === '_imap._tcp.local.');
  assert.ok(ptr && !ptr.unique && ptr.alias === `${HOST}._imap._tcp.local.` && ptr.ttl === 4500, `shared PTR: ${JSON.stringify(ptr)}`);
  const srv = records.find((r: any) => r.type === 33 && r.name === `${HOST}._imap._tcp.local.`);
  assert.ok(srv && srv.unique && srv.port === 143 && srv.server === `${HOST}.local.`, `SRV: ${JSON.stringify(srv)}`);
  const reverse = records.find((r: any) => r.type === 12 && r.name === '1.0.77.10.in-addr.arpa.');
  assert.ok(reverse && reverse.unique && reverse.alias === `${HOST}.local.`, `reverse PTR: ${JSON.stringify(reverse)}`);
});

test('zeroconf resolves <hostname>.local. to the address', async () => {
  const result = await client('resolve-host', PEER, `${HOST}.local.`, '5').result();
  assert.equal(result.addresses, [DEV]);
});

test('zeroconf browses _imap._tcp and _http._tcp and resolves the instances', async () => {
  const imap = await client('browse', PEER, '_imap._tcp.local.', '5').result();
  assert.equal(imap.instances.length, 1, JSON.stringify(imap));
  const [instance] = imap.instances;
  assert.is(instance.name, `${HOST}._imap._tcp.local.`);
  assert.ok(instance.resolved, 'resolved');
  assert.is(instance.server, `${HOST}.local.`);
  assert.is(instance.port, 143);
  assert.equal(instance.addresses, [DEV]);
  assert.equal(instance.properties, { path: '/mail' });
  const http = await client('browse', PEER, '_http._tcp.local.', '5').result();
  assert.is(http.instances[0]?.port, 80, JSON.stringify(http));
  // RFC 6763 section 6.1: no TXT data is one empty string.
  assert.is(http.instances[0].text, '00');
});

test('zeroconf lists the service types from _services._dns-sd._udp.local.', async () => {
  const result = await client('types', PEER, '3').result();
  assert.ok(result.types.includes('_imap._tcp.local.'), JSON.stringify(result));
  assert.ok(result.types.includes('_http._tcp.local.'), JSON.stringify(result));
});

test('legacy unicast (source port ≠ 5353): the query ID, the question, TTL ≤ 10, no cache-flush', async () => {
  for (const dest of ['224.0.0.251', DEV]) {
    const result = await client('query', PEER, dest, '0', '1.5', `${HOST}.local.`, 'A').result();
    assert.is(result.packets.length, 1, JSON.stringify(result));
    const [reply] = result.packets;
    assert.is(reply.src, `${DEV}:5353`);
    assert.is(reply.id, result.sent_id);
    assert.equal(reply.questions.map((q: any) => q.name), [`${HOST}.local.`]);
    const a = reply.records.find((r: any) => r.type === 1);
    assert.ok(a && a.address === DEV && a.ttl <= 10 && !a.unique, JSON.stringify(reply));
    assert.ok(reply.records.every((r: any) => r.ttl <= 10 && !r.unique), JSON.stringify(reply));
  }
  // And dig, a legacy resolver, asking the responder directly.
  const dig = execFileSync('ip', ['netns', 'exec', net.client, 'dig', '+short', '+time=2', '+tries=2', '-p', '5353', `@${DEV}`, `${HOST}.local.`, 'A'], { encoding: 'utf8' });
  assert.is(dig.trim(), DEV);
  const srv = execFileSync('ip', ['netns', 'exec', net.client, 'dig', '+short', '+time=2', '+tries=2', '-p', '5353', `@${DEV}`, `${HOST}._imap._tcp.local.`, 'SRV'], { encoding: 'utf8' });
  assert.is(srv.trim(), `0 0 143 ${HOST}.local.`);
});

test('QU question: answered by unicast to port 5353, with cache-flush on unique records and the additionals', async () => {
  const result = await client('query', PEER, '224.0.0.251', '5353', '1.5', '_imap._tcp.local.', 'PTR', 'qu').result();
  assert.is(result.packets.length, 1, JSON.stringify(result));
  const [reply] = result.packets;
  assert.is(reply.src, `${DEV}:5353`);
  const byType = (t: number) => reply.records.find((r: any) => r.type === t);
  assert.ok(byType(12) && !byType(12).unique && byType(12).alias === `${HOST}._imap._tcp.local.`);
  assert.ok(byType(33)?.unique && byType(33).port === 143, 'SRV in additionals, cache-flush');
  assert.ok(byType(16)?.unique, 'TXT in additionals');
  assert.ok(byType(1)?.unique && byType(1).address === DEV, 'A in additionals');
});

test('known-answer suppression: a PTR the querier holds with ≥ half its TTL is not sent again', async () => {
  const known = (ttl: number) => `known:_imap._tcp.local.:${HOST}._imap._tcp.local.:${ttl}`;
  const fresh = await client('query', PEER, '224.0.0.251', '5353', '1', '_imap._tcp.local.', 'PTR', 'qu', known(4000)).result();
  assert.is(fresh.packets.length, 0, JSON.stringify(fresh));
  const stale = await client('query', PEER, '224.0.0.251', '5353', '1', '_imap._tcp.local.', 'PTR', 'qu', known(1000)).result();
  assert.is(stale.packets.length, 1, JSON.stringify(stale));
});

test('multicast answers: one per record per second', async () => {
  await sleep(1100);
  const sniffer = client('sniff', PEER, '3.5');
  await sniffer.next((e) => e.listening === true);
  // The same QM question at 0, 0.6 and 1.2 s: the second falls within a second of the first answer.
  await client('query', PEER, '224.0.0.251', '5353', '0.1', `${HOST}.local.`, 'A', 'repeat:3:600').result();
  const { packets } = await sniffer.result();
  const queries = packets.filter((p: any) => !isResponse(p));
  const answers = packets.filter((p: any) => isResponse(p) && p.records.some((r: any) => r.type === 1 && r.ttl > 0));
  assert.is(queries.length, 3, JSON.stringify(packets));
  assert.is(answers.length, 2, JSON.stringify(packets));
  assert.ok(answers[1].at - answers[0].at >= 0.95, `answers a second apart: ${answers[1].at - answers[0].at}`);
});

test('bad packets are dropped and counted; the responder keeps answering', async () => {
  const header = (qd: number, an = 0) => Buffer.from([0, 1, 0, 0, 0, qd, 0, an, 0, 0, 0, 0]);
  const question = Buffer.concat([Buffer.from('\x0bnymote-test\x05local\x00', 'latin1'), Buffer.from([0, 1, 0, 1])]);
  const bad = [
    Buffer.from([1, 2, 3]), // shorter than a header
    header(1), // a question that is not there
    Buffer.concat([header(1), question.subarray(0, 9)]), // truncated in the name
    Buffer.concat([header(1), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]), // pointer to itself
    Buffer.concat([header(1), Buffer.from([0x03, 0x61, 0x62, 0x63, 0xc0, 0x0c, 0, 1, 0, 1])]), // loop through a label
    Buffer.concat([header(1), Buffer.from([0xc0, 0x20, 0, 1, 0, 1])]), // pointer forward, past the end
    Buffer.concat([header(1), Buffer.from([0x40, 0x61, 0, 0, 1, 0, 1])]), // reserved label type
    Buffer.concat([header(1), question, Buffer.from([0xff])]), // trailing byte
    Buffer.concat([header(1, 1), question, question.subarray(0, 19), Buffer.from([0, 1, 0, 1, 0, 0, 0, 10, 0, 4, 1, 2])]), // RDLENGTH past the end
  ];
  const huge = Buffer.concat([header(1), question, Buffer.alloc(9500 - 12 - question.length)]);
  const before = await stats();
  await client('send', PEER, DEV, ...bad.map((b) => b.toString('hex')), huge.toString('hex')).result();
  await client('send', PEER, '224.0.0.251', ...bad.map((b) => b.toString('hex'))).result();
  await sleep(300);
  const after = await stats();
  assert.is(after.malformed - before.malformed, bad.length * 2, JSON.stringify({ before, after }));
  assert.is(after.oversized - before.oversized, 1);
  assert.is(after.state, 'running');
  const result = await client('query', PEER, DEV, '0', '1.5', `${HOST}.local.`, 'A').result();
  assert.is(result.packets.length, 1, 'still answering');
});

test('stop sends goodbyes: every record with TTL 0', async () => {
  const sniffer = client('sniff', PEER, '2');
  await sniffer.next((e) => e.listening === true);
  responder.send('stop');
  await responder.next((e) => e.event === 'stopped');
  assert.is(await responder.exited, 0);
  const { packets } = await sniffer.result();
  const goodbyes = packets.filter((p: any) => isResponse(p) && p.records.length > 0 && p.records.every((r: any) => r.ttl === 0));
  assert.is(goodbyes.length, 1, JSON.stringify(packets));
  const names = goodbyes[0].records.map((r: any) => `${r.name}/${r.type}`);
  for (const expected of [`${HOST}.local./1`, '_imap._tcp.local./12', `${HOST}._imap._tcp.local./33`, '_services._dns-sd._udp.local./12']) {
    assert.ok(names.includes(expected), `${expected} in ${names}`);
  }
});

test('a host name already taken on the link: probing finds it, the responder becomes <hostname>-2', async () => {
  const squatter = client('squat', PEER, `${HOST}.local.`, '10.77.0.99');
  await squatter.next((e) => e.registered === true);
  const check = await client('resolve-host', PEER, `${HOST}.local.`, '3').result();
  assert.equal(check.addresses, ['10.77.0.99'], 'the squatter holds the name');
  responder = startResponder();
  const ready = await responder.next((e) => e.event === 'ready');
  assert.is(ready.stats.hostName, `${HOST}-2.local.`);
  assert.ok(ready.stats.conflicts >= 1);
  assert.match(responder.stderr, /mdns name conflict, renamed/);
  const resolved = await client('resolve-host', PEER, `${HOST}-2.local.`, '5').result();
  assert.equal(resolved.addresses, [DEV]);
  const imap = await client('browse', PEER, '_imap._tcp.local.', '5').result();
  assert.is(imap.instances[0]?.name, `${HOST}-2._imap._tcp.local.`, JSON.stringify(imap));
  assert.is(imap.instances[0].server, `${HOST}-2.local.`);
  squatter.child.stdin!.end();
  await squatter.exited;
  responder.send('stop');
  await responder.exited;
});

test.run();
