/**
 * In-memory pins for host runs and tests: outputs remember what was written and when,
 * inputs are driven by `set()` as a finger (and a bouncing contact) would.
 */
import type { InputPin, OutputPin, PinFactory, PinLevel } from './pins.js';

export interface PinWrite {
  at: number;
  level: PinLevel;
}

export class FakePin implements OutputPin, InputPin {
  level: PinLevel = 0;
  readonly writes: PinWrite[] = [];
  closed = false;
  private readonly watchers: Array<(level: PinLevel) => void> = [];

  constructor(
    readonly line: number,
    private readonly now: () => number,
  ) {}

  write(level: PinLevel): void {
    this.level = level;
    this.writes.push({ at: this.now(), level });
  }

  read(): PinLevel {
    return this.level;
  }

  watch(onEdge: (level: PinLevel) => void): void {
    this.watchers.push(onEdge);
  }

  /** Simulates the outside world changing the line; like an edge interrupt, only a change notifies. */
  set(level: PinLevel): void {
    if (level === this.level) return;
    this.level = level;
    if (!this.closed) for (const onEdge of this.watchers) onEdge(level);
  }

  close(): void {
    this.closed = true;
    this.watchers.length = 0;
  }
}

export class FakePins implements PinFactory {
  private readonly pins = new Map<number, FakePin>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The pin on `line`, made on first use (tests look at it after the driver opened it). */
  pin(line: number): FakePin {
    let pin = this.pins.get(line);
    if (pin === undefined) {
      pin = new FakePin(line, this.now);
      this.pins.set(line, pin);
    }
    return pin;
  }

  output(line: number): OutputPin {
    return this.open(line);
  }

  input(line: number): InputPin {
    return this.open(line);
  }

  private open(line: number): FakePin {
    const pin = this.pin(line);
    pin.closed = false;
    return pin;
  }
}
