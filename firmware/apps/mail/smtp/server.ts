/**
 * The SMTP services on smtp-server: 'submission' (587/1587: STARTTLS, then AUTH PLAIN/LOGIN,
 * then mail from the user's own addresses) and 'inbound' (25/2525: mail for local users only,
 * STARTTLS offered, no AUTH). smtp-server speaks the protocol; this file sets its bounds and
 * hands each step to the role's checks. The submission service also runs the outbound queue.
 */
import os from 'node:os';
import { SMTPServer, type SMTPServerAuthentication, type SMTPServerAuthenticationResponse, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { addressOf, describeError, listenTcp, type Logger, type Service, type ServiceHealth } from '../../../runtime/index.js';
import type { ReceivedMessage, SmtpContext } from './context.js';
import type { SmtpDependencies } from './dependencies.js';
import { MAX_HOPS, hopCount } from './headers.js';
import { deliverInbound, inboundRecipientRefusal } from './inbound.js';
import { resolveLimits, type SmtpLimits } from './limits.js';
import { ByteBudget, readMessage } from './message-reader.js';
import { OutboundQueue } from './queue.js';
import { QueueUsers } from './queue-users.js';
import { connectionOf, smtpReply, useOwnEnhancedCodes, type SmtpReplyError } from './replies.js';
import { describeSmarthost, loadSmarthost } from './smarthost-config.js';
import { smarthostSender } from './smarthost.js';
import { acceptSubmission, submissionRecipientRefusal, submissionSenderRefusal } from './submission.js';

export type SmtpRole = 'submission' | 'inbound';

type Done = (err?: Error | null) => void;

export class SmtpService implements Service {
  readonly name: string;
  /** The outbound queue (submission only). */
  readonly queue: OutboundQueue | undefined;
  private readonly server: SMTPServer;
  private readonly ctx: SmtpContext;
  private readonly log: Logger;
  private readonly budget: ByteBudget;
  private tlsInUse: { key: string; cert: string } | undefined;

  constructor(
    readonly role: SmtpRole,
    private readonly listen: string,
    private readonly port: number,
    private readonly deps: SmtpDependencies,
    limits?: Partial<SmtpLimits>,
  ) {
    this.name = role === 'submission' ? 'submission' : 'smtp';
    this.log = deps.log.child(this.name);
    const resolved = resolveLimits(limits);
    const hostname = os.hostname();
    this.budget = new ByteBudget(resolved.maxBufferedBytes);
    this.queue = role === 'submission' ? this.makeQueue(resolved, hostname) : undefined;
    this.ctx = { deps, limits: resolved, log: this.log, hostname, queue: this.queue };
    this.server = this.makeServer(resolved, hostname);
  }

  async start(): Promise<void> {
    this.refreshTls();
    await listenTcp(this.server.server, this.name, this.listen, this.port);
    this.log.info('listening', { addr: addressOf(this.server.server) });
    this.queue?.start();
  }

  async stop(): Promise<void> {
    await this.queue?.stop();
    if (!this.server.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  describe(): Omit<ServiceHealth, 'state'> {
    const addr = addressOf(this.server.server);
    const listen = addr === undefined ? {} : { listen: [addr] };
    if (this.role !== 'submission') return listen;
    let detail: string;
    try {
      detail = describeSmarthost(loadSmarthost(this.deps.configDir, this.deps.secretsDir));
    } catch (err) {
      detail = describeError(err);
    }
    return { ...listen, detail };
  }

  private makeQueue(limits: SmtpLimits, hostname: string): OutboundQueue {
    const { deps } = this;
    return new OutboundQueue({
      log: this.log,
      store: deps.store,
      users: new QueueUsers(deps.configDir),
      smarthost: () => {
        const smarthost = loadSmarthost(deps.configDir, deps.secretsDir);
        return smarthost === undefined ? undefined : smarthostSender(smarthost, { helloName: hostname, timeoutMs: limits.smarthostTimeoutMs });
      },
      deliver: deps.deliver,
      limits,
      device: hostname,
    });
  }

  private makeServer(limits: SmtpLimits, hostname: string): SMTPServer {
    const submission = this.role === 'submission';
    const server = new SMTPServer({
      name: hostname,
      logger: false,
      secure: false,
      minVersion: 'TLSv1.2',
      disableReverseLookup: true,
      size: limits.maxMessageBytes,
      rejectOversized: true,
      maxRecipients: limits.maxRecipients,
      maxClients: limits.maxConnections,
      socketTimeout: limits.idleTimeoutMs,
      closeTimeout: limits.closeTimeoutMs,
      maxCommandLength: limits.maxCommandBytes,
      hideENHANCEDSTATUSCODES: false,
      hideSMTPUTF8: true,
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: !submission,
      authRequiredMessage: '5.7.0 authentication required',
      disabledCommands: submission ? [] : ['AUTH'],
      onConnect: (session, done) => this.onConnect(session, done),
      onAuth: (auth, session, done) => this.onAuth(auth, session, done),
      onMailFrom: (address, session, done) => done(this.refuseSender(session, address.address)),
      onRcptTo: (address, session, done) => done(this.refuseRecipient(session, address.address)),
      onData: (stream, session, done) => void this.onData(stream, session, done),
    });
    // Socket errors of single connections (resets, failed handshakes) end up here.
    server.on('error', (err) => this.log.debug('connection error', { error: describeError(err) }));
    return server;
  }

  /** Takes a renewed certificate for the next STARTTLS. */
  private refreshTls(): void {
    try {
      const { key, cert } = this.deps.tls();
      if (this.tlsInUse?.key === key && this.tlsInUse.cert === cert) return;
      this.server.updateSecureContext({ key, cert, minVersion: 'TLSv1.2' });
      this.tlsInUse = { key, cert };
    } catch (err) {
      this.log.error('TLS certificate unusable; keeping the previous one', { error: describeError(err) });
    }
  }

  private onConnect(session: SMTPServerSession, done: Done): void {
    this.refreshTls();
    const connection = connectionOf(this.server, session.id);
    if (connection !== undefined) useOwnEnhancedCodes(connection, this.role === 'submission');
    done();
  }

  private onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, done: (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void): void {
    const refuse = (err: SmtpReplyError) => {
      this.log.info('login refused', { user: (auth.username ?? '').slice(0, 64), from: session.remoteAddress, reply: err.message });
      done(err);
    };
    if (this.role !== 'submission' || !session.secure) return refuse(smtpReply(538, '5.7.11', 'encryption required: use STARTTLS first'));
    if (auth.method !== 'PLAIN' && auth.method !== 'LOGIN') return refuse(smtpReply(504, '5.5.4', 'unsupported authentication mechanism'));
    // No proxy logins: an authorization identity other than the login name is refused.
    if (auth.authzid && auth.authcid && auth.authzid !== auth.authcid) return refuse(smtpReply(535, '5.7.8', 'authorization identity not allowed'));
    const user = auth.username ?? '';
    const password = auth.password ?? '';
    this.deps.authenticate(user, password, session.remoteAddress).then(
      (result) => {
        if (result.ok) {
          this.log.info('login', { user: result.user, from: session.remoteAddress });
          return done(null, { user: result.user });
        }
        refuse(result.temporary ? smtpReply(454, '4.7.0', result.message) : smtpReply(535, '5.7.8', 'authentication credentials invalid'));
      },
      (err: unknown) => {
        this.log.error('authentication failed to run', { error: describeError(err) });
        refuse(smtpReply(454, '4.7.0', 'temporary authentication failure'));
      },
    );
  }

  private refuseSender(session: SMTPServerSession, address: string): SmtpReplyError | undefined {
    if (this.role !== 'submission') return undefined;
    const refusal = submissionSenderRefusal(this.ctx, this.userOf(session), address);
    if (refusal !== undefined) this.logRefused(session, refusal, { mailFrom: address });
    return refusal;
  }

  private refuseRecipient(session: SMTPServerSession, address: string): SmtpReplyError | undefined {
    const user = this.userOf(session);
    const refusal =
      this.role === 'submission'
        ? user === undefined
          ? smtpReply(530, '5.7.0', 'authentication required')
          : submissionRecipientRefusal(this.ctx, user, address)
        : inboundRecipientRefusal(this.ctx, address);
    if (refusal !== undefined) this.logRefused(session, refusal, { rcpt: address });
    return refusal;
  }

  private async onData(stream: SMTPServerDataStream, session: SMTPServerSession, done: Done): Promise<void> {
    const outcome = await readMessage(stream, this.ctx.limits.maxMessageBytes, this.budget);
    if (outcome.kind === 'aborted') return done(smtpReply(451, '4.4.2', 'connection lost during DATA'));
    if (outcome.kind === 'too-big') {
      const refusal = smtpReply(552, '5.3.4', `message exceeds the maximum size of ${this.ctx.limits.maxMessageBytes} bytes`);
      this.logRefused(session, refusal, { bytes: outcome.bytes });
      return done(refusal);
    }
    if (outcome.kind === 'busy') {
      const refusal = smtpReply(451, '4.3.1', 'too many messages arriving at once; try again later');
      this.logRefused(session, refusal, { bytes: outcome.bytes });
      return done(refusal);
    }
    if (hopCount(outcome.data) > MAX_HOPS) {
      const refusal = smtpReply(554, '5.4.6', `too many Received lines (more than ${MAX_HOPS}): a mail loop`);
      this.logRefused(session, refusal, { bytes: outcome.data.length });
      return done(refusal);
    }
    const mailFrom = session.envelope.mailFrom;
    const message: ReceivedMessage = {
      sessionId: session.id,
      from: mailFrom === false ? '' : mailFrom.address,
      recipients: session.envelope.rcptTo.map((r) => r.address),
      helo: session.hostNameAppearsAs || undefined,
      remoteAddress: session.remoteAddress,
      protocol: session.transmissionType,
      user: this.userOf(session),
      data: outcome.data,
    };
    try {
      const counts = this.role === 'submission' ? await acceptSubmission(this.ctx, message) : { local: await deliverInbound(this.ctx, message), queued: 0 };
      this.log.info('message accepted', {
        id: session.id,
        user: message.user,
        client: session.remoteAddress,
        from: message.from,
        rcpts: message.recipients.length,
        local: counts.local,
        queued: counts.queued,
        bytes: outcome.data.length,
      });
      done();
    } catch (err) {
      this.log.error('message not stored', { id: session.id, from: message.from, error: describeError(err) });
      done(smtpReply(451, '4.3.0', 'the message could not be stored; try again later'));
    }
  }

  private userOf(session: SMTPServerSession): string | undefined {
    return typeof session.user === 'string' ? session.user : undefined;
  }

  /** One log line per refused message (or refused step of one); never content or passwords. */
  private logRefused(session: SMTPServerSession, refusal: SmtpReplyError, fields: Record<string, string | number>): void {
    this.log.info('message refused', {
      id: session.id,
      user: this.userOf(session),
      client: session.remoteAddress,
      ...fields,
      reply: `${refusal.responseCode} ${refusal.message}`.slice(0, 200),
    });
  }
}
