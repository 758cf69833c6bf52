/**
 * Who is calling: what the gateway learned from a verified token, and what it passes on to
 * subgraphs (signed, see `signed-identity.ts`). The same shape on both sides, so a subgraph's
 * resolvers and the gateway's authorization read one thing.
 */
export interface Principal {
  /** The token's `sub`; null for an anonymous caller (no token). */
  readonly subject: string | null;
  /** The customer the token acts for (the `customer_id` claim), if any. */
  readonly customerId: string | null;
  /** Granted scopes (the token's `scope`, space-separated, or `scp` array). */
  readonly scopes: readonly string[];
}

export const ANONYMOUS: Principal = Object.freeze({ subject: null, customerId: null, scopes: Object.freeze([]) as readonly string[] });

/** Scopes of the example domain (the SDL's `@requiresScopes` and the subgraphs' own rules use these). */
export const Scope = {
  /** Place and cancel one's own orders. */
  ORDERS_WRITE: 'orders:write',
  /** Stream every customer's order events (`orderEvents` without `customerId`). */
  ORDERS_ALL: 'orders:all',
  /** Read any customer's e-mail and orders. */
  SUPPORT: 'support',
  /** Everything, for any customer. */
  ADMIN: 'admin',
} as const;

export const ALL_SCOPES: readonly string[] = Object.values(Scope);

export const hasScope = (principal: Principal, scope: string): boolean =>
  principal.scopes.includes(scope) || principal.scopes.includes(Scope.ADMIN);
