/**
 * Time as the drivers see it: injected, so that tests can run a 10-second button hold or a
 * watchdog's petting schedule in microseconds. `realTimers` is Node's; `ManualClock` is the
 * host fake, moved forward by hand.
 */

/** Opaque: only the `Timers` that made it can cancel it. */
export type TimerHandle = unknown;

export interface Timers {
  /** Milliseconds on a monotonic scale (only differences matter). */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Node's timers, unref'd: a blinking LED or a petting loop must not by itself keep the
 * process alive after everything else has stopped.
 */
export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface PendingTimer {
  id: number;
  dueAt: number;
  callback: () => void;
}

/** Fake time for tests and host demos: nothing fires until `advance()` says so. */
export class ManualClock implements Timers {
  private current = 0;
  private nextId = 1;
  private pending: PendingTimer[] = [];

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer = { id: this.nextId++, dueAt: this.current + Math.max(0, delayMs), callback };
    this.pending.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.pending = this.pending.filter((t) => t.id !== handle);
  }

  /** How many timers are waiting to fire. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, in order, with
   * `now()` at its due time; timers that those callbacks set are fired too if they fall due.
   */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      let next: PendingTimer | undefined;
      for (const t of this.pending) {
        if (t.dueAt <= end && (next === undefined || t.dueAt < next.dueAt || (t.dueAt === next.dueAt && t.id < next.id))) next = t;
      }
      if (next === undefined) break;
      const due = next;
      this.pending = this.pending.filter((t) => t !== due);
      this.current = due.dueAt;
      due.callback();
    }
    this.current = end;
  }
}
