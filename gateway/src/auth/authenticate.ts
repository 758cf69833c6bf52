/**
 * Who is calling, for every transport: no `Authorization` header is the anonymous caller; a
 * `Bearer` token is verified (tokens.ts); anything else is refused with UNAUTHENTICATED before the
 * operation is even read, so a bad token never reaches a subgraph.
 *
 * - HTTP (`/graphql`, GET and POST) and Server-Sent Events (`/graphql/stream`): an express
 *   middleware mounted before both answers 401 with `WWW-Authenticate: Bearer error="invalid_token"`,
 *   or puts the principal at `res.locals.principal` and the token's expiry at
 *   `res.locals.tokenExpiresAtMs`; a subscription over SSE ends with UNAUTHENTICATED when it passes
 *   (expiry.ts).
 * - WebSocket: the token comes from the `connection_init` payload (`{ headers: { authorization } }`
 *   or `authorization` at its top level); a bad one closes the socket with 4401, a good one is kept
 *   at `ctx.extra.principal`, and the socket is closed with 4401 when the token expires.
 */
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { Context } from 'graphql-ws';
import { ANONYMOUS, type Principal } from '../../../lib/auth/principal.ts';
import {
  UNAUTHENTICATED_CLOSE_CODE,
  closeReason,
  refusalCloseCode,
  refuseRequest,
  unauthenticated,
} from '../../../lib/auth/unauthenticated.ts';
import { ErrorCode, InterchangeError } from '../../../lib/errors.ts';
import type { WebSocketExtra } from '../../../lib/graphql-ws.ts';
import { headerIn } from '../identity.ts';
import { atExpiry, tokenExpired } from './expiry.ts';
import type { TokenVerifier, Verified } from './tokens.ts';

const BEARER_CHALLENGE = 'Bearer error="invalid_token"';

/** The caller named by an `Authorization` header value (none, or empty: anonymous). */
export async function authenticate(verifier: TokenVerifier, authorization: unknown): Promise<Verified | InterchangeError> {
  if (authorization === undefined || authorization === '') return { principal: ANONYMOUS, expiresAtMs: Infinity };
  const match = typeof authorization === 'string' ? /^Bearer +(\S+) *$/i.exec(authorization) : null;
  if (!match) return unauthenticated('the Authorization header must be "Bearer <token>"');
  return verifier.verify(match[1]!);
}

export function authenticateRequests(verifier: TokenVerifier): RequestHandler {
  return async (req, res, next) => {
    const result = await authenticate(verifier, req.headers.authorization);
    if (result instanceof InterchangeError) return refuseRequest(res, result, BEARER_CHALLENGE);
    res.locals['principal'] = result.principal;
    res.locals['tokenExpiresAtMs'] = result.expiresAtMs;
    next();
  };
}

/** When the request's token expires, in ms since the epoch (Infinity: no token, never). */
export function requestTokenExpiry(locals: Record<string, unknown>): number {
  const at = locals['tokenExpiresAtMs'];
  return typeof at === 'number' ? at : Infinity;
}

/** The principal the middleware found; its absence is a wiring bug, never a reason to run anonymously. */
export function requestPrincipal(locals: Record<string, unknown>): Principal {
  const principal = locals['principal'] as Principal | undefined;
  if (!principal) throw new Error('no principal on this request: the authentication middleware is not mounted before it');
  return principal;
}

/** What a WebSocket connection keeps in `ctx.extra` once authenticated. */
export type ConnectionIdentity = { principal?: Principal | undefined };

/** What tokens refused cost their caller (the edge's per-address rate of them): a refusal when it is spent, and a charge per token found bad. */
export type TokenCharge = {
  over(request: IncomingMessage): Promise<InterchangeError | undefined>;
  refused(request: IncomingMessage): Promise<void>;
};

/** The close code of a socket whose caller spent its rate of refused tokens (graphql-ws's "too many"). */
const TOO_MANY_CLOSE_CODE = 4429;

/**
 * graphql-ws's `onConnect`: verifies the token in `connection_init`, or closes the socket with 4401
 * (charged to `charge`; once its rate is spent, 4429 RATE_LIMITED before verifying).
 */
export function authenticateConnections(verifier: TokenVerifier, charge?: TokenCharge) {
  return async (ctx: Context<Record<string, unknown> | undefined, WebSocketExtra & ConnectionIdentity>): Promise<boolean> => {
    const { socket, request } = ctx.extra;
    const authorization = headerIn(ctx.connectionParams, 'authorization');
    const over = authorization === undefined ? undefined : await charge?.over(request);
    if (over) {
      socket.close(TOO_MANY_CLOSE_CODE, closeReason(over));
      return false;
    }
    const result = await authenticate(verifier, authorization);
    if (result instanceof InterchangeError) {
      if (result.code === ErrorCode.UNAUTHENTICATED) await charge?.refused(request);
      // graphql-ws then closes with 4403, which `ws` ignores on a socket already closing.
      socket.close(refusalCloseCode(result), closeReason(result));
      return false;
    }
    ctx.extra.principal = result.principal;
    const cancel = atExpiry(result.expiresAtMs, () => socket.close(UNAUTHENTICATED_CLOSE_CODE, closeReason(tokenExpired())));
    if (cancel) socket.once('close', cancel);
    return true;
  };
}

/** The principal verified at `connection_init`. */
export function connectionPrincipal(extra: ConnectionIdentity): Principal {
  if (!extra.principal) throw new Error('no principal on this connection: onConnect did not authenticate it');
  return extra.principal;
}
