/**
 * One IMAP session (RFC 9051 / RFC 3501): the state machine — not authenticated,
 * authenticated, selected, logout — reading commands in order from the connection and
 * answering each before the next. Commands of the authenticated state are in
 * mailbox-commands.ts, those of the selected state in message-commands.ts.
 */
import { isLoopbackAddress, type Logger } from '../../../runtime/index.js';
import { InvalidMailboxName, MailError, type MailStore } from '../store/index.js';
import type { ImapConnection } from './connection.js';
import type { MessageCache } from './messages.js';
import { mailboxCommands } from './mailbox-commands.js';
import { messageCommands } from './message-commands.js';
import { ParseError, decodeSaslPlain, isIdleDone, parseCommand, parseSaslResponse, type Command } from './parser.js';
import { CommandReader, ReaderError, type ReaderEvent } from './reader.js';
import { SelectedMailbox } from './selected.js';
import { SequenceError } from './sequence.js';
import { MailboxNameError, decodeMailboxUtf7 } from './utf7.js';
import { mailboxName as encodeMailboxName, tagged as encodeTagged, type Status, type Wire } from './encode.js';

export interface AuthResult {
  ok: boolean;
  user?: string;
  /** A refusal that is not about the password (throttled, busy): NO [UNAVAILABLE]. */
  temporary?: boolean;
  message?: string;
}

export interface SessionContext {
  log: Logger;
  implicitTls: boolean;
  authenticate(user: string, password: string, remoteAddress: string): Promise<AuthResult>;
  /** The mail of a user (one MailStore per user, shared by their sessions). */
  mailOf(user: string): Promise<MailStore>;
  messages: MessageCache;
  /** APPENDLIMIT: the largest message accepted. */
  appendLimit: number;
}

/** How long a client may stay silent: before login, and after (RFC 9051 5.4: at least 30 minutes). */
const PREAUTH_IDLE_MS = 60_000;
const AUTHENTICATED_IDLE_MS = 30 * 60_000;

/** A refusal answered `<tag> NO [code] text`. */
export class Refusal extends Error {
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export type CommandHandler<C extends Command = Command> = (session: Session, command: C) => Promise<void>;
/** The command type behind a name (SimpleCommand covers several names, so not Extract). */
type CommandNamed<N extends Command['name'], C = Command> = C extends Command ? (N extends C['name'] ? C : never) : never;
export type HandlerTable = { [N in Command['name']]?: CommandHandler<CommandNamed<N>> };

export class Session {
  state: 'notAuthenticated' | 'authenticated' | 'selected' | 'logout' = 'notAuthenticated';
  user: string | undefined;
  mail: MailStore | undefined;
  selected: SelectedMailbox | undefined;
  /** Extensions the client turned on (ENABLE, or implicitly: CONDSTORE by using it). */
  readonly enabled = { condstore: false, qresync: false, utf8: false, rev2: false };
  /** SEARCHRES's saved result, as UIDs. */
  savedUids: number[] = [];
  private readonly reader: CommandReader;
  private busy = false;
  /** A line the session asked for (AUTHENTICATE's response, IDLE's DONE). */
  private lineWaiter: ((line: Buffer) => Promise<void>) | undefined;
  private stopWatching: (() => void) | undefined;
  private idling: { tag: string } | undefined;
  private closed = false;

  constructor(
    readonly connection: ImapConnection,
    readonly context: SessionContext,
    private readonly onClose: () => void,
  ) {
    // LITERAL+ lets a client send a message of any size we accept without waiting for "+".
    const literal = context.appendLimit;
    this.reader = new CommandReader({ maxLiteralBytes: literal, maxNonSyncLiteralBytes: literal, maxCommandBytes: literal + (1 << 20) });
    connection.write(`* OK [CAPABILITY ${this.capabilities().join(' ')}] Nymote IMAP ready\r\n`);
    connection.setIdleTimeout(PREAUTH_IDLE_MS);
    connection.start({ data: (chunk) => this.received(chunk), closed: (reason) => this.ended(reason) });
  }

  get log(): Logger {
    return this.context.log;
  }

  /** Ends the session when the firmware stops. */
  shutdown(): void {
    this.untagged('BYE Server shutting down');
    this.connection.close('server stopping');
  }

  // ------------------------------------------------------------------------- responses

  write(data: Buffer | string): boolean {
    return this.connection.write(data);
  }

  /** Writes a response in wire form: runs of text joined into one write, literals as they are. */
  send(wire: Wire): boolean {
    let ok = true;
    let text = '';
    for (const chunk of wire) {
      if (typeof chunk === 'string') {
        text += chunk;
        continue;
      }
      if (text !== '') ok = this.connection.write(text);
      text = '';
      ok = this.connection.write(chunk);
    }
    if (text !== '') ok = this.connection.write(text);
    return ok;
  }

