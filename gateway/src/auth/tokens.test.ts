/**
 * Token verification with jose, against a JWKS file, against a JWKS URL served by a local HTTP
 * server whose keys rotate, and against one that fails in each way a provider can.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { pino } from 'pino';
import { InterchangeError } from '../../../lib/errors.ts';
import { createLogger } from '../../../lib/logger.ts';
import { createTokenVerifier, type TokenVerifier } from './tokens.ts';

const log = createLogger('test', 'silent');
const ISSUER = 'https://idp.example';
const AUDIENCE = 'interchange';

interface Key {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

const nowS = () => Math.floor(Date.now() / 1000);

function mint(key: Key, claims: Record<string, unknown> = {}, header: { kid?: string; iss?: string; aud?: string; exp?: number } = {}) {
  return new SignJWT({ customer_id: 'c1', scope: 'orders:write', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: header.kid ?? key.kid })
    .setIssuer(header.iss ?? ISSUER)
    .setAudience(header.aud ?? AUDIENCE)
    .setSubject('alice')
    .setExpirationTime(header.exp ?? nowS() + 300)
    .sign(key.privateKey);
}

const refusal = async (verifier: TokenVerifier, token: string) => {
  const result = await verifier.verify(token);
  assert.ok(result instanceof InterchangeError, `accepted: ${JSON.stringify(result)}`);
  assert.equal(result.code, 'UNAUTHENTICATED');
  return result.message;
};

describe('token verification with a JWKS file', { timeout: 20_000 }, () => {
  let dir: string;
  let key: Key;
  let verifier: TokenVerifier;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'interchange-jwks-'));
    key = await newKey('k1');
    await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [key.publicJwk] }));
    verifier = createTokenVerifier({ jwksFile: join(dir, 'jwks.json'), issuer: ISSUER, audience: AUDIENCE, log });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a good token gives its principal and its expiry', async () => {
    const exp = nowS() + 300;
    assert.deepEqual(await verifier.verify(await mint(key, {}, { exp })), {
      principal: { subject: 'alice', customerId: 'c1', scopes: ['orders:write'] },
      expiresAtMs: exp * 1000,
    });
  });

  test('scopes come from `scope` (space-separated) or `scp` (an array); claims of other types grant nothing', async () => {
    const scopes = async (claims: Record<string, unknown>) => {
      const result = await verifier.verify(await mint(key, { scope: undefined, ...claims }));
      assert.ok(!(result instanceof InterchangeError), String(result));
      return result.principal.scopes;
    };
    assert.deepEqual(await scopes({ scope: 'a  b' }), ['a', 'b']);
    assert.deepEqual(await scopes({ scp: ['a', 'c', 7] }), ['a', 'c']);
    assert.deepEqual(await scopes({ scope: 5, customer_id: 9 }), []);
  });

  test('an expired token, and one without an expiry, are refused', async () => {
    assert.match(await refusal(verifier, await mint(key, {}, { exp: nowS() - 60 })), /expired/);
    const forever = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('alice')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .sign(key.privateKey);
    assert.match(await refusal(verifier, forever), /"exp"/);
  });

  test('a wrong issuer or audience is refused, naming which', async () => {
    assert.match(await refusal(verifier, await mint(key, {}, { iss: 'https://evil.example' })), /wrong issuer/);
    assert.match(await refusal(verifier, await mint(key, {}, { aud: 'another-api' })), /wrong audience/);
  });

  test('a forged signature (another key under the same key id) is refused', async () => {
    const forger = await newKey('k1');
    assert.match(await refusal(verifier, await mint(forger)), /bad signature/);
  });

  test('a token signed with an unknown key, and malformed tokens, are refused', async () => {
    assert.match(await refusal(verifier, await mint(await newKey('k9'))), /unknown key/);
    for (const token of ['not-a-jwt', 'a.b.c', `${(await mint(key)).split('.').slice(0, 2).join('.')}.`]) {
      assert.match(await refusal(verifier, token), /not valid/, token);
    }
  });

  test('a token without a subject (`sub`), or with an empty one, is refused', async () => {
    const anonymous = await new SignJWT({ customer_id: 'c1' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime(nowS() + 300)
      .sign(key.privateKey);
    assert.match(await refusal(verifier, anonymous), /no "sub" claim/);
    const empty = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('')
      .setExpirationTime(nowS() + 300)
      .sign(key.privateKey);
    assert.match(await refusal(verifier, empty), /"sub" claim is empty/);
  });

  test(
    'a verified token is kept verified (the same answer, no new check) until its exp, never past it; refusals are not kept',
    { timeout: 30_000 },
    async () => {
      const jwksFile = join(dir, 'jwks.json');
      const cached = createTokenVerifier({ jwksFile, issuer: ISSUER, audience: AUDIENCE, cacheSize: 10, log });
      const uncached = createTokenVerifier({ jwksFile, issuer: ISSUER, audience: AUDIENCE, cacheSize: 0, log });
      const exp = nowS() + 2;
      const token = await mint(key, {}, { exp });
      const first = await cached.verify(token);
      assert.ok(!(first instanceof InterchangeError));
      assert.equal(await cached.verify(token), first, 'kept');
      assert.notEqual(await uncached.verify(token), await uncached.verify(token), 'checked each time without a cache');
      const forged = `${token.slice(0, -4)}AAAA`;
      assert.match(await refusal(cached, forged), /bad signature|malformed/);
      assert.match(await refusal(cached, forged), /bad signature|malformed/);
      // Past exp and its 5 s of tolerance, the token is checked again, and refused.
      while (Date.now() <= exp * 1000 + 5_000) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.match(await refusal(cached, token), /expired/);
    },
  );

  test('without keys every token is refused', async () => {
    const none = createTokenVerifier({ log });
    assert.match(await refusal(none, await mint(key)), /no keys to verify tokens with/);
  });
});

describe('token verification with a JWKS URL', { timeout: 20_000 }, () => {
  let server: Server;
  let served: Key[] = [];
  let fetches = 0;
  let url: string;

  before(async () => {
    server = createServer((_req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: served.map((k) => k.publicJwk) }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  test('keys are fetched once and cached; a rotated key (unknown key id) fetches them again', async () => {
    const [first, second] = [await newKey('first'), await newKey('second')];
    served = [first];
    fetches = 0;
    const verifier = createTokenVerifier({ jwksUrl: url, issuer: ISSUER, audience: AUDIENCE, jwksCooldownMs: 0, log });
    for (let i = 0; i < 3; i++) assert.ok(!((await verifier.verify(await mint(first))) instanceof InterchangeError));
    assert.equal(fetches, 1, 'cached after the first fetch');
    served = [second]; // the provider rotates its key
    assert.ok(!((await verifier.verify(await mint(second))) instanceof InterchangeError), 'the new key was fetched');
    assert.equal(fetches, 2);
    assert.match(await refusal(verifier, await mint(first)), /unknown key/, 'the retired key no longer verifies');
  });

  test('within the cooldown an unknown key id fetches nothing: made-up key ids cannot flood the provider', async () => {
    const key = await newKey('only');
    served = [key];
    fetches = 0;
    const verifier = createTokenVerifier({ jwksUrl: url, issuer: ISSUER, audience: AUDIENCE, jwksCooldownMs: 600_000, log });
    assert.ok(!((await verifier.verify(await mint(key))) instanceof InterchangeError));
    for (let i = 0; i < 5; i++) assert.match(await refusal(verifier, await mint(await newKey(`made-up-${i}`))), /unknown key/);
    assert.equal(fetches, 1);
  });
});

describe('token verification when the JWKS URL fails', { timeout: 20_000 }, () => {
  /** What the provider's JWKS endpoint does now. */
  let answer: (res: ServerResponse) => void = () => {};
  const hanging = new Set<ServerResponse>();
  let server: Server;
  let url: string;

  before(async () => {
    server = createServer((_req, res) => answer(res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json`;
  });
  after(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A verifier on the failing URL, logging at warn into `warnings`. */
  const failing = (warnings: Record<string, unknown>[]) =>
    createTokenVerifier({
      jwksUrl: url,
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksTimeoutMs: 200,
      log: pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line) as Record<string, unknown>) }),
    });

  const unavailable = async (verifier: TokenVerifier) => {
    const result = await verifier.verify(await mint(await newKey('k')));
    assert.ok(result instanceof InterchangeError, `accepted: ${JSON.stringify(result)}`);
    assert.equal(result.code, 'UPSTREAM_UNAVAILABLE', result.message);
    assert.match(result.message, /keys are unavailable/);
    assert.doesNotMatch(result.message, /127\.0\.0\.1|jwks\.json/, 'the URL is not shown to the client');
  };

  const outages: [string, (res: ServerResponse) => void][] = [
    ['answers 503', (res) => res.writeHead(503).end('down for maintenance')],
    ['answers HTML', (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>')],
    ['answers JSON that is not a key set', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":7}')],
    ['does not answer within its timeout', (res) => void hanging.add(res)],
    ['cannot be reached', (res) => res.socket?.destroy()],
  ];
  for (const [what, behaviour] of outages) {
    test(`a JWKS endpoint that ${what}: UPSTREAM_UNAVAILABLE, not a bad token, and a warning`, async () => {
      answer = behaviour;
      const warnings: Record<string, unknown>[] = [];
      await unavailable(failing(warnings));
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0]?.['msg'], 'could not get the keys to verify a token with');
      assert.equal(warnings[0]?.['jwksUrl'], url);
    });
  }

  test('the warning is logged at most once per interval however many tokens fail', async () => {
    answer = (res) => res.writeHead(503).end();
    const warnings: Record<string, unknown>[] = [];
    const verifier = failing(warnings);
    for (let i = 0; i < 5; i++) await unavailable(verifier);
    assert.equal(warnings.length, 1);
  });
});
