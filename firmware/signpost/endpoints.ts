/**
 * Where the owner's devices were last reached: config/signpost-endpoints.json, by device id.
 * A certificate says who a device is, not where; pairing records the address it paired over,
 * and the channel records the source of a peer's latest authenticated packet (roaming), so
 * the next handshake goes where the peer was last seen. Not secret, and only a hint: a wrong
 * one costs a handshake that nobody answers, never trust.
 */
import fs from 'node:fs';
import path from 'node:path';
import { withFileLock, writeFileDurable } from '../runtime/index.js';
import type { Endpoint } from './channel/index.js';

const MAX_ENTRIES = 256;

export class EndpointBook {
  readonly file: string;
  private cache: { stamp: string; entries: Record<string, Endpoint> } | undefined;

  constructor(configDir: string) {
    this.file = path.join(configDir, 'signpost-endpoints.json');
  }

  get(id: string): Endpoint | undefined {
    return this.read()[id];
  }

  /** Records where device `id` is; no write when nothing changed. */
  set(id: string, endpoint: Endpoint): void {
    const known = this.read()[id];
    if (known !== undefined && known.address === endpoint.address && known.port === endpoint.port) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    withFileLock(this.file, () => {
      const entries = { ...this.readFile(), [id]: { address: endpoint.address, port: endpoint.port } };
      const ids = Object.keys(entries);
      for (const old of ids.slice(0, Math.max(0, ids.length - MAX_ENTRIES))) delete entries[old];
      writeFileDurable(this.file, `${JSON.stringify(entries, null, 2)}\n`);
    });
    this.cache = undefined;
  }

  /** The file as last read, re-read when it changed (another process, e.g. `nymote pair`, wrote it). */
  private read(): Record<string, Endpoint> {
    let stamp = '';
    try {
      const stat = fs.statSync(this.file);
      stamp = `${stat.mtimeMs}:${stat.size}`;
    } catch {
      return {};
    }
    if (this.cache?.stamp !== stamp) this.cache = { stamp, entries: this.readFile() };
    return this.cache.entries;
  }

  private readFile(): Record<string, Endpoint> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(this.file, 'utf8'));
    } catch {
      return {}; // missing or damaged: hints only, the channel learns them again
    }
    const entries: Record<string, Endpoint> = {};
    if (typeof parsed !== 'object' || parsed === null) return entries;
    for (const [id, value] of Object.entries(parsed as Record<string, unknown>)) {
      const { address, port } = (value ?? {}) as Record<string, unknown>;
      if (typeof address === 'string' && address.length <= 64 && Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536) {
        entries[id] = { address, port: port as number };
      }
    }
    return entries;
  }
}
