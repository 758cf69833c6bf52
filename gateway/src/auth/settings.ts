/**
 * The gateway's identity settings (spread into its config, gateway/src/config.ts), and the checks
 * that span several of them.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, setting } from '../../../lib/config.ts';
import { identitySecret } from '../../../lib/auth/settings.ts';
import { IDENTITY_HEADER } from '../../../lib/auth/signed-identity.ts';

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

export const authSettings = {
  /** Where the identity provider publishes its signing keys (a JWKS). */
  JWKS_URL: setting
    .url()
    .optional()
    .or(z.literal('').transform(() => undefined)),
  /** Time a fetch of JWKS_URL may take before the keys count as unavailable (503 UPSTREAM_UNAVAILABLE), in ms. */
  JWKS_TIMEOUT_MS: setting.millis(5_000),
  /**
   * Tokens kept verified (least recently used out), so a client sending the same token again costs
   * no signature check; each is kept at most TOKEN_CACHE_MS and never past its `exp`. 0: none.
   */
  TOKEN_CACHE_SIZE: z.coerce.number().int().min(0).default(10_000),
  /** How long a verified token is kept verified, in ms (after the JWKS is fetched again, a key removed from it stops working within this). */
  TOKEN_CACHE_MS: setting.millis(60_000),
  /** A JWKS file with the signing keys, read at start (instead of JWKS_URL). */
  JWKS_FILE: optionalText.transform((p) => (p ? resolve(p) : undefined)),
  /** The `iss` every token must carry; required with JWKS_URL or JWKS_FILE. */
  JWT_ISSUER: optionalText,
  /** The `aud` every token must carry; required with JWKS_URL or JWKS_FILE. */
  JWT_AUDIENCE: optionalText,
  /** The secret the gateway signs the identity it sends subgraphs with; the same for every subgraph. */
  IDENTITY_SECRET: identitySecret,
  /** A token the playground puts in its Headers tab (`npm start` sets a demo customer's). */
  PLAYGROUND_TOKEN: optionalText,
};

type AuthConfig = { [K in keyof typeof authSettings]?: z.output<(typeof authSettings)[K]> } & { FORWARD_HEADERS: readonly string[] };

/** Refuses combinations of settings that would leave tokens unchecked or the signed header forgeable. */
export function checkAuthSettings(config: AuthConfig): void {
  const problems: string[] = [];
  if (config.JWKS_URL && config.JWKS_FILE) problems.push('JWKS_URL, JWKS_FILE: set one of them, not both');
  if (config.JWKS_URL || config.JWKS_FILE) {
    for (const name of ['JWT_ISSUER', 'JWT_AUDIENCE'] as const) {
      if (!config[name]) problems.push(`${name}: required with JWKS_URL or JWKS_FILE (tokens of any issuer or audience would pass)`);
    }
  }
  if (config.FORWARD_HEADERS.includes(IDENTITY_HEADER)) {
    problems.push(`FORWARD_HEADERS: may not name ${IDENTITY_HEADER} (only the gateway signs it)`);
  }
  if (problems.length > 0) throw new ConfigError('gateway', problems);
}
