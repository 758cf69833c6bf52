/**
 * The subgraphs' own authorization rules: the ones that depend on the data, which the gateway's
 * `@authenticated` and `@requiresScopes` cannot decide ("this customer's own orders"). Each check
 * throws UNAUTHORIZED, so a resolver that calls it answers null with the error at its field and the
 * rest of the response still resolves. The gateway checks the schema's directives first; the
 * scope checks here are repeated on purpose, so that a subgraph's answer never depends on the
 * gateway having enforced them.
 *
 * `hasScope` (lib/auth/principal.ts) makes `admin` imply every scope.
 */
import { hasScope, type Principal } from '../../lib/auth/principal.ts';
import { ErrorCode, InterchangeError } from '../../lib/errors.ts';

/**
 * The messages name what would have been allowed, never what the caller asked about (another
 * customer's id stays out of them), so a denial tells nothing beyond the rule.
 */
export function unauthorized(message: string): InterchangeError {
  return new InterchangeError(ErrorCode.UNAUTHORIZED, message);
}

/** Whether the principal acts for this customer (a token whose `customer_id` is this id). */
export const actsFor = (principal: Principal, customerId: string): boolean =>
  principal.customerId !== null && principal.customerId === customerId;

/** Throws UNAUTHORIZED unless the caller presented a token (anyone with a subject). */
export function requireSubject(principal: Principal): void {
  if (principal.subject === null) throw unauthorized('this needs a token');
}

/** Throws UNAUTHORIZED unless the principal holds one of `scopes`. */
export function requireScope(principal: Principal, ...scopes: [string, ...string[]]): void {
  if (!scopes.some((scope) => hasScope(principal, scope))) throw unauthorized(`this needs the scope ${listed(scopes)}`);
}

/** Throws UNAUTHORIZED unless the principal acts for `customerId` or holds one of `scopes`. */
export function requireOwnerOr(principal: Principal, customerId: string, ...scopes: [string, ...string[]]): void {
  if (actsFor(principal, customerId) || scopes.some((scope) => hasScope(principal, scope))) return;
  throw unauthorized(`only the customer themself or the scope ${listed(scopes)} may do this`);
}

const listed = (scopes: readonly string[]) => scopes.map((s) => `"${s}"`).join(' or ');
