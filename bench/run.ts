/**
 * Runs benchmarks: every bench/*.bench.ts, or those named on the command line (`sha1` runs
 * bench/sha1.bench.ts). `--quick` shortens the rounds for a smoke run. Writes
 * bench/results/<name>.json and prints a table per bench. Called by `make bench`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { DEFAULT_OPTIONS, formatTable, runBench, writeReport, type Bench, type MeasureOptions } from './harness.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const options: MeasureOptions = quick ? { warmupMs: 50, roundMs: 100, rounds: 3 } : DEFAULT_OPTIONS;

const available = fs
  .readdirSync(benchDir)
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => file.slice(0, -'.bench.ts'.length))
  .sort();
const requested = args.filter((arg) => arg !== '--quick');
const unknown = requested.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`unknown bench: ${unknown.join(', ')} (available: ${available.join(', ')})`);
  process.exit(2);
}

for (const name of requested.length > 0 ? requested : available) {
  const module = (await import(pathToFileURL(path.join(benchDir, `${name}.bench.ts`)).href)) as { default: Bench };
  const report = await runBench(module.default, options);
  // A bench without timed cases (jitsu's memory figures) prints and writes its own results.
  if (report.results.length === 0) continue;
  const file = writeReport(report);
  console.log(`${formatTable(report)}\n→ ${path.relative(process.cwd(), file)}\n`);
}
