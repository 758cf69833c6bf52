/**
 * The one auth/context hook for every transport: which of the caller's headers the gateway passes
 * on to subgraphs (`FORWARD_HEADERS`, `authorization` by default). Over HTTP they come from the
 * request's headers; over WebSocket from the `connection_init` payload (`{ headers: {...} }`, or the
 * header names at its top level). The same identity keys shared subscriptions, so callers who
 * would get different answers never share one.
 */
export type Identity = Record<string, string>;

/** The context every operation runs with. */
export interface GatewayContext extends Record<PropertyKey, unknown> {
  headers: Identity;
}

export function identityFrom(source: Record<string, unknown> | undefined, forward: readonly string[]): Identity {
  const identity: Identity = {};
  if (!source) return identity;
  const nested = typeof source['headers'] === 'object' && source['headers'] !== null ? (source['headers'] as Record<string, unknown>) : {};
  const lookup = new Map<string, unknown>();
  for (const bag of [source, nested]) for (const [name, value] of Object.entries(bag)) lookup.set(name.toLowerCase(), value);
  for (const name of forward) {
    const value = lookup.get(name);
    if (typeof value === 'string' && value.length > 0) identity[name] = value;
    else if (Array.isArray(value) && typeof value[0] === 'string') identity[name] = value[0];
  }
  return identity;
}
