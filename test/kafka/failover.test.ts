/**
 * The orders subgraph dies under live subscriptions and comes back: the gateway reopens its upstream
 * subscription from the newest position it took, so subscribers see every event once, in order.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startChild, type Child } from '../../lib/supervisor.ts';
import { orderStream } from './order-stream.ts';
import { quietPeriod, waitFor, withTimeout } from '../support/wait.ts';
import { kafkaEnv, runProducer, startKafkaSystem, type KafkaSystem } from './orders-support.ts';
import { startRelay, type Relay } from '../support/relay.ts';

interface Received {
  cursor: string;
  type: string;
  order: { id: string; version: number; customer: { name: string } };
}

let kafka: KafkaSystem;
let client: Client;
let replacement: Child | undefined;
let relay: Relay;

before(
  async () => {
    // No fulfillment events: subscribers should see exactly what the producer publishes. The gateway
    // reaches the orders subgraph through a relay, which the test points at the replacement.
    relay = await startRelay();
    kafka = await startKafkaSystem({
      payDelayMs: 600_000,
      shipDelayMs: 600_000,
      gatewayRoute: (subgraph, url) => {
        if (subgraph !== 'orders') return url;
        const route = new URL(url);
        relay.retarget(Number(route.port));
        route.port = String(relay.port);
        return route.href;
      },
    });
    client = createClient({
      url: `${kafka.system.gatewayUrl.replace('http', 'ws')}/graphql`,
      connectionParams: kafka.auth,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
  },
  { timeout: 600_000 },
);
after(async () => {
  await client?.dispose();
  await replacement?.stop();
  await kafka?.stop();
  await relay?.close();
});

test('subscribers lose nothing and see nothing twice when the orders subgraph dies and comes back', { timeout: 900_000 }, async (t) => {
  const received: Received[] = [];
  const errors: unknown[] = [];
  const stop = client.subscribe<{ orderEvents: Received }>(
    { query: 'subscription { orderEvents { cursor type order { id version customer { name } } } }' },
    {
      next: (r) => (r.errors ? errors.push(...r.errors) : received.push(r.data!.orderEvents)),
      error: (e) => errors.push(e),
      complete: () => undefined,
    },
  );
  const readyz = async () =>
    ((await (await fetch(`${kafka.system.opsUrl('gateway')}/readyz`)).json()) as { subscriptions: { subscribers: number } }).subscriptions;
  await waitFor(async () => (await readyz()).subscribers === 1, 60_000, 'never subscribed', 100);

  const first = orderStream(8, 61, 'failover-a');
  await runProducer(t, kafka.cluster.bootstrap, { orders: 8, seed: 61, prefix: 'failover-a' });
  await waitFor(() => received.length >= first.length, 120_000, 'first events');

  // Kill the orders subgraph outright and start a new one, as a supervisor would; the relay in front
  // of it (a load balancer's part) refuses connections in between, then sends them to the new one.
  const orders = kafka.system.processes.get('orders-subgraph')!;
  relay.retarget(undefined);
  orders.process.kill('SIGKILL');
  await withTimeout(orders.exited, 60_000, 'the killed orders subgraph did not exit');
  const second = orderStream(8, 62, 'failover-b');
  await runProducer(t, kafka.cluster.bootstrap, { orders: 8, seed: 62, prefix: 'failover-b' });
  replacement = await startChild({
    name: 'orders-subgraph',
    entry: 'subgraphs/orders/main.ts',
    env: {
      ...kafkaEnv,
      KAFKA_BROKERS: kafka.cluster.bootstrap,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // The killed one's: a supervisor restarts a process on the same volume.
      DATA_DIR: kafka.system.dataDir,
      IDENTITY_SECRET: kafka.system.identitySecret,
      CUSTOMERS_SERVICE_URL: `http://127.0.0.1:${kafka.system.processes.get('customers-service')!.ports['http']}`,
      CATALOG_SERVICE_ADDRESS: `127.0.0.1:${kafka.system.processes.get('catalog-service')!.ports['grpc']}`,
    },
    listeners: ['http'],
  });
  relay.retarget(replacement.ports['http']);
  const third = orderStream(4, 63, 'failover-c');
  await waitFor(() => received.length >= first.length + second.length, 120_000, `only ${received.length} events after the restart`);
  await runProducer(t, kafka.cluster.bootstrap, { orders: 4, seed: 63, prefix: 'failover-c' });
  const all = [...first, ...second, ...third];
  await waitFor(() => received.length >= all.length, 120_000, `only ${received.length} of ${all.length} events`);
  await quietPeriod(500); // nothing more may arrive
  stop();

  assert.deepEqual(errors, []);
  const seen = received.map((e) => `${e.order.id}:${e.order.version}`);
  assert.equal(new Set(seen).size, seen.length, 'no event twice');
  const typeOf = { OrderPlaced: 'PLACED', OrderPaid: 'PAID', OrderShipped: 'SHIPPED', OrderCancelled: 'CANCELLED' } as const;
  const expected = all.map((e) => `${e.orderId}:${typeOf[e.type]}`);
  assert.deepEqual(received.map((e) => `${e.order.id}:${e.type}`).sort(), [...expected].sort(), 'every event exactly once');
  for (const id of new Set(all.map((e) => e.orderId))) {
    const versions = received.filter((e) => e.order.id === id).map((e) => e.order.version);
    assert.deepEqual(
      versions,
      versions.map((_, i) => i + 1),
      `order ${id} in order`,
    );
  }
});
