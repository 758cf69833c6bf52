/**
 * Federated subscriptions end to end on Kafka: graphql-ws clients subscribe through the gateway to
 * `orderEvents`, whose events come from the orders subgraph's projection of the mock cluster's topic
 * and whose customer and product fields the gateway resolves from the other subgraphs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { ExampleSystem } from '../../scripts/system.ts';
import { generateCustomers } from '../../services/customers/data.ts';
import { postGraphQL } from '../support/graphql.ts';
import type { MockCluster } from './mock-cluster.ts';
import { orderStream } from './order-stream.ts';
import { waitFor } from '../support/wait.ts';
import { gatewayStats } from '../subscriptions/support.ts';
import { runProducer, startKafkaSystem, type KafkaSystem } from './orders-support.ts';

/** Room for a loaded machine: each wait in these tests may take up to 120 s. */
const KAFKA_TEST = { timeout: 600_000 };

interface OrderEventData {
  orderEvents: {
    cursor: string;
    type: string;
    order: {
      id: string;
      status: string;
      version: number;
      customer: { name: string; tier: string };
      lines: { quantity: number; product: { name: string; stock: number } }[];
    };
  };
}

const eventsQuery = `subscription ($customerId: ID, $after: String) {
  orderEvents(customerId: $customerId, after: $after) {
    cursor type
    order { id status version customer { name tier } lines { quantity product { name stock } } }
  }
}`;

/** A subscription whose results collect into an array. */
function collect(client: Client, variables: Record<string, unknown>) {
  const received: OrderEventData['orderEvents'][] = [];
  const errors: unknown[] = [];
  /** Results that came with errors. */
  const failed: unknown[] = [];
  const stop = client.subscribe<OrderEventData>(
    { query: eventsQuery, variables },
    {
      next: (result) => {
        if (result.errors) {
          errors.push(...result.errors);
          failed.push(result);
        }
        if (result.data) received.push(result.data.orderEvents);
      },
      error: (err) => errors.push(err),
      complete: () => undefined,
    },
  );
  return { received, errors, failed, stop };
}

