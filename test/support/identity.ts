/**
 * For tests and tools that call a subgraph directly, around the gateway: subgraphs serve only
 * requests with the gateway's signed identity (lib/auth/signed-identity.ts), so these sign one.
 */
import { ALL_SCOPES, type Principal } from '../../lib/auth/principal.ts';
import { IDENTITY_HEADER, signIdentity } from '../../lib/auth/signed-identity.ts';

/** The IDENTITY_SECRET of subgraphs a test starts in its own process. */
export const TEST_IDENTITY_SECRET = 'test-identity-secret-of-at-least-32-characters';

/** The subgraph settings that go with it. */
export const testIdentityOptions = { secret: TEST_IDENTITY_SECRET, maxAgeMs: 60_000 } as const;

/**
 * Who direct callers are unless they say otherwise: an operator with every scope, since they test
 * the subgraph's serving, not its rules (those tests name their principal).
 */
export const OPERATOR: Principal = Object.freeze({ subject: 'test-operator', customerId: null, scopes: ALL_SCOPES });

/** HTTP headers that vouch for `principal` (the operator by default), signed now. */
export function identityHeaders(secret: string = TEST_IDENTITY_SECRET, principal: Principal = OPERATOR): Record<string, string> {
  return { [IDENTITY_HEADER]: signIdentity(principal, secret) };
}

/** A graphql-ws `connectionParams` function: signed at each connect, as the gateway does. */
export function identityConnectionParams(secret: string = TEST_IDENTITY_SECRET, principal: Principal = OPERATOR) {
  return () => ({ headers: identityHeaders(secret, principal) });
}
