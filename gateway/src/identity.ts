/**
 * Which of the caller's headers the gateway passes on to subgraphs (`FORWARD_HEADERS`, none by
 * default: who is calling reaches subgraphs as the signed `interchange-identity` header, never as
 * the client's token; see gateway/src/auth/ and lib/auth/signed-identity.ts). Over HTTP they come from the
 * request's headers; over WebSocket from the `connection_init` payload (`{ headers: {...} }`, or the
 * header names at its top level). The same identity keys shared subscriptions, so callers who
 * would get different answers never share one.
 *
 * A value that could not be sent on to a subgraph as an HTTP header (a non-ASCII character such as
 * a pasted `…`, a line break) is refused here, for every transport alike, with `BAD_REQUEST` naming
 * the header: forwarding it would fail inside the subgraph request and look like an outage.
 */
import type { Principal } from '../../lib/auth/principal.ts';
import { ErrorCode, InterchangeError } from '../../lib/errors.ts';

export type Identity = Record<string, string>;

/** The context every operation runs with. */
export interface GatewayContext extends Record<PropertyKey, unknown> {
  headers: Identity;
  /** Who is calling, verified (gateway/src/auth/); ANONYMOUS without a token. */
  principal: Principal;
  /** The `extensions` of a subscribe message (graphql-ws) or request (SSE); a subscription reads its stream options there. */
  extensions?: Record<string, unknown> | undefined;
  /** Whom the edge counts the operation against (edge/client.ts); set over WebSocket and SSE, where subscriptions run. */
  client?: string | undefined;
}

/** What a forwarded header value may hold: visible ASCII, space and horizontal tab. */
const FORWARDABLE = /^[\t\x20-\x7e]*$/;

/**
 * The headers to forward, found in `source` (an HTTP request's headers or a graphql-ws
 * `connection_init` payload). Throws an `InterchangeError` with `BAD_REQUEST` (and
 * `extensions.header`) when a value cannot be forwarded; the value itself is never echoed.
 */
export function identityFrom(source: Record<string, unknown> | undefined, forward: readonly string[]): Identity {
  const identity: Identity = {};
  if (!source) return identity;
  const lookup = headersIn(source);
  for (const name of forward) {
    const value = lookup.get(name);
    if (typeof value === 'string' && value.length > 0) identity[name] = forwardable(name, value);
    else if (Array.isArray(value) && typeof value[0] === 'string') identity[name] = forwardable(name, value[0]);
  }
  return identity;
}

/** Header names (lower case) -> values, from the top level of `source` and its `headers` (which win). */
function headersIn(source: Record<string, unknown>): Map<string, unknown> {
  const nested = typeof source['headers'] === 'object' && source['headers'] !== null ? (source['headers'] as Record<string, unknown>) : {};
  const lookup = new Map<string, unknown>();
  for (const bag of [source, nested]) for (const [name, value] of Object.entries(bag)) lookup.set(name.toLowerCase(), value);
  return lookup;
}

/** One header's value in an HTTP request's headers or a `connection_init` payload, as sent (any type). */
export function headerIn(source: Record<string, unknown> | undefined, name: string): unknown {
  return source ? headersIn(source).get(name) : undefined;
}

/**
 * The identity, or the `BAD_REQUEST` error that says why it cannot be forwarded: for transports
 * that answer a refused request in their own way rather than by a thrown error.
 */
export function identityOrRefusal(source: Record<string, unknown> | undefined, forward: readonly string[]): Identity | InterchangeError {
  try {
    return identityFrom(source, forward);
  } catch (err) {
    if (err instanceof InterchangeError) return err;
    throw err;
  }
}

function forwardable(name: string, value: string): string {
  if (FORWARDABLE.test(value)) return value;
  const index = [...value].findIndex((c) => !FORWARDABLE.test(c));
  const char = [...value][index]!;
  const codePoint = `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  throw new InterchangeError(
    ErrorCode.BAD_REQUEST,
    `header "${name}" has a value that cannot be sent over HTTP: character ${index + 1} is ${codePoint} ` +
      '(only visible ASCII, space and tab are allowed)',
    { header: name },
  );
}
