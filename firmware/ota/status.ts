/**
 * What became of updates: each step's outcome is one commit on refs/ota/status of
 * firmware.git (status.json; its history is the update history), which the owner fetches with
 * `git fetch <device> refs/ota/status`, and `ota status` on the console shows.
 */
import type { Store } from '../store/index.js';
import type { SlotName, SlotState } from './slots.js';
import { SLOTS } from './slots.js';

export const STATUS_REF = 'refs/ota/status';

export interface OtaOutcome {
  outcome: 'staged' | 'installed' | 'reverted' | 'rolled-back';
  version: string;
  counter: number;
  commit?: string | undefined;
  slot: SlotName;
  detail: string;
}

/** One line: "installed release 0.2.0 (counter 5) in slot b: health check passed". */
export function formatStatus(outcome: OtaOutcome): string {
  return `${outcome.outcome} release ${outcome.version} (counter ${outcome.counter}) in slot ${outcome.slot}: ${outcome.detail}`;
}

/** The last recorded outcome, with when it was recorded; undefined before the first update. */
export function lastOutcome(repository: Store): (OtaOutcome & { at: string }) | undefined {
  const text = repository.refLine(STATUS_REF).get('status.json')?.toString('utf8');
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as OtaOutcome & { at: string };
  } catch {
    return undefined;
  }
}

/** `ota status` and the web UI's dashboard: the slots, which one runs, and the last outcome, by name. */
export function describeSlots(
  state: SlotState,
  runningSlot: SlotName | undefined,
  last: (OtaOutcome & { at: string }) | undefined,
  os?: { booted: SlotName; committed: SlotName },
): Record<string, string> {
  const summary: Record<string, string> = {};
  for (const slot of SLOTS) {
    const release = state.slots[slot];
    const what = release === undefined ? (slot === 'a' ? 'the app the image was built with' : 'empty') : `release ${release.version} (counter ${release.counter})`;
    const marks = [slot === state.active ? 'active' : '', slot === state.trial ? 'on trial' : '', slot === runningSlot ? 'running' : '', release?.commit !== undefined && state.reverted.includes(release.commit) ? 'reverted' : ''].filter(Boolean);
    summary[`slot ${slot}`] = `${what}${marks.length > 0 ? ` [${marks.join(', ')}]` : ''}`;
  }
  if (os !== undefined) {
    for (const slot of SLOTS) {
      const marks = [slot === os.committed ? 'committed' : '', slot === state.osTrial ? 'on trial' : '', slot === os.booted ? 'running' : ''].filter(Boolean);
      summary[`os rootfs-${slot}`] = marks.length > 0 ? marks.join(', ') : '-';
    }
  }
  summary['anti-rollback'] = `releases above counter ${state.counter} are taken`;
  summary.last = last === undefined ? 'no update pushed yet' : `${formatStatus(last)} (${last.at})`;
  if (runningSlot === undefined) summary.updates = 'off: not started from a slot by nyinit';
  return summary;
}
