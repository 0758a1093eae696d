/**
 * Messages as FETCH and SEARCH read them: the raw bytes from the session's commit, parsed
 * once per blob (the blob id names the content, so a parse stays right for every mailbox and
 * commit that holds the message) and kept in a byte-bounded cache.
 */
import type { ObjectId } from '../../../store/index.js';
import { ByteLru } from '../../../store/index.js';
import { parseMessage, type ParsedMessage } from '../message/index.js';
import type { MailStore } from '../store/index.js';

export interface LoadedMessage {
  raw: Buffer;
  parsed: ParsedMessage;
}

export class MessageCache {
  private readonly parsed = new ByteLru<ObjectId, { value: ParsedMessage; bytes: number }>(32 << 20, (entry) => entry.bytes);

  load(mail: MailStore, commit: ObjectId, mailbox: string, uid: number): LoadedMessage | undefined {
    const found = mail.message(commit, mailbox, uid);
    if (found === undefined) return undefined;
    let entry = this.parsed.get(found.blob);
    if (entry === undefined) {
      const value = parseMessage(found.raw);
      entry = { value, bytes: approximateBytes(value) };
      this.parsed.set(found.blob, entry);
    }
    return { raw: found.raw, parsed: entry.value };
  }
}

/** A parse's size in memory, roughly: its parts dominate. */
function approximateBytes(parsed: ParsedMessage): number {
  let parts = 0;
  const count = (part: ParsedMessage['root']): void => {
    parts += 1;
    for (const child of part.parts ?? []) count(child);
    if (part.message !== undefined) count(part.message.root);
  };
  count(parsed.root);
  return 1024 + parts * 512;
}
