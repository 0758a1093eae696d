/**
 * native/sha1: the addon (OpenSSL and portable C backends) and its JS twin agree with each
 * other and with git, reject bad arguments with the same errors, and the loader falls back
 * to the twin with exactly one warning. Needs the host addon (make native).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { SHA1_ADDON_FUNCTIONS, loadAddon, sha1 as sha1Engine, type GitObjectType } from '../../firmware/native.js';
import type { ObjectHasherHandle, Sha1Addon, Sha1Binding } from '../../native/sha1/binding.js';
import { sha1Twin } from '../../native/sha1/twin.js';
import { tempDir } from '../_lib/tmp.js';
import { OBJECT_TYPES, prng, sha1Cases } from './sha1-cases.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const cases = sha1Cases(20251125, 30);

function requireAddon(): Sha1Addon {
  const load = loadAddon<Sha1Addon>('sha1', SHA1_ADDON_FUNCTIONS);
  if (load.addon === undefined) assert.unreachable(`sha1 addon not loadable (run make native): ${load.reason}`);
  return load.addon as Sha1Addon;
}

function idsOf(buffer: Buffer): string[] {
  const ids: string[] = [];
  for (let at = 0; at < buffer.length; at += 20) ids.push(buffer.toString('hex', at, at + 20));
  return ids;
}

/** Streams `content` in chunks whose sizes come from `seed` (0..3*64 bytes, empty chunks too). */
function streamedId(binding: Sha1Binding, type: string, content: Uint8Array, seed: number): string {
  const next = prng(seed);
  const handle = binding.createHasher(type, content.length);
  for (let at = 0; at < content.length; ) {
    const chunk = content.subarray(at, at + (next() % 193));
    binding.update(handle, chunk);
    at += chunk.length;
  }
  return binding.digest(handle).toString('hex');
}

