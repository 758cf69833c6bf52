/**
 * The orders subgraph on Kafka: the whole example system (services, fulfillment, three subgraphs,
 * gateway) as real processes against the librdkafka mock cluster, and events from a separate
 * producer process written with plain kafkajs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type { Child } from '../../lib/supervisor.ts';
import { temporaryDataDir } from '../support/data-dir.ts';
import { generateCustomers } from '../../services/customers/data.ts';
import { postGraphQL } from '../support/graphql.ts';
import { buildMockBroker, startMockCluster, type MockCluster } from './mock-cluster.ts';
import { waitFor, withTimeout } from '../support/wait.ts';
import {
  Cleanups,
  expectedFor,
  projectionStatus,
  readOrders,
  runProducer,
  startKafkaSystem,
  startOrdersSubgraph,
  startProducer,
  topics,
  untilOrdersMatch,
  type KafkaSystem,
  type ProducerRun,
} from './orders-support.ts';

/** Room for a loaded machine: each wait in these tests may take up to 120 s. */
const KAFKA_TEST = { timeout: 600_000 };

async function untilReady(baseUrl: string): Promise<void> {
  await waitFor(
    async () => (await projectionStatus(baseUrl).catch(() => ({ status: 0 }))).status === 200,
    120_000,
    `${baseUrl} never became ready`,
    250,
  );
}

