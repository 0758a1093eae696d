import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh, short temporary directory (unix socket paths must stay under ~100 bytes). */
export function tempDir(prefix = 'ny'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}
