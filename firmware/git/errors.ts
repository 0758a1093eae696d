/**
 * Errors of the git server. A request that is not git's protocol at all (bad framing, too
 * big, too slow) is answered with an HTTP status; a well-framed request that asks for the
 * wrong thing is answered in the protocol's own terms (ERR, unpack/ng) by the service.
 */
import { NymoteError } from '../runtime/index.js';

export type GitRequestErrorCode =
  | 'EBADPKT' // malformed pkt-line framing or a line the protocol does not allow here
  | 'ETOOBIG' // a body, line count or size over a limit
  | 'ETIMEDOUT' // the client stopped sending
  | 'ECLOSED' // the client went away mid-request
  | 'EMEDIATYPE' // a content type or encoding this server does not speak
  | 'EPROTO'; // a well-framed request the service refuses (unknown want, bad capability…)

const HTTP_STATUS: Readonly<Record<GitRequestErrorCode, number>> = {
  EBADPKT: 400,
  ETOOBIG: 413,
  ETIMEDOUT: 408,
  ECLOSED: 400,
  EMEDIATYPE: 415,
  EPROTO: 400,
};

export class GitRequestError extends NymoteError {
  override readonly code: GitRequestErrorCode;
  readonly httpStatus: number;
  constructor(code: GitRequestErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'GitRequestError';
    this.code = code;
    this.httpStatus = HTTP_STATUS[code];
  }
}

/** A refusal of the pre-receive hook: the pusher sees `remote: <message>` and no ref moves. */
export class GitHookRejection extends NymoteError {
  constructor(message: string) {
    super('EREJECTED', message);
    this.name = 'GitHookRejection';
  }
}
