/**
 * The only door from the firmware to native code. Each addon has a JS twin with the same
 * interface; the loader picks the addon and falls back to the twin, saying so once on stderr.
 *
 * Where addons are looked for, first hit wins:
 *   $NYMOTE_NATIVE_DIR/<name>.node                  only this, when the variable is set
 *   <this module's dir>/native/<platform>-<arch>/   beside the bundle (dist/firmware, device slots)
 *   <repo>/build/Release/                           source tree under tsx, or a bundle in dist/
 * NYMOTE_NATIVE=js forces the twins (no warning: it was asked for).
 */
import type { Socket } from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { AeadAddon, AeadAlgorithm, AeadBinding } from '../native/aead/binding.js';
import { aeadTwin } from '../native/aead/twin.js';
import type { DnsMessage, DnswireAddon, DnswireBinding } from '../native/dnswire/binding.js';
import { dnswireTwin } from '../native/dnswire/twin.js';
import type { BatchSocket, UdpBatchAddon, UdpBatchBinding } from '../native/udpbatch/binding.js';
import { udpBatchTwin } from '../native/udpbatch/twin.js';
import type { Sha1Addon, Sha1Backend, Sha1Binding } from '../native/sha1/binding.js';
import { sha1Twin } from '../native/sha1/twin.js';
import { formatLine } from './runtime/log.js';

// DNS types and the JS name helpers (zones, DNSSEC order) come through here too: the firmware
// reaches native/ only by this module.
export { DNS_CLASS_IN, DNS_TYPE, DNSWIRE_ERRORS } from '../native/dnswire/binding.js';
export type { DnsMessage, DnsQuestion, DnsRecord, DnswireErrorCode } from '../native/dnswire/binding.js';
export { compareCanonical, lowerName, nameFromWire, nameToWire, wireNameLength } from '../native/dnswire/names.js';
export type { BatchSocket } from '../native/udpbatch/binding.js';
export type { AeadAlgorithm, AeadBackend } from '../native/aead/binding.js';

export type GitObjectType = 'blob' | 'tree' | 'commit' | 'tag';

export interface ObjectHasher {
  update(chunk: Uint8Array): void;
  /** The object id; throws a RangeError (ERR_SHA1_LENGTH_MISMATCH) unless exactly the declared length was given. */
  digest(): Buffer;
}

export interface Sha1Engine {
  readonly implementation: 'native' | 'js';
  /** What computes the hashes: the Node's OpenSSL, the addon's portable C, or node:crypto. */
  readonly backend: Sha1Backend;
  /** Object ids of a batch, concatenated: 20 bytes each. One native call for the whole batch. */
  hashObjects(type: GitObjectType | readonly GitObjectType[], contents: readonly Uint8Array[]): Buffer;
  hashObject(type: GitObjectType, content: Uint8Array): Buffer;
  /** For objects too large to hold in memory at once; `length` is the content length. */
  createObjectHasher(type: GitObjectType, length: number): ObjectHasher;
  /** Plain SHA-1 (pack trailers, index checksums). */
  sha1(data: Uint8Array): Buffer;
}

export type AddonLoad<T> = { addon: T; file: string } | { addon: undefined; reason: string };

export const SHA1_ADDON_FUNCTIONS = [
  'hashObjects',
  'createHasher',
  'update',
  'digest',
  'sha1',
  'backend',
  'setBackend',
] as const;

export const DNSWIRE_ADDON_FUNCTIONS = ['decode', 'encode'] as const;

/** DNS messages to and from wire format (see native/dnswire/binding.ts for the rules). */
export type DnswireEngine = DnswireBinding & { readonly implementation: 'native' | 'js' };

const moduleDir = path.dirname(fileURLToPath(import.meta.url));

// Loading one file twice would run the addon's init twice on one environment.
const loadedAddons = new Map<string, object>();

