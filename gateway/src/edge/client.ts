/**
 * Who a request counts against, for every rate and cap of the edge: the verified token's subject
 * when there is one, else the client's address. Until a transport has verified a principal (the
 * authentication middleware puts it in `res.locals.principal`, the WebSocket connection_init hook
 * in `ctx.extra.principal`), the caller is anonymous and counted by address.
 *
 * The address is the socket's, unless the socket's peer is one of TRUSTED_PROXIES: then it is the
 * one `X-Forwarded-For` names through trusted proxies (`proxy-addr`, as express does it). An
 * `X-Forwarded-For` from anyone else is ignored, so a client cannot pick its own address. IPv6
 * addresses count by their /64, the block one subscriber gets: one caller cannot become millions of
 * clients.
 */
import type { IncomingMessage } from 'node:http';
import ipaddr from 'ipaddr.js';
import proxyaddr from 'proxy-addr';
import { ANONYMOUS, type Principal } from '../../../lib/auth/principal.ts';

export type ProxyTrust = proxyaddr.Trust;

/** The trust function for TRUSTED_PROXIES (none trusted for an empty list); throws TypeError for an entry that is not an address, a CIDR range or a `proxy-addr` name. */
export const proxyTrust = (proxies: readonly string[]): ProxyTrust => proxyaddr.compile([...proxies]);

/** Whether every entry of a TRUSTED_PROXIES list is one `proxy-addr` understands. */
export function validProxies(proxies: readonly string[]): boolean {
  try {
    proxyTrust(proxies);
    return true;
  } catch {
    return false;
  }
}

/** Each request's client address, found once, where the edge first sees the request. */
const addresses = new WeakMap<IncomingMessage, string>();

/** Finds the client address of a request (or a WebSocket upgrade) with `trust`, for `clientAddress` to give from then on. */
export function identifyClient(req: IncomingMessage, trust: ProxyTrust): void {
  if (req.socket.remoteAddress === undefined) return; // the socket is gone: nothing to count
  addresses.set(req, proxyaddr(req, trust));
}

/** The address a request counts against: the one `identifyClient` found, else the socket's. */
export function clientAddress(req: { socket: { remoteAddress?: string | undefined } }): string | undefined {
  return addresses.get(req as IncomingMessage) ?? req.socket.remoteAddress;
}

/** An IPv6 address as its /64 (`2001:db8:1:2::/64`), an IPv4-mapped one as IPv4; anything else as it is. */
export function addressGroup(address: string): string {
  if (!ipaddr.IPv6.isValid(address)) return address;
  const v6 = ipaddr.IPv6.parse(address);
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  return `${new ipaddr.IPv6([...v6.parts.slice(0, 4), 0, 0, 0, 0]).toString()}/64`;
}

/** The principal a transport left in `holder[key]`, read defensively: anything else is anonymous. */
export function principalIn(holder: object | undefined, key = 'principal'): Principal {
  const value = (holder as Record<string, unknown> | undefined)?.[key];
  if (typeof value !== 'object' || value === null) return ANONYMOUS;
  const { subject } = value as { subject?: unknown };
  return typeof subject === 'string' || subject === null ? (value as Principal) : ANONYMOUS;
}

/** The client key: `sub:<subject>` for a token's subject, `ip:<address or its /64>` otherwise (never confused). */
export function clientKey(principal: Principal, remoteAddress: string | undefined): string {
  return principal.subject ? `sub:${principal.subject}` : `ip:${remoteAddress === undefined ? 'unknown' : addressGroup(remoteAddress)}`;
}

/** The client of an HTTP (or SSE) request, from `res.locals.principal` and the request's client address. */
export function httpClient(req: { socket: { remoteAddress?: string | undefined } }, res: { locals?: object } | undefined): string {
  return clientKey(principalIn(res?.locals), clientAddress(req));
}
