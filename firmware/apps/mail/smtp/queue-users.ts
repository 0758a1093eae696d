/**
 * Which users may have mail in their outbound queue: a hint file in the config directory
 * (`mail-queue-users.json`), so that after a restart the queue knows whose stores to look in
 * without opening every user's. A user is added before their first message is queued and
 * dropped when their queue is found empty.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readFileIfExists, writeFileDurable } from '../../../runtime/index.js';

export const QUEUE_USERS_FILE = 'mail-queue-users.json';

export class QueueUsers {
  private readonly file: string;
  private users: Set<string>;

  constructor(configDir: string) {
    this.file = path.join(configDir, QUEUE_USERS_FILE);
    this.users = new Set(readUsers(this.file));
  }

  list(): string[] {
    return [...this.users];
  }

  add(user: string): void {
    if (this.users.has(user)) return;
    this.users.add(user);
    this.write();
  }

  remove(user: string): void {
    if (!this.users.delete(user)) return;
    this.write();
  }

  private write(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    writeFileDurable(this.file, `${JSON.stringify([...this.users].sort())}\n`, 0o644);
  }
}

function readUsers(file: string): string[] {
  const text = readFileIfExists(file);
  if (text === undefined) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((u): u is string => typeof u === 'string' && /^[a-z][a-z0-9_-]{0,31}$/.test(u)) : [];
  } catch {
    return [];
  }
}
