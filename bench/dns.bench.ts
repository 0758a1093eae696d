/**
 * The authoritative DNS server (firmware/signpost/dns) against Knot and NSD (both from
 * ../shared/peers), same machine, same run, same zone (../shared/peers/example.test.zone, stored
 * in nymote with `nymote zone set`) and the same 20 queries (../shared/peers/dns-queries.txt: mixed
 * types, one NXDOMAIN), measured as the peers' README does: every server pinned to core 0
 * (`taskset -c 0`), dnsperf pinned to core 1, `dnsperf -s 127.0.0.1 -p PORT -d QUERIES -l 10 -c 1
 * -T 1` (100 queries outstanding), and with -D (DNSSEC OK) against the signing servers:
 *   - nymote (`nymote run --dns-rate-limit 0`, the dnswire and udpbatch addons), plain and with DO;
 *   - Knot 3 (knot.sh, port 5301), plain; Knot with --dnssec (port 5311), with DO;
 *   - NSD 4 (nsd.sh, port 5302), plain.
 * A second nymote started with NYMOTE_NATIVE=js (the JS twins) is measured against the
 * first in a workload of its own, and a third workload gives latency percentiles at a fixed
 * offered rate (dnsperf -Q, -v: one latency per answer), where the saturated runs only give
 * dnsperf's average.
 *
 * Before anything is timed:
 *   - Jitsu: the first lookup of `_caldavs._tcp.example.test SRV` summons the parked DAV
 *     service; the time from sending that query to the `summoned` log line (and its ms=) is
 *     recorded for both nymote instances, and so is the first DAV request after it;
 *   - correctness: every query of dns-queries.txt is asked with dig of Knot and of each nymote,
 *     without and (against Knot --dnssec) with DO; rcode, AA and the answer section must match
 *     (SOA serial, DNSKEY and RRSIG material aside; an RRSIG must cover the same types), and
 *     differences in TTLs or the authority and additional sections are listed as notes.
 *     Mismatches are printed and recorded under "correctness" in bench/results/dns.json.
 *
 * dnsperf runs are whole processes: each case is one run per round (runsPerRound 1), and the
 * case's unitsPerRun reads, after the run, the queries dnsperf completed scaled to the time the
 * run took here, so the harness's value is dnsperf's own queries/s (within the few ms dnsperf
 * takes to start). The warm-up run is 2 s. When the process exits the report is rewritten with
 * dnsperf's exact medians, average latency, percentiles, the servers' CPU use (cores) and
 * core 0/1 busy share during the runs, the load average, nymote's RSS after the runs, the
 * Jitsu figures and the correctness check; the ratios become nymote/Knot (plain), nymote DO /
 * Knot --dnssec DO, NSD/Knot and JS twin/addon.
 *
 * The bundle (dist/firmware) is copied into the work directory first, so a rebuild elsewhere
 * during the run does not pull it from under the servers. BENCH_DNS_SECONDS changes the length
 * of a timed run (default 10; 3 with --quick), BENCH_DNS_LATENCY_QPS the fixed rate of the
 * latency workload (default 3000).
 */
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startNymoteServer } from './nymote-server.js';
import { cpuSeconds, cpuTimes, memoryKiB, processTree } from './processes.js';
import { formatColumns, type Bench, type BenchCase, type BenchReport, type Ratio } from './harness.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PEERS = path.resolve(REPO_ROOT, '..', 'shared', 'peers');
const BUNDLE_DIR = path.join(REPO_ROOT, 'dist/firmware');
const RESULT_FILE = path.join(REPO_ROOT, 'bench/results/dns.json');
const QUERIES = path.join(PEERS, 'dns-queries.txt');
const ZONE_FILE = path.join(PEERS, 'example.test.zone');
const ZONE = 'example.test.';
const QUICK = process.argv.includes('--quick');
const SECONDS = Number(process.env.BENCH_DNS_SECONDS ?? (QUICK ? 3 : 10));
const WARMUP_SECONDS = 2;
const TWIN_SECONDS = Math.max(2, Math.round(SECONDS / 2));
const LATENCY_QPS = Number(process.env.BENCH_DNS_LATENCY_QPS ?? 3000);
const LATENCY_SECONDS = QUICK ? 2 : 4;
const NYMOTE_PASSWORD = 'bench-pass-1';
/** DNS on 1053 + base, HTTP on 8080 + base. */
const PORT_BASE = 33_000;
const PORT_BASE_JS = 33_200;
const SERVER_CPU = '0';
const CLIENT_CPU = '1';

