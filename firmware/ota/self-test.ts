/**
 * The health check a release on trial must pass: every service is running, and the ones
 * people reach answer as their clients expect — HTTP GET /health says ok, IMAP greets with
 * `* OK`, DNS answers a query over UDP. Each probe goes to the address the service says it
 * listens on (its /health entry), with a short timeout.
 */
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import type { HealthReport } from '../runtime/index.js';

const PROBE_TIMEOUT_MS = 5000;

/** The problem found, or undefined when the firmware is healthy. */
export async function selfTest(health: () => HealthReport): Promise<string | undefined> {
  const report = health();
  const down = Object.entries(report.services).find(([, service]) => service.state !== 'running');
  if (down !== undefined) return `service ${down[0]} is ${down[1].state}${down[1].detail === undefined ? '' : ` (${down[1].detail})`}`;
  const probes: [string, (host: string, port: number) => Promise<string | undefined>][] = [
    ['http', probeHttp],
    ['imap', probeImap],
    ['dns', probeDns],
  ];
  for (const [name, probe] of probes) {
    const where = endpoint(report.services[name]?.listen?.[0]);
    if (where === undefined) return `service ${name} is not listening`;
    const problem = await probe(where.host, where.port).catch((error: Error) => error.message);
    if (problem !== undefined) return `${name} on ${where.host}:${where.port}: ${problem}`;
  }
  return undefined;
}

/** "0.0.0.0:80 udp+tcp" → loopback and the port (a wildcard address is reached over loopback). */
function endpoint(listen: string | undefined): { host: string; port: number } | undefined {
  const match = /^\[?([^\]\s]+?)\]?:(\d+)(?:\s|$)/.exec(listen ?? '');
  if (match === null) return undefined;
  const host = match[1] === '0.0.0.0' ? '127.0.0.1' : match[1] === '::' ? '::1' : match[1]!;
  return { host, port: Number(match[2]) };
}

function probeHttp(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/health', timeout: PROBE_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body = (body + chunk).slice(0, 65536)));
      res.on('end', () => {
        let status: unknown;
        try {
          status = (JSON.parse(body) as { status?: unknown }).status;
        } catch {
          status = undefined;
        }
        resolve(res.statusCode === 200 && status === 'ok' ? undefined : `GET /health answered ${res.statusCode} (${String(status)})`);
      });
    });
    req.on('timeout', () => req.destroy(new Error('GET /health timed out')));
    req.on('error', reject);
  });
}

function probeImap(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let greeting = '';
    socket.setTimeout(PROBE_TIMEOUT_MS, () => socket.destroy(new Error('no greeting in time')));
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      greeting += chunk;
      if (!greeting.includes('\r\n') && greeting.length < 1024) return;
      socket.end('a LOGOUT\r\n');
      socket.destroy();
      resolve(greeting.startsWith('* OK') ? undefined : `greeting was ${JSON.stringify(greeting.slice(0, 60))}`);
    });
    socket.on('error', reject);
    socket.on('close', () => resolve('closed without a greeting'));
  });
}

function probeDns(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const id = Math.floor(Math.random() * 65536);
    // A query for localhost. A (RFC 1035 4.1): header, one question.
    const query = Buffer.concat([Buffer.from([id >> 8, id & 255, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from('\x09localhost\x00\x00\x01\x00\x01', 'latin1')]);
    const timer = setTimeout(() => finish(undefined, 'no answer in time'), PROBE_TIMEOUT_MS);
    const finish = (error: Error | undefined, problem?: string) => {
      clearTimeout(timer);
      socket.close();
      if (error !== undefined) reject(error);
      else resolve(problem);
    };
    socket.on('message', (answer) => {
      if (answer.length < 12 || answer.readUInt16BE(0) !== id || (answer[2]! & 0x80) === 0) return;
      const rcode = answer[3]! & 0x0f;
      finish(undefined, rcode === 2 ? 'answered SERVFAIL' : undefined);
    });
    socket.on('error', (error) => finish(error));
    socket.send(query, port, host);
  });
}
