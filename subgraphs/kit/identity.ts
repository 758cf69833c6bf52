/**
 * The subgraph's side of the signed identity (lib/auth/signed-identity.ts): every GraphQL request,
 * over HTTP and over WebSocket, must carry the gateway's valid `interchange-identity` header, or it
 * is refused with UNAUTHENTICATED (HTTP 401; WebSocket close 4401 at `connection_init`). So calling
 * a subgraph directly, around the gateway, bypasses nothing. Health, readiness and metrics stay open.
 */
import type { RequestHandler } from 'express';
import type { Context } from 'graphql-ws';
import type { Principal } from '../../lib/auth/principal.ts';
import { IDENTITY_HEADER, verifyIdentity } from '../../lib/auth/signed-identity.ts';
import { UNAUTHENTICATED_CLOSE_CODE, closeReason, refuseRequest, unauthenticated } from '../../lib/auth/unauthenticated.ts';
import { InterchangeError } from '../../lib/errors.ts';
import type { WebSocketExtra } from '../../lib/graphql-ws.ts';
import type { Logger } from '../../lib/logger.ts';

export interface IdentityOptions {
  /** IDENTITY_SECRET: the gateway's. */
  secret: string;
  /** IDENTITY_MAX_AGE_MS. */
  maxAgeMs: number;
}

/** What a WebSocket connection keeps in `ctx.extra` once its identity is verified. */
export type VerifiedConnection = { principal?: Principal | undefined };

/** The principal `value` vouches for, or the error to refuse with (the reason goes to the log, and to the caller). */
function check(value: unknown, options: IdentityOptions, log: Logger) {
  const result = verifyIdentity(typeof value === 'string' ? value : undefined, options.secret, Date.now(), options.maxAgeMs);
  if (result.ok) return result.principal;
  // Debug, not warn: anyone who can reach the port could otherwise fill the log. A gateway with the
  // wrong secret shows as its own failed subgraph requests.
  log.debug({ reason: result.reason }, 'refused a request without a valid identity signature');
  return unauthenticated(`this subgraph serves only the gateway: no valid ${IDENTITY_HEADER} header (${result.reason})`);
}

/** Mounted before the GraphQL path: refuses with 401, or leaves the principal at `res.locals.principal`. */
export function verifyRequests(options: IdentityOptions, log: Logger): RequestHandler {
  return (req, res, next) => {
    const principal = check(req.headers[IDENTITY_HEADER], options, log);
    if (principal instanceof InterchangeError) return refuseRequest(res, principal);
    res.locals['principal'] = principal;
    next();
  };
}

/** graphql-ws's `onConnect`: the gateway sends the header in `connection_init`'s `headers`. */
export function verifyConnections(options: IdentityOptions, log: Logger) {
  return (ctx: Context<Record<string, unknown> | undefined, WebSocketExtra & VerifiedConnection>): boolean => {
    const headers = ctx.connectionParams?.['headers'] as Record<string, unknown> | undefined;
    const principal = check(headers?.[IDENTITY_HEADER], options, log);
    if (principal instanceof InterchangeError) {
      // graphql-ws then closes with 4403, which `ws` ignores on a socket already closing.
      ctx.extra.socket.close(UNAUTHENTICATED_CLOSE_CODE, closeReason(principal));
      return false;
    }
    ctx.extra.principal = principal;
    return true;
  };
}

/** The verified principal of a request or connection; its absence is a wiring bug. */
export function verifiedPrincipal(holder: { principal?: unknown }): Principal {
  const principal = holder.principal as Principal | undefined;
  if (!principal) throw new Error('no verified principal: the identity check is not mounted before this handler');
  return principal;
}
