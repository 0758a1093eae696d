/**
 * Two network namespaces joined by a veth pair, for running a real DHCP server on one side
 * and our client on the other without touching the host's network. Needs root (CI runs the
 * tests as root); without it the caller's test fails with a message saying so, never skips.
 */
import { execFileSync } from 'node:child_process';

export interface NetnsPair {
  /** Namespace of the DHCP server; its end of the veth is `serverIface` with `serverAddress`/24. */
  server: string;
  serverIface: string;
  serverAddress: string;
  /** Namespace of our client; its end is renamed eth0 and left down (the driver brings it up). */
  client: string;
  clientIface: string;
  /** Runs `ip ARGS` inside namespace `ns` and returns its output. */
  ip(ns: string, ...args: string[]): string;
  /** Deletes both namespaces (and with them the veth pair). Safe to call twice. */
  remove(): void;
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root (the CI runs tests as root)';
  try {
    ip('-V');
  } catch {
    return 'the ip command (iproute2) is missing: scripts/apt-deps.sh iproute2';
  }
  return undefined;
}

let made = 0;

/** `tag` keeps names apart between tests; names include our pid so parallel runs do not collide. */
export function createNetnsPair(tag: string, serverAddress = '10.77.0.1'): NetnsPair {
  const id = `${process.pid}${tag}${made++}`;
  const server = `nyds-${id}`;
  const client = `nydc-${id}`;
  // veth names are limited to 15 bytes.
  const serverIface = `nyv${id}`.slice(0, 13) + 's';
  const peer = `nyv${id}`.slice(0, 13) + 'c';
  const created: string[] = [];
  const remove = (): void => {
    for (const ns of created.splice(0)) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // Already gone.
      }
    }
  };
  try {
    ip('netns', 'add', server);
    created.push(server);
    ip('netns', 'add', client);
    created.push(client);
    ip('link', 'add', serverIface, 'type', 'veth', 'peer', 'name', peer);
    ip('link', 'set', serverIface, 'netns', server);
    ip('link', 'set', peer, 'netns', client);
    ip('-n', client, 'link', 'set', peer, 'name', 'eth0');
    ip('-n', server, 'addr', 'add', `${serverAddress}/24`, 'dev', serverIface);
    ip('-n', server, 'link', 'set', serverIface, 'up');
    ip('-n', server, 'link', 'set', 'lo', 'up');
    ip('-n', client, 'link', 'set', 'lo', 'up');
  } catch (err) {
    remove();
    try {
      ip('link', 'del', serverIface);
    } catch {
      // Never made, or went with its namespace.
    }
    throw err;
  }
  return {
    server,
    serverIface,
    serverAddress,
    client,
    clientIface: 'eth0',
    ip: (ns, ...args) => ip('-n', ns, ...args),
    remove,
  };
}
