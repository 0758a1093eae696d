/**
 * native/aead: known-answer vectors (RFC 8439 section 2.8.2 and Appendix A.5, NaCl's
 * secretbox test), forgery rejection (every single-bit flip of record, nonce and AAD opens to
 * null), batches equal to records one by one, and argument errors, for the addon with the
 * Node's OpenSSL, the addon's portable C, and the JS twin (node:crypto + tweetnacl), which must
 * throw the same errors; the loader picks the addon on first use and falls back to the twin with
 * exactly one warning. Needs the host addon (make native).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { AEAD_ADDON_FUNCTIONS, aead as aeadEngine, loadAddon } from '../../firmware/native.js';
import { AEAD_ALGORITHMS, NONCE_BYTES, type AeadAddon, type AeadAlgorithm, type AeadBinding } from '../../native/aead/binding.js';
import { aeadTwin } from '../../native/aead/twin.js';
import { Random } from '../_lib/random.js';
import { tempDir } from '../_lib/tmp.js';

const load = loadAddon<AeadAddon>('aead', AEAD_ADDON_FUNCTIONS);
if (load.addon === undefined) assert.unreachable(`aead addon not loadable (run make native): ${load.reason}`);
const addon = load.addon as AeadAddon;

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** Each implementation under test, with a setup that selects it. */
const IMPLEMENTATIONS: ReadonlyArray<{ name: string; binding: AeadBinding; select: () => void }> = [
  { name: 'addon (openssl)', binding: addon, select: () => addon.setBackend('openssl') },
  { name: 'addon (portable)', binding: addon, select: () => addon.setBackend('portable') },
  { name: 'JS twin', binding: aeadTwin, select: () => {} },
];

// ---- known answers ---------------------------------------------------------------------------

interface Vector {
  name: string;
  algorithm: AeadAlgorithm;
  key: Buffer;
  nonce: Buffer;
  aad?: Buffer;
  plaintext: Buffer;
  sealed: Buffer;
}

const VECTORS: Vector[] = [
  {
    name: 'RFC 8439 section 2.8.2',
    algorithm: 'chacha20-poly1305',
    key: hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f'),
    nonce: hex('070000004041424344454647'),
    aad: hex('50515253c0c1c2c3c4c5c6c7'),
    plaintext: Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."),
    sealed: hex(`d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
      3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
      92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
      3ff4def08e4b7a9de576d26586cec64b6116 1ae10b594f09e26a7e902ecbd0600691`),
  },
  {
    name: 'RFC 8439 Appendix A.5',
    algorithm: 'chacha20-poly1305',
    key: hex('1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0'),
    nonce: hex('000000000102030405060708'),
    aad: hex('f33388860000000000004e91'),
    plaintext: hex(`496e7465726e65742d4472616674732061726520647261667420646f63756d65
      6e74732076616c696420666f722061206d6178696d756d206f6620736978206d
      6f6e74687320616e64206d617920626520757064617465642c207265706c6163
      65642c206f72206f62736f6c65746564206279206f7468657220646f63756d65
      6e747320617420616e792074696d652e20497420697320696e617070726f7072
      6961746520746f2075736520496e7465726e65742d4472616674732061732072
      65666572656e6365206d6174657269616c206f7220746f206369746520746865
      6d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67
      726573732e2fe2809d`),
    sealed: hex(`64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2
      4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf
      332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855
      9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4
      b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e
      af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a
      0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10
      49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29
      a6ad5cb4022b02709b eead9d67890cbb22392336fea1851f38`),
  },
  {
    // NaCl tests/secretbox.c: firstkey, nonce, the 131-byte message after its 32 zero bytes;
    // the expected box after its 16 zero bytes (tag, then ciphertext), as tweetnacl lays it out.
    name: 'NaCl tests/secretbox.c',
    algorithm: 'xsalsa20-poly1305',
    key: hex('1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389'),
    nonce: hex('69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37'),
    plaintext: hex(`be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffc
      e5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb31
      0e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde
      048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f93776384864
      5e0705`),
    sealed: hex(`f3ffc7703f9400e52a7dfb4b3d3305d9
      8e993b9f48681273c29650ba32fc76ce48332ea7164d96a4476fb8c531a1186a
      c0dfc17c98dce87b4da7f011ec48c97271d2c20f9b928fe2270d6fb863d51738
      b48eeee314a7cc8ab932164548e526ae90224368517acfeabd6bb3732bc0e9da
      99832b61ca01b6de56244a9e88d5f9b37973f622a43d14a6599b1f654cb45a74
      e355a5`),
  },
];

