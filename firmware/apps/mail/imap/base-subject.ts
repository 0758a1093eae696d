/**
 * The base subject of RFC 5256 section 2.1, which SORT SUBJECT and THREAD compare: encoded
 * words decoded, whitespace collapsed, "Re:", "Fwd:", "[list]" prefixes, "(fwd)" trailers and
 * "[fwd: …]" wrappers removed, case folded.
 */
import { decodeEncodedWords, foldCase } from '../message/index.js';

const LEADER = /^(?:\[[^[\]]*\]\s*)*(?:re|fwd?)\s*(?:\[[^[\]]*\])?:\s*/i;
const BLOB = /^\[[^[\]]*\]\s*/;
const TRAILER = /\s*\(fwd\)$/i;

export function baseSubject(subject: string | undefined): string {
  let s = decodeEncodedWords(subject ?? '').replace(/\s+/g, ' ').trim();
  for (;;) {
    const before = s;
    while (TRAILER.test(s)) s = s.replace(TRAILER, '').trim();
    for (;;) {
      const leader = s.replace(LEADER, '');
      if (leader !== s) {
        s = leader;
        continue;
      }
      // A blob is dropped only if something remains after it.
      const blob = s.replace(BLOB, '');
      if (blob !== s && blob.length > 0) {
        s = blob;
        continue;
      }
      break;
    }
    if (/^\[fwd:/i.test(s) && s.endsWith(']')) s = s.slice(5, -1).trim();
    if (s === before) break;
  }
  return foldCase(s);
}

/** Whether the subject had a reply or forward marker (RFC 5256: such messages are not thread roots by subject). */
export function isReplySubject(subject: string | undefined): boolean {
  const s = decodeEncodedWords(subject ?? '').trim();
  return LEADER.test(s) || TRAILER.test(s) || /^\[fwd:/i.test(s);
}
