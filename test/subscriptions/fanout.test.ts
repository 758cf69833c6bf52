/**
 * Fan-out: 1000 graphql-ws subscribers of the same subscription (20 sockets x 50 subscriptions)
 * share one upstream subscription on the orders subgraph, and every one of them receives every
 * event a separate producer process publishes, in the same order. A group with another filter is
 * one more upstream subscription, no more.
 *
 * The tests run in order on the same subscribers: subscribe, then publish, then add the second group.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { orderStream } from '../kafka/order-stream.ts';
import { runProducer, type ProducerRun } from '../kafka/orders-support.ts';
import { waitFor } from '../support/wait.ts';
import {
  ORDER_EVENTS,
  ProtocolClient,
  closeAll,
  expectedPerOrder,
  metric,
  perOrder,
  startSubscriptionSystem,
  untilGatewayStats,
  withoutCursor,
  type OrderEventResult,
  type SubscriptionSystem,
  SYSTEM_START,
} from './support.ts';
import { Cleanups } from '../kafka/orders-support.ts';

/** Room for a loaded machine: these tests wait on processes, each wait up to 60-120 s. */
const SYSTEM_TEST = { timeout: 600_000 };

const SOCKETS = 20;
const PER_SOCKET = 50;
const SUBSCRIBERS = SOCKETS * PER_SOCKET;
/** The second group: 5 subscriptions per socket. */
const PLACED_PER_SOCKET = 5;
const PLACED_EVENTS = 'subscription { orderEvents(types: [PLACED]) { cursor type order { id status customer { name } } } }';