const vectors = suite('aead known answers');

for (const impl of IMPLEMENTATIONS) {
  for (const v of VECTORS) {
    vectors(`${impl.name}: ${v.name}`, () => {
      impl.select();
      assert.is(impl.binding.seal(v.algorithm, v.key, v.nonce, v.plaintext, v.aad).toString('hex'), v.sealed.toString('hex'), 'seal');
      assert.is(impl.binding.open(v.algorithm, v.key, v.nonce, v.sealed, v.aad)?.toString('hex'), v.plaintext.toString('hex'), 'open');
      const [sealed] = impl.binding.sealBatch(v.algorithm, v.key, [v.nonce], [v.plaintext], v.aad && [v.aad]);
      assert.is(sealed?.toString('hex'), v.sealed.toString('hex'), 'sealBatch');
      const [opened] = impl.binding.openBatch(v.algorithm, v.key, [v.nonce], [v.sealed], v.aad && [v.aad]);
      assert.is(opened?.toString('hex'), v.plaintext.toString('hex'), 'openBatch');
    });
  }
}

vectors('the backends are what they say', () => {
  addon.setBackend('openssl');
  assert.is(addon.backend(), 'openssl');
  addon.setBackend('portable');
  assert.is(addon.backend(), 'portable');
  assert.is(aeadTwin.backend(), 'node:crypto');
  assert.is(aeadEngine.implementation, 'native');
});

vectors('the firmware engine seals and opens with the addon', () => {
  const v = VECTORS[0]!;
  assert.is(aeadEngine.seal(v.algorithm, v.key, v.nonce, v.plaintext, v.aad).toString('hex'), v.sealed.toString('hex'));
  assert.is(aeadEngine.open(v.algorithm, v.key, v.nonce, v.sealed, v.aad)?.toString('hex'), v.plaintext.toString('hex'));
});

vectors.run();

// ---- forgeries ------------------------------------------------------------------------------

const forgery = suite('aead forgeries open to null');

function flipped(bytes: Uint8Array, bit: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

for (const impl of IMPLEMENTATIONS) {
  for (const algorithm of AEAD_ALGORITHMS) {
    forgery(`${impl.name} ${algorithm}: every single-bit flip of record, nonce${algorithm === 'chacha20-poly1305' ? ', AAD' : ''}`, () => {
      impl.select();
      const random = new Random(0xf1a9);
      const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => random.int(256)));
      const key = bytes(32);
      const nonce = bytes(NONCE_BYTES[algorithm]);
      const aad = algorithm === 'chacha20-poly1305' ? bytes(13) : undefined;
      const plaintext = bytes(65);
      const sealed = impl.binding.seal(algorithm, key, nonce, plaintext, aad);
      assert.equal(impl.binding.open(algorithm, key, nonce, sealed, aad), plaintext);
      let checked = 0;
      for (let bit = 0; bit < sealed.length * 8; bit++, checked++) {
        assert.is(impl.binding.open(algorithm, key, nonce, flipped(sealed, bit), aad), null, `record bit ${bit}`);
      }
      for (let bit = 0; bit < nonce.length * 8; bit++, checked++) {
        assert.is(impl.binding.open(algorithm, key, flipped(nonce, bit), sealed, aad), null, `nonce bit ${bit}`);
      }
      if (aad !== undefined) {
        for (let bit = 0; bit < aad.length * 8; bit++, checked++) {
          assert.is(impl.binding.open(algorithm, key, nonce, sealed, flipped(aad, bit)), null, `aad bit ${bit}`);
        }
        assert.is(impl.binding.open(algorithm, key, nonce, sealed), null, 'AAD left out');
        assert.is(impl.binding.open(algorithm, key, nonce, sealed, Buffer.concat([aad, Buffer.alloc(1)])), null, 'AAD extended');
      }
      for (let bit = 0; bit < 256; bit += 7) {
        assert.is(impl.binding.open(algorithm, flipped(key, bit), nonce, sealed, aad), null, `key bit ${bit}`);
      }
      // Truncated, extended, empty: forged input, never an exception.
      for (const length of [0, 1, 15, 16, sealed.length - 1]) {
        assert.is(impl.binding.open(algorithm, key, nonce, sealed.subarray(0, length), aad), null, `truncated to ${length}`);
      }
      assert.is(impl.binding.open(algorithm, key, nonce, Buffer.concat([sealed, Buffer.alloc(1)]), aad), null, 'extended');
      assert.is(impl.binding.open(algorithm, key, nonce, Buffer.alloc(65536 + 17), aad), null, 'over the record bound');
      assert.ok(checked > 600);
    });
  }
}

