/**
 * The outbound queue: messages for other domains wait in the sending user's store
 * (`mail-queue/<id>/message.eml` and `state.json`, each change one commit) until the smarthost
 * takes them. One worker sends due messages one at a time; a temporary failure is retried on
 * a backoff schedule, a permanent one (or giving up after two days) bounces into the sender's
 * INBOX. Because the queue is in the store, a restart simply finds it again.
 */
import crypto from 'node:crypto';
import { describeError, type Logger } from '../../../runtime/index.js';
import type { Branch, Store } from '../../../store/index.js';
import { buildBounce, type FailedRecipient } from './bounce.js';
import type { SmtpLimits } from './limits.js';
import {
  QUEUE_DIR,
  encodeQueueState,
  isQueueId,
  itemPath,
  messagePath,
  nextAttemptTime,
  parseQueueState,
  statePath,
  type QueueState,
} from './queue-state.js';
import type { QueueUsers } from './queue-users.js';
import { oneLine } from './headers.js';
import type { RecipientOutcome, SmarthostSender } from './smarthost.js';

export interface OutboundQueueOptions {
  log: Logger;
  store: (user: string) => Store;
  users: QueueUsers;
  /** The smarthost as configured now: undefined when there is none; throws when its settings are broken. */
  smarthost: () => SmarthostSender | undefined;
  deliver: (user: string, message: Buffer, mailbox?: string) => Promise<void>;
  limits: Pick<SmtpLimits, 'retryDelaysMs' | 'giveUpAfterMs' | 'queuePollMs' | 'closeTimeoutMs'>;
  /** This device's name: it sends only what it queued, and names itself in bounces. */
  device: string;
  now?: () => number;
}

export class OutboundQueue {
  private readonly log: Logger;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopping = false;
  private pass: Promise<void> | undefined;
  private again = false;
  /** Items whose state file did not parse, reported once each. */
  private readonly reported = new Set<string>();

  constructor(private readonly options: OutboundQueueOptions) {
    this.log = options.log;
    this.now = options.now ?? Date.now;
  }

  /** Queues a message of `user` for `recipients` (one commit); returns its id. */
  async enqueue(user: string, from: string, recipients: string[], message: Buffer): Promise<string> {
    const now = this.now();
    const id = `${now.toString(36)}-${crypto.randomBytes(6).toString('hex')}`;
    const state: QueueState = {
      version: 1,
      from,
      pending: recipients,
      failed: [],
      attempts: 0,
      queuedAt: new Date(now).toISOString(),
      nextAttemptAt: new Date(now).toISOString(),
      device: this.options.device,
    };
    this.options.users.add(user);
    await this.branchOf(user).transaction(
      (view) => {
        view.set(messagePath(id), message);
        view.set(statePath(id), encodeQueueState(state));
      },
      { message: `mail-queue: queue ${id} for ${recipients.length} recipient(s)\n` },
    );
    this.poke();
    return id;
  }

  /** How many messages wait in a user's queue. */
  size(user: string): number {
    return this.branchOf(user).list(QUEUE_DIR).filter((e) => e.kind === 'dir').length;
  }

  /** Starts the worker: due messages now, then whenever the next one is due. */
  start(): void {
    this.running = true;
    this.stopping = false;
    this.schedule(0);
  }

