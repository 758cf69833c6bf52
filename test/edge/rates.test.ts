/**
 * The per-client operation rate over HTTP, WebSocket and SSE, and the subscription event budget,
 * against a gateway on a subgraph of the test's own. The rates are set to one every ten minutes with a
 * burst of two: each client may start exactly three operations (or be delivered three events)
 * before a refusal, however slow the machine (within ten minutes). Each test is a different client (its own
 * loopback address).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ProtocolClient, closeAll, type NextPayload } from '../subscriptions/support.ts';
import { waitFor } from '../support/wait.ts';
import { TICKS, postQuery, send, startEdgeGateway, startTicksSubgraph, type EdgeGateway, type TicksSubgraph } from './support.ts';

const TEST = { timeout: 120_000 };
/** Operations (and events) each client may have at once: one every ten minutes plus a burst of two. */
const ALLOWED = 3;
/** A proxy in front of the gateway: its X-Forwarded-For is believed. */
const PROXY = '127.0.0.20';
const errorOf = (payload: unknown) => (payload as NextPayload).errors?.[0];

describe('per-client rates', () => {
  let subgraph: TicksSubgraph;
  let gateway: EdgeGateway;

  before(async () => {
    subgraph = await startTicksSubgraph();
    gateway = await startEdgeGateway(subgraph, {
      RATE_LIMIT_PER_SECOND: String(1 / 600),
      RATE_LIMIT_BURST: '2',
      SUBSCRIPTION_EVENTS_PER_SECOND: String(1 / 600),
      SUBSCRIPTION_EVENTS_BURST: '2',
      TRUSTED_PROXIES: `${PROXY}, 10.0.0.0/8`,
    });
  }, TEST);
  after(async () => {
    await gateway?.stop();
    await subgraph?.stop();
  });

  test(
    'over HTTP: the rate and burst pass, the next operation gets 429 RATE_LIMITED with Retry-After; another client is not affected',
    TEST,
    async () => {
      const refusedBefore = await gateway.refusals('operationRate');
      for (let i = 0; i < ALLOWED; i++) {
        const answer = await postQuery(gateway, '127.0.0.2');
        assert.equal(answer.status, 200, answer.text);
        assert.deepEqual(answer.json().data, { ping: 'pong' });
      }
      const over = await postQuery(gateway, '127.0.0.2');
      assert.equal(over.status, 429, over.text);
      const retryAfter = Number(over.headers['retry-after']);
      assert.ok(retryAfter >= 1 && retryAfter <= 600, `Retry-After: ${retryAfter}`);
      const [error] = over.json().errors ?? [];
      assert.equal(error?.extensions?.['code'], 'RATE_LIMITED');
      assert.equal(error?.extensions?.['limit'], 'operationRate');
      const retryAfterMs = error?.extensions?.['retryAfterMs'];
      assert.ok(typeof retryAfterMs === 'number' && retryAfterMs > 0 && retryAfterMs <= 600_000, `retryAfterMs: ${String(retryAfterMs)}`);

      const other = await postQuery(gateway, '127.0.0.3');
      assert.equal(other.status, 200, 'another client is not affected');
      assert.equal(await gateway.refusals('operationRate'), refusedBefore + 1);
    },
  );

  test(
    'only /graphql answers GraphQL over HTTP: with the rate spent, paths below it get 404 NOT_FOUND, /graphql/ gets 429',
    TEST,
    async () => {
      for (let i = 0; i < ALLOWED; i++) assert.equal((await postQuery(gateway, '127.0.0.8')).status, 200);
      for (const path of ['/graphql/x', '/graphql//', '/graphql/x?query=%7Bping%7D']) {
        const method = path.includes('?') ? 'GET' : 'POST';
        const answer = await send(`${gateway.baseUrl}${path}`, {
          from: '127.0.0.8',
          method,
          headers: { 'apollo-require-preflight': 'true' },
          ...(method === 'POST' && { body: { query: '{ ping }' } }),
        });
        assert.equal(answer.status, 404, `${method} ${path}: ${answer.text}`);
        assert.equal(answer.json().errors?.[0]?.extensions?.['code'], 'NOT_FOUND');
      }
      const slash = await send(`${gateway.baseUrl}/graphql/`, { from: '127.0.0.8', body: { query: '{ ping }' } });
      assert.equal(slash.status, 429, slash.text);
    },
  );

  test('a GET carrying only extensions (a persisted query hash, no query) is charged', TEST, async () => {
    const hash = createHash('sha256').update('{ ping }').digest('hex');
    const extensions = encodeURIComponent(JSON.stringify({ persistedQuery: { version: 1, sha256Hash: hash } }));
    const get = () =>
      send(`${gateway.baseUrl}/graphql?extensions=${extensions}`, { from: '127.0.0.9', headers: { 'apollo-require-preflight': 'true' } });
    for (let i = 0; i < ALLOWED; i++) {
      const answer = await get();
      assert.notEqual(answer.status, 429, answer.text);
    }
    const over = await get();
    assert.equal(over.status, 429, over.text);
    assert.equal(over.json().errors?.[0]?.extensions?.['code'], 'RATE_LIMITED');
  });

  test(
    'requests refused for a bad token are charged to their address: past the rate they get 429 RATE_LIMITED before the token is checked',
    TEST,
    async () => {
      const bad = (from: string) =>
        send(`${gateway.baseUrl}/graphql`, { from, headers: { authorization: 'Bearer not.a.jwt' }, body: { query: '{ ping }' } });
      for (let i = 0; i < ALLOWED; i++) assert.equal((await bad('127.0.0.10')).status, 401);
      const over = await bad('127.0.0.10');
      assert.equal(over.status, 429, over.text);
      assert.ok(Number(over.headers['retry-after']) >= 1);
      assert.equal(over.json().errors?.[0]?.extensions?.['code'], 'RATE_LIMITED');
      assert.equal((await bad('127.0.0.11')).status, 401, 'another address is not affected');
      assert.equal((await postQuery(gateway, '127.0.0.10')).status, 200, 'the address may still call without a token');
    },
  );

  test(
    'sockets refused for a bad token in connection_init are charged to their address too: past the rate they close with 4429 RATE_LIMITED',
    TEST,
    async () => {
      const badSocket = async (from: string) => {
        const client = await ProtocolClient.open(gateway.wsUrl, undefined, undefined, { localAddress: from });
        client.send({ type: 'connection_init', payload: { authorization: 'Bearer not.a.jwt' } });
        return client.whenClosed();
      };
      for (let i = 0; i < ALLOWED; i++) assert.equal((await badSocket('127.0.0.12')).code, 4401);
      const over = await badSocket('127.0.0.12');
      assert.equal(over.code, 4429);
      assert.match(over.reason, /^RATE_LIMITED: /);
      assert.equal((await badSocket('127.0.0.13')).code, 4401, 'another address is not affected');
      const anonymous = await ProtocolClient.connect(gateway.wsUrl, undefined, { localAddress: '127.0.0.12' });
      await anonymous.close();
    },
  );

  test(
    'a GET is charged whatever its parameters: padding past the 1,000 Express reads does not hide its query from the rate',
    TEST,
    async () => {
      const padding = Array.from({ length: 1_000 }, (_, i) => `a${i}=`).join('&');
      const get = () =>
        send(`${gateway.baseUrl}/graphql?${padding}&query=${encodeURIComponent('{ ping }')}`, {
          from: '127.0.0.14',
          headers: { 'apollo-require-preflight': 'true' },
        });
      for (let i = 0; i < ALLOWED; i++) assert.notEqual((await get()).status, 429);
      const over = await get();
      assert.equal(over.status, 429, over.text);
      assert.equal(over.json().errors?.[0]?.extensions?.['code'], 'RATE_LIMITED');
    },
  );

  /** A query from `from` saying, in X-Forwarded-For, that it comes from `client`. */
  const via = (from: string, client: string) =>
    send(`${gateway.baseUrl}/graphql`, { from, headers: { 'x-forwarded-for': client }, body: { query: '{ ping }' } });

  test('behind a trusted proxy each X-Forwarded-For address is its own client; from anyone else the header is ignored', TEST, async () => {
    for (let i = 0; i < ALLOWED; i++) assert.equal((await via(PROXY, '203.0.113.1')).status, 200);
    assert.equal((await via(PROXY, '203.0.113.1')).status, 429);
    assert.equal((await via(PROXY, '203.0.113.2')).status, 200, 'another client behind the proxy');
    // Not a trusted proxy: the socket's address is the client, whatever the header says.
    for (let i = 0; i < ALLOWED; i++) assert.equal((await via('127.0.0.21', `198.51.100.${i}`)).status, 200);
    assert.equal((await via('127.0.0.21', '198.51.100.99')).status, 429);
  });

  test('IPv6 clients count by their /64', TEST, async () => {
    for (let i = 0; i < ALLOWED; i++) assert.equal((await via(PROXY, `2001:db8:1:2::${i}`)).status, 200);
    assert.equal((await via(PROXY, '2001:db8:1:2:ffff::9')).status, 429, 'another address of the same /64');
    assert.equal((await via(PROXY, '2001:db8:1:3::1')).status, 200, 'another /64');
  });

  test('over WebSocket: the operation over the rate gets RATE_LIMITED and the socket stays open', TEST, async (t) => {
    const client = await ProtocolClient.connect(gateway.wsUrl, undefined, { localAddress: '127.0.0.4' });
    t.after(() => client.close());
    for (let i = 0; i < ALLOWED; i++) assert.deepEqual(await client.execute(`q${i}`, '{ ping }'), [{ data: { ping: 'pong' } }]);
    client.subscribe('over', '{ ping }');
    const refused = await client.take((m) => m.id === 'over' && m.type === 'error', 'the error of the operation over the rate');
    const [error] = refused.payload as { extensions?: Record<string, unknown> }[];
    assert.equal(error?.extensions?.['code'], 'RATE_LIMITED');
    assert.ok(Number(error?.extensions?.['retryAfterMs']) > 0);
    await client.ping();
    assert.ok(client.open, 'the socket stays open');
  });

  test('over SSE: the operation over the rate gets 429 RATE_LIMITED', TEST, async () => {
    const stream = `${gateway.baseUrl}/graphql/stream`;
    for (let i = 0; i < ALLOWED; i++) {
      const answer = await send(stream, { from: '127.0.0.5', headers: { accept: 'text/event-stream' }, body: { query: '{ ping }' } });
      assert.equal(answer.status, 200);
      assert.match(answer.text, /"ping":"pong"/);
    }
    const over = await send(stream, { from: '127.0.0.5', headers: { accept: 'text/event-stream' }, body: { query: '{ ping }' } });
    assert.equal(over.status, 429, over.text);
    assert.ok(Number(over.headers['retry-after']) >= 1);
    assert.equal(over.json().errors?.[0]?.extensions?.['code'], 'RATE_LIMITED');
  });

  test(
    'a client over its event budget has its subscription ended with RATE_LIMITED; the client sharing the subscription goes on, and the socket stays open',
    TEST,
    async (t) => {
      const limited = await ProtocolClient.connect(gateway.wsUrl, undefined, { localAddress: '127.0.0.6' });
      const other = await ProtocolClient.connect(gateway.wsUrl, undefined, { localAddress: '127.0.0.7' });
      t.after(() => closeAll([limited, other]));
      // The limited client spends its budget on a subscription of its own first.
      limited.subscribe('warm', TICKS, { topic: 'warm' });
      await waitFor(() => subgraph.listeners('warm') === 1, 30_000, 'the warm-up subscription never reached the subgraph');
      for (let n = 1; n <= ALLOWED; n++) subgraph.tick('warm', n);
      await waitFor(() => limited.nexts('warm').length === ALLOWED, 30_000, 'the warm-up events never arrived');

      limited.subscribe('shared', TICKS, { topic: 'shared' });
      other.subscribe('shared', TICKS, { topic: 'shared' });
      await waitFor(
        async () => (await gateway.subscriptions()).subscribers === 3,
        30_000,
        'the shared subscription never had both clients',
      );
      await waitFor(() => subgraph.listeners('shared') === 1, 30_000, 'the shared subscription never reached the subgraph');
      const opened = (await gateway.subscriptions()).upstreamOpened;
      subgraph.tick('shared', 1);

      const ended = await limited.take((m) => m.id === 'shared' && m.type === 'next', 'the RATE_LIMITED result');
      const error = errorOf(ended.payload);
      assert.equal(error?.extensions?.['code'], 'RATE_LIMITED');
      assert.equal(error?.extensions?.['lastDeliveredCursor'], null, 'a stream without positions has no cursor to name');
      assert.ok(Number(error?.extensions?.['retryAfterMs']) > 0);
      await limited.take((m) => m.id === 'shared' && m.type === 'complete', 'complete of the limited subscription');
      await limited.ping();

      subgraph.tick('shared', 2);
      await waitFor(() => other.nexts('shared').length === 2, 30_000, 'the other client did not get both events');
      assert.deepEqual(
        other.nexts<{ ticks: { n: number } }>('shared').map((p) => p.data?.ticks.n),
        [1, 2],
      );
      const stats = await gateway.subscriptions();
      assert.equal(stats.upstreamOpened, opened, 'the upstream subscription was not reopened');
      assert.ok((await gateway.refusals('subscriptionEvents')) >= 1);
    },
  );
});
