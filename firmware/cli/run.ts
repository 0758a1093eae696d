/** `nymote run`: the whole firmware, until SIGINT/SIGTERM or `quit` on the terminal console. */
import {
  LogSink,
  PORTS,
  PORT_NAMES,
  UsageError,
  defaultListenAddress,
  eraseDataDir,
  parsePort,
  prepareDataDir,
  resolvePorts,
  type ConsoleMode,
  type LogLevel,
  type PortName,
  type RunConfig,
} from '../runtime/index.js';
import { startSystem } from '../system.js';
import type { StopRequest } from '../console/index.js';
import { dataOption, modeOption, stringOption, type OptionSpec, type Parsed } from './args.js';

export const RUN_OPTIONS: OptionSpec = {
  mode: { type: 'string' },
  listen: { type: 'string' },
  'port-base': { type: 'string' },
  console: { type: 'string' },
  'log-level': { type: 'string' },
  'dns-rate-limit': { type: 'string' },
  mdns: { type: 'boolean' },
  ...Object.fromEntries(PORT_NAMES.map((name) => [name, { type: 'string' as const }])),
};

export function runUsage(): string {
  const ports = PORT_NAMES.map((name) => {
    const p = PORTS[name];
    return `  --${name.padEnd(11)} PORT  ${p.serves} (host ${p.host}, device ${p.device}, ${p.transport})`;
  });
  return [
    'usage: nymote run [--data DIR] [--mode host|device] [--listen ADDR] [--port-base N] [PORT FLAGS]',
    '',
    '  --data DIR           data directory (env NYMOTE_DATA; default ./var, /data on a device)',
    '  --mode host|device   host: listen on 127.0.0.1 (default; env NYMOTE_MODE)',
    '  --listen ADDR        address every service binds (host 127.0.0.1, device 0.0.0.0)',
    '  --port-base N        add N to every default port, to run instances side by side',
    '  --console MODE       auto (terminal when stdin is one), stdio, none',
    '  --log-level LEVEL    debug, info, warn, error',
    '  --dns-rate-limit N   DNS answers per second per client /24 (IPv6 /56) and answer over UDP;',
    `                       0 turns rate limiting off (default ${DEFAULT_DNS_RATE_LIMIT})`,
    '  --mdns               announce the host on the LAN by mDNS (always on in device mode)',
    ...ports,
  ].join('\n');
}

/** Enough for any real resolver behind one /24; a reflection attack gets little through. */
const DEFAULT_DNS_RATE_LIMIT = 100;

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const CONSOLE_MODES: readonly ConsoleMode[] = ['auto', 'stdio', 'none'];

function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`invalid ${what} '${value}': expected ${allowed.join(', ')}`);
  }
  return value as T;
}

/** Turns flags into a RunConfig; every mistake is a UsageError before anything starts. */
export function runConfigFrom({ values, positionals }: Parsed): Omit<RunConfig, 'data'> & { dataRoot: string } {
  if (positionals.length > 0) throw new UsageError(`run: unexpected argument '${positionals[0]}'`);
  const mode = modeOption(values);
  const baseText = stringOption(values, 'port-base');
  const base = baseText === undefined ? 0 : parsePort(baseText, '--port-base');
  const explicit: Partial<Record<PortName, number>> = {};
  for (const name of PORT_NAMES) {
    const text = stringOption(values, name);
    if (text !== undefined) explicit[name] = parsePort(text, `--${name} port`);
  }
  const listen = stringOption(values, 'listen') ?? defaultListenAddress(mode);
  if (!/^[0-9a-fA-F.:]+$/.test(listen) && listen !== 'localhost') {
    throw new UsageError(`invalid --listen address '${listen}': expected an IP address`);
  }
  return {
    mode,
    dataRoot: dataOption(values),
    listen,
    ports: resolvePorts(mode, base, explicit),
    console: oneOf(stringOption(values, 'console') ?? 'auto', CONSOLE_MODES, '--console'),
    logLevel: oneOf(stringOption(values, 'log-level') ?? 'info', LOG_LEVELS, '--log-level'),
    dnsRateLimit: rateOption(stringOption(values, 'dns-rate-limit')),
    mdns: mode === 'device' || values.mdns === true,
  };
}

function rateOption(text: string | undefined): number {
  if (text === undefined) return DEFAULT_DNS_RATE_LIMIT;
  if (!/^\d{1,6}$/.test(text)) throw new UsageError(`invalid --dns-rate-limit '${text}': expected answers per second (0 = off)`);
  return Number(text);
}

/** How nyinit (native/init) learns what to do once the firmware has stopped. */
const EXIT_CODES: Record<Exclude<StopRequest, 'factory-reset'>, number> = { stop: 0, reboot: 100, poweroff: 101, halt: 102, restart: 103 };

export async function runCommand(parsed: Parsed): Promise<number> {
  const { dataRoot, ...rest } = runConfigFrom(parsed);
  const data = prepareDataDir(dataRoot);
  const config: RunConfig = { ...rest, data };
  const logSink = new LogSink({ level: config.logLevel, dir: data.log });
  let system;
  try {
    system = await startSystem(config, logSink);
  } catch (err) {
    logSink.close();
    throw err;
  }
  const [signal, action] = await new Promise<[string, StopRequest]>((resolve) => {
    process.once('SIGINT', () => resolve(['SIGINT', 'stop']));
    process.once('SIGTERM', () => resolve(['SIGTERM', 'stop']));
    void system.stopRequested.then((requested) => resolve(['console', requested]));
  });
  // A second signal while stopping means "now": exit without waiting.
  const force = () => process.exit(130);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  system.runtime.log.info('stop requested', { by: signal, action });
  await system.stop();
  if (action !== 'factory-reset') return EXIT_CODES[action];
  // Everything stopped and closed: now nothing writes to what goes.
  eraseDataDir(data);
  process.stderr.write('nymote: factory reset done: users, data, keys and settings erased\n');
  return EXIT_CODES[config.mode === 'device' ? 'reboot' : 'stop'];
}
