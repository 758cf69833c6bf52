/**
 * Verifies the bearer tokens (JWTs) clients send, with `jose`: the signature against the identity
 * provider's public keys, then issuer, audience and expiry. Keys come from a JWKS URL (fetched on
 * first use, cached, fetched again when a token names a key id the cache does not have, at most once
 * per cooldown: key rotation works without a restart, and a flood of made-up key ids cannot turn
 * into a flood of fetches) or from a JWKS file read at start.
 *
 * Without either, the gateway cannot verify any token and refuses every request that carries one:
 * anonymous requests still work.
 */
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { InterchangeError } from '../../../lib/errors.ts';
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
  log: Logger;
}

/** A verified token: who it names, and until when (ms since the epoch) it may be used. */
export interface Verified {
  principal: Principal;
  expiresAtMs: number;
}

export interface TokenVerifier {
  /** The token's principal, or the UNAUTHENTICATED error that says what is wrong with it. */
  verify(token: string): Promise<Verified | InterchangeError>;
}

/** Clocks of the provider and the gateway differ a little; a token is good this long past `exp`, in seconds. */
const CLOCK_TOLERANCE_S = 5;

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const keys = keySet(options);
  const { issuer, audience, log } = options;
  if (!keys || !issuer || !audience) {
    return { verify: async () => unauthenticated('this gateway has no keys to verify tokens with (set JWKS_URL or JWKS_FILE)') };
  }
  return {
    verify: async (token) => {
      try {
        const { payload } = await jwtVerify(token, keys, { issuer, audience, clockTolerance: CLOCK_TOLERANCE_S, requiredClaims: ['exp'] });
        return { principal: principalFromClaims(payload), expiresAtMs: payload.exp! * 1000 };
      } catch (err) {
        if (!(err instanceof errors.JOSEError)) {
          // The JWKS URL could not be fetched (network, not JSON): the token may well be good.
          log.warn({ err }, 'could not get the keys to verify a token with');
          return unauthenticated("the token could not be verified: the identity provider's keys are unavailable");
        }
        return unauthenticated(`the token is not valid: ${reasonOf(err)}`);
      }
    },
  };
}

function keySet(options: TokenVerifierOptions): JWTVerifyGetKey | undefined {
  if (options.jwksUrl) {
    return createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: options.jwksCooldownMs ?? 30_000 });
  }
  if (options.jwksFile) return createLocalJWKSet(JSON.parse(readFileSync(options.jwksFile, 'utf8')) as JSONWebKeySet);
  return undefined;
}

/** What to tell the client: which check failed, never a key or the token itself. */
function reasonOf(err: InstanceType<typeof errors.JOSEError>): string {
  if (err instanceof errors.JWTExpired) return 'it has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
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