forgery.run();

// ---- batches ----------------------------------------------------------------------------------

const batches = suite('aead batches');

for (const impl of IMPLEMENTATIONS) {
  for (const algorithm of AEAD_ALGORITHMS) {
    batches(`${impl.name} ${algorithm}: a batch equals its records one by one, forged ones null`, () => {
      impl.select();
      const random = new Random(0xba7c4);
      const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => random.int(256)));
      const key = bytes(32);
      const count = 40;
      const nonces = Array.from({ length: count }, () => bytes(NONCE_BYTES[algorithm]));
      const plaintexts = Array.from({ length: count }, (_, i) => bytes(i === 0 ? 0 : random.int(1500)));
      const aads = algorithm === 'chacha20-poly1305' ? Array.from({ length: count }, () => bytes(random.int(40))) : undefined;
      const sealed = impl.binding.sealBatch(algorithm, key, nonces, plaintexts, aads);
      assert.is(sealed.length, count);
      sealed.forEach((record, i) => assert.equal(record, impl.binding.seal(algorithm, key, nonces[i]!, plaintexts[i]!, aads?.[i]), `record ${i}`));
      const forged = sealed.map((record, i) => (i % 3 === 1 ? flipped(record, random.int(record.length * 8)) : record));
      const opened = impl.binding.openBatch(algorithm, key, nonces, forged, aads);
      opened.forEach((plain, i) => {
        assert.equal(plain, impl.binding.open(algorithm, key, nonces[i]!, forged[i]!, aads?.[i]), `record ${i}`);
        assert.equal(plain, i % 3 === 1 ? null : plaintexts[i], `record ${i}`);
      });
      for (const record of [...sealed, ...opened]) assert.ok(record === null || Buffer.isBuffer(record));
      assert.equal(impl.binding.sealBatch(algorithm, key, [], []), []);
      assert.equal(impl.binding.openBatch(algorithm, key, [], []), []);
    });
  }
}

batches.run();

// ---- argument errors ----------------------------------------------------------------------

const errors = suite('aead argument errors (addon and twin alike)');

interface Thrown {
  name: string;
  code: unknown;
  message: string;
}

function thrown(run: () => unknown): Thrown | 'no error' {
  try {
    run();
  } catch (error) {
    const e = error as Error & { code?: unknown };
    return { name: e.name, code: e.code, message: e.message };
  }
  return 'no error';
}

const K = Buffer.alloc(32, 1);
const N12 = Buffer.alloc(12, 2);
const N24 = Buffer.alloc(24, 3);
const P = Buffer.from('payload');
const any = (value: unknown) => value as never;

