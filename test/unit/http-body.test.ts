import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HttpError, isJsonContentType, readBody, readJson, readJsonObject } from '../../firmware/http/body.js';
import { rejects } from '../_lib/assert.js';

function fakeRequest(headers: Record<string, string>, chunks: (string | Buffer)[], end = true): IncomingMessage {
  const stream = new PassThrough();
  Object.assign(stream, { headers });
  setImmediate(() => {
    for (const c of chunks) stream.write(c);
    if (end) stream.end();
  });
  return stream as unknown as IncomingMessage;
}

const httpError = (status: number, code?: string) => (err: unknown) => err instanceof HttpError && err.status === status && (code === undefined || err.code === code);
const limits = { maxBytes: 10, timeoutMs: 200 };

test('reads a body in pieces', async () => {
  const body = await readBody(fakeRequest({}, ['hello', ' ', 'wor', 'ld']), { maxBytes: 100, timeoutMs: 1000 });
  assert.is(body.toString(), 'hello world');
  assert.is((await readBody(fakeRequest({ 'content-length': '0' }, []), limits)).length, 0);
});

test('413 from Content-Length before reading, and from what arrives (chunked)', async () => {
  await rejects(() => readBody(fakeRequest({ 'content-length': '11' }, []), limits), httpError(413, 'ETOOBIG'));
  await rejects(() => readBody(fakeRequest({}, ['12345', '67890', 'x']), limits), (err) => httpError(413)(err) && (err as HttpError).unread === 'drain');
});

test('408 when the body stalls', async () => {
  const started = Date.now();
  await rejects(() => readBody(fakeRequest({}, ['abc'], false), limits), httpError(408, 'ETIMEOUT'));
  assert.ok(Date.now() - started >= 190);
});

test('400 for a bad or short Content-Length', async () => {
  await rejects(() => readBody(fakeRequest({ 'content-length': 'ten' }, []), limits), httpError(400, 'EBADLENGTH'));
  await rejects(() => readBody(fakeRequest({ 'content-length': '5' }, ['abc']), limits), httpError(400, 'EBADLENGTH'));
});

test('JSON: 415 without a JSON type, 400 when it does not parse or is not an object', async () => {
  assert.ok(isJsonContentType('application/json; charset=utf-8'));
  assert.ok(isJsonContentType('application/merge-patch+json'));
  assert.not.ok(isJsonContentType('text/plain'));
  assert.not.ok(isJsonContentType(undefined));
  const big = { maxBytes: 1000, timeoutMs: 1000 };
  assert.equal(await readJson(fakeRequest({ 'content-type': 'application/json' }, ['{"a":', '1}']), big), { a: 1 });
  await rejects(() => readJson(fakeRequest({ 'content-type': 'application/x-www-form-urlencoded' }, ['{}']), big), httpError(415, 'EMEDIATYPE'));
  await rejects(() => readJson(fakeRequest({ 'content-type': 'application/json' }, ['{"a":']), big), (err) => httpError(400, 'EBADJSON')(err) && /not valid JSON/.test((err as Error).message));
  await rejects(() => readJsonObject(fakeRequest({ 'content-type': 'application/json' }, ['[1]']), big), httpError(400, 'EBADJSON'));
});

test.run();