  /** `* text`: text is ours, never the client's (use send() with encoded values for those). */
  untagged(text: string): void {
    this.write(`* ${text}\r\n`);
  }

  tagged(tag: string, status: Status, text: string, code?: string): void {
    this.write(encodeTagged(tag, status, text, code));
  }

  /**
   * The tagged OK of a command, after the updates the client is owed: EXPUNGE and VANISHED
   * only when the command is not FETCH, STORE or SEARCH by message number (RFC 9051 7.5.1).
   */
  complete(command: Command, text: string, code?: string): void {
    const numbered = (command.name === 'FETCH' || command.name === 'STORE' || command.name === 'SEARCH') && !command.uid;
    this.sendUpdates(!numbered);
    this.tagged(command.tag, 'OK', text, code);
  }

  /** A mailbox name from the client: modified UTF-7 unless UTF-8 was enabled. */
  mailboxArgument(name: string): string {
    return this.enabled.utf8 || this.enabled.rev2 ? name : decodeMailboxUtf7(name);
  }

  /** A mailbox name for a response. */
  mailboxWire(name: string): Wire {
    return encodeMailboxName(name, { utf8: this.enabled.utf8 || this.enabled.rev2 });
  }

  capabilities(): string[] {
    const secure = this.connection.secure;
    const caps = ['IMAP4rev1', 'IMAP4rev2'];
    if (this.state === 'notAuthenticated') {
      if (!secure && !this.context.implicitTls) caps.push('STARTTLS');
      if (this.credentialsAllowed()) caps.push('AUTH=PLAIN', 'AUTH=LOGIN', 'SASL-IR');
      else caps.push('LOGINDISABLED');
    }
    caps.push(
      'LITERAL+',
      'ID',
      'ENABLE',
      'IDLE',
      'NAMESPACE',
      'UNSELECT',
      'UIDPLUS',
      'MOVE',
      'CHILDREN',
      'SPECIAL-USE',
      'CREATE-SPECIAL-USE',
      'LIST-EXTENDED',
      'LIST-STATUS',
      'ESEARCH',
      'SEARCHRES',
      'CONDSTORE',
      'QRESYNC',
      'SORT',
      'THREAD=REFERENCES',
      'THREAD=ORDEREDSUBJECT',
      'MULTIAPPEND',
      'BINARY',
      'UTF8=ACCEPT',
      `APPENDLIMIT=${this.context.appendLimit}`,
    );
    if (!this.connection.compressed) caps.push('COMPRESS=DEFLATE');
    return caps;
  }

  /** Passwords only over TLS, or from this machine (tests, a local client). */
  credentialsAllowed(): boolean {
    return this.connection.secure || isLoopbackAddress(this.connection.remoteAddress);
  }

  // ------------------------------------------------------------------------- the input loop

  private received(chunk: Buffer): void {
    // A client pipelining faster than commands are answered waits in its own socket buffer.
    if (!this.reader.push(chunk)) this.connection.pause();
    void this.pump();
  }

  /** Handles framed input in order; one command at a time, the next once it is answered. */
  private async pump(): Promise<void> {
    if (this.busy || this.closed) return;
    this.busy = true;
    try {
      for (let event = this.reader.next(); event !== undefined && !this.closed; event = this.reader.next()) {
        await this.handle(event);
        await this.connection.drained();
      }
    } finally {
      this.busy = false;
      this.connection.resume();
    }
  }

  private async handle(event: ReaderEvent): Promise<void> {
    switch (event.type) {
      case 'continue':
        this.write('+ Ready for literal data\r\n');
        return;
      case 'error':
        return this.readerError(event.error);
      case 'line': {
        const waiter = this.lineWaiter;
        this.lineWaiter = undefined;
        if (waiter !== undefined) await waiter(event.line);
        return;
      }
      case 'command': {
        let command: Command;
        try {
          command = parseCommand(event.frame);
        } catch (err) {
          if (err instanceof ParseError && err.code === 'BADCHARSET' && event.frame.tag !== undefined) return this.tagged(event.frame.tag, 'NO', err.message, '[BADCHARSET (UTF-8 US-ASCII)]');
          if (err instanceof ParseError) return this.tagged(event.frame.tag ?? '*', 'BAD', err.message);
          throw err;
        }
        return this.run(command);
      }
    }
  }

  private readerError(error: ReaderError): void {
    if (error.code === 'LITERAL_TOO_BIG' && error.tag !== undefined) this.tagged(error.tag, 'NO', error.message, '[TOOBIG]');
    else if (error.tag !== undefined) this.tagged(error.tag, 'BAD', error.message);
    else this.untagged(`BAD ${error.message}`);
    if (error.fatal) {
      this.untagged('BYE Too much invalid input');
      this.connection.close('protocol error');
    }
  }