describe('subscriptions through the gateway on Kafka', () => {
  let kafka: KafkaSystem;
  let cluster: MockCluster;
  let system: ExampleSystem;
  let graphqlUrl: string;
  let auth: Record<string, string>;
  const clients: Client[] = [];
  const connect = () => {
    const client = createClient({
      url: `${system.gatewayUrl.replace('http', 'ws')}/graphql`,
      connectionParams: auth,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    clients.push(client);
    return client;
  };

  before(async () => {
    kafka = await startKafkaSystem({ payDelayMs: 300, shipDelayMs: 300 });
    ({ cluster, system, graphqlUrl, auth } = kafka);
  }, KAFKA_TEST);
  after(async () => {
    await Promise.all(clients.map(async (c) => c.dispose()));
    await kafka?.stop();
  });

  test(
    'a subscriber sees PLACED, PAID and SHIPPED with customer and product fields, and each is already visible to queries',
    KAFKA_TEST,
    async (t) => {
      const customer = generateCustomers()[8]!;
      const sub = collect(connect(), { customerId: customer.id });
      await waitFor(async () => (await gatewayStats(system.opsUrl('gateway'))).subscribers >= 1, 60_000, 'never subscribed', 100);

      // Read-your-events: query the order as soon as each event arrives.
      const versionsSeen: [number, number][] = [];
      const checked = new Set<string>();
      let stopChecking = false;
      t.after(() => void (stopChecking = true));
      const checking = waitFor(
        async () => {
          if (stopChecking) throw new Error('the test ended');
          for (const event of sub.received) {
            if (checked.has(event.cursor)) continue;
            checked.add(event.cursor);
            const { body } = await postGraphQL<{ order: { version: number } }>(
              graphqlUrl,
              `{ order(id: "${event.order.id}") { version } }`,
              undefined,
              auth,
            );
            versionsSeen.push([event.order.version, body.data!.order.version]);
          }
          return checked.size >= 3;
        },
        120_000,
        'not every event was checked against a query',
        5,
      );
      checking.catch(() => undefined); // awaited below; a failure before that must not go unhandled

      const { body } = await postGraphQL<{ placeOrder: { id: string } }>(
        graphqlUrl,
        `mutation { placeOrder(input: { customerId: "${customer.id}", lines: [{ productId: "p1", quantity: 1 }, { productId: "p3", quantity: 2 }] }) { id } }`,
        undefined,
        auth,
      );
      assert.equal(body.errors, undefined, JSON.stringify(body.errors));
      const orderId = body.data!.placeOrder.id;
      await waitFor(() => sub.received.length >= 3, 120_000, `got ${sub.received.length} events`);
      await checking;
      sub.stop();

      assert.deepEqual(sub.errors, []);
      assert.deepEqual(
        sub.received.map((e) => [e.type, e.order.status, e.order.version]),
        [
          ['PLACED', 'PLACED', 1],
          ['PAID', 'PAID', 2],
          ['SHIPPED', 'SHIPPED', 3],
        ],
      );
      for (const event of sub.received) {
        assert.equal(event.order.id, orderId);
        assert.deepEqual(event.order.customer, { name: customer.name, tier: customer.tier.toUpperCase() });
        assert.equal(event.order.lines.length, 2);
        assert.ok(event.order.lines.every((l) => typeof l.product.name === 'string' && typeof l.product.stock === 'number'));
      }
      for (const [eventVersion, queriedVersion] of versionsSeen)
        assert.ok(queriedVersion >= eventVersion, `queried ${queriedVersion} after event ${eventVersion}`);
    },
  );

  test('resuming with after delivers every missed event once, in order, then live ones', KAFKA_TEST, async (t) => {
    // A reference subscriber stays connected throughout; a client that disconnects and resumes
    // must end up with exactly the same events, in the same order: no gap, no duplicate at the seam.
    const subscribers = async () => (await gatewayStats(system.opsUrl('gateway'))).subscribers;
    const base = await subscribers();
    const reference = collect(connect(), {});
    const first = collect(connect(), {});
    await waitFor(async () => (await subscribers()) >= base + 2, 60_000, 'never subscribed', 100);
    const before = orderStream(5, 40, 'before');
    await runProducer(t, cluster.bootstrap, { orders: 5, seed: 40, prefix: 'before' });
    await waitFor(() => first.received.length >= before.length, 120_000, 'first events');
    first.stop();
    const lastCursor = first.received.at(-1)!.cursor;

    // Published while it is away (the fulfillment service adds events of its own, too).
    const missed = orderStream(15, 41, 'missed');
    await runProducer(t, cluster.bootstrap, { orders: 15, seed: 41, prefix: 'missed' });
    await waitFor(() => reference.received.length >= first.received.length + missed.length, 120_000, 'reference missed events');
    const resumed = collect(connect(), { after: lastCursor });
    await runProducer(t, cluster.bootstrap, { orders: 5, seed: 42, prefix: 'live' });

    // Wait until the system is quiet (fulfillment done) and both have caught up.
    let last = -1;
    await waitFor(
      () => {
        const settled = reference.received.length === last && first.received.length + resumed.received.length === reference.received.length;
        last = reference.received.length;
        return settled;
      },
      120_000,
      'the resumed client never matched the reference',
      1_000,
    );
    resumed.stop();
    reference.stop();

    assert.deepEqual(resumed.errors, []);
    const ids = (events: OrderEventData['orderEvents'][]) => events.map((e) => `${e.order.id}:${e.type}:${e.order.version}`);
    assert.deepEqual([...ids(first.received), ...ids(resumed.received)], ids(reference.received));
    assert.ok(resumed.received.length >= missed.length, 'the replay covered the missed events');
    const got = ids(resumed.received);
    assert.equal(new Set(got).size, got.length, 'no event twice');
  });

  test('a bad cursor gets a clear error', KAFKA_TEST, async () => {
    const sub = collect(connect(), { after: 'not-a-cursor' });
    await waitFor(() => sub.errors.length > 0, 60_000, 'no error for a bad cursor');
    const [error] = sub.errors as { message: string; extensions?: { code?: string } }[];
    assert.equal(error?.extensions?.code, 'INVALID_CURSOR');
  });

  test(
    "a cursor ahead of the topic's end offsets gets INVALID_CURSOR; one within the topic is good even before a restarted projection reaches it",
    KAFKA_TEST,
    async (t) => {
      const ahead = collect(connect(), { after: Buffer.from('v1:1000000000').toString('base64url') });
      await waitFor(() => ahead.errors.length > 0, 60_000, 'no error for a cursor ahead of the log');
      const [error] = ahead.errors as { message: string; extensions?: { code?: string } }[];
      assert.equal(error?.extensions?.code, 'INVALID_CURSOR', JSON.stringify(error));

      // The newest position there is, then the orders subgraph restarts: its projection replays the
      // topic, and a client resuming from that position meanwhile is ahead of it, not of the log.
      const live = collect(connect(), {});
      await waitFor(async () => (await gatewayStats(system.opsUrl('gateway'))).subscribers >= 1, 60_000, 'never subscribed', 100);
      await runProducer(t, cluster.bootstrap, { orders: 3, seed: 45, prefix: 'ahead' });
      await waitFor(() => live.received.length >= 3, 120_000, 'no events before the restart');
      live.stop();
      const newest = live.received.at(-1)!.cursor;
      await system.restart('orders-subgraph');
      const resumed = collect(connect(), { after: newest });
      await runProducer(t, cluster.bootstrap, { orders: 1, seed: 46, prefix: 'after-restart' });
      await waitFor(
        () => resumed.received.some((e) => e.order.id.includes('after-restart')) || resumed.errors.length > 0,
        120_000,
        'nothing after the restart',
      );
      resumed.stop();
      assert.deepEqual(resumed.errors, []);
    },
  );

  // Last: it stops the catalog subgraph for good.
  test('when an entity fetch fails, the event arrives with errors and the stream goes on', KAFKA_TEST, async (t) => {
    const sub = collect(connect(), { customerId: null });
    await waitFor(async () => (await gatewayStats(system.opsUrl('gateway'))).subscribers >= 1, 60_000, 'never subscribed', 100);
    await system.processes.get('catalog-subgraph')!.stop();
    const stream = orderStream(3, 51, 'no-catalog');
    await runProducer(t, cluster.bootstrap, { orders: 3, seed: 51, prefix: 'no-catalog' });
    // Every event of the stream still arrives (the fulfillment service may add more).
    await waitFor(() => sub.failed.length >= stream.length, 120_000, `only ${sub.failed.length} events arrived`);
    sub.stop();
    const errors = sub.errors as { message: string; extensions?: { code?: string; serviceName?: string } }[];
    assert.ok(
      errors.every((e) => e.extensions?.code === 'SUBGRAPH_UNAVAILABLE' && e.extensions.serviceName === 'catalog'),
      JSON.stringify(errors[0]),
    );
  });
});
