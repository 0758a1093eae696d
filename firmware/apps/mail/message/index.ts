/**
 * The message model of the mail app: a message is parsed once when it arrives (parseMessage),
 * the ParsedMessage cached as JSON next to it, and FETCH (ENVELOPE, BODY, BODYSTRUCTURE,
 * BODY[section], BINARY) and SEARCH answered from it and the raw bytes without parsing again.
 * Pure functions: no sockets, no store.
 */
export {
  MAX_DEPTH,
  MAX_PARTS,
  PARSED_VERSION,
  fieldName,
  parseMessage,
  scanHeader,
  type Disposition,
  type EmbeddedMessage,
  type EnvelopeHeaders,
  type HeaderField,
  type MimePart,
  type ParsedMessage,
} from './parse.js';
export { envelope, messageIds, parseAddressList, parseDate, sentDay, type Address, type ImapValue, type SentDate } from './envelope.js';
export { bodyStructure, partStructure } from './structure.js';
export {
  binarySize,
  fetchBinary,
  fetchSection,
  headerFields,
  isUnknownCte,
  resolvePart,
  type PartialRange,
  type Section,
  type SectionSpecifier,
  type UnknownCte,
} from './section.js';
export {
  bytesToText,
  byteStringToText,
  decodeBase64,
  decodeCharset,
  decodeEncodedWords,
  decodeHeaderValue,
  decodeQuotedPrintable,
  decodeRfc2231Value,
  decodeTransfer,
  isKnownTransferEncoding,
  mergeRfc2231,
  paramValue,
  parseParams,
  unfold,
  type MimeParam,
} from './decode.js';
export {
  MAX_PART_BYTES,
  MAX_TEXT_CHARS,
  bodyText,
  containsFolded,
  decodeCachedHeader,
  entityHeaderText,
  entityHeaderValues,
  foldCase,
  headerText,
  headerValues,
  htmlToText,
} from './search-text.js';
export { MAX_VIEW_TEXT_CHARS, messageView, type MessageAttachment, type MessageView } from './view.js';
