/**
 * The web UI's server in process, for unit tests: HttpService + mountUi on 127.0.0.1 with real
 * users, stores and mail, a fake Signpost side, and built-looking assets in a temp dir.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TokenStore, UserDirectory } from '../../firmware/accounts/index.js';
import { MailStore, registerMailMergeTypes } from '../../firmware/apps/mail/index.js';
import { Authenticator, HttpService } from '../../firmware/http/index.js';
import { LogSink } from '../../firmware/runtime/index.js';
import { UserStores, defaultMergeTypes } from '../../firmware/store/index.js';
import { mountUi, SessionStore, type UiDeps } from '../../firmware/ui/index.js';
import { tempDir } from './tmp.js';

export const OWNER = 'alice';
export const PASSWORD = 'correct horse battery';

export interface UiClient {
  /** JSON call to /ui/api/<path>, with the session cookie and (unless `csrf: null`) its token. */
  call(method: string, path: string, body?: unknown, options?: { csrf?: string | null; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  cookie: string;
  csrf: string;
}

export interface UiServer {
  url: string;
  stores: UserStores;
  users: UserDirectory;
  sessions: SessionStore;
  mailOf(user: string): Promise<MailStore>;
  login(user?: string, password?: string): Promise<UiClient>;
  close(): Promise<void>;
}

export async function startUiServer(options: { signpost?: UiDeps['signpost']; sessions?: SessionStore; users?: string[] } = {}): Promise<UiServer> {
  const root = tempDir('ui');
  const secrets = path.join(root, 'secrets');
  fs.mkdirSync(secrets, { mode: 0o700 });
  const assets = path.join(root, 'assets');
  fs.mkdirSync(assets);
  fs.writeFileSync(path.join(assets, 'index.html'), '<!doctype html><title>Nymote</title><script type="module" src="app.js"></script>');
  fs.writeFileSync(path.join(assets, 'app.js'), 'console.log(1)');
  const users = new UserDirectory(secrets);
  for (const name of [OWNER, ...(options.users ?? [])]) await users.add(name, PASSWORD);
  const log = new LogSink({ level: 'error' }).logger();
  const auth = new Authenticator({ users, tokens: new TokenStore(secrets), log });
  const mergeTypes = defaultMergeTypes();
  registerMailMergeTypes(mergeTypes);
  const stores = new UserStores(path.join(root, 'store'), { mergeTypes, durability: 'none' });
  const mailStores = new Map<string, Promise<MailStore>>();
  const mailOf = (user: string) => {
    let mail = mailStores.get(user);
    if (mail === undefined) {
      const store = new MailStore(stores.ensure(user));
      mail = store.ensureDefaults().then(() => store);
      mailStores.set(user, mail);
    }
    return mail;
  };
  const sessions = options.sessions ?? new SessionStore();
  const http = new HttpService('127.0.0.1', 0, log);
  mountUi(http.router, {
    stores,
    users,
    auth,
    mailOf,
    health: () => ({ status: 'ok', version: '0.0.0-test', mode: 'host', uptimeSeconds: 61, services: { http: { state: 'running', listen: ['127.0.0.1:0'] } } }),
    device: { storage: () => ({ totalBytes: 1000, freeBytes: 400 }), update: () => ({ running: '0.0.0-test' }) },
    signpost: options.signpost ?? { certificate: () => undefined, devices: () => [], pair: () => Promise.reject(new Error('no signpost here')), pairingPort: () => 7171 },
    log,
    assetsDir: assets,
    sessions,
  });
  await http.start();
  const url = `http://127.0.0.1:${http.boundPort()}`;

  const login = async (user = OWNER, password = PASSWORD): Promise<UiClient> => {
    const response = await fetch(`${url}/ui/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, password }) });
    const body = (await response.json()) as { csrf: string };
    if (response.status !== 200) throw new Error(`login failed: ${response.status} ${JSON.stringify(body)}`);
    const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
    const client: UiClient = {
      cookie,
      csrf: body.csrf,
      call: async (method, apiPath, requestBody, callOptions = {}) => {
        const headers: Record<string, string> = { cookie: client.cookie, ...callOptions.headers };
        const csrf = callOptions.csrf === undefined ? client.csrf : callOptions.csrf;
        if (csrf !== null) headers['x-csrf-token'] = csrf;
        if (requestBody !== undefined) headers['content-type'] = 'application/json';
        const answer = await fetch(`${url}/ui/api/${apiPath}`, { method, headers, body: requestBody === undefined ? undefined : JSON.stringify(requestBody) });
        return { status: answer.status, body: await answer.json().catch(() => undefined), headers: answer.headers };
      },
    };
    return client;
  };

  return {
    url,
    stores,
    users,
    sessions,
    mailOf,
    login,
    close: async () => {
      await http.stop();
      await stores.closeAll();
    },
  };
}
