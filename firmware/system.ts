/**
 * The whole firmware in one process: builds the runtime from a RunConfig, registers every
 * service in start order, and starts them. Parts that arrive later (store, git, mail, DAV,
 * Signpost, Jitsu, OTA) are registered here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TokenStore, UserDirectory } from './accounts/index.js';
import { ConsolePassword, ConsoleSocketService, Shell, addDataCommands, addRuntimeCommands, addSetupCommands, startSession, type StopRequest } from './console/index.js';
import { SyncService, mountGit } from './git/index.js';
import { Authenticator, HttpService, TlsCredentials, createHttpsService, markDeviceConnection, mountApi, mountStatusRoutes } from './http/index.js';
import { calendarKind } from './apps/calendar/index.js';
import { contactsKind } from './apps/contacts/index.js';
import { MailApp, registerMailMergeTypes } from './apps/mail/index.js';
import { davDiscovery, filesKind, mountDav, type DavKind } from './http/dav/index.js';
import { sha1 } from './native.js';
import { DnsService, Jitsu, MdnsResponder, SignpostService, ZONE_PATH, ZONE_TTL_SECONDS, publishedAddresses, showZone, signpostCommands, signpostTransport, zoneOrigin } from './signpost/index.js';
import { DeviceSettings, HardwareService, LogSink, PORT_NAMES, Runtime, UsageError, boardHardware, loadBoard, type RunConfig, type Service } from './runtime/index.js';
import { FIRMWARE_REPO, UserStores, defaultMergeTypes } from './store/index.js';
import { OsSlots, SlotDirectory, Updater, imageFacts, otaCommands, selfTest } from './ota/index.js';
import { mountUi } from './ui/index.js';

export interface System {
  readonly runtime: Runtime;
  readonly shell: Shell;
  /** Resolves when a console asked to stop (quit on the terminal, reboot, poweroff), with how. */
  readonly stopRequested: Promise<StopRequest>;
  stop(): Promise<void>;
}

