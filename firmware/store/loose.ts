/**
 * Loose objects: objects/<2 hex>/<38 hex>, each the zlib of `<type> <size>\0<content>`.
 * Reads are bounded by the size the header declares and checked against the id, so a
 * corrupt or forged file is an error naming the object, never wrong data.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { StoreError, corrupt } from './errors.js';
import { assertObjectType, hashObject, objectHeader, type ObjectId, type ObjectType, type RawObject } from './objects.js';

/** Objects larger than this are refused: the device has little memory and mail has limits. */
export const MAX_OBJECT_BYTES = 256 * 1024 * 1024;

export function loosePath(objectsDir: string, id: ObjectId): string {
  return path.join(objectsDir, id.slice(0, 2), id.slice(2));
}

/** The on-disk bytes of a loose object. Level 1: the hot write path favours speed. */
export function encodeLoose(type: ObjectType, content: Uint8Array): Buffer {
  return zlib.deflateSync(Buffer.concat([objectHeader(type, content.length), content]), { level: 1 });
}

export function decodeLoose(file: Buffer, id: ObjectId): RawObject {
  const head = inflateHeader(file, id);
  const space = head.indexOf(0x20);
  const nul = head.indexOf(0);
  if (space < 0 || nul < space) throw corrupt(`object ${id}: bad header`);
  const type = assertObjectType(head.toString('latin1', 0, space), `object ${id}`);
  const sizeText = head.toString('latin1', space + 1, nul);
  if (!/^\d{1,10}$/.test(sizeText)) throw corrupt(`object ${id}: bad size in header`);
  const size = Number(sizeText);
  if (size > MAX_OBJECT_BYTES) throw new StoreError('ETOOBIG', `object ${id} is larger than ${MAX_OBJECT_BYTES} bytes`);
  let whole: Buffer;
  try {
    whole = zlib.inflateSync(file, { maxOutputLength: nul + 1 + size });
  } catch (err) {
    throw corrupt(`object ${id}: bad zlib data or longer than its header says`, err);
  }
  if (whole.length !== nul + 1 + size) throw corrupt(`object ${id}: content is shorter than its header says`);
  const content = whole.subarray(nul + 1);
  if (hashObject(type, content) !== id) throw corrupt(`object ${id}: content does not match its id`);
  return { type, content };
}

/**
 * The start of the inflated object, enough to hold its header. Only a prefix of the file is
 * inflated, growing until the header's NUL appears, so the full inflate can be bounded by the
 * size the header declares. (A deflate block's Huffman tables can take a few hundred bytes
 * before the first byte of output.)
 */
function inflateHeader(file: Buffer, id: ObjectId): Buffer {
  for (const prefix of [64, 512, 4096, 32768]) {
    let head: Buffer;
    try {
      head = zlib.inflateSync(file.subarray(0, prefix), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch (err) {
      throw corrupt(`object ${id}: bad zlib data`, err);
    }
    if (head.subarray(0, 32).includes(0) || prefix >= file.length) return head.subarray(0, 32);
  }
  throw corrupt(`object ${id}: bad header`);
}

export function readLoose(objectsDir: string, id: ObjectId): RawObject | undefined {
  let file: Buffer;
  try {
    file = fs.readFileSync(loosePath(objectsDir, id));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return decodeLoose(file, id);
}

export function hasLoose(objectsDir: string, id: ObjectId): boolean {
  return fs.existsSync(loosePath(objectsDir, id));
}

export function* listLoose(objectsDir: string): Generator<ObjectId> {
  let fanout: string[];
  try {
    fanout = fs.readdirSync(objectsDir);
  } catch {
    return;
  }
  for (const dir of fanout.sort()) {
    if (!/^[0-9a-f]{2}$/.test(dir)) continue;
    for (const name of fs.readdirSync(path.join(objectsDir, dir)).sort()) {
      if (/^[0-9a-f]{38}$/.test(name)) yield dir + name;
    }
  }
}
