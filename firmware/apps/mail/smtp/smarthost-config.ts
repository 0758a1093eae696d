/**
 * Where mail for other domains goes: one smarthost, set by the owner (a console or CLI command
 * calls `saveSmarthost`). Settings are JSON in `<config>/mail-smarthost.json`; the password is
 * the only content of `<secrets>/mail-smarthost.password` (0600), so it is never in the
 * store, in a settings listing or in a log line.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { NymoteError, readFileIfExists, writeFileDurable } from '../../../runtime/index.js';

export const SMARTHOST_SETTINGS_FILE = 'mail-smarthost.json';
export const SMARTHOST_PASSWORD_FILE = 'mail-smarthost.password';

export interface SmarthostSettings {
  host: string;
  port: number;
  /** 'tls': TLS from the first byte (465); 'starttls': STARTTLS required (587). Never clear text. */
  security: 'tls' | 'starttls';
  /** Login name at the smarthost; no login when absent. */
  user?: string;
  /** PEM certificate(s) to trust for this smarthost instead of the system's CAs (a self-signed relay). */
  ca?: string;
}

export interface Smarthost extends SmarthostSettings {
  password?: string;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function invalid(message: string): NymoteError {
  return new NymoteError('ESMARTHOST', `smarthost settings: ${message}`);
}

/** Checks settings (from a file or a command) and returns them in canonical form. */
export function checkSmarthostSettings(value: unknown): SmarthostSettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('expected a JSON object');
  const v = value as Record<string, unknown>;
  if (typeof v.host !== 'string' || !(HOSTNAME.test(v.host) || net.isIP(v.host) !== 0)) throw invalid('host must be a host name or an IP address');
  if (typeof v.port !== 'number' || !Number.isInteger(v.port) || v.port < 1 || v.port > 65535) throw invalid('port must be 1-65535');
  if (v.security !== 'tls' && v.security !== 'starttls') throw invalid("security must be 'tls' or 'starttls'");
  const settings: SmarthostSettings = { host: v.host, port: v.port, security: v.security };
  if (v.user !== undefined) {
    if (typeof v.user !== 'string' || v.user === '' || v.user.length > 256 || /[\x00-\x1f\x7f]/.test(v.user)) throw invalid('user must be a non-empty name without control characters');
    settings.user = v.user;
  }
  if (v.ca !== undefined) {
    if (typeof v.ca !== 'string' || !v.ca.includes('-----BEGIN CERTIFICATE-----') || v.ca.length > 64 * 1024) throw invalid('ca must be PEM certificates');
    settings.ca = v.ca;
  }
  return settings;
}

/** The configured smarthost with its password, or undefined when none is set. Throws ESMARTHOST on a broken file. */
export function loadSmarthost(configDir: string, secretsDir: string): Smarthost | undefined {
  const text = readFileIfExists(path.join(configDir, SMARTHOST_SETTINGS_FILE));
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid(`${SMARTHOST_SETTINGS_FILE} is not valid JSON`);
  }
  const settings = checkSmarthostSettings(parsed);
  if (settings.user === undefined) return settings;
  const password = readFileIfExists(path.join(secretsDir, SMARTHOST_PASSWORD_FILE))?.replace(/\r?\n$/, '');
  if (password === undefined || password === '') throw invalid(`user ${settings.user} is set but ${SMARTHOST_PASSWORD_FILE} is missing in the secrets directory`);
  return { ...settings, password };
}

/**
 * Sets the smarthost. `password` replaces the stored one when given; without a user the
 * stored password is removed. Settings are checked before anything is written.
 */
export function saveSmarthost(configDir: string, secretsDir: string, settings: SmarthostSettings, password?: string): void {
  const checked = checkSmarthostSettings(settings);
  const passwordFile = path.join(secretsDir, SMARTHOST_PASSWORD_FILE);
  if (password !== undefined && (password === '' || /[\r\n]/.test(password))) throw invalid('the password must be one non-empty line');
  if (checked.user !== undefined && password === undefined && !fs.existsSync(passwordFile)) throw invalid(`a password is needed for user ${checked.user}`);
  if (checked.user === undefined && password !== undefined) throw invalid('a password needs a user');
  fs.mkdirSync(configDir, { recursive: true });
  if (checked.user === undefined) fs.rmSync(passwordFile, { force: true });
  else if (password !== undefined) {
    fs.mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
    writeFileDurable(passwordFile, `${password}\n`, 0o600);
  }
  writeFileDurable(path.join(configDir, SMARTHOST_SETTINGS_FILE), `${JSON.stringify(checked, null, 2)}\n`, 0o644);
}

/** Removes the smarthost: mail for other domains is refused again. */
export function removeSmarthost(configDir: string, secretsDir: string): void {
  fs.rmSync(path.join(configDir, SMARTHOST_SETTINGS_FILE), { force: true });
  fs.rmSync(path.join(secretsDir, SMARTHOST_PASSWORD_FILE), { force: true });
}

/** Settings without the password, for `status` displays. */
export function describeSmarthost(smarthost: SmarthostSettings | undefined): string {
  if (smarthost === undefined) return 'no smarthost';
  return `${smarthost.host}:${smarthost.port} (${smarthost.security}${smarthost.user === undefined ? '' : `, user ${smarthost.user}`})`;
}
