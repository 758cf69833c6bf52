/**
 * `interchange token --customer c3 --scopes "orders:write"`: prints a token (JWT) that the example
 * system of the same data directory accepts (`npm start` verifies with the development key set in
 * `<data dir>/auth/`, created here or by `npm start`, whichever runs first). Use it as
 * `Authorization: Bearer <token>`, or in the playground's Headers tab.
 */
import { ALL_SCOPES } from '../../lib/auth/principal.ts';
import { devAuth, parseLifetime } from '../dev-auth.ts';

export interface TokenOptions {
  customer?: string | undefined;
  scopes: string;
  admin?: boolean | undefined;
  subject?: string | undefined;
  expires: string;
  dataDir: string;
}

/** The lifetime in seconds, or why `--expires` cannot be read. */
export function lifetime(expires: string): number | Error {
  return parseLifetime(expires) ?? new Error(`--expires: expected seconds or a time like 30m, 1h, 7d, got "${expires}"`);
}

export async function token(options: TokenOptions): Promise<string> {
  const expiresInSeconds = lifetime(options.expires);
  if (expiresInSeconds instanceof Error) throw expiresInSeconds;
  const scopes = options.admin ? ALL_SCOPES : options.scopes.split(/[\s,]+/).filter(Boolean);
  const auth = await devAuth(options.dataDir);
  return auth.token({ customer: options.customer, scopes, subject: options.subject, expiresInSeconds });
}
