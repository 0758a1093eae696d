/**
 * Bearer tokens for apps: `nymote token add USER` makes a random token and shows it once; only
 * its SHA-256 is kept, in secrets/tokens.json (0600, never synced, never in git). A token
 * authenticates as its user for as long as both exist. Changes go through a lock and a
 * durable atomic write like users.json, so the CLI can add or revoke tokens while an instance
 * runs; the instance sees them at once (it re-reads the file when it changes).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NymoteError, withFileLock, writeFileDurable } from '../runtime/index.js';

interface TokenRecord {
  user: string;
  name: string;
  /** Hex SHA-256 of the whole token string. */
  sha256: string;
  created: string;
}

interface TokensFile {
  version: 1;
  tokens: TokenRecord[];
}

export interface TokenSummary {
  user: string;
  name: string;
  created: string;
}

/** `nym_` and 32 random bytes in base64url: 256 bits, recognisable in a leaked config. */
export const TOKEN_PREFIX = 'nym_';
const TOKEN_SHAPE = /^nym_[A-Za-z0-9_-]{43}$/;
const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const MAX_TOKENS_PER_USER = 100;

export function tokenNameProblem(name: string): string | undefined {
  return TOKEN_NAME.test(name) ? undefined : `invalid token name '${name.slice(0, 80)}': use 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit`;
}

function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

export class TokenStore {
  readonly file: string;
  private cache: { mtimeMs: number; size: number; ino: number; tokens: TokenRecord[]; byHash: Map<string, TokenRecord> } | undefined;

  constructor(secretsDir: string) {
    this.file = path.join(secretsDir, 'tokens.json');
  }

  /** Makes a token for `user` and returns it: the only time it is seen. */
  add(user: string, name?: string): { name: string; token: string } {
    if (name !== undefined) {
      const problem = tokenNameProblem(name);
      if (problem !== undefined) throw new NymoteError('EINVAL', problem);
    }
    const token = TOKEN_PREFIX + crypto.randomBytes(32).toString('base64url');
    let chosen = name ?? '';
    this.update((tokens) => {
      const own = tokens.filter((t) => t.user === user);
      if (own.length >= MAX_TOKENS_PER_USER) throw new NymoteError('ELIMIT', `${user} already has ${MAX_TOKENS_PER_USER} tokens; revoke some first`);
      if (name === undefined) {
        let n = own.length + 1;
        while (own.some((t) => t.name === `token-${n}`)) n++;
        chosen = `token-${n}`;
      } else if (own.some((t) => t.name === name)) {
        throw new NymoteError('EEXIST', `${user} already has a token named '${name}'`);
      }
      return [...tokens, { user, name: chosen, sha256: hashToken(token), created: new Date().toISOString() }];
    });
    return { name: chosen, token };
  }

  list(user?: string): TokenSummary[] {
    return this.load()
      .tokens.filter((t) => user === undefined || t.user === user)
      .map(({ user: u, name, created }) => ({ user: u, name, created }));
  }

  revoke(user: string, name: string): void {
    this.update((tokens) => {
      if (!tokens.some((t) => t.user === user && t.name === name)) {
        throw new NymoteError('ENOTFOUND', `${user} has no token named '${name.slice(0, 80)}'`);
      }
      return tokens.filter((t) => !(t.user === user && t.name === name));
    });
  }

  /** Removes every token of a user (when the user is removed). */
  revokeAll(user: string): number {
    let removed = 0;
    this.update((tokens) => {
      const kept = tokens.filter((t) => t.user !== user);
      removed = tokens.length - kept.length;
      return kept;
    });
    return removed;
  }

  /** The user and token name a presented token belongs to, or undefined. */
  lookup(token: string): { user: string; name: string } | undefined {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    // Looked up by hash: the comparison never touches the secret itself.
    const record = this.load().byHash.get(hashToken(token));
    return record === undefined ? undefined : { user: record.user, name: record.name };
  }

  private load(): NonNullable<TokenStore['cache']> {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.cache = undefined;
      return { mtimeMs: 0, size: 0, ino: 0, tokens: [], byHash: new Map() };
    }
    const c = this.cache;
    if (c !== undefined && c.mtimeMs === stat.mtimeMs && c.size === stat.size && c.ino === stat.ino) return c;
    const tokens = parseTokensFile(fs.readFileSync(this.file, 'utf8'), this.file);
    this.cache = { mtimeMs: stat.mtimeMs, size: stat.size, ino: stat.ino, tokens, byHash: new Map(tokens.map((t) => [t.sha256, t])) };
    return this.cache;
  }

  private update(change: (tokens: TokenRecord[]) => TokenRecord[]): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    withFileLock(this.file, () => {
      this.cache = undefined;
      const next: TokensFile = { version: 1, tokens: change(this.load().tokens) };
      writeFileDurable(this.file, JSON.stringify(next, null, 2) + '\n', 0o600);
      this.cache = undefined;
    });
  }
}

function parseTokensFile(text: string, file: string): TokenRecord[] {
  try {
    const parsed = JSON.parse(text) as Partial<TokensFile>;
    if (parsed.version !== 1 || !Array.isArray(parsed.tokens)) throw new Error('unknown format');
    return parsed.tokens.filter(
      (t): t is TokenRecord =>
        typeof t?.user === 'string' && typeof t.name === 'string' && typeof t.sha256 === 'string' && /^[0-9a-f]{64}$/.test(t.sha256) && typeof t.created === 'string',
    );
  } catch (err) {
    throw new NymoteError('ECORRUPT', `${file} is not a valid tokens file: ${(err as Error).message}`);
  }
}
