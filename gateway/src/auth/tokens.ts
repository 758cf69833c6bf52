/**
 * Verifies the bearer tokens (JWTs) clients send, with `jose`: the signature against the identity
 * provider's public keys, then issuer, audience and expiry. Keys come from a JWKS URL (fetched on
 * first use, cached, fetched again when a token names a key id the cache does not have, at most once
 * per cooldown: key rotation works without a restart, and a flood of made-up key ids cannot turn
 * into a flood of fetches) or from a JWKS file read at start.
 *
 * Without either, the gateway cannot verify any token and refuses every request that carries one:
 * anonymous requests still work.
 *
 * A token must name its subject (`sub`): every limit and rule that is per caller keys on it.
 * A verified token is kept verified (an lru-cache of `cacheSize` tokens, each for at most `cacheMs`
 * and never past its `exp`): a client sends the same token with every request, and checking an ES256
 * signature costs about 180 µs of CPU. Only tokens that passed are kept; a key the provider removes
 * stops working `cacheMs` after jose fetches the JWKS again (it keeps a fetched one up to 10 minutes).
 * When the JWKS URL cannot give the keys (unreachable, not 200, not a JWKS, slower than its
 * timeout), the token is not at fault: the answer is UPSTREAM_UNAVAILABLE (HTTP 503), and a warning
 * is logged, at most once per interval however many requests fail.
 */
import { readFileSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { ErrorCode, InterchangeError } from '../../../lib/errors.ts';
import type { Principal } from '../../../lib/auth/principal.ts';
import { unauthenticated } from '../../../lib/auth/unauthenticated.ts';
import type { Logger } from '../../../lib/logger.ts';
import { principalFromClaims } from './claims.ts';

export interface TokenVerifierOptions {
  /** Where the identity provider publishes its keys. */
  jwksUrl?: string | undefined;
  /** A JWKS file (read once, now). */
  jwksFile?: string | undefined;
  /** The `iss` every token must carry (required with keys). */
  issuer?: string | undefined;
  /** The `aud` every token must carry (required with keys). */
  audience?: string | undefined;
  /** Time after a JWKS fetch before an unknown key id may fetch again, in ms. @default 30 000 */
  jwksCooldownMs?: number | undefined;
  /** Time a JWKS fetch may take before the keys count as unavailable, in ms. @default 5 000 */
  jwksTimeoutMs?: number | undefined;
  /** Tokens kept verified; 0 keeps none. @default 0 */
  cacheSize?: number | undefined;
  /** How long a token is kept verified, in ms. @default 60 000 */
  cacheMs?: number | undefined;
  log: Logger;
}

/** A verified token: who it names, and until when (ms since the epoch) it may be used. */
export interface Verified {
  principal: Principal;
  expiresAtMs: number;
}

export interface TokenVerifier {
  /**
   * The token's principal; or the UNAUTHENTICATED error that says what is wrong with it; or
   * UPSTREAM_UNAVAILABLE when the keys to verify it with cannot be fetched.
   */
  verify(token: string): Promise<Verified | InterchangeError>;
}

/** Clocks of the provider and the gateway differ a little; a token is good this long past `exp`, in seconds. */
const CLOCK_TOLERANCE_S = 5;

/** Every token that fails for want of keys would log a warning: at most one per this long, with the count of the others. */
const KEYS_WARNING_INTERVAL_MS = 10_000;

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const keys = keySet(options);
  const { issuer, audience, log } = options;
  if (!keys || !issuer || !audience) {
    return { verify: async () => unauthenticated('this gateway has no keys to verify tokens with (set JWKS_URL or JWKS_FILE)') };
  }
  const warn = throttledWarning(log, KEYS_WARNING_INTERVAL_MS);
  const verified = options.cacheSize ? new LRUCache<string, Verified>({ max: options.cacheSize }) : undefined;
  const cacheMs = options.cacheMs ?? 60_000;
  const check = async (token: string): Promise<Verified | InterchangeError> => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer,
        audience,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp', 'sub'],
      });
      const principal = principalFromClaims(payload);
      if (principal.subject === null) return unauthenticated('the token is not valid: its "sub" claim is empty');
      return { principal, expiresAtMs: payload.exp! * 1000 };
    } catch (err) {
      if (err instanceof KeysUnavailable || !(err instanceof errors.JOSEError)) {
        warn(
          { err: err instanceof KeysUnavailable ? err.cause : err, jwksUrl: options.jwksUrl },
          'could not get the keys to verify a token with',
        );
        return new InterchangeError(
          ErrorCode.UPSTREAM_UNAVAILABLE,
          "the token could not be verified: the identity provider's keys are unavailable; try again later",
        );
      }
      return unauthenticated(`the token is not valid: ${reasonOf(err)}`);
    }
  };
  if (!verified) return { verify: check };
  return {
    verify: async (token) => {
      const kept = verified.get(token);
      if (kept) return kept;
      const result = await check(token);
      if (result instanceof InterchangeError) return result;
      // Never kept past `exp` (and its tolerance): from then on the token is checked, and refused, again.
      const ttl = Math.min(cacheMs, result.expiresAtMs + CLOCK_TOLERANCE_S * 1000 - Date.now());
      if (ttl > 0) verified.set(token, result, { ttl });
      return result;
    },
  };
}

/** The JWKS URL did not give a key set (unreachable, not 200, not JSON or not a JWKS, too slow): no fault of the token. */
class KeysUnavailable extends Error {}

/** What a key set refuses for the token's sake (no key for its `kid` or `alg`, an algorithm it cannot use); anything else is the fetch failing. */
const refusesTheToken = (err: unknown) =>
  err instanceof errors.JWKSNoMatchingKey ||
  err instanceof errors.JWKSMultipleMatchingKeys ||
  err instanceof errors.JOSEAlgNotAllowed ||
  err instanceof errors.JOSENotSupported;

function keySet(options: TokenVerifierOptions): JWTVerifyGetKey | undefined {
  if (options.jwksUrl) {
    const remote = createRemoteJWKSet(new URL(options.jwksUrl), {
      cooldownDuration: options.jwksCooldownMs ?? 30_000,
      timeoutDuration: options.jwksTimeoutMs ?? 5_000,
    });
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (err) {
        throw refusesTheToken(err) ? err : new KeysUnavailable('the JWKS could not be fetched', { cause: err });
      }
    };
  }
  if (options.jwksFile) return createLocalJWKSet(JSON.parse(readFileSync(options.jwksFile, 'utf8')) as JSONWebKeySet);
  return undefined;
}

/** A warning logged at most once per `intervalMs`; the next one says how many were left out. */
function throttledWarning(log: Logger, intervalMs: number): (details: object, message: string) => void {
  let lastAt = -Infinity;
  let leftOut = 0;
  return (details, message) => {
    const now = Date.now();
    if (now - lastAt < intervalMs) {
      leftOut++;
      return;
    }
    log.warn({ ...details, ...(leftOut > 0 && { leftOut }) }, message);
    lastAt = now;
    leftOut = 0;
  };
}

/** What to tell the client: which check failed, never a key or the token itself. */
function reasonOf(err: InstanceType<typeof errors.JOSEError>): string {
  if (err instanceof errors.JWTExpired) return 'it has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return `it has no "${err.claim}" claim`;
    if (err.claim === 'iss') return 'wrong issuer';
    if (err.claim === 'aud') return 'wrong audience';
    if (err.claim === 'nbf') return 'it is not valid yet';
    return `claim "${err.claim}" failed its check`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (err instanceof errors.JWKSNoMatchingKey) return 'signed with an unknown key';
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return 'unsupported signing algorithm';
  return 'malformed';
}
