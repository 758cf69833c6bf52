/**
 * The one place where a verified token's claims become a Principal. To plug in an identity provider
 * whose tokens name things differently (say `https://example.com/customer` instead of
 * `customer_id`, or roles instead of scopes), change this mapping.
 */
import type { JWTPayload } from 'jose';
import type { Principal } from '../../../lib/auth/principal.ts';

/**
 * `sub` -> subject; `customer_id` -> customerId; scopes from `scope` (space-separated, RFC 8693 and
 * OAuth 2) or `scp` (an array, as Okta and Azure AD send it, or a space-separated string). Claims
 * of another type are ignored: they grant nothing.
 */
export function principalFromClaims(claims: JWTPayload): Principal {
  const text = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : null);
  const words = (value: unknown): string[] =>
    typeof value === 'string'
      ? value.split(' ').filter(Boolean)
      : Array.isArray(value)
        ? value.filter((s): s is string => typeof s === 'string' && s.length > 0)
        : [];
  const scopes = [...new Set([...words(claims['scope']), ...words(claims['scp'])])];
  return Object.freeze({ subject: text(claims.sub), customerId: text(claims['customer_id']), scopes: Object.freeze(scopes) });
}
