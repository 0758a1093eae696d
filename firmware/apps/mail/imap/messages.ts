/**
 * Messages as FETCH and SEARCH read them: the raw bytes from the session's commit, parsed
 * once per blob (the blob id names the content, so a parse stays right for every mailbox and
 * commit that holds the message) and kept in a byte-bounded cache.
 */
import type { ObjectId } from '../../../store/index.js';
import { ByteLru } from '../../../store/index.js';
import { parseMessage, type ParsedMessage } from '../message/index.js';
import type { MailStore } from '../store/index.js';

/** A message's parse, and its bytes read only when something asks for them. */
export interface LoadedMessage {
  readonly raw: Buffer;
  readonly parsed: ParsedMessage;
  /** FETCH items rendered from the parse alone (ENVELOPE, BODYSTRUCTURE), kept with it. */
  readonly rendered: Map<string, string>;
}

interface Entry {
  value: ParsedMessage;
  rendered: Map<string, string>;
}

export class MessageCache {
  private readonly parsed = new ByteLru<ObjectId, Entry>(16 << 20, (entry) => approximateBytes(entry));

  /** `sweep`: one read among many (SEARCH), not worth a place in the store's cache. */
  load(mail: MailStore, commit: ObjectId, mailbox: string, uid: number, sweep = false): LoadedMessage | undefined {
    const blob = mail.messageBlob(commit, mailbox, uid);
    if (blob === undefined) return undefined;
    let raw: Buffer | undefined;
    const readRaw = () => (raw ??= mail.readBlob(blob, { keep: !sweep }));
    let entry = this.parsed.get(blob);
    if (entry === undefined) {
      entry = { value: parseMessage(readRaw()), rendered: new Map() };
      this.parsed.set(blob, entry);
    }
    const { value: parsed, rendered } = entry;
    // ENVELOPE, BODYSTRUCTURE, SORT and THREAD need only the parse: the message is not read.
    return {
      parsed,
      rendered,
      get raw() {
        return readRaw();
      },
    };
  }
}

/** An entry's size in memory, roughly: the parse's parts, and room for its rendered items. */
function approximateBytes({ value: parsed }: Entry): number {
  let parts = 0;
  const count = (part: ParsedMessage['root']): void => {
    parts += 1;
    for (const child of part.parts ?? []) count(child);
    if (part.message !== undefined) count(part.message.root);
  };
  count(parsed.root);
  return 2048 + parts * 512;
}
