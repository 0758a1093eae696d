/**
 * firmware/signpost/channel/noise.ts: the Cacophony vectors for Noise_IK_25519_ChaChaPoly_SHA256
 * and Noise_XX_25519_ChaChaPoly_SHA256 (test/fixtures/noise, source noted there) byte for byte,
 * handshake and transport, from both sides; X25519 against tweetnacl's scalarMult; an IK
 * initiator against our responder with random keys; and tampered or short handshake messages
 * and ciphertexts rejected.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nacl from 'tweetnacl';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { CipherState, HandshakeState, NoiseError, dh, generateKeyPair, hkdf, publicKeyOf, protocolName, type KeyPair, type PatternName } from '../../firmware/signpost/channel/noise.js';

interface Vector {
  protocol_name: string;
  init_prologue: string;
  init_static: string;
  init_ephemeral: string;
  init_remote_static?: string;
  resp_prologue: string;
  resp_static: string;
  resp_ephemeral: string;
  handshake_hash: string;
  messages: Array<{ payload: string; ciphertext: string }>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const vectors = (JSON.parse(fs.readFileSync(path.join(here, '..', 'fixtures', 'noise', 'cacophony.json'), 'utf8')) as { vectors: Vector[] }).vectors;
const hex = (text: string) => Buffer.from(text, 'hex');
const keyPair = (privateHex: string): KeyPair => ({ privateKey: hex(privateHex), publicKey: publicKeyOf(hex(privateHex)) });
const statics = (keys: KeyPair) => ({ staticPrivate: keys.privateKey, staticPublic: keys.publicKey });
const EMPTY = Buffer.alloc(0);
const isNoiseError = (error: unknown) => error instanceof NoiseError;

for (const pattern of ['IK', 'XX'] as const satisfies readonly PatternName[]) {
  test(`cacophony vector ${protocolName(pattern)}: every message and the handshake hash`, () => {
    const vector = vectors.find((v) => v.protocol_name === protocolName(pattern));
    assert.ok(vector, `vector for ${pattern} present`);
    const initiator = new HandshakeState({
      pattern,
      initiator: true,
      prologue: hex(vector.init_prologue),
      ...statics(keyPair(vector.init_static)),
      ephemeral: keyPair(vector.init_ephemeral),
      ...(vector.init_remote_static === undefined ? {} : { remoteStatic: hex(vector.init_remote_static) }),
    });
    const responder = new HandshakeState({ pattern, initiator: false, prologue: hex(vector.resp_prologue), ...statics(keyPair(vector.resp_static)), ephemeral: keyPair(vector.resp_ephemeral) });
    // Split gives [initiator to responder, responder to initiator] on both sides.
    let transport: { initiator: [CipherState, CipherState]; responder: [CipherState, CipherState] } | undefined;
    vector.messages.forEach((message, index) => {
      const initiatorSends = index % 2 === 0;
      const [writer, reader] = initiatorSends ? [initiator, responder] : [responder, initiator];
      let ciphertext: Buffer;
      let payload: Buffer;
      if (transport === undefined) {
        ciphertext = writer.writeMessage(hex(message.payload));
        payload = reader.readMessage(ciphertext);
        if (initiator.isComplete()) transport = { initiator: initiator.split(), responder: responder.split() };
      } else {
        const [send, receive] = initiatorSends ? [transport.initiator[0], transport.responder[0]] : [transport.responder[1], transport.initiator[1]];
        ciphertext = send.encryptWithAd(EMPTY, hex(message.payload));
        payload = receive.decryptWithAd(EMPTY, ciphertext);
      }
      assert.is(ciphertext.toString('hex'), message.ciphertext, `message ${index} ciphertext`);
      assert.is(payload.toString('hex'), message.payload, `message ${index} payload`);
    });
    assert.ok(initiator.isComplete() && responder.isComplete(), 'the handshake completed');
    assert.is(initiator.handshakeHash().toString('hex'), vector.handshake_hash, 'initiator h');
    assert.is(responder.handshakeHash().toString('hex'), vector.handshake_hash, 'responder h');
    assert.equal(initiator.remoteStatic(), publicKeyOf(hex(vector.resp_static)));
    assert.equal(responder.remoteStatic(), publicKeyOf(hex(vector.init_static)));
  });
}

test('X25519 agrees with tweetnacl.scalarMult, and publicKeyOf with scalarMult.base', () => {
  for (let i = 0; i < 20; i++) {
    const a = generateKeyPair();
    const b = generateKeyPair();
    assert.equal(a.publicKey, Buffer.from(nacl.scalarMult.base(a.privateKey)));
    const shared = dh(a.privateKey, b.publicKey);
    assert.ok(shared);
    assert.equal(shared, Buffer.from(nacl.scalarMult(a.privateKey, b.publicKey)));
    assert.equal(shared, dh(b.privateKey, a.publicKey));
  }
  // Small-order points give an all-zero secret: refused, not returned.
  assert.is(dh(generateKeyPair().privateKey, new Uint8Array(32)), undefined);
  assert.is(dh(generateKeyPair().privateKey, Buffer.alloc(32, 0).fill(1, 0, 1)), undefined);
  assert.is(dh(generateKeyPair().privateKey, new Uint8Array(31)), undefined);
});

test('HKDF gives Noise outputs: two and three chained HMACs', () => {
  const [a, b, c] = hkdf(Buffer.alloc(32, 1), Buffer.from('ikm'), 3);
  const [a2, b2] = hkdf(Buffer.alloc(32, 1), Buffer.from('ikm'), 2);
  assert.equal(a, a2);
  assert.equal(b, b2);
  assert.is(c!.length, 32);
  assert.not.equal(a, b);
});

function ikPair(prologue = Buffer.from('test')) {
  const initiatorKeys = generateKeyPair();
  const responderKeys = generateKeyPair();
  return {
    initiatorKeys,
    responderKeys,
    initiator: new HandshakeState({ pattern: 'IK', initiator: true, prologue, ...statics(initiatorKeys), remoteStatic: responderKeys.publicKey }),
    responder: new HandshakeState({ pattern: 'IK', initiator: false, prologue, ...statics(responderKeys) }),
  };
}

test('our IK initiator and responder: payloads, static key learned, same h, working transport', () => {
  for (let round = 0; round < 5; round++) {
    const { initiator, responder, initiatorKeys } = ikPair();
    const first = initiator.writeMessage(Buffer.from('hello responder'));
    assert.equal(responder.readMessage(first), Buffer.from('hello responder'));
    assert.equal(responder.remoteStatic(), initiatorKeys.publicKey);
    const second = responder.writeMessage(EMPTY);
    assert.equal(initiator.readMessage(second), EMPTY);
    assert.ok(initiator.isComplete() && responder.isComplete());
    assert.equal(initiator.handshakeHash(), responder.handshakeHash());
    const [iSend, iReceive] = initiator.split();
    const [rReceive, rSend] = responder.split();
    assert.equal(iSend.key, rReceive.key);
    assert.equal(iReceive.key, rSend.key);
    assert.not.equal(iSend.key, iReceive.key);
    assert.equal(iReceive.decryptWithAd(EMPTY, rSend.encryptWithAd(EMPTY, Buffer.from('back'))), Buffer.from('back'));
  }
});

test('XX with arbitrary payloads: both learn the other static, h and split agree', () => {
  const a = generateKeyPair();
  const b = generateKeyPair();
  const initiator = new HandshakeState({ pattern: 'XX', initiator: true, ...statics(a) });
  const responder = new HandshakeState({ pattern: 'XX', initiator: false, ...statics(b) });
  assert.throws(() => initiator.remoteStatic(), /not known yet/);
  const payloads = [EMPTY, Buffer.from('code 123456'), Buffer.alloc(3000, 7)];
  payloads.forEach((payload, index) => {
    const [writer, reader] = index % 2 === 0 ? [initiator, responder] : [responder, initiator];
    assert.equal(reader.readMessage(writer.writeMessage(payload)), payload);
  });
  assert.equal(initiator.remoteStatic(), b.publicKey);
  assert.equal(responder.remoteStatic(), a.publicKey);
  assert.equal(initiator.handshakeHash(), responder.handshakeHash());
  assert.equal(initiator.split()[0].key, responder.split()[0].key);
  assert.equal(initiator.split()[1].key, responder.split()[1].key);
});

test('a tampered, truncated or wrong-prologue handshake message is rejected, and the genuine one still reads', () => {
  const { initiator, responder } = ikPair();
  const genuine = initiator.writeMessage(Buffer.from('payload'));
  for (let bit = 0; bit < genuine.length * 8; bit += 3) {
    const message = Buffer.from(genuine);
    message[bit >> 3]! ^= 1 << (bit & 7);
    // A flipped bit of the ephemeral key may still be a valid key: the tags fail all the same.
    assert.throws(() => responder.readMessage(message), isNoiseError, `bit ${bit}`);
  }
  assert.equal(responder.readMessage(genuine), Buffer.from('payload'));
  const response = responder.writeMessage(EMPTY);
  const forged = Buffer.from(response);
  forged[40]! ^= 1;
  assert.throws(() => initiator.readMessage(forged), isNoiseError);
  assert.equal(initiator.readMessage(response), EMPTY);
  assert.ok(initiator.isComplete());
  for (const length of [0, 31, 32, 79, 80, 95]) {
    const { initiator, responder } = ikPair();
    assert.throws(() => responder.readMessage(initiator.writeMessage(EMPTY).subarray(0, length)), isNoiseError, `length ${length}`);
  }
  const one = ikPair(Buffer.from('one'));
  const other = new HandshakeState({ pattern: 'IK', initiator: false, prologue: Buffer.from('two'), ...statics(one.responderKeys) });
  assert.throws(() => other.readMessage(one.initiator.writeMessage(EMPTY)), isNoiseError);
  // Sent to the wrong responder: the es DH differs.
  const stranger = new HandshakeState({ pattern: 'IK', initiator: false, prologue: Buffer.from('test'), ...statics(generateKeyPair()) });
  assert.throws(() => stranger.readMessage(ikPair().initiator.writeMessage(EMPTY)), isNoiseError);
});

test('transport: a forged or replayed-out-of-order ciphertext does not open, and the counter stays', () => {
  const key = Buffer.alloc(32, 9);
  const sender = new CipherState(key);
  const receiver = new CipherState(key);
  const first = sender.encryptWithAd(EMPTY, Buffer.from('one'));
  const second = sender.encryptWithAd(EMPTY, Buffer.from('two'));
  const forged = Buffer.from(first);
  forged[0]! ^= 1;
  assert.throws(() => receiver.decryptWithAd(EMPTY, forged), isNoiseError);
  assert.throws(() => receiver.decryptWithAd(EMPTY, second), isNoiseError, 'nonce 1 message at nonce 0');
  assert.throws(() => receiver.decryptWithAd(EMPTY, first.subarray(0, 10)), isNoiseError);
  assert.equal(receiver.decryptWithAd(EMPTY, first), Buffer.from('one'));
  assert.equal(receiver.decryptWithAd(EMPTY, second), Buffer.from('two'));
  assert.throws(() => receiver.decryptWithAd(EMPTY, first), isNoiseError, 'replayed');
});

test('misuse throws: reading out of turn, IK without the responder key, split before the end', () => {
  const { initiator, responder } = ikPair();
  assert.throws(() => initiator.readMessage(Buffer.alloc(100)), /not expecting/);
  assert.throws(() => responder.writeMessage(EMPTY), /not our turn/);
  assert.throws(() => initiator.split(), /split before/);
  assert.throws(() => new HandshakeState({ pattern: 'IK', initiator: true, ...statics(generateKeyPair()) }), /known beforehand/);
});

test.run();
