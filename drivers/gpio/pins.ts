/**
 * The two kinds of pin the board needs, as small as the LED and the button use them. Levels
 * are logical (1 = LED lit, 1 = button pressed); active-low wiring is the pin's business.
 */
export type PinLevel = 0 | 1;

export interface OutputPin {
  write(level: PinLevel): void;
  /** Releases the pin (unexport on sysfs). */
  close(): void;
}

export interface InputPin {
  read(): PinLevel;
  /** Calls `onEdge` with the new level on every change the hardware reports (bounces included). */
  watch(onEdge: (level: PinLevel) => void): void;
  close(): void;
}

export interface InputOptions {
  /** The line reads 0 when active (button to ground with a pull-up): invert it. */
  activeLow?: boolean;
}

export interface OutputOptions {
  /** The LED lights when the line is driven low. */
  activeLow?: boolean;
}

/** Opens pins by the board's numbering (line offsets on the board's GPIO chip). */
export interface PinFactory {
  output(line: number, options?: OutputOptions): OutputPin;
  input(line: number, options?: InputOptions): InputPin;
}