  private async run(command: Command): Promise<void> {
    const handler = this.handlerFor(command);
    if (handler === undefined) return;
    try {
      await handler(this, command as never);
    } catch (err) {
      this.failed(command, err);
    }
  }

  /** The handler, if the command is allowed in this state (else the answer is sent here). */
  private handlerFor(command: Command): CommandHandler | undefined {
    const handler = (ANY_STATE[command.name] ?? NOT_AUTHENTICATED[command.name] ?? mailboxCommands[command.name] ?? messageCommands[command.name]) as CommandHandler | undefined;
    if (handler === undefined) {
      this.tagged(command.tag, 'BAD', `${command.name} is not supported`);
      return undefined;
    }
    if (NOT_AUTHENTICATED[command.name] !== undefined && this.state !== 'notAuthenticated') {
      this.tagged(command.tag, 'BAD', `${command.name}: already authenticated`);
      return undefined;
    }
    if (mailboxCommands[command.name] !== undefined && this.state === 'notAuthenticated') {
      this.tagged(command.tag, 'BAD', `${command.name}: log in first`);
      return undefined;
    }
    if (messageCommands[command.name] !== undefined && this.state !== 'selected') {
      this.tagged(command.tag, 'BAD', this.state === 'notAuthenticated' ? `${command.name}: log in first` : `${command.name}: no mailbox selected`);
      return undefined;
    }
    return handler;
  }

  private failed(command: Command, err: unknown): void {
    if (err instanceof Refusal) return this.tagged(command.tag, 'NO', err.message, err.code === undefined ? undefined : `[${err.code}]`);
    if (err instanceof MailError) return this.tagged(command.tag, 'NO', err.message, `[${err.code}]`);
    if (err instanceof InvalidMailboxName || err instanceof MailboxNameError) return this.tagged(command.tag, 'NO', err.message, '[CANNOT]');
    if (err instanceof ParseError || err instanceof SequenceError) return this.tagged(command.tag, 'BAD', err.message);
    this.log.error('imap command failed', { command: command.name, user: this.user, error: err instanceof Error ? err.message : String(err) });
    this.tagged(command.tag, 'NO', 'internal error; the failure was logged', '[SERVERBUG]');
  }

  /** Asks for the next raw line (AUTHENTICATE, IDLE) and hands it to `waiter`. */
  expectLine(waiter: (line: Buffer) => Promise<void>): void {
    this.lineWaiter = waiter;
    this.reader.expectLine();
  }

  // ------------------------------------------------------------------------- state changes

  async loggedIn(user: string): Promise<void> {
    this.user = user;
    this.mail = await this.context.mailOf(user);
    this.state = 'authenticated';
    this.connection.setIdleTimeout(AUTHENTICATED_IDLE_MS);
    this.log.info('imap login', { user, client: this.connection.remoteAddress });
  }

  select(selected: SelectedMailbox | undefined): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
    this.selected = selected;
    this.state = selected === undefined ? 'authenticated' : 'selected';
    if (selected !== undefined && this.mail !== undefined) {
      // Changes by other sessions and by sync reach an idling client at once.
      this.stopWatching = this.mail.watch(selected.name, () => {
        if (this.idling !== undefined) this.sendUpdates(true);
      });
    }
  }

  /** Brings the client up to date with the selected mailbox (EXPUNGE only where allowed). */
  sendUpdates(expunges: boolean): void {
    const selected = this.selected;
    if (selected === undefined || this.mail === undefined) return;
    const latest = this.mail.snapshot(selected.name);
    if (latest === undefined) {
      // Deleted or renamed by another session: nothing more can be done with it.
      this.untagged('BYE The selected mailbox was deleted');
      this.connection.close('selected mailbox deleted');
      return;
    }
    if (latest.commit === selected.commit) return;
    for (const line of selected.update(latest, this.enabled, expunges)) this.untagged(line.slice(2));
  }

  startIdle(tag: string): void {
    this.idling = { tag };
    this.write('+ idling\r\n');
    this.sendUpdates(true);
    this.expectLine(async (line) => {
      this.idling = undefined;
      if (isIdleDone(line)) this.tagged(tag, 'OK', 'IDLE terminated');
      else this.tagged(tag, 'BAD', 'expected DONE');
    });
  }

  async startTls(tag: string): Promise<void> {
    this.tagged(tag, 'OK', 'Begin TLS negotiation now');
    // Whatever was pipelined behind STARTTLS came in clear: it is dropped, never run.
    this.reader.takeBuffered();
    await this.connection.drained();
    try {
      await this.connection.startTls();
    } catch {
      this.connection.close('TLS handshake failed');
    }
  }

