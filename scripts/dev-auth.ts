/**
 * The local development identity provider of `npm start` and the tests: an ES256 signing key pair,
 * its public half as a JWKS (the gateway's JWKS_FILE), and the identity secret the gateway and the
 * subgraphs share (IDENTITY_SECRET). Created in `<data dir>/auth/` on first start, reused after, so
 * tokens minted by `npm run token` keep working across restarts.
 *
 * The private key and the secret are written with mode 0600. They guard a development system only:
 * a real deployment takes its keys from its identity provider (JWKS_URL) and its secret from its own
 * secret store.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { writeFileAtomically } from '../lib/atomic-file.ts';

export const DEV_ISSUER = 'interchange-dev';
export const DEV_AUDIENCE = 'interchange';
const ALGORITHM = 'ES256';

/** What a minted token says; every field optional. */
export interface TokenClaims {
  /** `customer_id`: the customer the token acts for. */
  customer?: string | undefined;
  /** `scope`, space-separated in the token. */
  scopes?: readonly string[] | undefined;
  /** `sub`; by default the customer, else `developer`. */
  subject?: string | undefined;
  /** Lifetime, in seconds. @default 3600 */
  expiresInSeconds?: number | undefined;
}

export interface DevAuth {
  /** The JWKS file the gateway verifies tokens with. */
  jwksFile: string;
  issuer: string;
  audience: string;
  identitySecret: string;
  /** A token the gateway of this data dir accepts. */
  token(claims?: TokenClaims): Promise<string>;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/** A token lifetime as people write it, `3600`, `90s`, `30m`, `1h`, `7d`, in seconds; undefined when it is none of these. */
export function parseLifetime(text: string): number | undefined {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * UNITS[match[2] || 's']!;
  return seconds > 0 ? seconds : undefined;
}

const files = (dataDir: string) => {
  const dir = join(dataDir, 'auth');
  return { signingKey: join(dir, 'signing-key.jwk.json'), jwks: join(dir, 'jwks.json'), secret: join(dir, 'identity-secret') };
};

/** The development key set of `dataDir`, created first if it has none (or only part of one). */
export async function devAuth(dataDir: string): Promise<DevAuth> {
  const paths = files(dataDir);
  const existing = await read(paths).catch(() => undefined);
  const { privateJwk, identitySecret } = existing ?? (await create(paths));
  const key = await importJWK(privateJwk, ALGORITHM);
  return {
    jwksFile: paths.jwks,
    issuer: DEV_ISSUER,
    audience: DEV_AUDIENCE,
    identitySecret,
    token: async ({ customer, scopes = [], subject, expiresInSeconds = 3_600 } = {}) =>
      new SignJWT({ ...(customer && { customer_id: customer }), ...(scopes.length > 0 && { scope: scopes.join(' ') }) })
        .setProtectedHeader({ alg: ALGORITHM, kid: privateJwk.kid!, typ: 'JWT' })
        .setIssuer(DEV_ISSUER)
        .setAudience(DEV_AUDIENCE)
        .setSubject(subject ?? customer ?? 'developer')
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
        .sign(key),
  };
}

async function read(paths: ReturnType<typeof files>) {
  const [privateJwk, identitySecret] = await Promise.all([
    readFile(paths.signingKey, 'utf8').then((text) => JSON.parse(text) as JWK),
    readFile(paths.secret, 'utf8').then((text) => text.trim()),
    readFile(paths.jwks), // present only once the set is complete: it is written last
  ]);
  return { privateJwk, identitySecret };
}

async function create(paths: ReturnType<typeof files>) {
  const { privateKey, publicKey } = await generateKeyPair(ALGORITHM, { extractable: true });
  const kid = randomUUID();
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: ALGORITHM, use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ALGORITHM, use: 'sig' };
  const identitySecret = randomBytes(32).toString('base64url');
  const secretly = (text: string) => async (file: FileHandle) => {
    await file.chmod(0o600);
    await file.writeFile(text);
  };
  await writeFileAtomically(paths.signingKey, secretly(JSON.stringify(privateJwk)));
  await writeFileAtomically(paths.secret, secretly(`${identitySecret}\n`));
  await writeFileAtomically(paths.jwks, (file) => file.writeFile(`${JSON.stringify({ keys: [publicJwk] }, null, 2)}\n`));
  return { privateJwk: privateJwk as JWK, identitySecret };
}
