/**
 * placeOrder through the gateway when the event log is slow (the chaos run's case): the orders
 * subgraph answers within the time the gateway gives it (interchange-timeout-ms), naming the order
 * that may still land, and a client that retries with the same idempotency key gets that one order.
 *
 * The broker's answers are delayed past the gateway's subgraph timeout: the broker writes at once,
 * the acknowledgement comes late. Without the deadline the subgraph would wait PUBLISH_TIMEOUT_MS
 * (4 s) and the gateway would give up first (3 s) with no order id.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { postGraphQL } from '../support/graphql.ts';
import { waitFor } from '../support/wait.ts';
import { caughtUp, startKafkaSystem } from './orders-support.ts';

const PLACE = `mutation ($key: String) {
  placeOrder(input: { customerId: "c4", lines: [{ productId: "p1", quantity: 1 }], idempotencyKey: $key }) { id customer { id } }
}`;

interface Placed {
  placeOrder: { id: string; customer: { id: string } } | null;
}

async function orderIds(graphqlUrl: string, auth: Record<string, string>): Promise<string[]> {
  const { body } = await postGraphQL<{ orders: { id: string }[] }>(graphqlUrl, '{ orders(first: 100) { id } }', undefined, auth);
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data!.orders.map((o) => o.id).sort();
}

test(
  'a retry with the same idempotency key after the gateway heard of a slow publish gets the one order placed',
  { timeout: 600_000 },
  async (t) => {
    const { cluster, graphqlUrl, ordersOpsUrl, auth } = await startKafkaSystem(
      { brokers: 1, env: { gateway: { SUBGRAPH_TIMEOUT_MS: '3000' } } },
      t,
    );
    const before = await orderIds(graphqlUrl, auth);

    await cluster.setRtt(-1, 4_000);
    let late: Awaited<ReturnType<typeof postGraphQL<Placed>>>;
    try {
      late = await postGraphQL<Placed>(graphqlUrl, PLACE, { key: 'retry-me' }, auth);
    } finally {
      await cluster.setRtt(-1, 0);
    }
    const error = late.body.errors?.[0];
    assert.equal(error?.extensions?.['code'], 'EVENT_LOG_UNAVAILABLE', JSON.stringify(late.body.errors));
    assert.equal(error?.extensions?.['serviceName'], 'orders', 'the subgraph answered, not the gateway giving up');
    const orderId = error?.extensions?.['orderId'];
    assert.equal(typeof orderId, 'string');

    const retried = await postGraphQL<Placed>(graphqlUrl, PLACE, { key: 'retry-me' }, auth);
    assert.equal(retried.body.errors, undefined, JSON.stringify(retried.body.errors));
    assert.equal(retried.body.data?.placeOrder?.id, orderId);
    assert.equal(retried.body.data?.placeOrder?.customer.id, 'c4');

    await waitFor(() => caughtUp(ordersOpsUrl), 120_000, 'the projection caught up', 250);
    const again = await postGraphQL<Placed>(graphqlUrl, PLACE, { key: 'retry-me' }, auth);
    assert.equal(again.body.data?.placeOrder?.id, orderId);
    const added = (await orderIds(graphqlUrl, auth)).filter((id) => !before.includes(id));
    assert.deepEqual(added, [orderId], 'exactly one order was placed');

    const reused = await postGraphQL<Placed>(graphqlUrl, PLACE.replace('quantity: 1', 'quantity: 2'), { key: 'retry-me' }, auth);
    assert.deepEqual(
      [reused.body.errors?.[0]?.extensions?.['code'], reused.body.errors?.[0]?.extensions?.['orderId']],
      ['IDEMPOTENCY_KEY_REUSED', orderId],
    );
  },
);
