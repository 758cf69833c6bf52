/**
 * How a process refuses a caller it cannot identify, on every transport alike: HTTP 401 with a
 * GraphQL-shaped body, WebSocket close 4401 with a reason starting `UNAUTHENTICATED`. When the
 * caller could not be identified for want of the keys to check it with (UPSTREAM_UNAVAILABLE), the
 * caller is not at fault: HTTP 503, or WebSocket close 1013, and the reason starts with that code.
 */
import type { Response } from 'express';
import { ErrorCode, InterchangeError } from '../errors.ts';

export const UNAUTHENTICATED_CLOSE_CODE = 4401;
/** RFC 6455's "try again later": the socket was refused for want of the keys, not for its token. */
export const TRY_AGAIN_LATER_CLOSE_CODE = 1013;

/** The close code for a caller refused with `error`: 4401 for its token, 1013 when the keys were unavailable. */
export const refusalCloseCode = (error: InterchangeError): number =>
  error.code === ErrorCode.UNAUTHENTICATED ? UNAUTHENTICATED_CLOSE_CODE : TRY_AGAIN_LATER_CLOSE_CODE;

export const unauthenticated = (message: string) => new InterchangeError(ErrorCode.UNAUTHENTICATED, message);

/** A WebSocket close reason may hold at most 123 bytes; ours are ASCII. */
export const closeReason = (error: InterchangeError): string => `${error.code}: ${error.message}`.slice(0, 123);

/**
 * Answers 401 with the error; `challenge` is the `WWW-Authenticate` value (RFC 6750 for bearer
 * tokens), when the caller can do something about it. Any other code than UNAUTHENTICATED (the keys
 * unavailable) is 503 without a challenge: a new token would not help.
 */
export function refuseRequest(res: Response, error: InterchangeError, challenge?: string): void {
  if (error.code !== ErrorCode.UNAUTHENTICATED) {
    res.status(503).json({ errors: [error.toJSON()] });
    return;
  }
  if (challenge) res.setHeader('www-authenticate', challenge);
  res.status(401).json({ errors: [error.toJSON()] });
}
