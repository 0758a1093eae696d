/**
 * `GET /api/v1/<user>/events?branch=main&prefix=P`: Server-Sent Events, one `commit` event per
 * commit on the branch that changes something under the prefix, with the changed paths:
 *
 *   event: ready                      (once, when the stream is set up)
 *   data: {"branch":"main","commit":"<head or null>"}
 *
 *   id: <commit>
 *   event: commit
 *   data: {"branch":"main","commit":"<id>","paths":["a/b", …],"truncated":false}
 *
 * A comment line every 15 s keeps proxies and NATs from closing an idle stream. A client that
 * reconnects with Last-Event-ID other than the current head gets a `resync` event (commits
 * are not replayed: it should re-read what it shows). Streams are bounded per user and in
 * all (429 beyond); a client that does not keep up is disconnected; all close on stop.
 */
import type { ServerResponse } from 'node:http';
import { splitPath, type Store } from '../../store/index.js';
import { HttpError } from '../body.js';
import { DEFAULT_BRANCH, type ApiLimits, type ApiRequest } from './context.js';

const MAX_PATHS_PER_EVENT = 1000;

interface Stream {
  user: string;
  res: ServerResponse;
  close(): void;
}

export class EventStreams {
  private readonly streams = new Set<Stream>();
  private closed = false;

  constructor(private readonly limits: ApiLimits) {}

  get size(): number {
    return this.streams.size;
  }

  countFor(user: string): number {
    let n = 0;
    for (const s of this.streams) if (s.user === user) n++;
    return n;
  }

  open(api: ApiRequest): void {
    const { req, res, url, store, user } = api;
    if (api.rest.length > 0) throw new HttpError(404, 'ENOTFOUND', 'no such resource');
    if (this.closed) throw new HttpError(503, 'ESTOPPING', 'the server is stopping');
    const branchName = url.searchParams.get('branch') ?? DEFAULT_BRANCH;
    const prefix = url.searchParams.get('prefix') ?? '';
    const branch = store.branch(branchName); // EBADREF
    splitPath(prefix, { allowRoot: true }); // EBADPATH, before anything is sent
    if (this.countFor(user) >= this.limits.maxStreamsPerUser || this.streams.size >= this.limits.maxStreams) {
      res.setHeader('retry-after', '30');
      throw new HttpError(429, 'ETOOMANY', `too many event streams open (at most ${this.limits.maxStreamsPerUser} per user)`);
    }
    const head = branch.head() ?? null;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    if (req.method === 'HEAD') return void res.end();
    req.socket.setNoDelay(true);
    req.socket.setTimeout(0);

    let unwatch: (() => void) | undefined;
    let heartbeat: NodeJS.Timeout | undefined;
    const stream: Stream = {
      user,
      res,
      close: () => {
        if (!this.streams.delete(stream)) return;
        unwatch?.();
        clearInterval(heartbeat);
        if (!res.writableEnded) {
          // Close the connection once the last chunk is out, so that nothing cuts it short.
          res.shouldKeepAlive = false;
          res.end();
        }
      },
    };
    const send = (text: string) => {
      if (res.writableEnded || res.destroyed) return;
      res.write(text);
      // A client that stopped reading must not make the server buffer without end.
      if (res.writableLength > this.limits.maxStreamBufferBytes) {
        stream.close();
        res.destroy();
      }
    };
    this.streams.add(stream);
    res.once('close', () => stream.close());
    unwatch = watch(store, branchName, prefix, (event) => send(event));
    heartbeat = setInterval(() => send(': heartbeat\n\n'), this.limits.heartbeatMs);
    heartbeat.unref();
    send(`retry: 5000\nevent: ready\ndata: ${JSON.stringify({ branch: branchName, commit: head })}\n\n`);
    const lastEventId = req.headers['last-event-id'];
    if (typeof lastEventId === 'string' && lastEventId !== '' && lastEventId !== head) {
      send(`event: resync\ndata: ${JSON.stringify({ branch: branchName, commit: head })}\n\n`);
    }
  }

  /** Ends every stream (the server is stopping) and waits until they are out; later requests get 503. */
  async closeAll(waitMs = 1000): Promise<void> {
    this.closed = true;
    const closing = [...this.streams].map((stream) => {
      const closed = new Promise<void>((resolve) => {
        if (stream.res.closed) return resolve();
        const timer = setTimeout(resolve, waitMs);
        stream.res.once('close', () => (clearTimeout(timer), resolve()));
      });
      stream.close();
      return closed;
    });
    await Promise.all(closing);
  }
}

function watch(store: Store, branch: string, prefix: string, send: (text: string) => void): () => void {
  return store.watch(branch, prefix, ({ commit, paths }) => {
    const shown = paths.slice(0, MAX_PATHS_PER_EVENT);
    const data = JSON.stringify({ branch, commit, paths: shown, truncated: shown.length < paths.length });
    send(`id: ${commit}\nevent: commit\ndata: ${data}\n\n`);
  });
}
