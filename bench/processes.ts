/**
 * What the benchmarks read from /proc about the servers they start: a process and its
 * descendants, their CPU time and memory, whether one still runs. Linux only, like the peers.
 */
import fs from 'node:fs';

function childrenMap(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** The process and its descendants (NSD forks its server). */
export function processTree(pid: number): number[] {
  const children = childrenMap();
  const all: number[] = [];
  const visit = (id: number) => {
    all.push(id);
    for (const child of children.get(id) ?? []) visit(child);
  };
  visit(pid);
  return all;
}

const CLOCK_TICKS = 100;

/** CPU seconds (user + system) used so far by the processes. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks / CLOCK_TICKS;
}

/** Busy and total jiffies of each CPU (cpu0, cpu1, …). */
export function cpuTimes(): { busy: number; total: number }[] {
  return fs
    .readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((line) => /^cpu\d+ /.test(line))
    .map((line) => {
      const values = line.trim().split(/\s+/).slice(1).map(Number);
      const idle = values[3]! + (values[4] ?? 0);
      const total = values.reduce((a, b) => a + b, 0);
      return { busy: total - idle, total };
    });
}

export function memoryKiB(pid: number): { rssKiB: number | null; hwmKiB: number | null } {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => {
      const match = new RegExp(`${name}:\\s+(\\d+)`).exec(status);
      return match === null ? null : Number(match[1]);
    };
    return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
  } catch {
    return { rssKiB: null, hwmKiB: null };
  }
}

/** Alive and not a zombie (nobody reaps children in an exit handler). */
export function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Peak RSS (VmHWM) of a process and its descendants (a server that forks workers counts them all). */
export function peakRssKiB(pid: number): number | null {
  const peaks = processTree(pid)
    .map((id) => memoryKiB(id).hwmKiB)
    .filter((kib): kib is number => kib !== null);
  return peaks.length === 0 ? null : peaks.reduce((a, b) => a + b, 0);
}

/** The last lines of a server's log, for an error message. */
export const logTail = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').slice(-15).join('\n') : '(no log)');
