/**
 * A forwarded header (FORWARD_HEADERS, none by default; `x-tenant` here) whose value cannot be sent on to
 * a subgraph is refused at the gateway with BAD_REQUEST naming the header, over HTTP, Server-Sent
 * Events and graphql-ws alike, instead of failing inside the subgraph request and being reported as
 * a subgraph outage. A sendable value still reaches the subgraphs and is answered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startExampleSystem, type ExampleSystem } from '../../scripts/system.ts';
import { ORDER_EVENTS, ProtocolClient, closeAll } from '../subscriptions/support.ts';

/** What fetch can put in a header that may not be forwarded: a Latin-1 byte, as raw UTF-8 arrives. */
const UNSENDABLE = 'caf\u00e9';
const QUERY = '{ customers(first: 2) { name favoriteProducts { name } } }';
const REFUSAL = {
  message:
    'header "x-tenant" has a value that cannot be sent over HTTP: character 4 is U+00E9 (only visible ASCII, space and tab are allowed)',
  extensions: { header: 'x-tenant', code: 'BAD_REQUEST' },
};

describe('forwarded headers that cannot be sent on', () => {
  let system: ExampleSystem | undefined;
  let gatewayUrl: string;
  let wsUrl: string;
  const clients: ProtocolClient[] = [];

  before(
    async () => {
      system = await startExampleSystem({
        host: '127.0.0.1',
        gatewayPort: 0,
        logLevel: 'warn',
        env: { gateway: { FORWARD_HEADERS: 'x-tenant' } },
      });
      gatewayUrl = system.gatewayUrl;
      wsUrl = `${gatewayUrl.replace(/^http/, 'ws')}/graphql`;
    },
    { timeout: 90_000 },
  );
  after(async () => {
    await closeAll(clients);
    await system?.stop();
  });

  const post = (path: string, tenant: string, accept: string) =>
    fetch(`${gatewayUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, 'x-tenant': tenant },
      body: JSON.stringify({ query: QUERY }),
    });

  test('over HTTP: 400 with BAD_REQUEST naming the header, and nothing else', { timeout: 30_000 }, async () => {
    const response = await post('/graphql', UNSENDABLE, 'application/json');
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), { errors: [REFUSAL] });
  });

  test('over HTTP: a sendable value is forwarded and answered', { timeout: 30_000 }, async () => {
    const response = await post('/graphql', 'tenant-1', 'application/json');
    assert.equal(response.status, 200);
    const body = (await response.json()) as { data?: { customers: unknown[] }; errors?: unknown };
    assert.equal(body.errors, undefined);
    assert.equal(body.data?.customers.length, 2);
  });

  test('over Server-Sent Events: 400 with BAD_REQUEST naming the header', { timeout: 30_000 }, async () => {
    const response = await post('/graphql/stream', UNSENDABLE, 'text/event-stream');
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(await response.json(), { errors: [REFUSAL] });
  });

  test('over graphql-ws: each operation gets an error with BAD_REQUEST and the socket stays open', { timeout: 30_000 }, async () => {
    const client = await ProtocolClient.connect(wsUrl, { headers: { 'x-tenant': 't\u2026' } });
    clients.push(client);
    const expected = { ...REFUSAL, message: REFUSAL.message.replace('character 4 is U+00E9', 'character 2 is U+2026') };
    client.subscribe('s1', ORDER_EVENTS);
    assert.deepEqual((await client.take((m) => m.id === 's1', "the subscription's answer")).payload, [expected]);
    client.subscribe('q1', QUERY);
    const answer = await client.take((m) => m.id === 'q1', "the query's answer");
    assert.equal(answer.type, 'error');
    assert.deepEqual(answer.payload, [expected]);
    await client.ping();
    assert.ok(client.open);
  });

  test('over graphql-ws: a sendable value is forwarded and answered', { timeout: 30_000 }, async () => {
    const client = await ProtocolClient.connect(wsUrl, { headers: { 'x-tenant': 'tenant-1' } });
    clients.push(client);
    const [result] = await client.execute<{ customers: unknown[] }>('q1', QUERY);
    assert.equal(result?.errors, undefined);
    assert.equal(result?.data?.customers.length, 2);
  });
});