/** [description, call, expected error name] */
const BAD_CALLS: ReadonlyArray<[string, (b: AeadBinding) => unknown, 'TypeError' | 'RangeError']> = [
  ['unknown algorithm', (b) => b.seal(any('aes-256-gcm'), K, N12, P), 'TypeError'],
  ['algorithm not a string', (b) => b.open(any(1), K, N12, P), 'TypeError'],
  ['key not a Uint8Array', (b) => b.seal('chacha20-poly1305', any('k'.repeat(32)), N12, P), 'TypeError'],
  ['key a Uint16Array', (b) => b.seal('chacha20-poly1305', any(new Uint16Array(16)), N12, P), 'TypeError'],
  ['key of 31 bytes', (b) => b.seal('chacha20-poly1305', K.subarray(1), N12, P), 'RangeError'],
  ['key of 33 bytes', (b) => b.open('xsalsa20-poly1305', Buffer.alloc(33), N24, P), 'RangeError'],
  ['nonce missing', (b) => (b.seal as (...args: unknown[]) => Buffer)('chacha20-poly1305', K), 'TypeError'],
  ['chacha nonce of 24 bytes', (b) => b.seal('chacha20-poly1305', K, N24, P), 'RangeError'],
  ['xsalsa nonce of 12 bytes', (b) => b.open('xsalsa20-poly1305', K, N12, P), 'RangeError'],
  ['plaintext a string', (b) => b.seal('chacha20-poly1305', K, N12, any('text')), 'TypeError'],
  ['sealed a DataView', (b) => b.open('chacha20-poly1305', K, N12, any(new DataView(new ArrayBuffer(20)))), 'TypeError'],
  ['plaintext over 64 KiB', (b) => b.seal('xsalsa20-poly1305', K, N24, Buffer.alloc(65537)), 'RangeError'],
  ['AAD over 64 KiB', (b) => b.seal('chacha20-poly1305', K, N12, P, Buffer.alloc(65537)), 'RangeError'],
  ['AAD a string', (b) => b.open('chacha20-poly1305', K, N12, P, any('aad')), 'TypeError'],
  ['AAD for xsalsa20', (b) => b.seal('xsalsa20-poly1305', K, N24, P, Buffer.alloc(0)), 'TypeError'],
  ['nonces not an array', (b) => b.sealBatch('chacha20-poly1305', K, any(N12), [P]), 'TypeError'],
  ['records not an array', (b) => b.openBatch('chacha20-poly1305', K, [N12], any(P)), 'TypeError'],
  ['nonces and records differ in length', (b) => b.sealBatch('chacha20-poly1305', K, [N12, N12], [P]), 'TypeError'],
  ['aads differ in length', (b) => b.sealBatch('chacha20-poly1305', K, [N12], [P], []), 'TypeError'],
  ['aads for xsalsa20', (b) => b.openBatch('xsalsa20-poly1305', K, [N24], [P], [P]), 'TypeError'],
  ['aads not an array', (b) => b.openBatch('chacha20-poly1305', K, [N12], [P], any(P)), 'TypeError'],
  ['a bad nonce in a batch', (b) => b.sealBatch('chacha20-poly1305', K, [N12, N12, N24], [P, P, P]), 'RangeError'],
  ['a hole in aads', (b) => b.sealBatch('chacha20-poly1305', K, [N12, N12], [P, P], any([P, undefined])), 'TypeError'],
  ['a string in a batch', (b) => b.openBatch('xsalsa20-poly1305', K, [N24, N24], [P, any('x')]), 'TypeError'],
  ['a big plaintext in a batch', (b) => b.sealBatch('chacha20-poly1305', K, [N12], [Buffer.alloc(65537)]), 'RangeError'],
  ['too many records', (b) => b.sealBatch('chacha20-poly1305', K, new Array(65537).fill(N12), new Array(65537).fill(P)), 'RangeError'],
  ['a batch over 64 MiB sealed', (b) => b.sealBatch('xsalsa20-poly1305', K, new Array(1024).fill(N24), new Array(1024).fill(Buffer.alloc(65536))), 'RangeError'],
  ['a batch over 64 MiB opened', (b) => b.openBatch('chacha20-poly1305', K, new Array(1025).fill(N12), new Array(1025).fill(Buffer.alloc(65552))), 'RangeError'],
  ['a bad record after the 64 MiB', (b) => b.openBatch('chacha20-poly1305', K, new Array(1026).fill(N12), [...new Array(1025).fill(Buffer.alloc(65552)), 'x']), 'RangeError'],
  ['a Proxy for an array', (b) => b.sealBatch('chacha20-poly1305', K, new Proxy([N12], {}), [P]), 'TypeError'],
];

for (const [description, call, name] of BAD_CALLS) {
  errors(`${description}: ${name}, the same from addon and twin`, () => {
    addon.setBackend('openssl');
    const fromAddon = thrown(() => call(addon));
    assert.ok(fromAddon !== 'no error', 'the addon did not throw');
    assert.is(fromAddon.name, name);
    assert.is(fromAddon.code, name === 'TypeError' ? 'ERR_INVALID_ARG_TYPE' : 'ERR_OUT_OF_RANGE');
    assert.equal(thrown(() => call(aeadTwin)), fromAddon);
    addon.setBackend('portable');
    assert.equal(thrown(() => call(addon)), fromAddon);
  });
}

errors('setBackend rejects unknown names', () => {
  assert.throws(() => addon.setBackend(any('gpu')), (e: Error) => e instanceof TypeError);
  addon.setBackend('openssl');
});

