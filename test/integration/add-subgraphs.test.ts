/**
 * Adding subgraphs to a running system, as a user does (issue 10's proof, for the contracts the
 * scaffolder reads): the example system runs (npm start's development loop) from a scratch copy of
 * the project; without restarting anything, `interchange subgraph new` writes a subgraph from an
 * OpenAPI file over a REST service this test runs, then one from a .proto over a gRPC service this
 * test runs, then a projection of a topic from its event schemas. Each, unmodified, composes, is
 * started, and answers through the gateway a query that joins it to the existing types (the third
 * from the events published to its topic, which its subscription streams); a
 * subscriber to orderEvents gets every event across the three reloads exactly once.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeServer, listen } from '../../lib/lifecycle.ts';
import { startExampleSystem, type ExampleSystem } from '../../scripts/system.ts';
import { bindInsecure, shutdownGracefully } from '../../services/catalog/grpc-server.ts';
import { fixtures, inventoryTopic, subgraphNew } from '../scaffold/support.ts';
import { reviewsService, shippingService, type Shipment } from '../scaffold/services.ts';
import { ProtocolClient } from '../subscriptions/support.ts';
import { operatorHeaders, postGraphQL } from '../support/graphql.ts';
import { scratchProject, type Scratch } from '../support/scratch.ts';
import { quietPeriod, waitFor } from '../support/wait.ts';

describe('subgraphs added to a running system from their contracts', { timeout: 600_000 }, () => {
  let scratch: Scratch | undefined;
  let system: ExampleSystem | undefined;
  let subscriber: ProtocolClient | undefined;
  // Answering at once: the concurrency of the generated loaders is the scaffolding tests' business.
  const reviews = reviewsService(1);
  const shipments: Shipment[] = [];
  const shipping = shippingService(shipments, 1);
  let reviewsUrl: string;
  let shippingAddress: string;
  let auth: Record<string, string>;
  const placed: string[] = [];

  before(
    async () => {
      reviewsUrl = `http://127.0.0.1:${await listen(reviews.server, 0, '127.0.0.1')}`;
      shippingAddress = `127.0.0.1:${await bindInsecure(shipping.server, '127.0.0.1', 0)}`;
      scratch = await scratchProject({ system: true });
      system = await startExampleSystem({
        host: '127.0.0.1',
        gatewayPort: 0,
        logLevel: 'warn',
        registry: scratch.registry,
        watchRegistry: true,
      });
      auth = await operatorHeaders(system);
      subscriber = await ProtocolClient.connect(`${system.gatewayUrl.replace(/^http/, 'ws')}/graphql`, auth);
      subscriber.subscribe('placed', 'subscription { orderEvents(types: [PLACED]) { order { id customer { name } } } }');
      await placeOrder();
      await waitFor(() => subscriber!.nexts('placed').length === 1, 60_000, 'the subscription never opened', 20);
    },
    { timeout: 180_000 },
  );
  after(
    async () => {
      await subscriber?.close();
      await system?.stop();
      await closeServer(reviews.server);
      await shutdownGracefully(shipping.server, 1_000);
      await scratch?.remove();
    },
    { timeout: 120_000 },
  );

  const query = async <D>(text: string) => (await postGraphQL<D>(`${system!.gatewayUrl}/graphql`, text, {}, auth)).body;
  async function placeOrder(): Promise<string> {
    const { data } = await query<{ placeOrder: { id: string } }>(
      `mutation { placeOrder(input: { customerId: "c${(placed.length % 5) + 1}", lines: [{ productId: "p1", quantity: 1 }] }) { id } }`,
    );
    assert.ok(data?.placeOrder);
    placed.push(data.placeOrder.id);
    return data.placeOrder.id;
  }

  test(
    'from an OpenAPI file: Product.reviews joins the catalog to the REST service, served without a restart',
    { timeout: 180_000 },
    async (t) => {
      const started = Date.now();
      const run = await subgraphNew(
        scratch!.root,
        'reviews',
        '--from-openapi',
        join(fixtures, 'reviews.yaml'),
        '--service-url',
        reviewsUrl,
      );
      assert.equal(run.code, 0, run.stderr);
      await placeOrder();
      const JOIN = '{ product(id: "p1") { name reviews { id rating } } }';
      await waitFor(async () => (await query<unknown>(JOIN)).errors === undefined, 120_000, 'the reviews subgraph was never served', 250);
      t.diagnostic(`scaffolded, started and served in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const joined = await query<{ product: { name: string; reviews: { id: string; rating: number }[] } }>(JOIN);
      assert.ok(joined.data!.product.name.length > 0, 'from the catalog subgraph');
      assert.deepEqual(joined.data!.product.reviews, [
        { id: 'r1', rating: 5 },
        { id: 'r2', rating: 3 },
      ]);
      await placeOrder();
    },
  );

  test(
    'from a .proto: Order.shipments joins the orders projection to the gRPC service, served without a restart',
    { timeout: 180_000 },
    async (t) => {
      const order = placed[0]!;
      shipments.push({ id: 'sx', orderId: order, carrier: 'CARRIER_EXPRESS', status: 'STATUS_PACKED', parcels: [] });
      const started = Date.now();
      const run = await subgraphNew(
        scratch!.root,
        'shipping',
        '--from-proto',
        join(fixtures, 'shipping.proto'),
        '--service-url',
        shippingAddress,
      );
      assert.equal(run.code, 0, run.stderr);
      await placeOrder();
      const JOIN = `{ order(id: "${order}") { id customer { name } shipments { id } } }`;
      await waitFor(async () => (await query<unknown>(JOIN)).errors === undefined, 120_000, 'the shipping subgraph was never served', 250);
      t.diagnostic(`scaffolded, started and served in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const joined = await query<{ order: { id: string; customer: { name: string }; shipments: { id: string }[] } }>(JOIN);
      assert.equal(joined.data!.order.id, order);
      assert.ok(joined.data!.order.customer.name.length > 0, 'from the customers subgraph');
      assert.deepEqual(joined.data!.order.shipments, [{ id: 'sx' }]);
      await placeOrder();
    },
  );

  test(
    'from a topic: a projection of inventory.events answers from the events published to it, joined to the catalog (StockLevel.product, Product.stockLevels), and streams them, served without a restart',
    { timeout: 180_000 },
    async (t) => {
      const started = Date.now();
      const run = await subgraphNew(scratch!.root, 'inventory', ...inventoryTopic);
      assert.equal(run.code, 0, run.stderr);
      await placeOrder();
      const QUERY = '{ stockLevel(id: "p1") { sku quantity warehouse } stockLevels(first: 5) { sku } }';
      await waitFor(
        async () => (await query<unknown>(QUERY)).errors === undefined,
        120_000,
        'the inventory subgraph was never served',
        250,
      );
      t.diagnostic(`scaffolded, started and served in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      assert.deepEqual((await query<unknown>(QUERY)).data, { stockLevel: null, stockLevels: [] });

      subscriber!.subscribe('stock', 'subscription { stockLevelEvents { type stockLevel { sku quantity } } }');
      const ops = system!.opsUrl('inventory-subgraph');
      await waitFor(
        async () => /^inventory_subscriptions_active 1$/m.test(await (await fetch(`${ops}/metrics`)).text()),
        60_000,
        'the stockLevelEvents subscription never reached the subgraph',
        50,
      );
      // The embedded log's inlet: what a producer publishes to the topic.
      const published = await fetch(`${ops}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          { type: 'StockReceived', eventId: 'e1', sku: 'p1', warehouse: 'north', quantity: 5, productId: 'p1' },
          { type: 'StockReceived', eventId: 'e2', sku: 'p2', warehouse: 'south', quantity: 9, productId: 'p2' },
          { type: 'StockAdjusted', eventId: 'e3', sku: 'p1', quantity: 4 },
        ]),
      });
      assert.equal(published.status, 200, await published.text());
      await waitFor(() => subscriber!.nexts('stock').length >= 3, 60_000, 'stock events missing', 20);
      assert.deepEqual((await query<unknown>(QUERY)).data, {
        stockLevel: { sku: 'p1', quantity: 4, warehouse: 'north' },
        stockLevels: [{ sku: 'p1' }, { sku: 'p2' }],
      });
      // The join: StockLevel.product from the catalog, and Product.stockLevels from the projection.
      const JOIN = '{ stockLevel(id: "p1") { sku quantity product { id name } } product(id: "p1") { name stockLevels { sku quantity } } }';
      const joined = await query<{
        stockLevel: { sku: string; quantity: number; product: { id: string; name: string } };
        product: { name: string; stockLevels: { sku: string; quantity: number }[] };
      }>(JOIN);
      assert.equal(joined.errors, undefined);
      assert.ok(joined.data!.product.name.length > 0, 'from the catalog subgraph');
      assert.deepEqual(joined.data!.stockLevel, { sku: 'p1', quantity: 4, product: { id: 'p1', name: joined.data!.product.name } });
      assert.deepEqual(joined.data!.product.stockLevels, [{ sku: 'p1', quantity: 4 }]);
      await placeOrder();
    },
  );

  test('the stockLevelEvents subscriber got every event published exactly once', { timeout: 60_000 }, async () => {
    // Long enough for a fourth delivery (a duplicate) to show up if one were coming.
    await quietPeriod(500);
    const received = subscriber!.nexts<{ stockLevelEvents: { type: string; stockLevel: { sku: string; quantity: number } } }>('stock');
    assert.deepEqual(
      received.flatMap((r) => r.errors ?? []),
      [],
    );
    assert.deepEqual(
      received
        .map(
          (r) =>
            `${r.data!.stockLevelEvents.stockLevel.sku}:${r.data!.stockLevelEvents.type}:${r.data!.stockLevelEvents.stockLevel.quantity}`,
        )
        .sort(),
      ['p1:StockAdjusted:4', 'p1:StockReceived:5', 'p2:StockReceived:9'],
    );
  });

  test('the orderEvents subscriber got every order placed across the three reloads exactly once', { timeout: 120_000 }, async () => {
    await waitFor(() => subscriber!.nexts('placed').length >= placed.length, 60_000, 'events missing', 20);
    const received = subscriber!.nexts<{ orderEvents: { order: { id: string; customer: { name: string } } } }>('placed');
    assert.deepEqual(
      received.flatMap((r) => r.errors ?? []),
      [],
    );
    assert.deepEqual(received.map((r) => r.data!.orderEvents.order.id).sort(), [...placed].sort());
    assert.ok(subscriber!.open);
  });
});
