/**
 * An HTTP client for isomorphic-git that sends each request over a connection it is handed
 * rather than one it dials: how sync reaches a paired device through a Signpost stream. The
 * URL's host is only a label; `connect()` decides where the bytes go. node:http does the
 * HTTP, so the stream carries ordinary HTTP/1.1, and the other side serves it with its
 * ordinary router.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { HttpClient } from 'isomorphic-git';

/** Response bodies larger than this end the request: a sync never needs more in one answer. */
const MAX_RESPONSE_BYTES = 512 * 1024 * 1024;

export function streamHttpClient(connect: () => Duplex): HttpClient {
  return {
    async request({ url, method = 'GET', headers = {}, body }) {
      const chunks: Uint8Array[] = [];
      if (body !== undefined) for await (const chunk of body) chunks.push(chunk);
      const payload = Buffer.concat(chunks);
      const target = new URL(url);
      const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const request = http.request(
          {
            createConnection: () => connect() as unknown as import('node:net').Socket,
            method,
            host: target.hostname,
            path: `${target.pathname}${target.search}`,
            headers: { ...headers, 'content-length': String(payload.length) },
            // No agent: node:http then takes its connection from createConnection (an agent would dial).
          },
          resolve,
        );
        request.once('error', reject);
        request.end(payload);
      });
      return {
        url,
        method,
        statusCode: response.statusCode ?? 0,
        statusMessage: response.statusMessage ?? '',
        headers: Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value)])),
        body: limited(response),
      };
    },
  };
}

async function* limited(response: http.IncomingMessage): AsyncIterableIterator<Uint8Array> {
  let total = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > MAX_RESPONSE_BYTES) {
      response.destroy();
      throw new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`);
    }
    yield chunk;
  }
}