describe('one subscription fanned out to 1000 graphql-ws subscribers', () => {
  let sys: SubscriptionSystem;
  const clients: ProtocolClient[] = [];
  const ids = (prefix: string, perSocket: number) => Array.from({ length: perSocket }, (_, i) => `${prefix}-${i}`);
  /** Every subscriber's `next` payloads: one list per (socket, id). */
  const received = (prefix: string, perSocket: number) =>
    clients.flatMap((c) => ids(prefix, perSocket).map((id) => c.nexts<OrderEventResult>(id)));
  const nextCount = (prefix: string) =>
    clients.reduce((n, c) => n + c.messages.filter((m) => m.type === 'next' && m.id?.startsWith(`${prefix}-`)).length, 0);

  // Whatever the system start got to is stopped, even when the start fails or times out.
  const cleanups = new Cleanups();
  after(() => cleanups.run());
  before(async () => {
    sys = await startSubscriptionSystem({}, cleanups);
    // Each client is in `clients` (closed by `after`) as soon as it is connected, even if another fails.
    await Promise.all(Array.from({ length: SOCKETS }, async () => clients.push(await ProtocolClient.connect(sys.wsUrl, sys.auth))));
  }, SYSTEM_START);
  after(async () => {
    await closeAll(clients);
    await sys?.stop();
  });

  test('1000 subscribers of the same subscription share one upstream subscription', SYSTEM_TEST, async (t) => {
    const startedBefore = await metric(sys.ordersOpsUrl, 'orders_subscriptions_started_total');
    const activeBefore = await metric(sys.ordersOpsUrl, 'orders_subscriptions_active');
    const t0 = performance.now();
    for (const client of clients) for (const id of ids('all', PER_SOCKET)) client.subscribe(id, ORDER_EVENTS);
    await untilGatewayStats(sys.gatewayOpsUrl, { shared: 1, subscribers: SUBSCRIBERS }, 120_000);
    // The upstream subscription is open on the orders subgraph before anything is published.
    await waitFor(
      async () => (await metric(sys.ordersOpsUrl, 'orders_subscriptions_active')) === activeBefore + 1,
      60_000,
      'the upstream subscription never opened',
      100,
    );
    t.diagnostic(`${SUBSCRIBERS} subscriptions on ${SOCKETS} sockets registered in ${Math.round(performance.now() - t0)} ms`);

    assert.equal(await metric(sys.ordersOpsUrl, 'orders_subscriptions_started_total'), startedBefore + 1);
    assert.equal(await metric(sys.gatewayOpsUrl, 'gateway_subscriptions_shared'), 1);
    assert.equal(await metric(sys.gatewayOpsUrl, 'gateway_subscriptions_active'), SUBSCRIBERS);
    assert.equal(await metric(sys.gatewayOpsUrl, 'gateway_upstream_subscriptions_opened'), 1);
  });

  test('every subscriber receives every event of a producer process, in the same order', SYSTEM_TEST, async (t) => {
    const run: ProducerRun = { orders: 20, seed: 31, prefix: 'fanout' };
    const stream = orderStream(run.orders, run.seed, run.prefix);
    const t0 = performance.now();
    assert.equal(await runProducer(t, sys.brokers, run), stream.length);
    const produced = performance.now();
    await waitFor(
      () => nextCount('all') >= SUBSCRIBERS * stream.length,
      120_000,
      `not every subscriber received ${stream.length} events`,
      250,
    );
    const done = performance.now();
    t.diagnostic(
      `${stream.length} events x ${SUBSCRIBERS} subscribers = ${SUBSCRIBERS * stream.length} deliveries: producer process ${Math.round(produced - t0)} ms, ` +
        `last delivery ${Math.round(done - t0)} ms after the producer started (${Math.round(done - produced)} ms after it exited)`,
    );

    const all = received('all', PER_SOCKET);
    assert.equal(all.length, SUBSCRIBERS);
    const reference = all[0]!;
    assert.equal(reference.length, stream.length);
    assert.deepEqual(
      reference.filter((p) => p.errors !== undefined),
      [],
    );
    // Same events, in the same order, for everyone.
    const referenceText = JSON.stringify(reference);
    assert.equal(all.filter((payloads) => JSON.stringify(payloads) !== referenceText).length, 0);
    // They are the published events: each order's events in the order it published them, with the customer resolved.
    const events = reference.map((p) => p.data!.orderEvents);
    assert.equal(new Set(events.map((e) => e.cursor)).size, stream.length, 'cursors are not unique');
    assert.deepEqual(perOrder(events.map(withoutCursor)), expectedPerOrder(stream));
  });

  test('a group with another filter opens exactly one more upstream subscription', SYSTEM_TEST, async () => {
    const startedBefore = await metric(sys.ordersOpsUrl, 'orders_subscriptions_started_total');
    const openedBefore = await metric(sys.gatewayOpsUrl, 'gateway_upstream_subscriptions_opened');
    for (const client of clients) for (const id of ids('placed', PLACED_PER_SOCKET)) client.subscribe(id, PLACED_EVENTS);
    await untilGatewayStats(sys.gatewayOpsUrl, { shared: 2, subscribers: SUBSCRIBERS + SOCKETS * PLACED_PER_SOCKET }, 120_000);
    await waitFor(
      async () => (await metric(sys.ordersOpsUrl, 'orders_subscriptions_active')) === 2,
      60_000,
      'the second upstream subscription never opened',
      100,
    );

    assert.equal(await metric(sys.ordersOpsUrl, 'orders_subscriptions_started_total'), startedBefore + 1);
    assert.equal(await metric(sys.gatewayOpsUrl, 'gateway_upstream_subscriptions_opened'), openedBefore + 1);
    assert.equal(await metric(sys.gatewayOpsUrl, 'gateway_subscriptions_shared'), 2);
  });

  test('the filtered group receives only the PLACED events, the unfiltered one every event', SYSTEM_TEST, async (t) => {
    const before = nextCount('all');
    const run: ProducerRun = { orders: 10, seed: 32, prefix: 'filtered' };
    const stream = orderStream(run.orders, run.seed, run.prefix);
    const placed = stream.filter((e) => e.type === 'OrderPlaced');
    await runProducer(t, sys.brokers, run);
    await waitFor(
      () => nextCount('placed') >= SOCKETS * PLACED_PER_SOCKET * placed.length && nextCount('all') >= before + SUBSCRIBERS * stream.length,
      120_000,
      'not every subscriber received its events',
      250,
    );

    const expected = expectedPerOrder(placed);
    for (const payloads of received('placed', PLACED_PER_SOCKET)) {
      assert.deepEqual(perOrder(payloads.map((p) => withoutCursor(p.data!.orderEvents))), expected);
    }
    for (const payloads of received('all', PER_SOCKET)) assert.equal(payloads.length, (before + SUBSCRIBERS * stream.length) / SUBSCRIBERS);
  });
});
