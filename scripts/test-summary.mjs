#!/usr/bin/env node
// Runs uvu on each test folder given (one process per folder, so a crash in one does not hide
// the others), shows its output, and ends with the line CI reads: `N passed, N failed`.
// uvu's own summary is not in that form; skipped tests are not in its Total.
import { spawn } from 'node:child_process';

const folders = process.argv.slice(2);
if (folders.length === 0) {
  console.error('usage: test-summary.mjs FOLDER...');
  process.exit(2);
}

function runFolder(folder) {
  return new Promise((resolve) => {
    const child = spawn('npx', ['--no-install', 'uvu', '-r', 'tsx', folder, '\\.test\\.ts$'], {
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.on('close', (code) => {
      const count = (label) => Number(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm').exec(output)?.[1] ?? NaN);
      const total = count('Total');
      const passed = count('Passed');
      const skipped = count('Skipped') || 0;
      if (Number.isNaN(total) || Number.isNaN(passed)) {
        // No summary: the runner itself crashed. Count the folder as one failure.
        console.log(`\n${folder}: uvu exited ${code} without a summary`);
        resolve({ passed: 0, failed: 1, skipped: 0 });
      } else {
        const failed = total - passed + (code !== 0 && total === passed ? 1 : 0);
        resolve({ passed, failed, skipped });
      }
    });
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const folder of folders) {
  const result = await runFolder(folder);
  passed += result.passed;
  failed += result.failed;
  skipped += result.skipped;
}
// The last line is the contract (`N passed, N failed`); skipped tests, if any, are said before it.
if (skipped > 0) console.log(`\n${skipped} skipped`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