describe('the example system on Kafka', () => {
  let kafka: KafkaSystem;
  let cluster: MockCluster;
  let graphqlUrl: string;
  let ordersUrl: string;
  /** The system's: its orders subgraph is read directly. */
  let identitySecret: string;
  let ordersOpsUrl: string;
  let auth: Record<string, string>;

  const cleanups = new Cleanups();
  after(() => cleanups.run());
  /**
   * Stops the fulfillment service (for the rest of this suite): it pays and ships placed orders
   * 200 ms after they appear, so the projection of a producer's stream would match that stream
   * only for a moment.
   */
  const holdFulfillment = async () => {
    await withTimeout(kafka.system.processes.get('fulfillment-service')!.stop(), 60_000, 'the fulfillment service did not stop');
  };
  before(async () => {
    kafka = await startKafkaSystem({}, cleanups);
    ({ cluster, graphqlUrl, ordersUrl, ordersOpsUrl, auth } = kafka);
    identitySecret = kafka.system.identitySecret;
  }, KAFKA_TEST);

  test('placeOrder resolves across all three subgraphs, shows on the customer, and fulfillment ships it', KAFKA_TEST, async () => {
    const { body } = await postGraphQL<{
      placeOrder: { id: string; status: string; version: number; customer: { name: string }; lines: { product: { name: string } }[] };
    }>(
      graphqlUrl,
      `mutation { placeOrder(input: { customerId: "c3", lines: [{ productId: "p1", quantity: 1 }, { productId: "p3", quantity: 2 }] }) {
         id status version customer { name } lines { quantity product { name } } } }`,
      undefined,
      auth,
    );
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    const order = body.data!.placeOrder;
    assert.equal(order.status, 'PLACED');
    assert.equal(order.version, 1);
    assert.equal(order.customer.name, generateCustomers()[2]!.name);
    assert.deepEqual(
      order.lines.map((l) => typeof l.product.name),
      ['string', 'string'],
    );

    const mine = await postGraphQL<{ customer: { orders: { id: string }[] } }>(
      graphqlUrl,
      '{ customer(id: "c3") { orders { id } } }',
      undefined,
      auth,
    );
    assert.ok(mine.body.data?.customer.orders.some((o) => o.id === order.id));

    await waitFor(
      async () => {
        const { body: now } = await postGraphQL<{ order: { status: string; version: number } }>(
          graphqlUrl,
          `{ order(id: "${order.id}") { status version } }`,
          undefined,
          auth,
        );
        return now.data?.order.status === 'SHIPPED' && now.data.order.version === 3;
      },
      120_000,
      'the fulfillment service never shipped the order',
      250,
    );
  });

  test('an invalid order gets a clear error and publishes nothing', KAFKA_TEST, async () => {
    const before = (await projectionStatus(ordersOpsUrl)).projection.partitions.reduce((n, p) => n + (p.highWatermark ?? 0), 0);
    const { body } = await postGraphQL(
      graphqlUrl,
      'mutation { placeOrder(input: { customerId: "c1", lines: [{ productId: "p1", quantity: 0 }] }) { id } }',
      undefined,
      auth,
    );
    assert.equal(body.errors?.[0]?.extensions?.['code'], 'BAD_USER_INPUT');
    const unknown = await postGraphQL(
      graphqlUrl,
      'mutation { placeOrder(input: { customerId: "c1", lines: [{ productId: "nope", quantity: 1 }] }) { id } }',
      undefined,
      auth,
    );
    assert.match(unknown.body.errors?.[0]?.message ?? '', /unknown product "nope"/);
    const ends = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING }).admin();
    let offsets: Awaited<ReturnType<typeof ends.fetchTopicOffsets>>;
    try {
      await ends.connect();
      offsets = await ends.fetchTopicOffsets('orders.events');
    } finally {
      await ends.disconnect();
    }
    assert.equal(
      offsets.reduce((n, o) => n + Number(o.high), 0),
      before,
    );
  });

  test('events from a separate kafkajs producer appear in the projection, in order per order, across partitions', KAFKA_TEST, async (t) => {
    await holdFulfillment();
    const run: ProducerRun = { orders: 60, seed: 11, prefix: 'external' };
    const expected = expectedFor(run);
    await runProducer(t, cluster.bootstrap, run);
    await untilOrdersMatch(ordersOpsUrl, `${ordersUrl}/graphql`, expected, 'projection never matched the stream', identitySecret);
    const { projection } = await projectionStatus(ordersOpsUrl);
    assert.ok(projection.partitions.filter((p) => p.position > 0).length >= 3, JSON.stringify(projection.partitions));
    assert.equal(projection.deadLettered, 0);
  });

  test('malformed events go to the dead-letter topic with the reason; the valid ones around them are applied', KAFKA_TEST, async (t) => {
    await holdFulfillment();
    const run: ProducerRun = { orders: 20, seed: 12, prefix: 'mixed', malformed: 3 };
    const expected = expectedFor(run);
    await runProducer(t, cluster.bootstrap, run);
    await untilOrdersMatch(ordersOpsUrl, `${ordersUrl}/graphql`, expected, 'valid events were not applied', identitySecret);
    assert.equal((await projectionStatus(ordersOpsUrl)).projection.deadLettered, 3);

    const kafka = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({
      groupId: `dlq-reader-${Date.now()}`,
      maxWaitTimeInMs: 100,
      sessionTimeout: 6000,
      heartbeatInterval: 500,
    });
    const reasons: string[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: 'orders.events.dlq', fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void reasons.push(String(message.headers?.['dlq-reason'])) });
      await waitFor(() => reasons.length >= 3, 120_000, 'the dead-letter topic did not get 3 records', 100);
    } finally {
      await consumer.disconnect();
    }
    assert.equal(reasons.length, 3);
    assert.match(reasons.join('\n'), /not JSON/);
    assert.match(reasons.join('\n'), /event\/type must be equal to one of the allowed values/);
    assert.match(reasons.join('\n'), /data\/lines must NOT have fewer than 1 items/);
  });
});