function gitHashObject(type: GitObjectType, content: Uint8Array): string {
  // git checks that trees, commits and tags parse; random bytes need --literally.
  const args = ['hash-object', '-t', type, '--stdin', ...(type === 'blob' ? [] : ['--literally'])];
  const result = spawnSync('git', args, { input: content, encoding: 'buffer' });
  assert.is(result.status, 0, `git ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout.toString().trim();
}

// ---------------------------------------------------------------------------------------------

const agreement = suite('sha1 addon vs JS twin vs git');
const addon = requireAddon();
const expected = cases.map(({ type, content }) => sha1Twin.hashObjects(type, [content]).toString('hex'));

agreement('the JS twin gives the well-known ids', () => {
  assert.is(sha1Twin.hashObjects('blob', [Buffer.from('hello\n')]).toString('hex'), 'ce013625030ba8dba906f756967f9e9ca394464a');
  assert.is(sha1Twin.hashObjects('blob', [Buffer.alloc(0)]).toString('hex'), 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
  assert.is(sha1Twin.hashObjects('tree', [Buffer.alloc(0)]).toString('hex'), '4b825dc642cb6eb9a060e54bf8d69288fbee4904');
  assert.is(sha1Twin.sha1(Buffer.from('abc')).toString('hex'), 'a9993e364706816aba3e25717850c26c9cd0d89d');
});

agreement('the JS twin agrees with git hash-object for every type', () => {
  const small = cases.filter(({ content }) => content.length <= 65537);
  assert.ok(small.length > 20);
  for (const { type, content } of small) {
    assert.is(sha1Twin.hashObjects(type, [content]).toString('hex'), gitHashObject(type, content), `${type} ${content.length} B`);
  }
  const big = cases.find(({ content }) => content.length === 1 << 20);
  assert.ok(big !== undefined);
  assert.is(sha1Twin.hashObjects(big.type, [big.content]).toString('hex'), gitHashObject(big.type, big.content));
});

for (const backend of ['openssl', 'portable'] as const) {
  agreement(`addon (${backend}): one batch with per-object types matches the twin`, () => {
    addon.setBackend(backend);
    assert.is(addon.backend(), backend);
    const ids = idsOf(addon.hashObjects(cases.map((c) => c.type), cases.map((c) => c.content)));
    assert.equal(ids, expected);
  });

  agreement(`addon (${backend}): one type for the batch, each of the four`, () => {
    addon.setBackend(backend);
    const contents = cases.slice(0, 12).map((c) => c.content);
    for (const type of OBJECT_TYPES) {
      assert.equal(idsOf(addon.hashObjects(type, contents)), idsOf(sha1Twin.hashObjects(type, contents)), type);
    }
  });

  agreement(`addon (${backend}): single objects and the empty batch`, () => {
    addon.setBackend(backend);
    cases.forEach(({ type, content }, i) => assert.is(addon.hashObjects(type, [content]).toString('hex'), expected[i]));
    assert.is(addon.hashObjects('blob', []).length, 0);
    assert.is(addon.hashObjects([], []).length, 0);
  });

  agreement(`addon (${backend}): streamed in random chunks, as the twin streams`, () => {
    addon.setBackend(backend);
    cases.forEach(({ type, content }, i) => {
      assert.is(streamedId(addon, type, content, i + 1), expected[i], `${type} ${content.length} B`);
      assert.is(streamedId(sha1Twin, type, content, i + 1), expected[i]);
    });
  });

  agreement(`addon (${backend}): raw sha1, also of views into larger buffers`, () => {
    addon.setBackend(backend);
    for (const { content } of cases) {
      assert.is(addon.sha1(content).toString('hex'), sha1Twin.sha1(content).toString('hex'));
      const view = content.subarray(3, Math.max(3, content.length - 5));
      assert.is(addon.sha1(view).toString('hex'), sha1Twin.sha1(view).toString('hex'));
    }
  });
}

agreement('a hash in progress keeps its backend when the default changes', () => {
  const { type, content } = cases.find((c) => c.content.length > 1000)!;
  addon.setBackend('openssl');
  const handle = addon.createHasher(type, content.length);
  addon.update(handle, content.subarray(0, 500));
  addon.setBackend('portable');
  addon.update(handle, content.subarray(500));
  assert.is(addon.digest(handle).toString('hex'), sha1Twin.hashObjects(type, [content]).toString('hex'));
});

agreement('plain Uint8Arrays (not Buffers) and shared memory are accepted', () => {
  addon.setBackend('openssl');
  const plain = new Uint8Array([1, 2, 3, 4, 5]);
  const shared = new Uint8Array(new SharedArrayBuffer(70)).fill(7);
  for (const content of [plain, shared]) {
    assert.is(addon.hashObjects('blob', [content]).toString('hex'), sha1Twin.hashObjects('blob', [content]).toString('hex'));
  }
});

agreement.after(() => addon.setBackend('openssl'));
agreement.run();

// ---------------------------------------------------------------------------------------------

const engine = suite('the sha1 engine from firmware/native.ts');

engine('picks the addon when it is built', () => {
  assert.is(sha1Engine.implementation, 'native');
  assert.is(sha1Engine.backend, 'openssl');
});

engine('hashObject, hashObjects, createObjectHasher and sha1 agree with the twin', () => {
  const { type, content } = cases[20]!;
  const id = sha1Twin.hashObjects(type, [content]);
  assert.equal(sha1Engine.hashObject(type, content), id);
  assert.equal(sha1Engine.hashObjects([type, type], [content, content]), Buffer.concat([id, id]));
  const hasher = sha1Engine.createObjectHasher(type, content.length);
  hasher.update(content.subarray(0, 10));
  hasher.update(content.subarray(10));
  assert.equal(hasher.digest(), id);
  assert.equal(sha1Engine.sha1(content), sha1Twin.sha1(content));
});

engine.run();

// ---------------------------------------------------------------------------------------------

const badInput = suite('sha1 bad arguments: same errors from addon and twin, never a crash');

interface ThrownShape {
  name: string;
  code: unknown;
  message: string;
}

function thrownBy(call: () => unknown): ThrownShape {
  try {
    call();
  } catch (error) {
    assert.instance(error, Error);
    const { name, message } = error as Error;
    return { name, code: (error as { code?: unknown }).code, message };
  }
  return assert.unreachable('expected a throw') as never;
}

// Deliberately mistyped calls, as untyped JS would make them.
type LooseBinding = Record<keyof Sha1Binding, (...args: unknown[]) => unknown>;
const looseAddon = addon as unknown as LooseBinding;
const looseTwin = sha1Twin as unknown as LooseBinding;
const buf = Buffer.from('x');

const badCalls: Array<[string, 'TypeError' | 'RangeError', (b: LooseBinding) => unknown]> = [
  ['no arguments', 'TypeError', (b) => b.hashObjects()],
  ['contents not an array', 'TypeError', (b) => b.hashObjects('blob', buf)],
  ['a number among the contents', 'TypeError', (b) => b.hashObjects('blob', [buf, 1])],
  ['null among the contents', 'TypeError', (b) => b.hashObjects('blob', [buf, null])],
  ['a string among the contents', 'TypeError', (b) => b.hashObjects('blob', ['abc'])],
  ['a Uint16Array', 'TypeError', (b) => b.hashObjects('blob', [new Uint16Array(4)])],
  ['a DataView', 'TypeError', (b) => b.hashObjects('blob', [new DataView(new ArrayBuffer(4))])],
  ['an ArrayBuffer', 'TypeError', (b) => b.hashObjects('blob', [new ArrayBuffer(4)])],
  ['an unknown object type', 'TypeError', (b) => b.hashObjects('blobs', [buf])],
  ['a very long type string', 'TypeError', (b) => b.hashObjects('commit'.repeat(100), [buf])],
  ['type not a string', 'TypeError', (b) => b.hashObjects(42, [buf])],
  ['fewer types than contents', 'TypeError', (b) => b.hashObjects(['blob'], [buf, buf])],
  ['a bad type in the list', 'TypeError', (b) => b.hashObjects(['blob', 'tag\0'], [buf, buf])],
  ['createHasher: bad type', 'TypeError', (b) => b.createHasher('file', 1)],
  ['createHasher: length a string', 'TypeError', (b) => b.createHasher('blob', '1')],
  ['createHasher: length missing', 'TypeError', (b) => b.createHasher('blob')],
  ['createHasher: negative length', 'RangeError', (b) => b.createHasher('blob', -1)],
  ['createHasher: fractional length', 'RangeError', (b) => b.createHasher('blob', 1.5)],
  ['createHasher: NaN length', 'RangeError', (b) => b.createHasher('blob', Number.NaN)],
  ['createHasher: unsafe length', 'RangeError', (b) => b.createHasher('blob', 2 ** 53)],
  ['update: no arguments', 'TypeError', (b) => b.update()],
  ['update: no chunk', 'TypeError', (b) => b.update(b.createHasher('blob', 1))],
  ['update: not a handle', 'TypeError', (b) => b.update({}, buf)],
  ['update: a handle of the other implementation', 'TypeError', (b) => b.update((b === looseAddon ? looseTwin : looseAddon).createHasher('blob', 1), buf)],
  ['update: chunk a string', 'TypeError', (b) => b.update(b.createHasher('blob', 3), 'abc')],
  ['update: past the declared length', 'RangeError', (b) => b.update(b.createHasher('blob', 1), Buffer.from('ab'))],
  ['digest: no arguments', 'TypeError', (b) => b.digest()],
  ['digest: not a handle', 'TypeError', (b) => b.digest(null)],
  ['digest: fewer bytes than declared', 'RangeError', (b) => b.digest(b.createHasher('tree', 5))],
  ['sha1: a string', 'TypeError', (b) => b.sha1('abc')],
  ['sha1: nothing', 'TypeError', (b) => b.sha1()],
];

for (const [what, errorName, call] of badCalls) {
  badInput(what, () => {
    const fromAddon = thrownBy(() => call(looseAddon));
    const fromTwin = thrownBy(() => call(looseTwin));
    assert.is(fromAddon.name, errorName, `addon: ${fromAddon.message}`);
    assert.equal(fromAddon, fromTwin);
  });
}

badInput('length mismatches carry ERR_SHA1_LENGTH_MISMATCH and leave the hasher usable', () => {
  for (const binding of [addon, sha1Twin]) {
    const handle = binding.createHasher('blob', 6);
    binding.update(handle, Buffer.from('hel'));
    assert.is(thrownBy(() => binding.digest(handle)).code, 'ERR_SHA1_LENGTH_MISMATCH');
    assert.is(thrownBy(() => binding.update(handle, Buffer.from('lo\n!'))).code, 'ERR_SHA1_LENGTH_MISMATCH');
    binding.update(handle, Buffer.from('lo\n'));
    assert.is(binding.digest(handle).toString('hex'), 'ce013625030ba8dba906f756967f9e9ca394464a');
  }
});

badInput('a digested hasher refuses more work', () => {
  for (const binding of [addon, sha1Twin]) {
    const handle: ObjectHasherHandle = binding.createHasher('blob', 0);
    binding.digest(handle);
    assert.equal(thrownBy(() => binding.digest(handle)), { name: 'Error', code: 'ERR_SHA1_DIGESTED', message: 'hasher already digested' });
    assert.is(thrownBy(() => binding.update(handle, Buffer.alloc(0))).code, 'ERR_SHA1_DIGESTED');
  }
});

badInput('addon setBackend rejects unknown backends', () => {
  const loose = addon as unknown as { setBackend(name: unknown): void };
  assert.is(thrownBy(() => loose.setBackend('sha-ni')).name, 'TypeError');
  assert.is(thrownBy(() => loose.setBackend(1)).name, 'TypeError');
  assert.is(addon.backend(), 'openssl');
});

badInput('getters that detach buffers mid-batch: no crash, same ids as the twin', () => {
  // Element 1's getter detaches element 0's memory (already hashed) and returns a view whose
  // buffer it detaches too; both implementations must then see it as empty.
  const makeContents = (): Uint8Array[] => {
    const first = new Uint8Array(100).fill(1);
    const second = new Uint8Array(100).fill(2);
    const contents = [first, second, new Uint8Array(3)];
    Object.defineProperty(contents, 1, {
      get() {
        structuredClone(first.buffer, { transfer: [first.buffer] });
        structuredClone(second.buffer, { transfer: [second.buffer] });
        return second;
      },
    });
    return contents;
  };
  const fromAddon = addon.hashObjects('blob', makeContents());
  const fromTwin = sha1Twin.hashObjects('blob', makeContents());
  assert.equal(idsOf(fromAddon), idsOf(fromTwin));
  assert.is(idsOf(fromAddon)[1], 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
});

badInput("a throwing getter's error comes through unchanged", () => {
  const contents = [buf];
  Object.defineProperty(contents, 0, {
    get() {
      throw new SyntaxError('from the getter');
    },
  });
  for (const binding of [addon, sha1Twin]) {
    assert.equal(thrownBy(() => binding.hashObjects('blob', contents)), { name: 'SyntaxError', code: undefined, message: 'from the getter' });
  }
});

badInput('a Proxy is not an array to either (N-API sees no array behind it)', () => {
  const contents = new Proxy([Buffer.from('a')], {});
  const types = new Proxy(['blob'], {});
  for (const call of [(b: Sha1Binding) => b.hashObjects('blob', contents), (b: Sha1Binding) => b.hashObjects(types, [buf])]) {
    const fromAddon = thrownBy(() => call(addon));
    assert.is(fromAddon.name, 'TypeError');
    assert.equal(fromAddon, thrownBy(() => call(sha1Twin)));
  }
});

badInput.run();

// ---------------------------------------------------------------------------------------------

const loader = suite('the loader in a fresh process');

interface ChildRun {
  status: number | null;
  stdout: string;
  stderrLines: string[];
}

/** The test's environment minus our switches and the colour variables (Node warns when both are set). */
function quietEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['NYMOTE_NATIVE', 'NYMOTE_NATIVE_DIR', 'NYMOTE_SHA1_PORTABLE', 'NO_COLOR', 'FORCE_COLOR']) delete env[name];
  return env;
}

/** Imports firmware/native.ts under tsx in a child with `env` and prints what it picked. */
function runLoader(env: Record<string, string>): ChildRun {
  const script = `
    import { sha1 } from ${JSON.stringify(path.join(repo, 'firmware/native.ts'))};
    const again = await import(${JSON.stringify(path.join(repo, 'firmware/native.ts'))});
    const id = sha1.hashObject('blob', Buffer.from('hello\\n')).toString('hex');
    again.sha1.hashObjects('blob', [Buffer.alloc(1), Buffer.alloc(2)]);
    console.log(sha1.implementation, sha1.backend, id);`;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...quietEnv(), ...env },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout.trim(), stderrLines: result.stderr.split('\n').filter((line) => line !== '') };
}

const WARNING = /^ts=\S+ level=warn msg="native sha1 addon unavailable, using JS twin" reason=/;

loader('with the addon built: native, OpenSSL, no warning', () => {
  const run = runLoader({});
  assert.is(run.status, 0, run.stderrLines.join('\n'));
  assert.is(run.stdout, 'native openssl ce013625030ba8dba906f756967f9e9ca394464a');
  assert.equal(run.stderrLines, []);
});

loader('addon absent: JS twin and exactly one warning line', () => {
  const emptyDir = tempDir('ny-sha1');
  const run = runLoader({ NYMOTE_NATIVE_DIR: emptyDir });
  assert.is(run.status, 0, run.stderrLines.join('\n'));
  assert.is(run.stdout, 'js node:crypto ce013625030ba8dba906f756967f9e9ca394464a');
  assert.is(run.stderrLines.length, 1, run.stderrLines.join('\n'));
  assert.match(run.stderrLines[0]!, WARNING);
  assert.ok(run.stderrLines[0]!.includes(path.join(emptyDir, 'sha1.node')), 'the reason names where it looked');
  fs.rmSync(emptyDir, { recursive: true });
});

loader('addon file broken: JS twin, one warning with the loader error', () => {
  const dir = tempDir('ny-sha1');
  fs.writeFileSync(path.join(dir, 'sha1.node'), 'not an ELF file');
  const run = runLoader({ NYMOTE_NATIVE_DIR: dir });
  assert.is(run.status, 0, run.stderrLines.join('\n'));
  assert.ok(run.stdout.startsWith('js node:crypto '));
  assert.is(run.stderrLines.length, 1);
  assert.match(run.stderrLines[0]!, WARNING);
  assert.match(run.stderrLines[0]!, /invalid ELF header|too short/);
  fs.rmSync(dir, { recursive: true });
});

loader('NYMOTE_NATIVE=js forces the twin, silently', () => {
  const run = runLoader({ NYMOTE_NATIVE: 'js' });
  assert.is(run.stdout, 'js node:crypto ce013625030ba8dba906f756967f9e9ca394464a');
  assert.equal(run.stderrLines, []);
});

loader('NYMOTE_SHA1_PORTABLE=1 makes the addon use its portable C code', () => {
  const run = runLoader({ NYMOTE_SHA1_PORTABLE: '1' });
  assert.is(run.stdout, 'native portable ce013625030ba8dba906f756967f9e9ca394464a');
  assert.equal(run.stderrLines, []);
});

loader.run();
