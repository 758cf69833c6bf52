/**
 * KafkaEventLog's publishing under faults, on the librdkafka mock cluster: a failed publish is an
 * error, and no record after it can be lost.
 *
 * A real broker drops a batch whose producer id, epoch and sequence number it has written already
 * (and acknowledges it as a duplicate). The mock does not: it keeps both. So these tests read every
 * batch's producer id and sequence numbers off the wire and check that no two different records
 * share one, which is exactly when a real broker would have dropped the later one.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaEventLog, type KafkaEventLogOptions } from '../../lib/eventlog/kafka.ts';
import { waitFor, withTimeout } from '../support/wait.ts';
import { buildMockBroker, startMockCluster, type MockCluster } from './mock-cluster.ts';

const POOL = Array.from({ length: 5 }, (_, i) => `producer-faults-${i}`);
const PARTITIONS = 3;
/** Kafka protocol: the Produce API key, and a retriable partition error. */
const PRODUCE = 0;
const NOT_LEADER_OR_FOLLOWER = 6;

const SETTINGS = {
  connectionTimeoutMs: 1000,
  requestTimeoutMs: 1000,
  maxWaitTimeMs: 100,
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 500,
  retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 200 },
} satisfies Partial<KafkaEventLogOptions>;

let cluster: Promise<MockCluster> | undefined;
let taken = 0;

async function freshTopic(): Promise<{ cluster: MockCluster; topic: string }> {
  cluster ??= withTimeout(buildMockBroker(), 180_000, 'build mock-broker').then(() =>
    startMockCluster({ brokers: 1, topics: POOL.map((name) => ({ name, partitions: PARTITIONS })) }),
  );
  const topic = POOL[taken++];
  if (!topic) throw new Error(`the pool of ${POOL.length} topics is used up: make it larger`);
  return { cluster: await cluster, topic };
}

after(async () => {
  await (await cluster?.catch(() => undefined))?.stop();
});

interface WireRecord {
  partition: number;
  offset: number;
  value: string;
  /** Producer id, epoch and sequence number: what a real broker de-duplicates on. */
  identity: string;
}

/** Every record of the topic as written, with the producer identity it was written under. */
async function readWire(c: MockCluster, topic: string, count: number): Promise<WireRecord[]> {
  const kafka = new Kafka({ clientId: 'wire-reader', brokers: c.brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `wire-${topic}`, maxWaitTimeInMs: 100, sessionTimeout: 6000, heartbeatInterval: 500 });
  const records: WireRecord[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const batch = (
          message as unknown as { batchContext: { producerId: string; producerEpoch: number; firstSequence: number; firstOffset: string } }
        ).batchContext;
        const sequence = batch.firstSequence + Number(message.offset) - Number(batch.firstOffset);
        records.push({
          partition,
          offset: Number(message.offset),
          value: message.value?.toString() ?? '',
          identity: `${partition}/${batch.producerId}/${batch.producerEpoch}/${sequence}`,
        });
      },
    });
    await waitFor(() => records.length >= count, 60_000, `${count} records read back`, 100);
    return records;
  } finally {
    await consumer.disconnect();
  }
}

/** Identities under which the log holds different records: a real broker would have dropped all but the first. */
function collisions(records: WireRecord[]): string[] {
  const values = new Map<string, Set<string>>();
  for (const r of records) values.set(r.identity, (values.get(r.identity) ?? new Set()).add(r.value));
  return [...values].filter(([, v]) => v.size > 1).map(([identity, v]) => `${identity}: ${[...v].join(', ')}`);
}

describe('KafkaEventLog publishing under faults', () => {
  test(
    'a publish the broker wrote but never acknowledged fails, and the next record cannot be taken for its duplicate',
    { timeout: 300_000 },
    async () => {
      const { cluster: c, topic } = await freshTopic();
      const log = new KafkaEventLog({ brokers: c.brokers, clientId: 'unacknowledged', ...SETTINGS });
      try {
        await log.publish(topic, [{ key: 'k', value: 'first' }]);
        // Answers come later than the request timeout: the broker writes, the producer gives up.
        await c.setRtt(1, 2_500);
        await assert.rejects(log.publish(topic, [{ key: 'k', value: 'lost-ack' }]), /timed out/);
        await c.setRtt(1, 0);
        const [after] = await log.publish(topic, [{ key: 'k', value: 'after' }]);

        const records = await readWire(c, topic, 3);
        assert.deepEqual(collisions(records), [], 'no two records share a producer id and sequence number');
        assert.equal(records.find((r) => r.value === 'after')?.offset, after!.offset, 'the acknowledged record is where publish said');
      } finally {
        await log.close();
      }
    },
  );

  test('a publish whose retries run out on request errors fails, and the next one lands', { timeout: 300_000 }, async () => {
    const { cluster: c, topic } = await freshTopic();
    const log = new KafkaEventLog({ brokers: c.brokers, clientId: 'request-errors', ...SETTINGS });
    try {
      await log.publish(topic, [{ key: 'k', value: 'first' }]);
      await c.pushRequestErrors(PRODUCE, NOT_LEADER_OR_FOLLOWER, NOT_LEADER_OR_FOLLOWER);
      await assert.rejects(log.publish(topic, [{ key: 'k', value: 'refused' }]));
      const [landed] = await log.publish(topic, [{ key: 'k', value: 'after' }]);
      const records = await readWire(c, topic, 2);
      assert.deepEqual(
        records.map((r) => r.value),
        ['first', 'after'],
      );
      assert.equal(records[1]!.offset, landed!.offset);
      assert.deepEqual(collisions(records), []);
    } finally {
      await log.close();
    }
  });

  test('concurrent publishes each land where they say, in order per key', { timeout: 300_000 }, async () => {
    const { cluster: c, topic } = await freshTopic();
    const log = new KafkaEventLog({ brokers: c.brokers, clientId: 'concurrent', ...SETTINGS });
    try {
      const calls = Array.from({ length: 40 }, (_, i) =>
        log.publish(topic, [
          { key: `k${i % 5}`, value: `${i}-a` },
          { key: `k${(i + 1) % 5}`, value: `${i}-b` },
        ]),
      );
      const positions = (await Promise.all(calls)).flatMap((pair, i) => [
        { ...pair[0]!, value: `${i}-a` },
        { ...pair[1]!, value: `${i}-b` },
      ]);
      const records = await readWire(c, topic, positions.length);
      const at = new Map(records.map((r) => [`${r.partition}/${r.offset}`, r.value]));
      assert.deepEqual(
        positions.filter((p) => at.get(`${p.partition}/${p.offset}`) !== p.value),
        [],
      );
      assert.deepEqual(collisions(records), []);
    } finally {
      await log.close();
    }
  });

  test('concurrent publishes too large for one send go out in several, each landing where it says', { timeout: 300_000 }, async () => {
    const { cluster: c, topic } = await freshTopic();
    const log = new KafkaEventLog({ brokers: c.brokers, clientId: 'large', ...SETTINGS });
    try {
      const big = (i: number) => `${i}:${'x'.repeat(100_000)}`;
      const positions = await Promise.all(Array.from({ length: 12 }, (_, i) => log.publish(topic, [{ key: 'one-key', value: big(i) }])));
      const records = await readWire(c, topic, positions.length);
      const at = new Map(records.map((r) => [`${r.partition}/${r.offset}`, r.value]));
      assert.deepEqual(
        positions.map(([p]) => at.get(`${p!.partition}/${p!.offset}`)?.split(':')[0]),
        positions.map((_, i) => String(i)),
      );
    } finally {
      await log.close();
    }
  });
});
