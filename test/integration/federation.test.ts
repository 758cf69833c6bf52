/**
 * The example system as real processes (REST service, gRPC service, two subgraphs, gateway) on free
 * ports, queried through the gateway. Backend call counts come from the services' own /metrics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startExampleSystem, type ExampleSystem } from '../../scripts/system.ts';
import { generateProducts } from '../../services/catalog/data.ts';
import { generateCustomers } from '../../services/customers/data.ts';
import { postGraphQL } from '../support/graphql.ts';
import { readCounter } from '../support/metrics.ts';
import { readRegistry } from '../../scripts/registry.ts';

const customersQuery = `query ($first: Int) {
  customers(first: $first) { name tier favoriteProducts { name priceCents stock } }
}`;

interface CustomersData {
  customers: { name: string; tier: string; favoriteProducts: { name: string; priceCents: number; stock: number }[] | null }[];
}

describe('federated queries over the REST and gRPC subgraphs', () => {
  let system: ExampleSystem;
  let graphqlUrl: string;
  let restMetrics: string;
  let grpcMetrics: string;

  before(
    async () => {
      system = await startExampleSystem({ host: '127.0.0.1', gatewayPort: 0, logLevel: 'warn' });
      graphqlUrl = `${system.gatewayUrl}/graphql`;
      restMetrics = `http://127.0.0.1:${system.processes.get('customers-service')!.ports['http']}/metrics`;
      grpcMetrics = `http://127.0.0.1:${system.processes.get('catalog-service')!.ports['metrics']}/metrics`;
    },
    { timeout: 300_000 },
  );
  after(() => system?.stop());

  const backendCalls = async () => ({
    restList: await readCounter(restMetrics, 'customers_http_requests_total', { operation: 'listCustomers' }),
    restBatch: await readCounter(restMetrics, 'customers_http_requests_total', { operation: 'batchCustomers' }),
    restSingle: await readCounter(restMetrics, 'customers_http_requests_total', { operation: 'getCustomer' }),
    grpcBatch: await readCounter(grpcMetrics, 'catalog_grpc_calls_total', { method: 'GetProducts' }),
    grpcSingle: await readCounter(grpcMetrics, 'catalog_grpc_calls_total', { method: 'GetProduct' }),
    grpcList: await readCounter(grpcMetrics, 'catalog_grpc_calls_total', { method: 'ListProducts' }),
  });

  test('returns the seeded customers with their favourite products resolved by the catalog', async () => {
    const { status, body } = await postGraphQL<CustomersData>(graphqlUrl, customersQuery, { first: 50 });
    assert.equal(status, 200);
    assert.equal(body.errors, undefined);
    const products = new Map(generateProducts().map((p) => [p.id, p]));
    const expected = generateCustomers()
      .slice(0, 50)
      .map((c) => ({
        name: c.name,
        tier: c.tier.toUpperCase(),
        favoriteProducts: c.favoriteProductIds.map((id) => {
          const p = products.get(id)!;
          return { name: p.name, priceCents: p.priceCents, stock: p.stock };
        }),
      }));
    assert.deepEqual(body.data?.customers, expected);
  });

  for (const first of [1, 50, 100]) {
    test(`costs exactly one REST list call and one gRPC GetProducts call for ${first} customers`, async () => {
      const before = await backendCalls();
      const { body } = await postGraphQL<CustomersData>(graphqlUrl, customersQuery, { first });
      assert.equal(body.errors, undefined);
      assert.equal(body.data?.customers.length, first);
      const after = await backendCalls();
      assert.deepEqual(Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof typeof before]])), {
        restList: 1,
        restBatch: 0,
        restSingle: 0,
        grpcBatch: 1,
        grpcSingle: 0,
        grpcList: 0,
      });
    });
  }

  test('looks customers and products up by id, and answers null without errors for unknown ids', async () => {
    const { body } = await postGraphQL(
      graphqlUrl,
      `{ known: customer(id: "c7") { id favoriteProducts { id } } unknown: customer(id: "c999999") { id }
         product(id: "p3") { id } noProduct: product(id: "nope") { name } }`,
    );
    assert.equal(body.errors, undefined);
    const c7 = generateCustomers()[6]!;
    assert.deepEqual(body.data, {
      known: { id: 'c7', favoriteProducts: c7.favoriteProductIds.map((id) => ({ id })) },
      unknown: null,
      product: { id: 'p3' },
      noProduct: null,
    });
  });

  test('answers null for ids the REST batch read cannot carry, without spoiling the rest of the batch', async () => {
    const { body } = await postGraphQL(
      graphqlUrl,
      '{ a: customer(id: "c1") { id } b: customer(id: "") { id } c: customer(id: "c1,c2") { id } }',
    );
    assert.equal(body.errors, undefined);
    assert.deepEqual(body.data, { a: { id: 'c1' }, b: null, c: null });
  });

  test('rejects an argument of the wrong type with a validation error', async () => {
    const { status, body } = await postGraphQL(graphqlUrl, '{ customers(first: "many") { id } }');
    assert.equal(status, 400);
    assert.equal(body.data, undefined);
    assert.equal(body.errors?.[0]?.extensions?.['code'], 'GRAPHQL_VALIDATION_FAILED');
    assert.match(body.errors?.[0]?.message ?? '', /Int cannot represent/);
  });

  test('rejects an out-of-range page size with BAD_USER_INPUT naming the argument', async () => {
    const { body } = await postGraphQL(graphqlUrl, '{ products(first: 1000) { id } }');
    assert.equal(body.data, null);
    assert.equal(body.errors?.[0]?.extensions?.['code'], 'BAD_USER_INPUT');
    assert.equal(body.errors?.[0]?.extensions?.['serviceName'], 'catalog');
    assert.match(body.errors?.[0]?.message ?? '', /"first" must be between 1 and 100/);
  });

  test('answers a GET query, per the GraphQL-over-HTTP spec', async () => {
    const url = `${graphqlUrl}?query=${encodeURIComponent('{ customer(id: "c1") { id } }')}`;
    const response = await fetch(url, { headers: { accept: 'application/graphql-response+json', 'apollo-require-preflight': 'true' } });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { data: { customer: { id: 'c1' } } });
  });

  test('refuses a mutation over GET', async () => {
    const url = `${graphqlUrl}?query=${encodeURIComponent('mutation { cancelOrder(id: "o-1") { id } }')}`;
    const response = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    assert.equal(response.status, 405);
  });

  for (const [what, request, message] of [
    ['several operations without operationName', { query: 'query A { __typename } query B { __typename }' }, /name the one to run/],
    ['an operationName the document does not have', { query: 'query A { __typename }', operationName: 'B' }, /no operation named "B"/],
    ['a subscription as a plain HTTP request', { query: 'subscription { orderEvents { cursor } }' }, /over WebSocket/],
  ] as const) {
    test(`answers ${what} with 400 and BAD_REQUEST, not 500`, async () => {
      const response = await fetch(graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request),
      });
      assert.equal(response.status, 400);
      const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
      assert.equal(body.errors[0]?.extensions.code, 'BAD_REQUEST');
      assert.match(body.errors[0]?.message ?? '', message);
    });
  }

  test('answers a malformed JSON body with 400 and BAD_REQUEST', async () => {
    const response = await fetch(graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    assert.equal(body.errors[0]?.extensions.code, 'BAD_REQUEST');
  });

  test('answers an oversized body with 413 and PAYLOAD_TOO_LARGE', async () => {
    const query = `{ customers(first: 1) { id } } # ${'x'.repeat(1_100_000)}`;
    const response = await fetch(graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    assert.equal(response.status, 413);
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    assert.equal(body.errors[0]?.extensions.code, 'PAYLOAD_TOO_LARGE');
  });

  test('reports alive on /healthz and only ready on /readyz; its subgraphs and metrics on the ops listener', async () => {
    assert.equal((await fetch(`${system.gatewayUrl}/healthz`)).status, 200);
    const ready = await fetch(`${system.gatewayUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true });
    assert.equal((await fetch(`${system.gatewayUrl}/metrics`)).status, 404);
    const ops = system.opsUrl('gateway');
    assert.notEqual(new URL(ops).port, new URL(system.gatewayUrl).port);
    const body = (await (await fetch(`${ops}/readyz`)).json()) as { ready: boolean; subgraphs: { name: string }[] };
    assert.equal(body.ready, true);
    assert.deepEqual(body.subgraphs.map((s) => s.name).sort(), (await readRegistry()).subgraphs.map((s) => s.name).sort());
    assert.match(await (await fetch(`${ops}/metrics`)).text(), /^gateway_subscriptions_active \d+$/m);
  });

  // Last: it stops the gRPC service for good.
  test('with the gRPC service stopped, still returns the customers, with errors for their products', async () => {
    await system.processes.get('catalog-service')!.stop();
    for (let attempt = 0; attempt < 3; attempt++) {
      const { status, body } = await postGraphQL<CustomersData>(graphqlUrl, customersQuery, { first: 50 });
      assert.equal(status, 200);
      assert.equal(body.data?.customers.length, 50);
      assert.deepEqual(
        body.data?.customers.slice(0, 3).map((c) => c.name),
        generateCustomers()
          .slice(0, 3)
          .map((c) => c.name),
      );
      assert.ok(body.data?.customers.every((c) => c.favoriteProducts === null));
      assert.ok(body.errors && body.errors.length > 0);
      for (const error of body.errors) {
        assert.equal(error.extensions?.['serviceName'], 'catalog');
        assert.equal(error.extensions?.['code'], 'UPSTREAM_UNAVAILABLE');
      }
    }
    // The gateway keeps serving what does not need the catalog.
    const { body } = await postGraphQL<CustomersData>(graphqlUrl, '{ customers(first: 3) { name } }');
    assert.equal(body.errors, undefined);
    assert.equal(body.data?.customers.length, 3);
    assert.equal((await fetch(`${system.gatewayUrl}/healthz`)).status, 200);
  });
});