describe('the orders projection across a restart', () => {
  let cluster: MockCluster | undefined;
  let orders: Child<'http' | 'ops'> | undefined;
  /** Run once the subgraph has stopped (its DATA_DIR). */
  const cleanups = new Cleanups();
  before(async () => {
    await buildMockBroker();
    cluster = await startMockCluster({ brokers: 3, topics });
  }, KAFKA_TEST);
  after(async () => {
    await orders?.stop();
    await cluster?.stop();
    await cleanups.run();
  });

  test('restarted in the middle of a stream of thousands of events, it ends equal to the whole stream', KAFKA_TEST, async (t) => {
    const kafka = cluster!;
    const dataDir = await temporaryDataDir(cleanups);
    orders = await startOrdersSubgraph(kafka, dataDir);
    await untilReady(`http://127.0.0.1:${orders.ports.ops}`);
    const run: ProducerRun = { orders: 800, seed: 21, prefix: 'restart', rate: 2000 };
    const expected = expectedFor(run);
    const producing = startProducer(kafka.bootstrap, run);
    t.after(() => producing.stop());
    // Let part of the stream in, then kill the subgraph hard and start a new one.
    const first = orders;
    await waitFor(
      async () => (await projectionStatus(`http://127.0.0.1:${first.ports.ops}`)).projection.applied > 300,
      120_000,
      'nothing applied',
      100,
    );
    first.process.kill('SIGKILL');
    await withTimeout(first.exited, 60_000, 'the killed orders subgraph did not exit');
    orders = await startOrdersSubgraph(kafka, dataDir);
    const url = `http://127.0.0.1:${orders.ports.http}`;
    const ops = `http://127.0.0.1:${orders.ports.ops}`;
    const sent = await withTimeout(producing.done, 120_000, 'the producer did not finish');
    assert.ok(sent >= 2_000, `only ${sent} events`);
    await waitFor(
      async () => (await projectionStatus(ops)).projection.applied === sent,
      120_000,
      'the restarted projection never applied the whole stream',
      250,
    );
    assert.deepEqual(
      await readOrders(
        `${url}/graphql`,
        expected.map((o) => o.id),
      ),
      expected,
    );
    const { projection } = await projectionStatus(ops);
    assert.equal(projection.totalLag, 0);
    assert.equal(projection.deadLettered, 0);
  });
});

describe('the orders projection while the broker is down', () => {
  let cluster: MockCluster;
  let orders: Child<'http' | 'ops'> | undefined;
  const cleanups = new Cleanups();
  before(async () => {
    await buildMockBroker();
    cluster = await startMockCluster({ brokers: 1, topics });
    orders = await startOrdersSubgraph(cluster, await temporaryDataDir(cleanups));
  }, KAFKA_TEST);
  after(async () => {
    await orders?.stop();
    await cluster?.stop();
    await cleanups.run();
  });

  test('keeps answering from the projection, reports itself stale, and catches up with nothing lost', KAFKA_TEST, async (t) => {
    const url = `http://127.0.0.1:${orders!.ports.http}`;
    const ops = `http://127.0.0.1:${orders!.ports.ops}`;
    await untilReady(ops);
    const first: ProducerRun = { orders: 30, seed: 31, prefix: 'outage-a' };
    const second: ProducerRun = { orders: 30, seed: 32, prefix: 'outage-b' };
    await runProducer(t, cluster.bootstrap, first);
    const before = expectedFor(first);
    await untilOrdersMatch(ops, `${url}/graphql`, before, 'first batch not applied');

    await cluster.brokerDown(1);
    // The broker comes back however this test ends (the cluster is shared by nothing else, but the
    // producer below retries until it can deliver).
    t.after(() => cluster.brokerUp(1).catch(() => undefined));
    // The producer keeps retrying while the broker is down; its records land once it is back.
    const producing = startProducer(cluster.bootstrap, second);
    t.after(() => producing.stop());
    await waitFor(
      async () => (await projectionStatus(ops)).projection.stale,
      120_000,
      'the projection never reported the log unreachable',
      250,
    );
    const during = await projectionStatus(ops);
    assert.equal(during.status, 200, 'still ready: it answers from what it has');
    assert.ok((during.projection.sinceLastFetchMs ?? 0) > 5_000);
    assert.deepEqual(
      await readOrders(
        `${url}/graphql`,
        before.map((o) => o.id),
      ),
      before,
    );

    await cluster.brokerUp(1);
    await withTimeout(producing.done, 120_000, 'the producer did not finish after the broker came back');
    const after = [...before, ...expectedFor(second)];
    await untilOrdersMatch(ops, `${url}/graphql`, after, 'did not catch up after the broker came back');
    await waitFor(
      async () => {
        const { projection } = await projectionStatus(ops);
        return !projection.stale && projection.totalLag === 0;
      },
      60_000,
      'lag or staleness still reported after catching up',
      250,
    );
  });
});