function addonCandidates(name: string): string[] {
  const overrideDir = process.env.NYMOTE_NATIVE_DIR;
  if (overrideDir !== undefined && overrideDir !== '') return [path.join(overrideDir, `${name}.node`)];
  return [
    path.join(moduleDir, 'native', `${process.platform}-${process.arch}`, `${name}.node`),
    // firmware/native.ts in the source tree, or dist/firmware/index.js in a bundle.
    path.join(moduleDir, '..', 'build', 'Release', `${name}.node`),
    path.join(moduleDir, '..', '..', 'build', 'Release', `${name}.node`),
  ];
}

/**
 * Loads addon `name` by the rules above and checks that it exports `functions`. Firmware code
 * uses the engines below; tests and benchmarks use this to reach addon-only extras.
 */
export function loadAddon<T extends object>(name: string, functions: readonly string[]): AddonLoad<T> {
  if (process.env.NYMOTE_NATIVE === 'js') return { addon: undefined, reason: 'NYMOTE_NATIVE=js' };
  const candidates = addonCandidates(name);
  const file = candidates.find((candidate) => fs.existsSync(candidate));
  if (file === undefined) return { addon: undefined, reason: `not found in ${candidates.join(', ')}` };
  let exports = loadedAddons.get(file);
  if (exports === undefined) {
    const holder: { exports: object } = { exports: {} };
    try {
      // process.dlopen rather than require: no bundler rewrites it, and the path is ours.
      process.dlopen(holder, file);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { addon: undefined, reason: `${file}: ${message.split('\n')[0]}` };
    }
    exports = holder.exports;
    loadedAddons.set(file, exports);
  }
  const exported = exports as Record<string, unknown>;
  const missing = functions.filter((fn) => typeof exported[fn] !== 'function');
  if (missing.length > 0) return { addon: undefined, reason: `${file} lacks ${missing.join(', ')}` };
  return { addon: exports as T, file };
}

function sha1EngineOn(binding: Sha1Binding, implementation: Sha1Engine['implementation']): Sha1Engine {
  return Object.freeze({
    implementation,
    get backend() {
      return binding.backend();
    },
    hashObjects: (type: GitObjectType | readonly GitObjectType[], contents: readonly Uint8Array[]) =>
      binding.hashObjects(type, contents),
    hashObject: (type: GitObjectType, content: Uint8Array) => binding.hashObjects(type, [content]),
    createObjectHasher(type: GitObjectType, length: number): ObjectHasher {
      const handle = binding.createHasher(type, length);
      return {
        update: (chunk) => binding.update(handle, chunk),
        digest: () => binding.digest(handle),
      };
    },
    sha1: (data: Uint8Array) => binding.sha1(data),
  });
}

/**
 * The engine on addon `name` when it loads, else the twin's, saying so once on stderr (not
 * when NYMOTE_NATIVE=js asked for the twins).
 */
function pickEngine<Addon extends object, Engine>(name: string, functions: readonly string[], onAddon: (addon: Addon) => Engine, twin: () => Engine): Engine {
  const load = loadAddon<Addon>(name, functions);
  if ('file' in load) return onAddon(load.addon);
  if (process.env.NYMOTE_NATIVE !== 'js') {
    process.stderr.write(formatLine('warn', `native ${name} addon unavailable, using JS twin`, { reason: load.reason }) + '\n');
  }
  return twin();
}

function pickSha1Engine(): Sha1Engine {
  return pickEngine<Sha1Addon, Sha1Engine>('sha1', SHA1_ADDON_FUNCTIONS, (addon) => sha1EngineOn(addon, 'native'), () => sha1EngineOn(sha1Twin, 'js'));
}

/** Git object hashing for the whole firmware (the store, the git server, packs). */
export const sha1: Sha1Engine = pickSha1Engine();

function dnswireEngineOn(binding: DnswireBinding, implementation: DnswireEngine['implementation']): DnswireEngine {
  return Object.freeze({ implementation, decode: binding.decode, encode: binding.encode });
}

function pickDnswireEngine(): DnswireEngine {
  return pickEngine<DnswireAddon, DnswireEngine>('dnswire', DNSWIRE_ADDON_FUNCTIONS, (addon) => dnswireEngineOn(addon, 'native'), () => dnswireEngineOn(dnswireTwin, 'js'));
}

