/**
 * Transactions and their markers on the librdkafka mock cluster: the orders projection (and any
 * consumer through the event log) reaches the end of a partition whose last offsets carry nothing
 * for consumers.
 *
 * What the mock (librdkafka 2.0.2) does with transactions, as the first test pins down: a
 * transactional producer connects, sends, commits and aborts, but EndTxn writes no marker (a
 * committed transaction of n records moves the end offset by n, not n + 1) and aborted records are
 * delivered like any other (no isolation: read_committed fetches get no aborted-transaction list).
 * So the markers a real broker writes are put in by hand (control-records.ts): the mock keeps a
 * control batch as sent, and kafkajs skips it exactly as it skips a real broker's.
 */
import assert from 'node:assert/strict';
import { after, afterEach, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { KafkaEventLog, type KafkaEventLogOptions } from '../../lib/eventlog/kafka.ts';
import type { ConsumerHandle } from '../../lib/eventlog/types.ts';
import { createLogger } from '../../lib/logger.ts';
import { encodeOrderEvent, orderEvent } from '../../services/events/orders.ts';
import { Projector } from '../../subgraphs/orders/projector.ts';
import { waitFor, withTimeout } from '../support/wait.ts';
import { ControlType, writeControlRecord } from './control-records.ts';
import { buildMockBroker, startMockCluster, type MockCluster } from './mock-cluster.ts';

const PARTITIONS = 2;
const POOL = Array.from({ length: 6 }, (_, i) => `transactions-${i}`);

const SETTINGS = {
  connectionTimeoutMs: 1000,
  requestTimeoutMs: 5000,
  maxWaitTimeMs: 100,
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 500,
  retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
} satisfies Partial<KafkaEventLogOptions>;

let cluster: Promise<MockCluster> | undefined;
let taken = 0;

async function freshTopic(): Promise<{ cluster: MockCluster; topic: string }> {
  cluster ??= withTimeout(buildMockBroker(), 180_000, 'build mock-broker').then(() =>
    startMockCluster({ brokers: 1, topics: [...POOL, ...POOL.map((t) => `${t}.dlq`)].map((name) => ({ name, partitions: PARTITIONS })) }),
  );
  const topic = POOL[taken++];
  if (!topic) throw new Error(`the pool of ${POOL.length} topics is used up: make it larger`);
  return { cluster: await cluster, topic };
}

/** What each test started, stopped after it whatever happened. */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
after(async () => {
  await (await cluster?.catch(() => undefined))?.stop();
});

function openLog(c: MockCluster, clientId: string): KafkaEventLog {
  const log = new KafkaEventLog({ brokers: c.brokers, clientId, ...SETTINGS });
  cleanups.push(() => log.close());
  return log;
}

async function transactionalProducer(c: MockCluster, transactionalId: string) {
  const kafka = new Kafka({ clientId: transactionalId, brokers: c.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  return producer;
}

const placed = (orderId: string) =>
  encodeOrderEvent(
    orderEvent('OrderPlaced', orderId, { customerId: 'c1', lines: [{ productId: 'p1', quantity: 1, unitPriceCents: 100 }] }),
  );

async function startProjector(log: KafkaEventLog, topic: string): Promise<Projector> {
  const projector = new Projector({
    log,
    topic,
    deadLetterTopic: `${topic}.dlq`,
    groupId: `projection-${topic}`,
    logger: createLogger('test', 'silent'),
    registry: new Registry(),
  });
  cleanups.push(() => projector.stop());
  await projector.start();
  return projector;
}

/** Consumes the topic through the event log, keeping every batch handed over. */
async function follow(log: KafkaEventLog, topic: string) {
  const batches: { partition: number; records: number; nextOffset: number }[] = [];
  const handle: ConsumerHandle = await log.consume({
    topic,
    groupId: `follow-${topic}`,
    from: { kind: 'beginning' },
    commit: false,
    handle: async (records, batch) => {
      batches.push({ partition: batch.partition, records: records.length, nextOffset: batch.nextOffset });
    },
  });
  cleanups.push(() => handle.stop());
  return { batches, handle };
}

describe('transactions on the mock cluster', () => {
  test('the mock writes no transaction markers and does not isolate aborted records', { timeout: 300_000 }, async () => {
    const { cluster: c, topic } = await freshTopic();
    const log = openLog(c, 'mock-facts');
    const producer = await transactionalProducer(c, `facts-${topic}`);
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ key: 'k', value: 'committed', partition: 0 }] });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ key: 'k', value: 'aborted', partition: 0 }] });
    await aborted.abort();
    assert.deepEqual(await log.endOffsets(topic), [2, 0], 'two records, no marker after either transaction');

    const seen: string[] = [];
    const consumer = await log.consume({
      topic,
      groupId: `facts-${topic}`,
      from: { kind: 'beginning' },
      commit: false,
      handle: async (records) => void seen.push(...records.map((r) => r.value)),
    });
    cleanups.push(() => consumer.stop());
    await waitFor(() => seen.length >= 2, 60_000, 'both records read', 100);
    assert.deepEqual(seen, ['committed', 'aborted'], 'the aborted record is delivered');
  });

  test('the orders projection catches up on a topic whose last writes were transactions', { timeout: 300_000 }, async () => {
    const { cluster: c, topic } = await freshTopic();
    const log = openLog(c, 'projection-transactions');
    const producer = await transactionalProducer(c, `orders-${topic}`);
    const transaction = await producer.transaction();
    await transaction.send({ topic, messages: ['o-1', 'o-2', 'o-3'].map((id, i) => ({ ...placed(id), partition: i % PARTITIONS })) });
    await transaction.commit();

    const projector = await startProjector(log, topic);
    await withTimeout(projector.whenCaughtUp(), 60_000, 'the projection caught up');
    assert.deepEqual(
      projector.status().partitions.map((p) => p.position),
      await log.endOffsets(topic),
    );
    assert.deepEqual(
      ['o-1', 'o-2', 'o-3'].map((id) => projector.projection.get(id)?.status),
      ['PLACED', 'PLACED', 'PLACED'],
    );
  });

  test('the orders projection catches up on partitions that end in transaction markers', { timeout: 300_000 }, async () => {
    const { cluster: c, topic } = await freshTopic();
    const log = openLog(c, 'projection-markers');
    const broker = c.brokers[0]!;
    // Partition 0: records, then a commit marker. Partition 1: nothing but an abort marker.
    const [, last] = await log.publish(topic, [placed('o-10'), placed('o-11')]);
    const markerPartition = last!.partition;
    await writeControlRecord(broker, topic, markerPartition, ControlType.COMMIT);
    await writeControlRecord(broker, topic, 1 - markerPartition, ControlType.ABORT);
    const ends = await log.endOffsets(topic);

    const projector = await startProjector(log, topic);
    await withTimeout(projector.whenCaughtUp(), 60_000, `the projection caught up to ${JSON.stringify(ends)}`);
    assert.equal(projector.status().totalLag, 0);
    assert.equal(projector.projection.get('o-11')?.status, 'PLACED');

    // Live: a marker after an event the projection applied still counts as read.
    const [live] = await log.publish(topic, [placed('o-12')]);
    const marker = await writeControlRecord(broker, topic, live!.partition, ControlType.COMMIT);
    await waitFor(
      () => projector.projection.position(live!.partition) === marker + 1,
      60_000,
      'the projection moved past the live marker',
      100,
    );
    assert.equal(projector.status().totalLag, 0);
  });

  test('a consumer is handed an empty batch for offsets that hold only markers', { timeout: 300_000 }, async () => {
    const { cluster: c, topic } = await freshTopic();
    const log = openLog(c, 'empty-batches');
    const broker = c.brokers[0]!;
    await log.publish(topic, [
      { key: 'k', value: 'a' },
      { key: 'k', value: 'b' },
    ]);
    const ends = await log.endOffsets(topic);
    const partition = ends.findIndex((end) => end > 0);
    const marker = await writeControlRecord(broker, topic, partition, ControlType.ABORT);
    const { batches, handle } = await follow(log, topic);
    await waitFor(
      () => handle.progress().find((p) => p.partition === partition)?.position === marker + 1,
      60_000,
      'the consumer moved past the marker',
      100,
    );
    assert.deepEqual(
      batches.filter((b) => b.partition === partition && b.records === 0),
      [{ partition, records: 0, nextOffset: marker + 1 }],
    );
  });
});