export async function startSystem(config: RunConfig, logSink: LogSink): Promise<System> {
  const runtime = new Runtime(config, logSink);
  const log = runtime.log;
  log.info('starting', { version: runtime.version, mode: config.mode, data: config.data.root, sha1: sha1.implementation });

  const settings = new DeviceSettings(config.data.config);
  const applySettings = () => {
    // Node reads TZ at each date conversion: the whole process follows the new zone.
    process.env.TZ = settings.timezone();
  };
  applySettings();

  const users = new UserDirectory(config.data.secrets);
  const auth = new Authenticator({ users, tokens: new TokenStore(config.data.secrets), log: log.child('auth') });
  const davKinds = [calendarKind, contactsKind, filesKind] as DavKind[];
  const mergeTypes = defaultMergeTypes();
  for (const kind of davKinds) for (const [pattern, type] of kind.mergeTypes ?? []) mergeTypes.register(pattern, type);
  registerMailMergeTypes(mergeTypes);
  // 16 MiB of objects per user store (and half that of trees): a small board serves several users.
  const stores = new UserStores(config.data.store, { mergeTypes, cacheBytes: 16 << 20 });
  const tls = new TlsCredentials(config.data.secrets, { log: log.child('tls') });

  let requestStop!: (action: StopRequest) => void;
  const stopRequested = new Promise<StopRequest>((resolve) => (requestStop = resolve));
  const shell = new Shell();
  const consolePassword = new ConsolePassword(config.data.secrets);
  addRuntimeCommands(shell, runtime, (action) => requestStop(action), () => settings.hostname());
  addSetupCommands(shell, {
    users,
    settings,
    consolePassword,
    makeStore: async (user) => void stores.ensure(user),
    applied: () => {
      applySettings();
      void hardware?.applyNetwork();
      log.info('settings changed', { hostname: settings.hostname(), timezone: settings.timezone() });
    },
  });
  // Signpost is made here (nothing is bound until it starts) because sync reaches paired devices through it.
  const ownerBranch = () => {
    const owner = auth.owner();
    return owner === undefined ? undefined : stores.ensure(owner).branch('main');
  };
  const signpost = new SignpostService({
    listen: config.listen,
    port: config.ports.channel,
    secretsDir: config.data.secrets,
    configDir: config.data.config,
    ownerBranch,
    serveHttp: (connection, device) => {
      markDeviceConnection(connection, device);
      http.serveConnection(connection);
    },
    pairingRequest: () => ({
      device: settings.hostname(),
      services: [...PORT_NAMES],
      tlsKey: tls.publicKey().export({ type: 'spki', format: 'pem' }) as string,
      dns: tls.names.dns,
      ips: tls.names.ips,
    }),
    tlsCertificate: () => tls.serverOptions().cert,
    installTlsCertificate: (certificate) => tls.install(certificate),
    log: log.child('signpost'),
  });
  const transport = signpostTransport(signpost);
  addDataCommands(shell, { users, stores, secretsDir: config.data.secrets, transport });
  for (const command of signpostCommands(signpost, () => config.ports.channel)) shell.add(command);

  // The console socket goes first: it is also the lock that keeps a second instance off this data.
  runtime.services.add(new ConsoleSocketService(config.data.consoleSocket, shell, log.child('console')));
  // A device's hardware next: the LED says "booting" and the watchdog is fed from here on.
  const hardware =
    config.mode === 'device' ? new HardwareService(await boardHardware(loadBoard(), log.child('hardware')), settings, log.child('hardware'), () => !failedService(runtime)) : undefined;
  if (hardware !== undefined) runtime.services.add(hardware);
  // The stores stop last (services stop in reverse), after everything that writes to them.
  runtime.services.add(storesService(stores));
  runtime.services.add(tls);
  // Summoned services wait behind sockets bound at boot; idle twice the zone's TTL, they park.
  const jitsu = new Jitsu({ idleMs: 2 * ZONE_TTL_SECONDS * 1000, log: log.child('jitsu') });
  runtime.services.add(jitsu);
  // One router for HTTP and HTTPS.
  const http = new HttpService(config.listen, config.ports.http, log.child('http'));
  mountStatusRoutes(http.router, () => runtime.health());
  runtime.services.add(http);
  runtime.services.add(createHttpsService(config.listen, config.ports.https, log.child('https'), http.router, tls));
  // Updates: releases pushed to firmware.git go into the inactive app slot (on a device, or under nyinit in tests).
  const image = imageFacts(process.env, log.child('ota'));
  const updater = new Updater({
    slots: new SlotDirectory(config.data.firmware),
    repository: () => stores.ensure(FIRMWARE_REPO),
    runningSlot: image.runningSlot,
    board: image.board,
    arch: image.arch,
    imageKeys: image.keys,
    os: image.os === undefined ? undefined : new OsSlots(path.join(config.data.firmware, 'os'), image.os),
    restart: () => requestStop('restart'),
    reboot: () => requestStop('reboot'),
    log: log.child('ota'),
  });
  for (const command of otaCommands(updater)) shell.add(command);
  const otaHooks = updater.receiveHooks();
  mountGit(http.router, { stores, authorize: auth.gitAuthorizer(), hooks: (repo) => (repo === FIRMWARE_REPO ? otaHooks : undefined), log: log.child('git') });
  const dav = mountDav(http.router, { stores, auth, log: log.child('dav'), kinds: davKinds, beforeRequest: () => jitsu.use('dav') });
  jitsu.declare({
    name: 'dav',
    dnsNames: davDiscovery(config.ports).map((service) => service.srv),
    start: async () => undefined,
    park: async () => dav.park(),
  });
  const mail = new MailApp({
    stores,
    authenticate: async (user, password, address) => {
      const outcome = await auth.checkLogin(user, password, address);
      if (outcome.ok) return { ok: true, user: outcome.principal.user };
      return { ok: false, temporary: outcome.status === 429 || outcome.status === 503, message: outcome.message };
    },
    secureContext: () => tls.secureContext(),
    tlsOptions: () => tls.serverOptions(),
    localDomains: () => {
      const hostname = settings.hostname();
      return [hostname, `${hostname}.local`, 'localhost', zoneOrigin(ownerBranch()?.get(ZONE_PATH)?.toString('utf8'), hostname).replace(/\.$/, '')];
    },
    // A local part names a user; "alice+lists" is alice too.
    userOf: (address) => {
      const local = address.slice(0, address.lastIndexOf('@')).split('+')[0].toLowerCase();
      return users.exists(local) ? local : undefined;
    },
    configDir: config.data.config,
    secretsDir: config.data.secrets,
    log: log.child('mail'),
  });
  runtime.services.add(mail.imapService('imap', config.listen, config.ports.imap));
  runtime.services.add(mail.imapService('imaps', config.listen, config.ports.imaps));
  runtime.services.add(mail.smtpService('submission', config.listen, config.ports.submission));
  runtime.services.add(mail.smtpService('inbound', config.listen, config.ports.smtp));
  mountUi(http.router, {
    stores,
    users,
    auth,
    mailOf: (user) => mail.mailOf(user),
    health: () => runtime.health(),
    device: {
      storage: () => {
        try {
          const stats = fs.statfsSync(config.data.root);
          return { totalBytes: stats.blocks * stats.bsize, freeBytes: stats.bavail * stats.bsize };
        } catch {
          return undefined; // shown as unknown
        }
      },
      update: () => ({ running: runtime.version, ...updater.status() }),
    },
    signpost: {
      certificate: () => signpost.certificate(),
      devices: () => signpost.devices(),
      pair: (person, signal) => signpost.pair(person, signal),
      pairingPort: () => config.ports.channel,
    },
    log: log.child('ui'),
  });
  // After the servers, so that its event streams are closed first on stop.
  runtime.services.add(mountApi(http.router, { stores, auth, log: log.child('api') }));
  runtime.services.add(signpost);
  runtime.services.add(new SyncService(users, stores, config.data.secrets, log.child('sync'), undefined, transport));
  const dns = new DnsService({
    listen: config.listen,
    port: config.ports.dns,
    rateLimit: config.dnsRateLimit,
    secretsDir: config.data.secrets,
    hostname: () => settings.hostname(),
    ownerZone: () => {
      const main = ownerBranch();
      return main === undefined ? { text: undefined, version: '' } : { text: main.get(ZONE_PATH)?.toString('utf8'), version: main.head() ?? '' };
    },
    addresses: () => publishedAddresses(config.listen),
    services: () => davDiscovery(config.ports),
    log: log.child('dns'),
    onQuestion: (name, zone) => jitsu.onQuestion(name, zone),
  });
  runtime.services.add(dns);
  shell.add({
    name: 'zone',
    summary: 'show the DNS zone as served (set it with `nymote zone set`)',
    usage: 'zone show',
    completions: ['show'],
    run: async ([action, ...extra], io) => {
      if (action !== 'show' || extra.length > 0) throw new UsageError('usage: zone show');
      for (const line of showZone(dns.inputs()).trimEnd().split('\n')) io.line(line);
    },
  });

  if (config.mdns) {
    runtime.services.add(
      new MdnsResponder({
        hostname: () => settings.hostname(),
        // The LAN's addresses, never loopback: the same list the zone publishes on a device.
        addresses: () => publishedAddresses('0.0.0.0'),
        services: () => [{ type: '_http._tcp', port: config.ports.http, txt: ['path=/'] }, ...davDiscovery(config.ports).map(({ srv, port, txt }) => ({ type: srv, port, txt }))],
        log: log.child('mdns'),
      }),
    );
  }

  await runtime.services.startAll();

  if (hardware !== undefined) startDeviceConsole(hardware, shell, consolePassword, settings, runtime);
  const stdin = process.stdin;
  // On a device the console is the serial line (above), which is also Node's stdin: not twice.
  const terminalConsole = hardware === undefined && (config.console === 'stdio' || (config.console === 'auto' && stdin.isTTY === true));
  if (terminalConsole) {
    const session = startSession(shell, { input: stdin, output: process.stdout, terminal: stdin.isTTY === true }, { password: consolePassword });
    // quit (or Ctrl-D) on the terminal console stops the firmware, like any foreground program.
    void session.closed.then(() => requestStop('stop'));
    if (!settings.configured()) log.info("not set up yet: type 'setup' on the console");
  }
  log.info('ready', { http: `http://${config.listen}:${http.boundPort() ?? config.ports.http}/` });
  // A release on trial proves itself now (or the previous slot comes back).
  void updater.settleAfterStart(() => selfTest(() => runtime.health())).catch((error: unknown) => log.error('ota: settling the trial failed', { error: String(error) }));

  return {
    runtime,
    shell,
    stopRequested,
    stop: async () => {
      log.info('stopping');
      await runtime.services.stopAll();
      log.info('stopped');
      logSink.close();
    },
  };
}