const SATURATED = `20 mixed queries, dnsperf -c 1 -T 1, ${SECONDS} s`;
const TWINS = `nymote addons (dnswire, udpbatch) vs JS twins, ${TWIN_SECONDS} s`;
const LATENCY = `latency at ${LATENCY_QPS.toLocaleString('en-US')} q/s (dnsperf -Q -v), ${LATENCY_SECONDS} s`;

// ---------------------------------------------------------------------------------------------
// Processes and /proc

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const loadAverage = () => Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

// ---------------------------------------------------------------------------------------------
// Servers

interface Server {
  readonly name: string;
  readonly port: number;
  /** The process whose tree's CPU time is counted. */
  readonly pid: number;
}

interface Nymote extends Server {
  readonly httpPort: number;
  readonly log: string;
}

/** peers/NAME.sh start, pinned to the server core (the daemon inherits the affinity). */
function startPeer(work: string, cleanups: (() => void)[], script: string, dirName: string, port: number, extra: string[] = []): number {
  const dir = path.join(work, dirName);
  // Registered first: a start that fails half-way still leaves something to stop.
  cleanups.push(() => spawnSync('bash', [path.join(PEERS, script), 'stop', dir], { stdio: 'ignore' }));
  const started = spawnSync('taskset', ['-c', SERVER_CPU, 'bash', path.join(PEERS, script), 'start', dir, String(port), ...extra], { encoding: 'utf8' });
  // A peer that does not start (its port taken by a stale server, say) must stop the bench,
  // not leave it measuring whatever answers on that port.
  if (started.status !== 0) throw new Error(`${[script, ...extra].join(' ')} did not start on port ${port}: ${started.stderr.trim().split('\n').slice(-5).join('\n')}`);
  return Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8'));
}

