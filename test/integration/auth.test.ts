/**
 * Identity end to end, on the real example system: the gateway verifies bearer tokens over HTTP
 * (GET and POST), Server-Sent Events and graphql-ws, refuses bad ones with UNAUTHENTICATED (401, or
 * close 4401) before anything reaches a subgraph, and lets callers without a token through as
 * anonymous; a subgraph called directly, without the gateway's signed identity, refuses too.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { startExampleSystem, type ExampleSystem } from '../../scripts/system.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../scripts/dev-auth.ts';
import { IDENTITY_HEADER, signIdentity } from '../../lib/auth/signed-identity.ts';
import { readRegistry, subgraphProcessName } from '../../scripts/registry.ts';
import { OPERATOR, identityConnectionParams, identityHeaders } from '../support/identity.ts';
import { readCounter } from '../support/metrics.ts';
import { ORDER_EVENTS, ProtocolClient, closeAll } from '../subscriptions/support.ts';

const QUERY = '{ customers(first: 2) { name } }';

describe('identity at the gateway and the subgraphs', () => {
  let system: ExampleSystem | undefined;
  let gatewayUrl: string;
  let wsUrl: string;
  const clients: ProtocolClient[] = [];
  /** Bad tokens, each with what is wrong with it. */
  const bad: [string, string][] = [];

  before(
    async () => {
      system = await startExampleSystem({ host: '127.0.0.1', gatewayPort: 0, logLevel: 'warn' });
      gatewayUrl = system.gatewayUrl;
      wsUrl = `${gatewayUrl.replace(/^http/, 'ws')}/graphql`;
      const devKey = JSON.parse(await readFile(join(system.dataDir, 'auth', 'signing-key.jwk.json'), 'utf8')) as JWK;
      const other = await generateKeyPair('ES256', { extractable: true });
      const sign = (key: Parameters<SignJWT['sign']>[0], kid: string, iss = DEV_ISSUER, aud = DEV_AUDIENCE) =>
        new SignJWT({ customer_id: 'c1' })
          .setProtectedHeader({ alg: 'ES256', kid })
          .setIssuer(iss)
          .setAudience(aud)
          .setSubject('c1')
          .setExpirationTime('5m')
          .sign(key);
      const real = await importJWK(devKey, 'ES256');
      bad.push(
        [await system.token({ customer: 'c1', expiresInSeconds: -60 }), 'expired'],
        [await sign(real, devKey.kid!, 'https://evil.example'), 'wrong issuer'],
        [await sign(real, devKey.kid!, DEV_ISSUER, 'another-api'), 'wrong audience'],
        [await sign(other.privateKey, devKey.kid!), 'bad signature'],
        [await sign(other.privateKey, (await exportJWK(other.publicKey)).x!.slice(0, 8)), 'unknown key'],
        ['not.a.jwt', 'malformed'],
        [
          await new SignJWT({ customer_id: 'c1' })
            .setProtectedHeader({ alg: 'ES256', kid: devKey.kid! })
            .setIssuer(DEV_ISSUER)
            .setAudience(DEV_AUDIENCE)
            .setExpirationTime('5m')
            .sign(real),
          'no "sub" claim',
        ],
      );
    },
    { timeout: 120_000 },
  );
  after(async () => {
    await closeAll(clients);
    await system?.stop();
  });

  const post = (path: string, authorization: string | undefined, accept = 'application/json', query = QUERY) =>
    fetch(`${gatewayUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, ...(authorization !== undefined && { authorization }) },
      body: JSON.stringify({ query }),
    });

  const assertRefused = async (response: Response, what: string) => {
    assert.equal(response.status, 401, what);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer error="invalid_token"', what);
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    assert.equal(body.errors.length, 1, what);
    assert.equal(body.errors[0]!.extensions.code, 'UNAUTHENTICATED', what);
    return body.errors[0]!.message;
  };

  test('over HTTP a valid token is accepted, and no token is the anonymous caller', { timeout: 30_000 }, async () => {
    for (const authorization of [`Bearer ${await system!.token({ customer: 'c3', scopes: ['orders:write'] })}`, undefined]) {
      const response = await post('/graphql', authorization);
      assert.equal(response.status, 200, String(authorization));
      const body = (await response.json()) as { data?: { customers: unknown[] }; errors?: unknown };
      assert.equal(body.errors, undefined);
      assert.equal(body.data?.customers.length, 2);
    }
  });

  /** Requests the customers service has served: every customers query through the gateway makes one. */
  const customersServed = () =>
    readCounter(
      `http://127.0.0.1:${system!.processes.get('customers-service')!.ports['http']}/metrics`,
      'customers_http_requests_total',
      {},
    );

  test('over HTTP, POST and GET, every bad token gets 401 UNAUTHENTICATED saying what is wrong', { timeout: 30_000 }, async () => {
    const before = await customersServed();
    for (const [token, reason] of bad) {
      assert.match(await assertRefused(await post('/graphql', `Bearer ${token}`), reason), new RegExp(reason), reason);
      const get = await fetch(`${gatewayUrl}/graphql?query=${encodeURIComponent(QUERY)}`, {
        headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' },
      });
      await assertRefused(get, `GET, ${reason}`);
    }
    for (const authorization of ['Basic YWxpY2U6c2VjcmV0', 'Bearer', 'token abc']) {
      assert.match(await assertRefused(await post('/graphql', authorization), authorization), /Bearer <token>/);
    }
    assert.equal(await customersServed(), before, 'a refused request reached a subgraph');
    assert.equal((await post('/graphql', undefined)).status, 200);
    assert.ok((await customersServed()) > before, 'an accepted one does (so the count above can tell)');
  });

  test('over Server-Sent Events a bad token gets 401 before the stream opens; a good one streams', { timeout: 30_000 }, async () => {
    for (const [token, reason] of bad) await assertRefused(await post('/graphql/stream', `Bearer ${token}`, 'text/event-stream'), reason);
    const token = await system!.token({ customer: 'c1' });
    const response = await post('/graphql/stream', `Bearer ${token}`, 'text/event-stream');
    assert.equal(response.status, 200);
    assert.match(await response.text(), /"customers":\[/);
  });

  test('over graphql-ws a bad token in connection_init closes the socket with 4401', { timeout: 60_000 }, async () => {
    for (const [token, reason] of bad) {
      const client = await ProtocolClient.open(wsUrl);
      clients.push(client);
      client.send({ type: 'connection_init', payload: { headers: { Authorization: `Bearer ${token}` } } });
      const closed = await client.whenClosed(10_000);
      assert.equal(closed.code, 4401, reason);
      assert.match(closed.reason, new RegExp(`^UNAUTHENTICATED: .*${reason}`), reason);
      assert.equal(client.messages.length, 0, 'no connection_ack');
    }
  });

  test('over graphql-ws a valid token is accepted, in headers or at the top level of the payload', { timeout: 60_000 }, async () => {
    const token = await system!.token({ customer: 'c1', scopes: ['orders:all'] });
    for (const payload of [{ headers: { authorization: `Bearer ${token}` } }, { authorization: `Bearer ${token}` }, undefined]) {
      const client = await ProtocolClient.connect(wsUrl, payload);
      clients.push(client);
      const [result] = await client.execute<{ customers: unknown[] }>('q', QUERY);
      assert.equal(result?.data?.customers.length, 2, JSON.stringify(payload));
      client.subscribe('s', ORDER_EVENTS);
      await client.ping();
      assert.ok(client.open);
      await client.close();
    }
  });

  test('a socket whose token expires is closed with 4401', { timeout: 60_000 }, async () => {
    const client = await ProtocolClient.connect(wsUrl, {
      headers: { authorization: `Bearer ${await system!.token({ expiresInSeconds: 2 })}` },
    });
    clients.push(client);
    const closed = await client.whenClosed(20_000);
    assert.deepEqual(closed, { code: 4401, reason: 'UNAUTHENTICATED: the token has expired' });
  });

  test('a subgraph called directly over HTTP refuses without the gateway signature, or with a bad one', { timeout: 30_000 }, async () => {
    const customers = `http://127.0.0.1:${system!.processes.get('customers-subgraph')!.ports['http']}`;
    const call = (headers: Record<string, string>) =>
      fetch(`${customers}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: '{ customers(first: 1) { id } }' }),
      });
    for (const [headers, reason] of [
      [{}, 'missing'],
      [identityHeaders('a-wrong-secret-of-at-least-thirty-two-chars'), 'bad signature'],
      [{ 'interchange-identity': 'Bearer x' }, 'malformed'],
      [{ authorization: `Bearer ${await system!.token({ scopes: ['admin'] })}` }, 'missing'],
    ] as const) {
      const response = await call(headers);
      assert.equal(response.status, 401, reason);
      const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
      assert.equal(body.errors[0]!.extensions.code, 'UNAUTHENTICATED');
      assert.match(body.errors[0]!.message, new RegExp(reason));
    }
    assert.equal((await call(identityHeaders(system!.identitySecret))).status, 200);
    for (const url of [`${customers}/healthz`, `${customers}/readyz`, `${system!.opsUrl('orders-subgraph')}/metrics`])
      assert.equal((await fetch(url)).status, 200, url);
  });

  test('a subgraph called directly over WebSocket closes with 4401 without a valid signature', { timeout: 30_000 }, async () => {
    const orders = `ws://127.0.0.1:${system!.processes.get('orders-subgraph')!.ports['http']}/graphql`;
    for (const payload of [undefined, identityConnectionParams('a-wrong-secret-of-at-least-thirty-two-chars')()]) {
      const client = await ProtocolClient.open(orders);
      clients.push(client);
      client.send(payload === undefined ? { type: 'connection_init' } : { type: 'connection_init', payload });
      const closed = await client.whenClosed(10_000);
      assert.equal(closed.code, 4401);
      assert.match(closed.reason, /^UNAUTHENTICATED: /);
    }
    const client = await ProtocolClient.connect(orders, identityConnectionParams(system!.identitySecret)());
    clients.push(client);
    assert.ok(client.open);
  });

  test(
    'every subgraph of the registry refuses an unsigned or expired-signature request with 401, over POST and GET',
    { timeout: 60_000 },
    async () => {
      const { subgraphs } = await readRegistry();
      assert.ok(subgraphs.length > 0);
      const query = '{ __typename }';
      const expired = { [IDENTITY_HEADER]: signIdentity(OPERATOR, system!.identitySecret, Date.now() - 10 * 60_000) };
      for (const { name } of subgraphs) {
        const base = `http://127.0.0.1:${system!.processes.get(subgraphProcessName(name))!.ports['http']}/graphql`;
        for (const [headers, reason] of [
          [{}, 'missing'],
          [expired, 'expired'],
        ] as const) {
          const requests = {
            POST: () =>
              fetch(base, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) }),
            GET: () => fetch(`${base}?query=${encodeURIComponent(query)}`, { headers: { 'apollo-require-preflight': 'true', ...headers } }),
          };
          for (const [method, send] of Object.entries(requests)) {
            const what = `${name}, ${method}, ${reason}`;
            const response = await send();
            assert.equal(response.status, 401, what);
            const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
            assert.equal(body.errors[0]!.extensions.code, 'UNAUTHENTICATED', what);
            assert.match(body.errors[0]!.message, new RegExp(reason), what);
          }
        }
        // The same request signed now is served, so the refusals above are about the signature.
        const signed = await fetch(`${base}?query=${encodeURIComponent(query)}`, {
          headers: { 'apollo-require-preflight': 'true', ...identityHeaders(system!.identitySecret) },
        });
        assert.equal(signed.status, 200, `${name}, signed now`);
      }
    },
  );
});
