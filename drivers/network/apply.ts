/**
 * Applying addresses and routes on a device that has no shell: busybox's `ip` applet run by
 * execFile with an argv, never a command string. Every value on an argv line has been
 * validated as an interface name or a dotted quad before it gets here.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileDurable } from '../../firmware/runtime/durable.js';
import { NymoteError } from '../../firmware/runtime/errors.js';

const COMMAND_TIMEOUT_MS = 10_000;

export type CommandRunner = (argv: string[]) => Promise<void>;

/** Runs argv[0] with the rest as arguments; a failure names the command and the first line it printed. */
export function execCommand(argv: string[]): Promise<void> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new NymoteError('ECOMMAND', 'empty command'));
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024 }, (err, _stdout, stderr) => {
      if (err === null) return resolve();
      const said = String(stderr).trim().split('\n')[0] || err.message.split('\n')[0];
      reject(new NymoteError('ECOMMAND', `${argv.join(' ')} failed: ${said}`, { cause: err }));
    });
  });
}

/** Failures that mean "already how we want it" when taking something away. */
const ALREADY_GONE = /Cannot assign requested address|No such process/;

export class IpCommands {
  /**
   * @param ip the `ip` applet's argv prefix: ['busybox', 'ip'] on the device (default);
   *           tests may point it at another `ip` — it is run with execFile either way.
   */
  constructor(
    private readonly ip: string[] = ['busybox', 'ip'],
    private readonly run: CommandRunner = execCommand,
  ) {}

  private exec(...args: string[]): Promise<void> {
    return this.run([...this.ip, ...args]);
  }

  private async remove(...args: string[]): Promise<void> {
    try {
      await this.exec(...args);
    } catch (err) {
      if (!(err instanceof NymoteError && ALREADY_GONE.test(err.message))) throw err;
    }
  }

  linkUp(iface: string): Promise<void> {
    return this.exec('link', 'set', 'dev', iface, 'up');
  }

  /** Drops every IPv4 address (and with them the kernel's routes) left on `iface`, e.g. by the Node that ran before us. */
  flushAddresses(iface: string): Promise<void> {
    return this.exec('-4', 'addr', 'flush', 'dev', iface);
  }

  /** Adds the address, or leaves it if present (`replace` is idempotent, `add` is not). */
  replaceAddress(iface: string, address: string, prefix: number): Promise<void> {
    return this.exec('addr', 'replace', `${address}/${prefix}`, 'broadcast', '+', 'dev', iface);
  }

  deleteAddress(iface: string, address: string, prefix: number): Promise<void> {
    return this.remove('addr', 'del', `${address}/${prefix}`, 'dev', iface);
  }

  replaceDefaultRoute(iface: string, gateway: string): Promise<void> {
    return this.exec('route', 'replace', 'default', 'via', gateway, 'dev', iface);
  }

  deleteDefaultRoute(iface: string): Promise<void> {
    return this.remove('route', 'del', 'default', 'dev', iface);
  }

  /**
   * Without an address Linux has no route for 255.255.255.255 and a DISCOVER fails with
   * ENETUNREACH; this route sends limited broadcasts out of `iface`. The kernel drops it
   * whenever the interface loses its last address, so it is re-added before each discovery.
   */
  replaceBroadcastRoute(iface: string): Promise<void> {
    return this.exec('route', 'replace', '255.255.255.255/32', 'dev', iface);
  }

  deleteBroadcastRoute(iface: string): Promise<void> {
    return this.remove('route', 'del', '255.255.255.255/32', 'dev', iface);
  }
}

export interface ResolverConfig {
  nameservers: string[];
  search?: string;
  /** Who wrote it, for the comment line (e.g. "dhcp on eth0"). */
  source: string;
}

/** glibc reads at most three nameserver lines (MAXNS). */
const MAX_NAMESERVERS = 3;

export function renderResolvConf(config: ResolverConfig): string {
  let text = `# written by nymote (${config.source})\n`;
  if (config.search !== undefined) text += `search ${config.search}\n`;
  for (const server of config.nameservers.slice(0, MAX_NAMESERVERS)) text += `nameserver ${server}\n`;
  return text;
}

/**
 * Writes resolv.conf atomically. On the device /etc is read-only and /etc/resolv.conf is a
 * symlink into a writable place, so the write goes to the link's target, not over the link.
 */
export function writeResolvConf(file: string, config: ResolverConfig): boolean {
  let target = file;
  try {
    if (fs.lstatSync(file).isSymbolicLink()) target = path.resolve(path.dirname(file), fs.readlinkSync(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const text = renderResolvConf(config);
  try {
    if (fs.readFileSync(target, 'utf8') === text) return false;
  } catch {
    // Missing or unreadable: write it.
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  writeFileDurable(target, text, 0o644);
  return true;
}
