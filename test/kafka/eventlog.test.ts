/**
 * KafkaEventLog on the librdkafka mock cluster (3 brokers): the event-log contract suite, plus the
 * Kafka-only promises (keys map to the partitions the in-process log picks; options are checked).
 *
 * The mock cannot create topics through kafkajs, so the cluster starts with a pool of empty
 * 3-partition topics and every test takes its own. The contract tests run concurrently: each
 * first join of a consumer group takes ~3 s on the mock.
 *
 * Run: node --test test/kafka/eventlog.test.ts
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventLogContract } from '../support/eventlog-contract.ts';
import { quietPeriod, waitFor, withTimeout } from '../support/wait.ts';
import { KafkaEventLog } from '../../lib/eventlog/kafka.ts';
import type { KafkaEventLogOptions } from '../../lib/eventlog/kafka.ts';
import { partitionForKey } from '../../lib/eventlog/memory.ts';
import { buildMockBroker, startMockCluster } from './mock-cluster.ts';
import type { MockCluster } from './mock-cluster.ts';

const PARTITIONS = 3;
const POOL = Array.from({ length: 16 }, (_, i) => `eventlog-${i}`);

// What kafkajs needs against the mock (DESIGN.md, test/kafka/mock-cluster.test.ts): an empty
// fetch waits maxWaitTime; rebalances take about sessionTimeout - 1 s.
const TEST_SETTINGS = {
  connectionTimeoutMs: 1000,
  requestTimeoutMs: 5000,
  maxWaitTimeMs: 100,
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 500,
  retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
} satisfies Partial<KafkaEventLogOptions>;

let cluster: Promise<MockCluster> | undefined;
let taken = 0;

/** The shared cluster (started on first use) and a topic nobody used yet. */
async function freshTopic(): Promise<{ cluster: MockCluster; topic: string }> {
  cluster ??= withTimeout(buildMockBroker(), 180_000, 'build mock-broker').then(() =>
    startMockCluster({ brokers: 3, topics: POOL.map((name) => ({ name, partitions: PARTITIONS })) }),
  );
  const topic = POOL[taken++];
  if (!topic) throw new Error(`the pool of ${POOL.length} topics is used up: make it larger`);
  return { cluster: await cluster, topic };
}

function openLog(c: MockCluster, clientId: string): KafkaEventLog {
  return new KafkaEventLog({ brokers: c.brokers, clientId, ...TEST_SETTINGS });
}

after(async () => {
  await (await cluster?.catch(() => undefined))?.stop();
});

eventLogContract(
  'KafkaEventLog (kafkajs on the librdkafka mock cluster)',
  async () => {
    const { cluster: c, topic } = await freshTopic();
    const log = openLog(c, `contract-${topic}`);
    return { log, topic, partitions: PARTITIONS, teardown: () => log.close() };
  },
  { waitTimeoutMs: 60_000, settleMs: 500, testTimeoutMs: 600_000 },
);

describe('KafkaEventLog, beyond the contract', () => {
  test('keys land on the partitions the in-process log picks (Kafka’s murmur2)', { timeout: 600_000 }, async () => {
    const { cluster: c, topic } = await freshTopic();
    const log = openLog(c, 'partitioning');
    try {
      const keys = Array.from({ length: 50 }, (_, i) => `customer-${i * 31}`);
      const at = await log.publish(
        topic,
        keys.map((key) => ({ key, value: key })),
      );
      assert.deepEqual(
        at.map((p) => p.partition),
        keys.map((key) => partitionForKey(key, PARTITIONS)),
      );
    } finally {
      await log.close();
    }
  });

  test('a broker outage is retried: every acknowledged record is handled and failed never rejects', { timeout: 600_000 }, async () => {
    const { cluster: c, topic } = await freshTopic();
    // One partition per broker: broker 2 going down stalls partition 1 only.
    for (let p = 0; p < PARTITIONS; p++) await c.setLeader(topic, p, p + 1);
    const log = openLog(c, 'outage');
    try {
      const received = new Set<string>();
      let failure: unknown;
      const consumer = await log.consume({
        topic,
        groupId: 'outage-reader',
        from: { kind: 'beginning' },
        handle: async (records) => {
          for (const r of records) received.add(r.value);
        },
      });
      consumer.failed.catch((err: unknown) => (failure = err));
      const before = await log.publish(
        topic,
        [0, 1, 2, 3, 4, 5].map((i) => ({ key: `k${i}`, value: `before-${i}` })),
      );
      assert.equal(new Set(before.map((p) => p.partition)).size, PARTITIONS, 'the keys cover every partition');

      await c.brokerDown(2);
      // The outage lasts 1.5 s (a window in which partition 1 must take nothing), then broker 2 is back.
      const up = quietPeriod(1500).then(() => c.brokerUp(2));
      up.catch(() => undefined); // awaited below
      const during = Array.from({ length: 10 }, (_, round) =>
        log.publish(
          topic,
          [0, 1, 2, 3, 4, 5].map((i) => ({ key: `k${i}`, value: `during-${round}-${i}` })),
        ),
      );
      await withTimeout(up, 60_000, 'broker 2 up');
      await withTimeout(Promise.all(during), 120_000, 'publishes during the outage acknowledged');

      const expected = [
        ...[0, 1, 2, 3, 4, 5].map((i) => `before-${i}`),
        ...Array.from({ length: 60 }, (_, n) => `during-${Math.floor(n / 6)}-${n % 6}`),
      ];
      await waitFor(
        () => failure !== undefined || expected.every((v) => received.has(v)),
        120_000,
        'every acknowledged record handled',
        100,
      );
      assert.equal(failure, undefined, 'failed did not reject');
      await consumer.stop();
    } finally {
      await log.close();
    }
  });

  test('a consumer that fails for good (group authorization refused) rejects consume', { timeout: 600_000 }, async () => {
    const { cluster: c, topic } = await freshTopic();
    const log = openLog(c, 'refused');
    try {
      await c.pushRequestErrors(11, 30); // JoinGroup: GROUP_AUTHORIZATION_FAILED, not retriable
      await assert.rejects(
        withTimeout(log.consume({ topic, groupId: 'refused', from: { kind: 'beginning' }, handle: async () => {} }), 60_000, 'consume'),
        /not authorized/i,
      );
    } finally {
      await log.close();
    }
  });

  test('invalid options fail in the constructor, naming each problem', () => {
    assert.throws(
      () => new KafkaEventLog({ brokers: ['nohost'], clientId: '', sessionTimeoutMs: 1000, heartbeatIntervalMs: 2000 }),
      (err: unknown) =>
        err instanceof TypeError &&
        /brokers\[0\] must be host:port/.test(err.message) &&
        /clientId must be a non-empty string/.test(err.message) &&
        /heartbeatIntervalMs must be below sessionTimeoutMs/.test(err.message),
    );
  });

  test('a closed log refuses further calls', { timeout: 600_000 }, async () => {
    const { cluster: c, topic } = await freshTopic();
    const log = openLog(c, 'closing');
    try {
      await log.publish(topic, [{ key: 'a', value: '1' }]);
    } finally {
      await log.close();
    }
    await assert.rejects(log.publish(topic, [{ key: 'a', value: '2' }]), /closed/);
    await assert.rejects(log.endOffsets(topic), /closed/);
  });
});