function digAnswers(port: number, name: string, type: string): boolean {
  const result = spawnSync('dig', [`@127.0.0.1`, '-p', String(port), '+time=1', '+tries=1', '+short', name, type], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.trim() !== '';
}

async function startNymote(bundle: string, work: string, cleanups: (() => void)[], name: string, portBase: number, env: NodeJS.ProcessEnv): Promise<Nymote> {
  const slug = name.replace(/\W+/g, '-');
  const port = 1053 + portBase;
  const pid = await startNymoteServer({
    bundle: path.join(bundle, 'index.js'),
    work,
    cleanups,
    name,
    portBase,
    password: NYMOTE_PASSWORD,
    env,
    // taskset execs the bundle, whose first line gives node its flags: the pid is node's.
    launcher: ['taskset', '-c', SERVER_CPU],
    runArgs: ['--dns-rate-limit', '0'],
    prepare: (data) => {
      // The peers' zone file as it is: its $ORIGIN line names the zone (zone-source.ts takes the
      // first $ORIGIN anywhere in the text). A file without one gets it prepended.
      let zoneText = fs.readFileSync(ZONE_FILE, 'utf8');
      if (!/^\s*\$ORIGIN\s/im.test(zoneText)) zoneText = `$ORIGIN ${ZONE}\n${zoneText}`;
      const zoneCopy = path.join(work, `${slug}.zone`);
      fs.writeFileSync(zoneCopy, zoneText);
      const stored = spawnSync(process.execPath, [path.join(bundle, 'index.js'), 'zone', 'set', zoneCopy, '--data', data], { encoding: 'utf8', env });
      if (stored.status !== 0 || !stored.stdout.includes(`zone ${ZONE} stored`)) throw new Error(`nymote zone set: ${stored.stderr.trim() || stored.stdout.trim()}`);
    },
    ready: () => digAnswers(port, ZONE, 'SOA'),
    timeoutMs: 20_000,
  });
  return { name, port, pid, httpPort: 8080 + portBase, log: path.join(work, `${slug}.log`) };
}

/** The environment without NYMOTE_NATIVE (the addon, as users run it). */
function withoutNativeOverride(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NYMOTE_NATIVE;
  return env;
}

/** dist/firmware as it is now, into the work directory: others may rebuild dist meanwhile. */
async function snapshotBundle(work: string): Promise<string> {
  const target = path.join(work, 'bundle');
  for (let i = 0; ; i++) {
    try {
      if (fs.existsSync(path.join(BUNDLE_DIR, 'index.js'))) {
        fs.cpSync(BUNDLE_DIR, target, { recursive: true });
        if (fs.existsSync(path.join(target, 'index.js'))) return target;
      }
    } catch {
      // being rewritten: try again
    }
    fs.rmSync(target, { recursive: true, force: true });
    if (i === 60) throw new Error(`${path.relative(process.cwd(), BUNDLE_DIR)}/index.js is missing: run \`make bundle\` first`);
    await sleep(1000);
  }
}

// ---------------------------------------------------------------------------------------------
// dnsperf

interface PerfRun {
  completed: number;
  lost: number;
  runtime: number;
  qps: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
  rcodes: string;
  /** Cores the server's processes used over the run (CPU seconds / wall seconds). */
  serverCores: number;
  /** Busy share of the server's and the client's core over the run (everyone's work). */
  core0Busy: number;
  core1Busy: number;
  load: number;
  latenciesMs?: number[];
  timeouts?: number;
}

function dnsperf(server: Server, options: { seconds: number; dnssec: boolean; qps?: number; verbose?: boolean }): PerfRun {
  const args = ['-c', CLIENT_CPU, 'dnsperf', '-s', '127.0.0.1', '-p', String(server.port), '-d', QUERIES, '-l', String(options.seconds), '-c', '1', '-T', '1'];
  if (options.dnssec) args.push('-D');
  if (options.qps !== undefined) args.push('-Q', String(options.qps));
  if (options.verbose === true) args.push('-v');
  const pids = processTree(server.pid);
  const load = loadAverage();
  const cpuBefore = cpuSeconds(pids);
  const coresBefore = cpuTimes();
  const started = process.hrtime.bigint();
  const result = spawnSync('taskset', args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const coresAfter = cpuTimes();
  const cpuAfter = cpuSeconds(pids);
  if (result.status !== 0) throw new Error(`dnsperf against ${server.name} failed (${result.status}): ${result.stderr.trim().slice(-400)}`);
  const out = result.stdout;
  const number = (label: string) => {
    const match = new RegExp(`${label}:\\s+([\\d.]+)`).exec(out);
    if (match === null) throw new Error(`dnsperf against ${server.name}: no "${label}" in its output:\n${out.slice(-800)}`);
    return Number(match[1]);
  };
  const busy = (cpu: number) => {
    const before = coresBefore[cpu];
    const after = coresAfter[cpu];
    return before === undefined || after === undefined || after.total === before.total ? NaN : (after.busy - before.busy) / (after.total - before.total);
  };
  const run: PerfRun = {
    completed: number('Queries completed'),
    lost: number('Queries lost'),
    runtime: number('Run time \\(s\\)'),
    qps: number('Queries per second'),
    avgLatencyMs: number('Average Latency \\(s\\)') * 1000,
    maxLatencyMs: Number(/Average Latency \(s\):.*max ([\d.]+)/.exec(out)?.[1] ?? NaN) * 1000,
    rcodes: /Response codes:\s+(.*)/.exec(out)?.[1]?.trim() ?? '',
    serverCores: (cpuAfter - cpuBefore) / wall,
    core0Busy: busy(Number(SERVER_CPU)),
    core1Busy: busy(Number(CLIENT_CPU)),
    load,
  };
  if (options.verbose === true) {
    // `> NOERROR www.example.test. A 0.000123`, or `> T …` for a timeout.
    const latencies: number[] = [];
    let timeouts = 0;
    for (const match of out.matchAll(/^> (\S+) .* ([\d.]+)$/gm)) {
      if (match[1] === 'T') timeouts++;
      else latencies.push(Number(match[2]) * 1000);
    }
    run.latenciesMs = latencies;
    run.timeouts = timeouts;
  }
  return run;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function median(values: readonly number[]): number {
  const sorted = [...values].filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

// ---------------------------------------------------------------------------------------------
// Correctness: dig against Knot and nymote

interface DigAnswer {
  status: string;
  aa: boolean;
  answer: string[];
  authority: string[];
  additional: string[];
  /** Answer records with their TTLs, for the notes. */
  answerTtls: string[];
}

/** One record line, normalised: lower-case owner, single spaces, SOA serial and key/signature material masked. */
function normalise(line: string, withTtl: boolean): string {
  const [owner, ttl, klass, type, ...rdata] = line.trim().split(/\s+/);
  let data = rdata.join(' ');
  if (type === 'SOA') {
    const fields = rdata.slice();
    fields[2] = '<serial>';
    data = fields.join(' ').toLowerCase();
  } else if (type === 'RRSIG') {
    data = `covers ${rdata[0]}`;
  } else if (type === 'DNSKEY') {
    data = '<key>';
  }
  return [owner!.toLowerCase(), ...(withTtl ? [ttl] : []), klass, type, data].join(' ');
}

function dig(port: number, name: string, type: string, dnssec: boolean): DigAnswer {
  const result = spawnSync('dig', ['@127.0.0.1', '-p', String(port), '+norecurse', '+time=2', '+tries=1', ...(dnssec ? ['+dnssec'] : []), name, type], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`dig @127.0.0.1 -p ${port} ${name} ${type}: ${result.stdout.trim().slice(-300)} ${result.stderr.trim()}`);
  const out = result.stdout;
  const section = (title: string) => {
    const at = out.indexOf(`;; ${title} SECTION:\n`);
    if (at < 0) return [];
    const lines: string[] = [];
    for (const line of out.slice(at).split('\n').slice(1)) {
      if (line.trim() === '' || line.startsWith(';;')) break;
      lines.push(line);
    }
    return lines;
  };
  const answerLines = section('ANSWER');
  return {
    status: /status: (\w+)/.exec(out)?.[1] ?? '?',
    aa: (/;; flags:([^;]*);/.exec(out)?.[1] ?? '').trim().split(/\s+/).includes('aa'),
    answer: answerLines.map((l) => normalise(l, false)).sort(),
    answerTtls: answerLines.map((l) => normalise(l, true)).sort(),
    authority: section('AUTHORITY').map((l) => normalise(l, true)).sort(),
    // The OPT pseudo-record is in its own section of dig's output; the rest compared as sets.
    additional: section('ADDITIONAL').map((l) => normalise(l, true)).sort(),
  };
}

interface Correctness {
  queries: number;
  compared: string[];
  mismatches: string[];
  notes: string[];
}

function checkAnswers(reference: Server, dnssecReference: Server, subjects: readonly Server[]): Correctness {
  const queries = fs
    .readFileSync(QUERIES, 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length === 2 && !fields[0]!.startsWith(';') && !fields[0]!.startsWith('#'));
  const result: Correctness = { queries: queries.length, compared: [], mismatches: [], notes: [] };
  const diff = (a: readonly string[], b: readonly string[]) => ({ missing: a.filter((x) => !b.includes(x)), extra: b.filter((x) => !a.includes(x)) });
  const describe = (label: string, a: readonly string[], b: readonly string[]) => {
    const { missing, extra } = diff(a, b);
    return `${label}: ${missing.length > 0 ? `missing [${missing.join(' | ')}]` : ''}${missing.length > 0 && extra.length > 0 ? ', ' : ''}${extra.length > 0 ? `extra [${extra.join(' | ')}]` : ''}`;
  };
  for (const subject of subjects) {
    for (const dnssec of [false, true]) {
      const peer = dnssec ? dnssecReference : reference;
      result.compared.push(`${subject.name} vs ${peer.name}${dnssec ? ' (+dnssec)' : ''}`);
      for (const [name, type] of queries) {
        const want = dig(peer.port, name!, type!, dnssec);
        const got = dig(subject.port, name!, type!, dnssec);
        const what = `${subject.name}${dnssec ? ' +dnssec' : ''} ${name} ${type}`;
        if (want.status !== got.status) result.mismatches.push(`${what}: status ${got.status}, ${peer.name} ${want.status}`);
        if (want.aa !== got.aa) result.mismatches.push(`${what}: AA ${got.aa}, ${peer.name} ${want.aa}`);
        // The answer section must match, RRSIGs included as "covers TYPE" (their material aside).
        const wantAnswer = want.answer.filter((r) => !/ DNSKEY /.test(r));
        const gotAnswer = got.answer.filter((r) => !/ DNSKEY /.test(r));
        if (wantAnswer.join('\n') !== gotAnswer.join('\n')) result.mismatches.push(`${what}: ${describe(`answer vs ${peer.name}`, wantAnswer, gotAnswer)}`);
        else if (want.answerTtls.join('\n') !== got.answerTtls.join('\n')) result.notes.push(`${what}: ${describe('answer TTLs', want.answerTtls, got.answerTtls)}`);
        if (want.authority.join('\n') !== got.authority.join('\n')) result.notes.push(`${what}: ${describe('authority', want.authority, got.authority)}`);
        if (want.additional.join('\n') !== got.additional.join('\n')) result.notes.push(`${what}: ${describe('additional', want.additional, got.additional)}`);
      }
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Jitsu: the first lookup of a DAV discovery name summons the DAV service

interface JitsuFigures {
  instance: string;
  /** From sending the SRV query to its answer arriving here. */
  answerMs: number;
  /** The `summoned` line's own ms= (the service's start, measured inside). */
  summonedMs: number | null;
  /** From sending the query to the `summoned` line's timestamp (ms resolution both ends). */
  queryToSummonedMs: number | null;
  /** From sending the query to this process seeing the line in the log (polled each ms): an upper bound. */
  queryToSeenMs: number | null;
  healthDetail: string;
  /** The first DAV request after the summon (PROPFIND /dav/ Depth 0, Basic auth), then a second. */
  firstDavRequestMs: number | null;
  secondDavRequestMs: number | null;
  davStatus: number | null;
}

function udpQuery(port: number, name: string, type: number): Promise<Buffer> {
  const labels = name.replace(/\.$/, '').split('.');
  const question = Buffer.concat([...labels.map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)])), Buffer.from([0]), Buffer.from([type >> 8, type & 0xff, 0, 1])]);
  const header = Buffer.from([0x4a, 0x17, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no answer to ${name} from 127.0.0.1:${port} in 2 s`));
    }, 2000);
    socket.once('message', (message) => {
      clearTimeout(timer);
      socket.close();
      resolve(message);
    });
    socket.send(Buffer.concat([header, question]), port, '127.0.0.1');
  });
}

function httpRequest(port: number, method: string, target: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path: target, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.setTimeout(10_000, () => request.destroy(new Error(`${method} ${target}: no answer in 10 s`)));
    request.on('error', reject);
    request.end();
  });
}

async function measureJitsu(nymote: Nymote): Promise<JitsuFigures> {
  const health = async () => {
    const answer = await httpRequest(nymote.httpPort, 'GET', '/health', {});
    return ((JSON.parse(answer.body) as { services: Record<string, { detail?: string }> }).services.jitsu?.detail ?? '?') as string;
  };
  const before = await health();
  if (!/dav parked/.test(before)) throw new Error(`${nymote.name}: jitsu is "${before}" before the first DAV lookup (expected "dav parked")`);
  const logBefore = fs.readFileSync(nymote.log, 'utf8').length;
  const sentWall = Date.now();
  const sent = process.hrtime.bigint();
  const answered = udpQuery(nymote.port, `_caldavs._tcp.${ZONE}`, 33).then(() => process.hrtime.bigint());
  let seen: bigint | undefined;
  let line: string | undefined;
  for (let i = 0; i < 5000 && line === undefined; i++) {
    const text = fs.readFileSync(nymote.log, 'utf8').slice(logBefore);
    line = text.split('\n').find((l) => l.includes('msg="summoned"'));
    if (line !== undefined) seen = process.hrtime.bigint();
    else await sleep(1);
  }
  const answerAt = await answered;
  const ms = (a: bigint, b: bigint) => Number(b - a) / 1e6;
  const stamp = line === undefined ? undefined : /ts=(\S+)/.exec(line)?.[1];
  const summonedMs = line === undefined ? undefined : /\bms=(\d+(?:\.\d+)?)/.exec(line)?.[1];
  const after = await health();
  const authorization = `Basic ${Buffer.from(`alice:${NYMOTE_PASSWORD}`).toString('base64')}`;
  const dav = async () => {
    const start = process.hrtime.bigint();
    const answer = await httpRequest(nymote.httpPort, 'PROPFIND', '/dav/', { Authorization: authorization, Depth: '0', 'Content-Length': '0' });
    return { ms: ms(start, process.hrtime.bigint()), status: answer.status };
  };
  const first = await dav();
  const second = await dav();
  return {
    instance: nymote.name,
    answerMs: ms(sent, answerAt),
    summonedMs: summonedMs === undefined ? null : Number(summonedMs),
    queryToSummonedMs: stamp === undefined ? null : Date.parse(stamp) - sentWall,
    queryToSeenMs: seen === undefined ? null : ms(sent, seen),
    healthDetail: after,
    firstDavRequestMs: first.ms,
    secondDavRequestMs: second.ms,
    davStatus: first.status,
  };
}

// ---------------------------------------------------------------------------------------------
// The report, when the process exits (after run.ts has written it)

interface Extras {
  startedAt: Date;
  runs: Map<string, PerfRun[]>;
  correctness?: Correctness;
  jitsu: JitsuFigures[];
  memory: Record<string, { rssKiB: number | null; hwmKiB: number | null }>;
  loads: number[];
  warnings: string[];
  addonCheck: string;
}

/** The workloads' names in the final table. */
const SHORT: Record<string, string> = { [SATURATED]: 'saturated', [TWINS]: 'addon vs twin', [LATENCY]: `at ${LATENCY_QPS} q/s` };

const key = (workload: string, implementation: string) => `${workload}\u0000${implementation}`;

function finishReport(extras: Extras): void {
  if (!fs.existsSync(RESULT_FILE)) return;
  const report = JSON.parse(fs.readFileSync(RESULT_FILE, 'utf8')) as BenchReport & Record<string, unknown>;
  // A report from an earlier run (this one failed before writing): leave it alone.
  if (new Date(report.date) < extras.startedAt) return;
  const details: Record<string, unknown>[] = [];
  for (const result of report.results) {
    const runs = extras.runs.get(key(result.case, result.implementation)) ?? [];
    if (runs.length === 0) continue;
    // dnsperf's own figures, not the harness's timing of the process.
    result.value = median(runs.map((r) => r.qps));
    const latencies = runs.flatMap((r) => r.latenciesMs ?? []).sort((a, b) => a - b);
    details.push({
      case: result.case,
      implementation: result.implementation,
      runs: runs.length,
      qps: runs.map((r) => Math.round(r.qps)),
      avgLatencyMs: median(runs.map((r) => r.avgLatencyMs)),
      maxLatencyMs: Math.max(...runs.map((r) => r.maxLatencyMs)),
      ...(latencies.length === 0
        ? {}
        : {
            answers: latencies.length,
            timeouts: runs.reduce((n, r) => n + (r.timeouts ?? 0), 0),
            p50Ms: percentile(latencies, 50),
            p90Ms: percentile(latencies, 90),
            p99Ms: percentile(latencies, 99),
            p999Ms: percentile(latencies, 99.9),
          }),
      lost: runs.reduce((n, r) => n + r.lost, 0),
      serverCores: median(runs.map((r) => r.serverCores)),
      core0Busy: median(runs.map((r) => r.core0Busy)),
      core1Busy: median(runs.map((r) => r.core1Busy)),
      load: runs.map((r) => r.load),
      rcodes: runs[0]!.rcodes,
    });
  }
  const value = (workload: string, implementation: string) => report.results.find((r) => r.case === workload && r.implementation === implementation)?.value;
  const ratios: Ratio[] = [];
  for (const [workload, implementation, baseline] of [
    [SATURATED, 'nymote', 'knot'],
    [SATURATED, 'nymote DO', 'knot dnssec DO'],
    [SATURATED, 'nsd', 'knot'],
    [SATURATED, 'knot dnssec DO', 'knot'],
    [SATURATED, 'nymote DO', 'nymote'],
    [TWINS, 'nymote JS twin', 'nymote addon'],
  ] as const) {
    const a = value(workload, implementation);
    const b = value(workload, baseline);
    if (a !== undefined && b !== undefined) ratios.push({ case: workload, implementation, baseline, value: a / b });
  }
  report.ratios = ratios;
  report.details = details;
  report.correctness = extras.correctness ?? null;
  report.jitsu = extras.jitsu;
  report.nymoteMemoryAfterRuns = extras.memory;
  report.loadAverage = { min: Math.min(...extras.loads), median: median(extras.loads), max: Math.max(...extras.loads), samples: extras.loads.length };
  report.warnings = extras.warnings;
  report.addon = extras.addonCheck;
  fs.writeFileSync(RESULT_FILE, JSON.stringify(report, null, 2) + '\n');

  const format = (n: number | undefined, digits = 2) => (n === undefined || Number.isNaN(n) ? '' : n.toFixed(digits));
  const header = ['case', 'implementation', 'q/s (median)', 'runs q/s', 'avg ms', 'p50 ms', 'p99 ms', 'server cores', 'core0 busy', 'ratio'];
  const rows = details.map((d) => {
    const ratio = ratios.find((r) => r.case === d.case && r.implementation === d.implementation);
    return [
      SHORT[d.case as string] ?? (d.case as string),
      d.implementation as string,
      Math.round(value(d.case as string, d.implementation as string) ?? NaN).toLocaleString('en-US'),
      (d.qps as number[]).map((q) => `${Math.round(q / 1000)}k`).join(' '),
      format(d.avgLatencyMs as number),
      format(d.p50Ms as number | undefined, 3),
      format(d.p99Ms as number | undefined, 3),
      format(d.serverCores as number),
      format(d.core0Busy as number),
      ratio === undefined ? '' : `${ratio.value.toFixed(2)} × ${ratio.baseline}`,
    ];
  });
  const memory = Object.entries(extras.memory).map(([name, m]) => `${name} RSS ${m.rssKiB === null ? '?' : (m.rssKiB / 1024).toFixed(1)} MiB (peak ${m.hwmKiB === null ? '?' : (m.hwmKiB / 1024).toFixed(1)} MiB)`);
  const correctness = extras.correctness;
  process.stdout.write(
    `dns, dnsperf's own figures (median of ${QUICK ? 3 : 5} interleaved runs; latency workload at a fixed rate):\n${formatColumns([header, ...rows], (column) => column >= 2 && column < 9)}\n` +
      `nymote after the runs: ${memory.join('; ')}\n` +
      `load average (1 min) during the runs: min ${format(Math.min(...extras.loads))}, median ${format(median(extras.loads))}, max ${format(Math.max(...extras.loads))}\n` +
      `addon: ${extras.addonCheck}\n` +
      extras.jitsu
        .map(
          (j) =>
            `jitsu (${j.instance}): SRV answer ${format(j.answerMs)} ms; summoned ms=${j.summonedMs ?? '?'}; query → summoned line ${j.queryToSummonedMs ?? '?'} ms (log ts, ±1 ms), seen in log ${format(j.queryToSeenMs ?? undefined)} ms; ` +
            `health "${j.healthDetail}"; first DAV PROPFIND ${format(j.firstDavRequestMs ?? undefined)} ms (${j.davStatus}), second ${format(j.secondDavRequestMs ?? undefined)} ms\n`,
        )
        .join('') +
      (correctness === undefined
        ? 'correctness: not checked (the bench stopped before)\n'
        : `correctness: ${correctness.queries} queries × ${correctness.compared.join('; ')}: ` +
          (correctness.mismatches.length === 0 ? 'all answers match\n' : `${correctness.mismatches.length} mismatch(es):\n${correctness.mismatches.map((m) => `  ${m}`).join('\n')}\n`) +
          (correctness.notes.length === 0 ? '' : `  notes (not counted as mismatches):\n${correctness.notes.map((n) => `    ${n}`).join('\n')}\n`)) +
      (extras.warnings.length === 0 ? '' : `${extras.warnings.length} warning(s):\n${extras.warnings.map((w) => `  ${w}`).join('\n')}\n`) +
      `→ ${path.relative(process.cwd(), RESULT_FILE)} (rewritten)\n`,
  );
}

// ---------------------------------------------------------------------------------------------

const bench: Bench = {
  name: 'dns',
  unit: 'queries/s',
  // Rewritten when the process exits: nymote DO compares with Knot --dnssec DO, which one
  // baseline cannot say (see finishReport).
  baseline: 'knot',
  async cases(): Promise<BenchCase[]> {
    const extras: Extras = { startedAt: new Date(), runs: new Map(), jitsu: [], memory: {}, loads: [loadAverage()], warnings: [], addonCheck: '' };
    const warn = (message: string) => {
      if (extras.warnings.includes(message)) return;
      extras.warnings.push(message);
      process.stderr.write(`  dns: WARNING ${message}\n`);
    };
    // Short: the peers' scripts put their sockets and pid files here.
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nydns-'));
    const cleanups: (() => void)[] = [];
    const nymotes: Nymote[] = [];
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      for (const nymote of nymotes) extras.memory[nymote.name] = memoryKiB(nymote.pid);
      for (const cleanup of cleanups.reverse()) {
        try {
          cleanup();
        } catch {
          // keep stopping the others
        }
      }
      try {
        fs.rmSync(work, { recursive: true, force: true });
      } catch (error) {
        process.stderr.write(`  dns: could not remove ${work}: ${(error as Error).message}\n`);
      }
      extras.loads.push(loadAverage());
      finishReport(extras);
    };
    process.on('exit', finish);
    // Ctrl-C or a kill: stop the servers too.
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => process.exit(130));

    for (const tool of ['dnsperf', 'dig', 'taskset']) {
      if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is not installed (apt-get install dnsperf bind9-dnsutils util-linux)`);
    }
    const bundle = await snapshotBundle(work);
    process.stderr.write(`  dns: bundle copied to ${bundle}; load average ${fs.readFileSync('/proc/loadavg', 'utf8').trim()}\n`);

    const knot: Server = { name: 'knot', port: 5301, pid: startPeer(work, cleanups, 'knot.sh', 'knot', 5301) };
    const knotSigned: Server = { name: 'knot dnssec', port: 5311, pid: startPeer(work, cleanups, 'knot.sh', 'knot-dnssec', 5311, ['--dnssec']) };
    const nsd: Server = { name: 'nsd', port: 5302, pid: startPeer(work, cleanups, 'nsd.sh', 'nsd', 5302) };
    const native = await startNymote(bundle, work, cleanups, 'nymote', PORT_BASE, withoutNativeOverride());
    nymotes.push(native);
    const twin = await startNymote(bundle, work, cleanups, 'nymote JS twin', PORT_BASE_JS, { ...process.env, NYMOTE_NATIVE: 'js' });
    nymotes.push(twin);
    const fallback = fs.readFileSync(native.log, 'utf8').split('\n').find((l) => /(dnswire|udpbatch) addon unavailable/.test(l));
    extras.addonCheck = fallback === undefined ? 'the first nymote loaded the dnswire and udpbatch addons (no fallback warning in its log)' : `the first nymote FELL BACK to the JS twin: ${fallback}`;
    if (fallback !== undefined) warn(extras.addonCheck);
    process.stderr.write(`  dns: servers up — knot :5301, knot --dnssec :5311, nsd :5302, nymote :${native.port}, nymote JS twin :${twin.port} (all on core ${SERVER_CPU})\n`);

    // Jitsu first: anything else that asks for _caldavs._tcp would summon DAV before.
    for (const nymote of nymotes) {
      try {
        const figures = await measureJitsu(nymote);
        extras.jitsu.push(figures);
        process.stderr.write(`  dns: jitsu ${nymote.name}: summoned ms=${figures.summonedMs}, query → summoned line ${figures.queryToSummonedMs} ms\n`);
      } catch (error) {
        warn(`jitsu on ${nymote.name}: ${(error as Error).message}`);
      }
    }

    extras.correctness = checkAnswers(knot, knotSigned, nymotes);
    process.stderr.write(
      `  dns: correctness: ${extras.correctness.mismatches.length === 0 ? 'all answers match Knot' : `${extras.correctness.mismatches.length} mismatch(es)`}` +
        `${extras.correctness.notes.length === 0 ? '' : `, ${extras.correctness.notes.length} note(s)`}\n`,
    );
    for (const mismatch of extras.correctness.mismatches) process.stderr.write(`    ${mismatch}\n`);

    const perfCase = (workload: string, implementation: string, server: Server, options: { seconds: number; dnssec: boolean; qps?: number; verbose?: boolean }): BenchCase => {
      let warmedUp = false;
      let last = { qps: 0, wall: 0 };
      const runs: PerfRun[] = [];
      extras.runs.set(key(workload, implementation), runs);
      return {
        case: workload,
        implementation,
        runsPerRound: 1,
        // Read by the harness after the run: the queries dnsperf answered at its own rate over the
        // time the run took here, so that the harness's value is dnsperf's queries/s.
        get unitsPerRun() {
          return last.qps * last.wall;
        },
        run: () => {
          const started = process.hrtime.bigint();
          const run = dnsperf(server, warmedUp ? options : { ...options, seconds: WARMUP_SECONDS });
          last = { qps: run.qps, wall: Number(process.hrtime.bigint() - started) / 1e9 };
          extras.loads.push(run.load);
          if (run.lost > 0) warn(`${implementation} (${SHORT[workload]}): dnsperf lost ${run.lost} of ${run.completed + run.lost} queries`);
          if (run.timeouts !== undefined && run.timeouts > 0) warn(`${implementation} (${SHORT[workload]}): ${run.timeouts} timeouts`);
          if (warmedUp) runs.push(run);
          warmedUp = true;
        },
      };
    };
    const seconds = SECONDS;
    return [
      perfCase(SATURATED, 'nymote', native, { seconds, dnssec: false }),
      perfCase(SATURATED, 'knot', knot, { seconds, dnssec: false }),
      perfCase(SATURATED, 'nsd', nsd, { seconds, dnssec: false }),
      perfCase(SATURATED, 'nymote DO', native, { seconds, dnssec: true }),
      perfCase(SATURATED, 'knot dnssec DO', knotSigned, { seconds, dnssec: true }),
      perfCase(TWINS, 'nymote addon', native, { seconds: TWIN_SECONDS, dnssec: false }),
      perfCase(TWINS, 'nymote JS twin', twin, { seconds: TWIN_SECONDS, dnssec: false }),
      ...(
        [
          ['nymote', native, false],
          ['knot', knot, false],
          ['nsd', nsd, false],
          ['nymote DO', native, true],
          ['knot dnssec DO', knotSigned, true],
        ] as const
      ).map(([implementation, server, dnssec]) => perfCase(LATENCY, implementation, server, { seconds: LATENCY_SECONDS, dnssec, qps: LATENCY_QPS, verbose: true })),
    ];
  },
};

export default bench;