errors('empty plaintext and empty AAD are fine', () => {
  for (const impl of IMPLEMENTATIONS) {
    impl.select();
    const sealed = impl.binding.seal('chacha20-poly1305', K, N12, new Uint8Array(0), new Uint8Array(0));
    assert.is(sealed.length, 16);
    assert.equal(impl.binding.open('chacha20-poly1305', K, N12, sealed), Buffer.alloc(0), `${impl.name}: empty AAD = no AAD`);
    const box = impl.binding.seal('xsalsa20-poly1305', K, N24, new Uint8Array(0));
    assert.is(box.length, 16);
    assert.equal(impl.binding.open('xsalsa20-poly1305', K, N24, box), Buffer.alloc(0));
  }
});

errors.run();

// ---- loader ---------------------------------------------------------------------------------

const loader = suite('aead loader');
const repo = fileURLToPath(new URL('../..', import.meta.url));

interface ChildRun {
  status: number | null;
  stdout: string;
  /** stderr lines about the aead addon (sha1, picked at import, may warn too). */
  aeadLines: string[];
}

/** The test's environment minus our switches and the colour variables (Node warns when both are set). */
function quietEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['NYMOTE_NATIVE', 'NYMOTE_NATIVE_DIR', 'NYMOTE_AEAD_PORTABLE', 'NO_COLOR', 'FORCE_COLOR']) delete env[name];
  return env;
}

/** Imports firmware/native.ts under tsx in a child with `env`, seals twice, prints what it picked. */
function runLoader(env: Record<string, string>): ChildRun {
  const v = VECTORS[0]!;
  const script = `
    import { aead } from ${JSON.stringify(path.join(repo, 'firmware/native.ts'))};
    process.stderr.write('imported\\n');
    const hex = (text) => Buffer.from(text, 'hex');
    const args = ['${v.algorithm}', hex('${v.key.toString('hex')}'), hex('${v.nonce.toString('hex')}'), hex('${v.plaintext.toString('hex')}'), hex('${v.aad!.toString('hex')}')];
    const sealed = aead.seal(...args).toString('hex');
    aead.sealBatch(args[0], args[1], [args[2]], [args[3]], [args[4]]);
    console.log(aead.implementation, aead.backend(), sealed.slice(-32));`;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...quietEnv(), ...env },
    timeout: 60_000,
  });
  const lines = result.stderr.split('\n');
  // Lines after "imported": the aead engine is picked on first use, never at import.
  const imported = lines.indexOf('imported');
  const beforeImport = lines.slice(0, Math.max(imported, 0)).filter((line) => line.includes('native aead'));
  assert.equal(beforeImport, [], 'nothing about aead at import');
  return { status: result.status, stdout: result.stdout.trim(), aeadLines: lines.filter((line) => line.includes('native aead')) };
}

const TAG = VECTORS[0]!.sealed.subarray(-16).toString('hex');
const WARNING = /^ts=\S+ level=warn msg="native aead addon unavailable, using JS twin" reason=/;

loader('with the addon built: native, OpenSSL, no warning', () => {
  const run = runLoader({});
  assert.is(run.status, 0, run.aeadLines.join('\n'));
  assert.is(run.stdout, `native openssl ${TAG}`);
  assert.equal(run.aeadLines, []);
});

loader('addon absent: JS twin and exactly one warning line, on first use', () => {
  const emptyDir = tempDir('ny-aead');
  const run = runLoader({ NYMOTE_NATIVE_DIR: emptyDir });
  assert.is(run.status, 0, run.aeadLines.join('\n'));
  assert.is(run.stdout, `js node:crypto ${TAG}`);
  assert.is(run.aeadLines.length, 1, run.aeadLines.join('\n'));
  assert.match(run.aeadLines[0]!, WARNING);
  assert.ok(run.aeadLines[0]!.includes(path.join(emptyDir, 'aead.node')), 'the reason names where it looked');
  fs.rmSync(emptyDir, { recursive: true });
});

loader('NYMOTE_NATIVE=js forces the twin, silently', () => {
  const run = runLoader({ NYMOTE_NATIVE: 'js' });
  assert.is(run.stdout, `js node:crypto ${TAG}`);
  assert.equal(run.aeadLines, []);
});

loader('NYMOTE_AEAD_PORTABLE=1 makes the addon use its portable C code', () => {
  const run = runLoader({ NYMOTE_AEAD_PORTABLE: '1' });
  assert.is(run.stdout, `native portable ${TAG}`);
  assert.equal(run.aeadLines, []);
});

loader.run();