// Picked on first use, so that processes that never touch DNS (the CLI, git tools) neither
// load the addon nor warn about it.
let dnswirePicked: DnswireEngine | undefined;
const dnswireEngine = (): DnswireEngine => (dnswirePicked ??= pickDnswireEngine());

/** DNS message parse/serialize for the DNS server (Signpost). */
export const dnswire: DnswireEngine = Object.freeze({
  get implementation() {
    return dnswireEngine().implementation;
  },
  decode: (wire: Uint8Array) => dnswireEngine().decode(wire),
  encode: (message: DnsMessage) => dnswireEngine().encode(message),
});

/** UDP sockets whose replies leave many per system call (sendmmsg) with the addon. */
export type UdpBatchEngine = UdpBatchBinding & { readonly implementation: 'native' | 'js' };

function udpBatchOn(addon: UdpBatchAddon): UdpBatchEngine {
  return Object.freeze({
    implementation: 'native' as const,
    bind: (socket: Socket, address: string, port: number): Promise<BatchSocket> => {
      // The addon opens and binds the descriptor and dgram adopts it, so both may write to it.
      const fd = addon.openUdp(address, port);
      return new Promise((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ fd }, () => {
          socket.off('error', reject);
          resolve({
            socket,
            sendAll(datagrams, ports, addresses) {
              const sent = addon.sendBatch(fd, datagrams, ports, addresses);
              for (let i = sent; i < datagrams.length; i++) socket.send(datagrams[i]!, ports[i]!, addresses[i]!);
            },
          });
        });
      });
    },
  });
}

let udpBatchPicked: UdpBatchEngine | undefined;

/** Batched UDP for the DNS server (Signpost); picked on first use like dnswire. */
export const udpBatch: UdpBatchBinding = Object.freeze({
  bind: (socket: Socket, address: string, port: number) =>
    (udpBatchPicked ??= pickEngine<UdpBatchAddon, UdpBatchEngine>('udpbatch', ['openUdp', 'sendBatch'], udpBatchOn, () => ({ ...udpBatchTwin, implementation: 'js' }))).bind(socket, address, port),
});

/** AEAD record seal/open (see native/aead/binding.ts for the algorithms and record layouts). */
export type AeadEngine = AeadBinding & { readonly implementation: 'native' | 'js' };

export const AEAD_ADDON_FUNCTIONS = ['seal', 'open', 'sealBatch', 'openBatch', 'backend', 'setBackend'] as const;

function aeadEngineOn(binding: AeadBinding, implementation: AeadEngine['implementation']): AeadEngine {
  return Object.freeze({
    implementation,
    seal: binding.seal,
    open: binding.open,
    sealBatch: binding.sealBatch,
    openBatch: binding.openBatch,
    backend: binding.backend,
  });
}

let aeadPicked: AeadEngine | undefined;
const aeadEngine = (): AeadEngine =>
  (aeadPicked ??= pickEngine<AeadAddon, AeadEngine>('aead', AEAD_ADDON_FUNCTIONS, (addon) => aeadEngineOn(addon, 'native'), () => aeadEngineOn(aeadTwin, 'js')));

/** Record sealing and opening (the hot path of tunnels); picked on first use like dnswire. */
export const aead: AeadEngine = Object.freeze({
  get implementation() {
    return aeadEngine().implementation;
  },
  seal: (algorithm: AeadAlgorithm, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array) =>
    aeadEngine().seal(algorithm, key, nonce, plaintext, aad),
  open: (algorithm: AeadAlgorithm, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array) =>
    aeadEngine().open(algorithm, key, nonce, sealed, aad),
  sealBatch: (algorithm: AeadAlgorithm, key: Uint8Array, nonces: readonly Uint8Array[], plaintexts: readonly Uint8Array[], aads?: readonly Uint8Array[]) =>
    aeadEngine().sealBatch(algorithm, key, nonces, plaintexts, aads),
  openBatch: (algorithm: AeadAlgorithm, key: Uint8Array, nonces: readonly Uint8Array[], sealed: readonly Uint8Array[], aads?: readonly Uint8Array[]) =>
    aeadEngine().openBatch(algorithm, key, nonces, sealed, aads),
  backend: () => aeadEngine().backend(),
});
