/**
 * A request body read on demand: exact reads for pkt-lines, chunks for a pack. Bounded: at
 * most `maxBytes` (after gzip, so a gzip bomb stops there too), and no more than
 * `idleTimeoutMs` without a byte from the client. Nothing is buffered beyond what was asked
 * for plus one network chunk. Over a limit, reading stops; the caller answers and closes.
 */
import type { IncomingMessage } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';

import { GitRequestError } from './errors.js';
import type { ByteSource } from './pkt-line.js';

export interface BodyLimits {
  maxBytes: number;
  idleTimeoutMs: number;
}

export class RequestBody implements ByteSource {
  /** Bytes received so far (decompressed). */
  received = 0;
  private readonly stream: Readable;
  private readonly chunks: AsyncIterator<Buffer>;
  private readonly buffer: Buffer[] = [];
  private buffered = 0;
  private ended = false;

  constructor(
    req: IncomingMessage,
    private readonly limits: BodyLimits,
  ) {
    const encoding = String(req.headers['content-encoding'] ?? '').trim().toLowerCase();
    if (encoding === 'gzip' || encoding === 'x-gzip') {
      const gunzip = zlib.createGunzip();
      // pipeline destroys both ends on an error in either; the error surfaces in our reads.
      this.stream = pipeline(req, gunzip, () => undefined);
    } else if (encoding === '' || encoding === 'identity') {
      this.stream = req;
    } else {
      throw new GitRequestError('EMEDIATYPE', `unsupported content-encoding '${encoding.slice(0, 40)}'`);
    }
    this.chunks = this.stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async readExact(length: number): Promise<Buffer | undefined> {
    while (this.buffered < length && (await this.pull()));
    if (this.buffered === 0 && this.ended) return undefined;
    if (this.buffered < length) throw new GitRequestError('EBADPKT', 'request body ends early');
    return this.take(length);
  }

  /** Whatever is buffered, else the next chunk; undefined at the end of the body. */
  async readChunk(): Promise<Buffer | undefined> {
    if (this.buffered === 0 && !(await this.pull())) return undefined;
    return this.take(this.buffered);
  }


  private take(length: number): Buffer {
    const joined = this.buffer.length === 1 ? this.buffer[0]! : Buffer.concat(this.buffer, this.buffered);
    this.buffer.length = 0;
    if (joined.length > length) this.buffer.push(joined.subarray(length));
    this.buffered -= length;
    return joined.subarray(0, length);
  }

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<'idle'>((resolve) => {
      timer = setTimeout(() => resolve('idle'), this.limits.idleTimeoutMs);
    });
    const next = this.chunks.next();
    let result: IteratorResult<Buffer> | 'idle';
    try {
      result = await Promise.race([next, idle]);
    } catch (error) {
      this.ended = true;
      const gzip = (error as NodeJS.ErrnoException).code?.startsWith('Z_') === true;
      if (gzip) throw new GitRequestError('EBADPKT', `request body is not valid gzip (${(error as Error).message})`, { cause: error });
      throw new GitRequestError('ECLOSED', 'the client went away', { cause: error });
    } finally {
      clearTimeout(timer);
    }
    if (result === 'idle') {
      next.catch(() => undefined);
      this.ended = true;
      throw new GitRequestError('ETIMEDOUT', `no data from the client for ${this.limits.idleTimeoutMs} ms`);
    }
    if (result.done === true) {
      this.ended = true;
      return false;
    }
    const chunk = result.value;
    this.received += chunk.length;
    if (this.received > this.limits.maxBytes) {
      this.ended = true;
      throw new GitRequestError('ETOOBIG', `request body is larger than ${this.limits.maxBytes} bytes`);
    }
    this.buffer.push(chunk);
    this.buffered += chunk.length;
    return true;
  }
}
