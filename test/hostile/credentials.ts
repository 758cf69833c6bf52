/**
 * Turns an input's `Credential` into the `Authorization` value it sends: tokens the running system
 * accepts (`ExampleSystem.token`, with a subject of the input's own), and tokens it must refuse,
 * forged here with a key of the corpus's own (`jose`).
 */
import { SignJWT, UnsecuredJWT, generateKeyPair } from 'jose';
import type { Credential } from './types.ts';

/** What the example system offers to mint tokens (ExampleSystem.token, once identity is on main). */
export type Mint = (claims?: {
  customer?: string;
  scopes?: readonly string[];
  subject?: string;
  expiresInSeconds?: number;
}) => Promise<string>;

/** The claims the example system's tokens carry (docs: issuer interchange-dev, audience interchange). */
const ISSUER = 'interchange-dev';
const AUDIENCE = 'interchange';

export class Credentials {
  private readonly mint: Mint | undefined;
  private readonly foreignKey: CryptoKey;

  private constructor(mint: Mint | undefined, foreignKey: CryptoKey) {
    this.mint = mint;
    this.foreignKey = foreignKey;
  }

  /** Without `mint` (identity not on this branch yet) a "valid" credential sends no token at all. */
  static async create(mint: Mint | undefined): Promise<Credentials> {
    const { privateKey } = await generateKeyPair('ES256');
    return new Credentials(mint, privateKey);
  }

  get canMint(): boolean {
    return this.mint !== undefined;
  }

  /** The Authorization value for `credential`, sent as `subject`; undefined: no header. */
  async authorization(credential: Credential | undefined, subject: string): Promise<string | undefined> {
    switch (credential?.kind ?? 'none') {
      case 'none':
        return undefined;
      case 'header':
        return (credential as Extract<Credential, { kind: 'header' }>).value;
      case 'valid': {
        const { customer, scopes } = credential as Extract<Credential, { kind: 'valid' }>;
        return this.mint && `Bearer ${await this.mint({ subject, ...(customer && { customer }), ...(scopes && { scopes }) })}`;
      }
      case 'expired':
        return this.mint
          ? `Bearer ${await this.mint({ subject, expiresInSeconds: -60 })}`
          : `Bearer ${await this.foreign(subject, { exp: now() - 60 })}`;
      case 'tampered': {
        const token = this.mint ? await this.mint({ subject }) : await this.foreign(subject);
        const [header, payload, signature] = token.split('.');
        const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
        const forged = Buffer.from(JSON.stringify({ ...claims, scope: 'admin orders:all support orders:write' })).toString('base64url');
        return `Bearer ${header}.${forged}.${signature}`;
      }
      case 'unsigned':
        return `Bearer ${new UnsecuredJWT({ scope: 'admin' }).setSubject(subject).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').encode()}`;
      case 'foreign': {
        const { claims, alg } = credential as Extract<Credential, { kind: 'foreign' }>;
        return `Bearer ${await this.foreign(subject, claims, alg)}`;
      }
    }
  }

  private async foreign(subject: string, claims: Record<string, unknown> = {}, alg: 'ES256' | 'HS256' = 'ES256'): Promise<string> {
    const payload = {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: subject,
      iat: now(),
      exp: now() + 300,
      customer_id: 'c1',
      scope: 'orders:write',
      ...claims,
    };
    const key = alg === 'HS256' ? new TextEncoder().encode('a-secret-the-gateway-never-shared-with-anyone') : this.foreignKey;
    return new SignJWT(payload).setProtectedHeader({ alg, kid: 'hostile-key' }).sign(key);
  }
}

const now = () => Math.floor(Date.now() / 1000);