/**
 * The serial console of a device: locked by the console password if one is set, straight
 * into `setup` on a device that has not been set up, and the button's short press prints the
 * status there. The LED turns to "ready", or "error" when a service failed to start.
 */
function startDeviceConsole(hardware: HardwareService, shell: Shell, password: ConsolePassword, settings: DeviceSettings, runtime: Runtime): void {
  hardware.showLed(runtime.health().status === 'ok' ? 'ready' : 'error');
  const serial = hardware.console!;
  startSession(shell, serial, { password, ...(settings.configured() ? {} : { firstCommand: 'setup' }) });
  hardware.onButton((event) => {
    const say = (text: string) => serial.output.write(`\r\n${text}\r\n`);
    if (event === 'status') {
      const report = runtime.health();
      say(`nymote ${report.version} · up ${report.uptimeSeconds}s · ${report.status}`);
    } else {
      say("button held: to erase this device, type 'factory-reset' here");
    }
  });
}

/** Whether a service has failed: the watchdog stops being fed then (a service still starting is fine). */
function failedService(runtime: Runtime): boolean {
  return Object.values(runtime.health().services).some((service) => service.state === 'failed');
}

/** The users' stores as a service: nothing to start, and on stop every queued write lands. */
function storesService(stores: UserStores): Service {
  return {
    name: 'store',
    start: async () => undefined,
    stop: () => stores.closeAll(),
  };
}
