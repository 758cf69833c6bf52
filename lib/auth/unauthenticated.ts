/**
 * How a process refuses a caller it cannot identify, on every transport alike: HTTP 401 with a
 * GraphQL-shaped body, WebSocket close 4401 with a reason starting `UNAUTHENTICATED`.
 */
import type { Response } from 'express';
import { ErrorCode, InterchangeError } from '../errors.ts';

export const UNAUTHENTICATED_CLOSE_CODE = 4401;

export const unauthenticated = (message: string) => new InterchangeError(ErrorCode.UNAUTHENTICATED, message);

/** A WebSocket close reason may hold at most 123 bytes; ours are ASCII. */
export const closeReason = (error: InterchangeError): string => `${ErrorCode.UNAUTHENTICATED}: ${error.message}`.slice(0, 123);

/**
 * Answers 401 with the error; `challenge` is the `WWW-Authenticate` value (RFC 6750 for bearer
 * tokens), when the caller can do something about it.
 */
export function refuseRequest(res: Response, error: InterchangeError, challenge?: string): void {
  if (challenge) res.setHeader('www-authenticate', challenge);
  res.status(401).json({ errors: [error.toJSON()] });
}
