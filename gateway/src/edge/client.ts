/**
 * Who a request counts against, for every rate and cap of the edge: the verified token's subject
 * when there is one, else the remote address. Until a transport has verified a principal (the
 * authentication middleware puts it in `res.locals.principal`, the WebSocket connection_init hook
 * in `ctx.extra.principal`), the caller is anonymous and counted by address.
 */
import { ANONYMOUS, type Principal } from '../../../lib/auth/principal.ts';

/** The principal a transport left in `holder[key]`, read defensively: anything else is anonymous. */
export function principalIn(holder: object | undefined, key = 'principal'): Principal {
  const value = (holder as Record<string, unknown> | undefined)?.[key];
  if (typeof value !== 'object' || value === null) return ANONYMOUS;
  const { subject } = value as { subject?: unknown };
  return typeof subject === 'string' || subject === null ? (value as Principal) : ANONYMOUS;
}

/** The client key: `sub:<subject>` for a token's subject, `ip:<address>` otherwise (never confused). */
export function clientKey(principal: Principal, remoteAddress: string | undefined): string {
  return principal.subject ? `sub:${principal.subject}` : `ip:${remoteAddress ?? 'unknown'}`;
}

/** The client of an HTTP (or SSE) request, from `res.locals.principal` and the socket's address. */
export function httpClient(req: { socket: { remoteAddress?: string | undefined } }, res: { locals?: object } | undefined): string {
  return clientKey(principalIn(res?.locals), req.socket.remoteAddress);
}
