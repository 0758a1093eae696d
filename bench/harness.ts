/**
 * Shared benchmark harness. A bench is a list of cases (one workload × one implementation);
 * each is warmed up, then run for several fixed-time rounds, interleaved with the other
 * implementations of the same workload; the reported value is the median rate over the rounds. Results go to bench/results/<name>.json with ratios against the bench's
 * baseline implementation, and to a table on stdout. Numbers are for comparing peers on one
 * machine in one run, never asserted in tests.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchCase {
  /** The workload, e.g. "64 B". */
  readonly case: string;
  readonly implementation: string;
  /** Units of work one call of `run` does (e.g. objects hashed), so rates are per unit. */
  readonly unitsPerRun: number;
  /** Called (untimed) before warm-up and before each round, e.g. to switch a backend or refill inputs. */
  readonly setup?: () => void | Promise<void>;
  readonly run: () => unknown;
  /** Run exactly this many times per round instead of for a fixed time: for cases that use up
   * inputs prepared by `setup` (a merge needs a fresh pair of branches). Warm-up runs once. */
  readonly runsPerRound?: number;
}

export interface Bench {
  readonly name: string;
  /** What the values count, e.g. "objects/s". */
  readonly unit: string;
  /** Ratios are value / value of this implementation in the same case. */
  readonly baseline: string;
  /** Built lazily so that discovering benches allocates nothing. */
  cases(): BenchCase[] | Promise<BenchCase[]>;
}

export interface Measurement {
  case: string;
  implementation: string;
  value: number;
}

export interface Ratio {
  case: string;
  implementation: string;
  baseline: string;
  value: number;
}

export interface BenchReport {
  name: string;
  unit: string;
  date: string;
  machine: { cpu: string; cores: number; node: string };
  results: Measurement[];
  ratios: Ratio[];
}

export interface MeasureOptions {
  warmupMs: number;
  roundMs: number;
  rounds: number;
}

export const DEFAULT_OPTIONS: MeasureOptions = { warmupMs: 300, roundMs: 400, rounds: 5 };

const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Calls `run` until `ms` have passed; returns calls per second. Awaits only async runs. */
async function runFor(run: () => unknown, ms: number): Promise<number> {
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(ms * 1e6));
  let calls = 0;
  let now = start;
  do {
    const result = run();
    if (result instanceof Promise) await result;
    calls++;
    now = process.hrtime.bigint();
  } while (now < deadline);
  return calls / (Number(now - start) / 1e9);
}

/** Calls `run` exactly `times` times; returns calls per second. */
async function runTimes(run: () => unknown, times: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < times; i++) {
    const result = run();
    if (result instanceof Promise) await result;
  }
  return times / (Number(process.hrtime.bigint() - start) / 1e9);
}

/**
 * Median rates (units per second) of cases that compete on one workload. Rounds are
 * interleaved (A B C, A B C, …) so that load from elsewhere on the machine hits every
 * implementation alike instead of skewing whichever ran during it.
 */
export async function measureInterleaved(cases: readonly BenchCase[], options: MeasureOptions = DEFAULT_OPTIONS): Promise<number[]> {
  for (const benchCase of cases) {
    await benchCase.setup?.();
    if (benchCase.runsPerRound === undefined) await runFor(benchCase.run, options.warmupMs);
    else await runTimes(benchCase.run, 1);
  }
  const rates: number[][] = cases.map(() => []);
  for (let round = 0; round < options.rounds; round++) {
    for (const [index, benchCase] of cases.entries()) {
      await benchCase.setup?.();
      const callsPerSecond =
        benchCase.runsPerRound === undefined ? await runFor(benchCase.run, options.roundMs) : await runTimes(benchCase.run, benchCase.runsPerRound);
      rates[index]!.push(callsPerSecond * benchCase.unitsPerRun);
    }
  }
  return rates.map(median);
}

export function ratiosAgainst(baseline: string, results: readonly Measurement[]): Ratio[] {
  return results.flatMap((result) => {
    const base = results.find((r) => r.case === result.case && r.implementation === baseline);
    if (base === undefined || result.implementation === baseline) return [];
    return [{ case: result.case, implementation: result.implementation, baseline, value: result.value / base.value }];
  });
}

export async function runBench(bench: Bench, options: MeasureOptions = DEFAULT_OPTIONS): Promise<BenchReport> {
  const cases = await bench.cases();
  const workloads = [...new Set(cases.map((c) => c.case))];
  const results: Measurement[] = [];
  for (const workload of workloads) {
    const competing = cases.filter((c) => c.case === workload);
    process.stderr.write(`  ${bench.name}: ${workload} (${competing.length} implementations)\n`);
    const values = await measureInterleaved(competing, options);
    competing.forEach((c, i) => results.push({ case: c.case, implementation: c.implementation, value: values[i]! }));
  }
  return {
    name: bench.name,
    unit: bench.unit,
    date: new Date().toISOString(),
    machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version },
    results,
    ratios: ratiosAgainst(bench.baseline, results),
  };
}

export function writeReport(report: BenchReport): string {
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${report.name}.json`);
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  return file;
}

export function formatTable(report: BenchReport): string {
  const baseline = report.ratios[0]?.baseline;
  const header = ['case', 'implementation', report.unit, baseline === undefined ? '' : `× ${baseline}`];
  const rows = report.results.map((result) => {
    const ratio = report.ratios.find((r) => r.case === result.case && r.implementation === result.implementation);
    return [
      result.case,
      result.implementation,
      Math.round(result.value).toLocaleString('en-US'),
      ratio === undefined ? (result.implementation === baseline ? '1.00' : '') : ratio.value.toFixed(2),
    ];
  });
  const { cpu, cores, node } = report.machine;
  return `${report.name} — ${cpu}, ${cores} cores, node ${node}\n${formatColumns([header, ...rows], (column) => column >= 2)}`;
}

/** Rows as aligned text columns two spaces apart; numbers (columns where `right` holds) right-aligned. */
export function formatColumns(rows: readonly string[][], right: (column: number) => boolean): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: readonly string[]) => row.map((cell, column) => (right(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ');
  return rows.map(line).join('\n');
}
