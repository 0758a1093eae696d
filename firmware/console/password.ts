/**
 * The optional console password: anyone with the serial cable gets the console, so an owner
 * may lock it. The scrypt hash lives in secrets/console-password; a wrong password makes the
 * next attempt wait longer (1 s doubling to a minute, for every session of this process), so
 * guessing over a 115200-baud line gets nowhere.
 */
import fs from 'node:fs';
import path from 'node:path';
import { hashPassword, passwordProblem, verifyPassword } from '../accounts/index.js';
import { NymoteError, writeFileDurable } from '../runtime/index.js';

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 60_000;

export class ConsolePassword {
  private readonly file: string;
  private failures = 0;
  private notBefore = 0;

  constructor(
    secretsDir: string,
    private readonly sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    private readonly now = () => Date.now(),
  ) {
    this.file = path.join(secretsDir, 'console-password');
  }

  isSet(): boolean {
    return fs.existsSync(this.file);
  }

  /** Sets the password, or removes it (`undefined`): the console opens without one. */
  async set(password: string | undefined): Promise<void> {
    if (password === undefined) {
      fs.rmSync(this.file, { force: true });
      return;
    }
    const problem = passwordProblem(password);
    if (problem !== undefined) throw new NymoteError('EINVAL', problem);
    writeFileDurable(this.file, `${await hashPassword(password)}\n`, 0o600);
  }

  /** Waits out the delay earned by earlier failures, then checks; a failure doubles the delay. */
  async check(password: string): Promise<boolean> {
    const wait = this.notBefore - this.now();
    if (wait > 0) await this.sleep(wait);
    let stored: string;
    try {
      stored = fs.readFileSync(this.file, 'utf8').trim();
    } catch {
      return true; // removed meanwhile: the console is open
    }
    if (await verifyPassword(password, stored)) {
      this.failures = 0;
      this.notBefore = 0;
      return true;
    }
    this.failures++;
    this.notBefore = this.now() + Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (this.failures - 1));
    return false;
  }
}
