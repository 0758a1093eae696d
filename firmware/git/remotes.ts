/**
 * Remotes of a user's store: name and URL in the repository's own config (so `git remote -v`
 * shows them), credentials apart in secrets/remotes.json (0600) — never in git, never logged.
 */
import fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';
import { NymoteError, withFileLock, writeFileDurable } from '../runtime/index.js';

export interface RemoteCredentials {
  username: string;
  password: string;
}

export interface Remote {
  name: string;
  url: string;
  /** Seconds between automatic syncs; 0 = only when asked. */
  syncEverySeconds: number;
}

const REMOTE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const DEFAULT_SYNC_SECONDS = 300;

export function remoteNameProblem(name: string): string | undefined {
  return REMOTE_NAME.test(name) && !name.endsWith('.lock') ? undefined : `invalid remote name '${name.slice(0, 64)}'`;
}

/** Splits credentials off a URL: http://u:p@host/x → (http://host/x, {u, p}). */
export function splitCredentials(url: string): { url: string; credentials?: RemoteCredentials } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new NymoteError('EINVAL', `invalid URL '${url.replace(/\/\/[^@/]*@/, '//***@').slice(0, 200)}'`);
  }
  if (parsed.protocol === 'signpost:') {
    // A paired device: the channel authenticates both ends, so there is nothing to keep.
    if (parsed.username !== '' || parsed.password !== '') throw new NymoteError('EINVAL', 'signpost:// remotes take no credentials: pairing authenticates the devices');
    return { url };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new NymoteError('EINVAL', `unsupported remote URL scheme '${parsed.protocol}' (use http, https or signpost)`);
  }
  if (parsed.username === '' && parsed.password === '') return { url };
  const credentials = { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), credentials };
}

export class Remotes {
  private readonly credentialsFile: string;

  constructor(
    private readonly gitDir: string,
    secretsDir: string,
    private readonly owner: string,
  ) {
    this.credentialsFile = path.join(secretsDir, 'remotes.json');
  }

  async list(): Promise<Remote[]> {
    const remotes = await git.listRemotes({ fs, gitdir: this.gitDir });
    return Promise.all(
      remotes.map(async ({ remote, url }) => {
        const every = await git.getConfig({ fs, gitdir: this.gitDir, path: `remote.${remote}.nymotesync` });
        return { name: remote, url, syncEverySeconds: every === undefined ? DEFAULT_SYNC_SECONDS : Number(every) };
      }),
    );
  }

  async get(name: string): Promise<Remote> {
    const remote = (await this.list()).find((r) => r.name === name);
    if (remote === undefined) throw new NymoteError('ENOTFOUND', `no remote '${name}'`);
    return remote;
  }

  async add(name: string, urlWithCredentials: string, options: { credentials?: RemoteCredentials; syncEverySeconds?: number } = {}): Promise<Remote> {
    const problem = remoteNameProblem(name);
    if (problem !== undefined) throw new NymoteError('EINVAL', problem);
    const { url, credentials } = splitCredentials(urlWithCredentials);
    if ((await this.list()).some((r) => r.name === name)) throw new NymoteError('EEXIST', `remote '${name}' already exists`);
    await git.addRemote({ fs, gitdir: this.gitDir, remote: name, url });
    const every = options.syncEverySeconds ?? DEFAULT_SYNC_SECONDS;
    await git.setConfig({ fs, gitdir: this.gitDir, path: `remote.${name}.nymotesync`, value: String(every) });
    const secret = options.credentials ?? credentials;
    if (secret !== undefined) this.updateCredentials((all) => ({ ...all, [this.key(name)]: secret }));
    return { name, url, syncEverySeconds: every };
  }

  async remove(name: string): Promise<void> {
    await this.get(name);
    await git.deleteRemote({ fs, gitdir: this.gitDir, remote: name });
    this.updateCredentials((all) => {
      const rest = { ...all };
      delete rest[this.key(name)];
      return rest;
    });
  }

  credentials(name: string): RemoteCredentials | undefined {
    return this.readCredentials()[this.key(name)];
  }

  private key(name: string): string {
    return `${this.owner}/${name}`;
  }

  private readCredentials(): Record<string, RemoteCredentials> {
    try {
      return JSON.parse(fs.readFileSync(this.credentialsFile, 'utf8')) as Record<string, RemoteCredentials>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new NymoteError('ECORRUPT', `${this.credentialsFile} is not valid JSON`);
    }
  }

  private updateCredentials(change: (all: Record<string, RemoteCredentials>) => Record<string, RemoteCredentials>): void {
    withFileLock(this.credentialsFile, () => {
      writeFileDurable(this.credentialsFile, JSON.stringify(change(this.readCredentials()), null, 2) + '\n', 0o600);
    });
  }
}
