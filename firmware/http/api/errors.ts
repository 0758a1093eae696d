/** Store errors as HTTP answers: the store's code, a status that fits it, never a stack trace. */
import type { ServerResponse } from 'node:http';
import { StoreError, type StoreErrorCode } from '../../store/index.js';
import { describeError, type Logger } from '../../runtime/index.js';
import { HttpError, sendHttpError } from '../body.js';
import { sendError } from '../respond.js';

const STATUS: Record<StoreErrorCode, number> = {
  EBADPATH: 400,
  EBADREF: 400,
  EINVAL: 400,
  ENOTFOUND: 404,
  ECONFLICT: 409,
  ETOOBIG: 413,
  ECORRUPT: 500,
};

/**
 * Answers an error of a request with JSON `{error: {code, message}}`. HttpErrors and
 * StoreErrors are the caller's or the data's; anything else is logged and answered 500.
 */
export function sendApiError(res: ServerResponse, err: unknown, log: Logger, context: Record<string, string> = {}): void {
  if (err instanceof HttpError) return sendHttpError(res, err);
  if (err instanceof StoreError) {
    const status = STATUS[err.code] ?? 500;
    if (status >= 500) {
      log.error('store error', { ...context, code: err.code, error: describeError(err) });
      return sendError(res, status, err.code, 'the store could not complete this request; see the device log');
    }
    return sendError(res, status, err.code, describeError(err));
  }
  log.error('request failed', { ...context, error: describeError(err) });
  sendError(res, 500, 'EINTERNAL', 'internal error');
}