  startCompression(tag: string): void {
    this.tagged(tag, 'OK', 'DEFLATE active');
    const pipelined = this.reader.takeBuffered();
    this.connection.startCompression();
    if (pipelined.length > 0) this.connection.feedCompressed(pipelined);
  }

  logout(tag: string): void {
    this.state = 'logout';
    this.untagged('BYE Logging out');
    this.tagged(tag, 'OK', 'LOGOUT completed');
    this.connection.close('logout');
  }

  private ended(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.stopWatching?.();
    if (this.user !== undefined) this.log.info('imap session ended', { user: this.user, reason });
    this.onClose();
  }
}

// ------------------------------------------------------------------------------ any state

const ANY_STATE: HandlerTable = {
  CAPABILITY: async (session, command) => {
    session.untagged(`CAPABILITY ${session.capabilities().join(' ')}`);
    session.tagged(command.tag, 'OK', 'CAPABILITY completed');
  },
  NOOP: async (session, command) => {
    session.sendUpdates(true);
    session.tagged(command.tag, 'OK', 'NOOP completed');
  },
  LOGOUT: async (session, command) => session.logout(command.tag),
  ID: async (session, command) => {
    if (command.params !== null) {
      const fields = Object.fromEntries(command.params.filter(([field]) => ['name', 'version', 'os'].includes(field.toLowerCase())).map(([field, value]) => [field.toLowerCase(), value ?? '']));
      session.log.debug('imap client', { client: session.connection.remoteAddress, ...fields });
    }
    session.untagged('ID ("name" "Nymote" "vendor" "Nymote")');
    session.tagged(command.tag, 'OK', 'ID completed');
  },
};

// ------------------------------------------------------------------------------ not authenticated

const NOT_AUTHENTICATED: HandlerTable = {
  STARTTLS: async (session, command) => {
    if (session.connection.secure) return session.tagged(command.tag, 'BAD', 'TLS is already active');
    await session.startTls(command.tag);
  },
  LOGIN: async (session, command) => login(session, command.tag, command.username, command.password),
  AUTHENTICATE: async (session, command) => {
    const { tag, mechanism, initialResponse } = command;
    // A SASL exchange: each challenge waits for the client's next line (read by the input loop).
    const ask = (challenge: string, next: (data: Buffer) => Promise<void>) => {
      session.write(`+ ${Buffer.from(challenge).toString('base64')}\r\n`);
      session.expectLine(async (line) => {
        try {
          const response = parseSaslResponse(line);
          if (response.cancel) return session.tagged(tag, 'BAD', 'AUTHENTICATE cancelled');
          await next(response.data);
        } catch (err) {
          if (err instanceof ParseError) return session.tagged(tag, 'BAD', err.message);
          throw err;
        }
      });
    };
    if (mechanism === 'PLAIN') {
      const plain = async (data: Buffer) => {
        const { authzid, authcid, password } = decodeSaslPlain(data);
        if (authzid !== '' && authzid !== authcid) return session.tagged(tag, 'NO', 'acting as another user is not allowed', '[AUTHORIZATIONFAILED]');
        await login(session, tag, authcid, password);
      };
      return initialResponse !== undefined ? plain(initialResponse) : ask('', plain);
    }
    if (mechanism === 'LOGIN') {
      // The old LOGIN mechanism (Outlook and friends): user name, then password, each asked for.
      const password = async (user: Buffer) => ask('Password:', async (secret) => login(session, tag, user.toString('utf8'), secret.toString('utf8')));
      return initialResponse !== undefined ? password(initialResponse) : ask('Username:', password);
    }
    session.tagged(tag, 'NO', `mechanism ${mechanism.slice(0, 20)} is not supported; use PLAIN or LOGIN`, '[CANNOT]');
  },
};

async function login(session: Session, tag: string, user: string, password: string): Promise<void> {
  if (!session.credentialsAllowed()) return session.tagged(tag, 'NO', 'use STARTTLS (or IMAPS) before sending a password', '[PRIVACYREQUIRED]');
  const result = await session.context.authenticate(user, password, session.connection.remoteAddress);
  if (!result.ok || result.user === undefined) {
    if (result.temporary === true) return session.tagged(tag, 'NO', result.message ?? 'try again later', '[UNAVAILABLE]');
    return session.tagged(tag, 'NO', 'wrong user name or password', '[AUTHENTICATIONFAILED]');
  }
  await session.loggedIn(result.user);
  session.tagged(tag, 'OK', 'logged in', `[CAPABILITY ${session.capabilities().join(' ')}]`);
}