  /** Stops the worker; a send in flight gets a moment to finish (it is resent after a restart otherwise). */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pass === undefined) return;
    let wait: NodeJS.Timeout | undefined;
    await Promise.race([this.pass, new Promise<void>((resolve) => (wait = setTimeout(resolve, this.options.limits.closeTimeoutMs)))]);
    clearTimeout(wait);
  }

  /** Asks the worker for a pass now (a message was queued). */
  poke(): void {
    if (!this.running) return;
    if (this.pass !== undefined) this.again = true;
    else this.schedule(0);
  }

  /**
   * One pass over every queue: sends what is due, one message at a time. Returns when the
   * next message will be due (undefined when nothing waits).
   */
  async runDue(): Promise<number | undefined> {
    let nextDue: number | undefined;
    for (const user of this.options.users.list()) {
      let branch: Branch;
      let ids: string[];
      try {
        branch = this.branchOf(user);
        ids = branch.list(QUEUE_DIR).filter((e) => e.kind === 'dir' && isQueueId(e.name)).map((e) => e.name);
      } catch (err) {
        this.log.error('mail queue unreadable', { user, error: describeError(err) });
        continue;
      }
      if (ids.length === 0) {
        this.options.users.remove(user);
        continue;
      }
      for (const id of ids) {
        const due = await this.attemptIfDue(user, branch, id);
        if (due !== undefined) nextDue = nextDue === undefined ? due : Math.min(nextDue, due);
      }
    }
    return nextDue;
  }

  private branchOf(user: string): Branch {
    return this.options.store(user).branch();
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const delay = Math.max(0, Math.min(delayMs, this.options.limits.queuePollMs));
    this.timer = setTimeout(() => this.tick(), delay);
    this.timer.unref();
  }

  private tick(): void {
    this.timer = undefined;
    if (this.pass !== undefined) {
      this.again = true;
      return;
    }
    this.again = false;
    let nextDue: number | undefined;
    this.pass = this.runDue()
      .then((due) => {
        nextDue = due;
      })
      .catch((err: unknown) => this.log.error('mail queue pass failed', { error: describeError(err) }))
      .finally(() => {
        this.pass = undefined;
        const delay = this.again ? 0 : nextDue === undefined ? this.options.limits.queuePollMs : nextDue - this.now();
        this.schedule(delay);
      });
  }

  /** Attempts one item if it is due and ours; returns when it is due next (undefined once gone). */
  private async attemptIfDue(user: string, branch: Branch, id: string): Promise<number | undefined> {
    const raw = branch.get(statePath(id));
    const state = raw === undefined ? undefined : parseQueueState(raw);
    if (state === undefined) {
      if (!this.reported.has(`${user}/${id}`)) this.log.error('mail queue item has no valid state; left alone', { user, id });
      this.reported.add(`${user}/${id}`);
      return undefined;
    }
    if (state.device !== this.options.device) return undefined;
    const due = Date.parse(state.nextAttemptAt);
    if (due > this.now()) return due;
    if (this.stopping) return due;
    try {
      return await this.attempt(user, branch, id, state);
    } catch (err) {
      this.log.error('mail queue attempt failed', { user, id, error: describeError(err) });
      return this.now() + this.options.limits.queuePollMs;
    }
  }

  private async send(state: QueueState, message: Buffer): Promise<{ outcomes: RecipientOutcome[]; remote?: string }> {
    let sender: SmarthostSender | undefined;
    let problem = 'no smarthost configured for mail to other domains';
    try {
      sender = this.options.smarthost();
    } catch (err) {
      problem = describeError(err);
    }
    if (sender === undefined) return { outcomes: state.pending.map((recipient) => ({ recipient, status: 'temporary', reply: problem })) };
    try {
      return { outcomes: await sender.send(state.from, state.pending, message), remote: sender.name };
    } catch (err) {
      const reply = oneLine(describeError(err));
      return { outcomes: state.pending.map((recipient) => ({ recipient, status: 'temporary', reply })), remote: sender.name };
    }
  }

  private async attempt(user: string, branch: Branch, id: string, state: QueueState): Promise<number | undefined> {
    const message = branch.get(messagePath(id));
    if (message === undefined) {
      this.log.error('mail queue item has no message; removed', { user, id });
      await branch.remove(itemPath(id), { message: `mail-queue: remove ${id} (no message)\n` });
      return undefined;
    }
    const { outcomes, remote } = state.pending.length === 0 ? { outcomes: [], remote: undefined } : await this.send(state, message);
    const now = this.now();
    const queuedAt = Date.parse(state.queuedAt);
    const givingUp = now - queuedAt >= this.options.limits.giveUpAfterMs;
    const pending: string[] = [];
    let failed: FailedRecipient[] = [...state.failed];
    const at = new Date(now).toISOString();
    for (const outcome of outcomes) {
      if (outcome.status === 'permanent') failed.push({ recipient: outcome.recipient, reply: outcome.reply, at });
      else if (outcome.status === 'temporary' && givingUp) failed.push({ recipient: outcome.recipient, reply: `gave up after ${state.attempts + 1} attempts: ${outcome.reply}`, at });
      else if (outcome.status === 'temporary') pending.push(outcome.recipient);
    }
    const sent = outcomes.filter((o) => o.status === 'sent').length;
    const lastError = outcomes.find((o) => o.status !== 'sent')?.reply ?? state.lastError;
    this.log.info(sent === outcomes.length && failed.length === 0 ? 'message sent' : 'message send attempt', {
      user,
      id,
      sent,
      deferred: pending.length,
      failed: failed.length,
      ...(lastError === undefined || sent === outcomes.length ? {} : { reply: oneLine(lastError, 200) }),
    });
    if (failed.length > 0 && (await this.bounce(user, id, state, failed, message, remote))) failed = [];
    if (failed.length > 0 && givingUp) {
      this.log.error('bounce undeliverable; dropped', { user, id, recipients: failed.length });
      failed = [];
    }
    if (pending.length === 0 && failed.length === 0) {
      await branch.remove(itemPath(id), { message: `mail-queue: ${id} done (${sent} sent)\n` });
      return undefined;
    }
    const attempts = state.attempts + (outcomes.length > 0 ? 1 : 0);
    const next = nextAttemptTime(Math.max(attempts, 1), now, queuedAt, this.options.limits.retryDelaysMs, this.options.limits.giveUpAfterMs);
    const updated: QueueState = { ...state, pending, failed, attempts, nextAttemptAt: new Date(next).toISOString(), ...(lastError === undefined ? {} : { lastError }) };
    await branch.set(statePath(id), encodeQueueState(updated), { message: `mail-queue: ${id} attempt ${attempts}, ${pending.length} pending\n` });
    return next;
  }

  /** Delivers a bounce for `failed` to the sender; false when that did not work (tried again later). */
  private async bounce(user: string, id: string, state: QueueState, failed: FailedRecipient[], message: Buffer, remote: string | undefined): Promise<boolean> {
    const bounce = buildBounce({
      sender: state.from,
      failed,
      original: message,
      reportingMta: this.options.device,
      ...(remote === undefined ? {} : { remoteMta: remote }),
      arrival: new Date(state.queuedAt),
      now: new Date(this.now()),
    });
    try {
      await this.options.deliver(user, bounce, 'INBOX');
      this.log.info('bounce delivered', { user, id, recipients: failed.length });
      return true;
    } catch (err) {
      this.log.error('bounce delivery failed', { user, id, error: describeError(err) });
      return false;
    }
  }
}
