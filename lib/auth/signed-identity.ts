/**
 * The identity the gateway vouches for, as one header a subgraph can check without calling anyone:
 * `interchange-identity: v1.<timestamp ms>.<base64url JSON principal>.<base64url HMAC-SHA256>`.
 *
 * The MAC covers the version, the timestamp and the claims, with a secret only the gateway and the
 * subgraphs know (IDENTITY_SECRET). The timestamp bounds how long a captured header can be replayed
 * (IDENTITY_MAX_AGE_MS), so the gateway signs afresh for every subgraph request and every upstream
 * subscription socket it opens. A subgraph that gets no header, a forged one or a stale one refuses
 * the request: calling a subgraph directly bypasses nothing the gateway checks.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Principal } from './principal.ts';

export const IDENTITY_HEADER = 'interchange-identity';

/** The shortest secret accepted: 32 characters (256 bits of hex or base64 randomness and more). */
export const MIN_SECRET_LENGTH = 32;

/** How old a signature may be by default when the subgraph checks it, in ms. */
export const DEFAULT_MAX_AGE_MS = 60_000;

const VERSION = 'v1';

/** The claims as they travel: short keys, so the header stays small. */
interface WireClaims {
  sub: string | null;
  cid: string | null;
  scp: string[];
}

const mac = (secret: string, signed: string) => createHmac('sha256', secret).update(signed).digest();

/** The header value that says `principal` is calling, signed at `nowMs`. */
export function signIdentity(principal: Principal, secret: string, nowMs: number = Date.now()): string {
  const claims: WireClaims = { sub: principal.subject, cid: principal.customerId, scp: [...principal.scopes] };
  const signed = `${VERSION}.${Math.trunc(nowMs)}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${signed}.${mac(secret, signed).toString('base64url')}`;
}

/** Why a header was refused (said in the subgraph's log and its 401; it names nothing secret). */
export type IdentityRefusal = 'missing' | 'malformed' | 'bad signature' | 'expired' | 'from the future';

export type IdentityCheck = { ok: true; principal: Principal } | { ok: false; reason: IdentityRefusal };

/**
 * The principal `value` vouches for, when its MAC is right (compared in constant time) and it was
 * signed at most `maxAgeMs` before `nowMs` (and not more than that after: clocks of one deployment
 * differ by far less).
 */
export function verifyIdentity(value: string | undefined, secret: string, nowMs: number, maxAgeMs: number): IdentityCheck {
  if (!value) return { ok: false, reason: 'missing' };
  const parts = value.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION || !/^\d{1,16}$/.test(parts[1]!)) return { ok: false, reason: 'malformed' };
  const [, timestamp, claims, signature] = parts as [string, string, string, string];
  const expected = mac(secret, `${VERSION}.${timestamp}.${claims}`);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad signature' };
  const age = nowMs - Number(timestamp);
  if (age > maxAgeMs) return { ok: false, reason: 'expired' };
  if (age < -maxAgeMs) return { ok: false, reason: 'from the future' };
  const principal = principalOf(claims);
  return principal ? { ok: true, principal } : { ok: false, reason: 'malformed' };
}

/** The signed claims, checked for shape: a correct MAC from a different version of the gateway must still not crash a subgraph. */
function principalOf(encoded: string): Principal | undefined {
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const { sub, cid, scp } = (claims ?? {}) as Partial<Record<keyof WireClaims, unknown>>;
  const nullableString = (v: unknown): v is string | null => v === null || typeof v === 'string';
  if (!nullableString(sub) || !nullableString(cid) || !Array.isArray(scp) || !scp.every((s) => typeof s === 'string')) return undefined;
  return Object.freeze({ subject: sub, customerId: cid, scopes: Object.freeze([...scp]) });
}
