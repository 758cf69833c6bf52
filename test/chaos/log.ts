/**
 * The chaos run's own Kafka client (plain kafkajs, no product code): the topic's end offsets and
 * leaders, records published as a misbehaving producer would, and the whole topic read back.
 */
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import type { TopicRecord } from './model.ts';

export interface ChaosLog {
  /** The next offset of each partition (index = partition). */
  endOffsets(): Promise<number[]>;
  /** The leader broker id of each partition (index = partition). */
  leaders(): Promise<number[]>;
  /** Publishes raw records (no validation: malformed ones on purpose). */
  publish(records: { key: string; value: string }[]): Promise<void>;
  /** Every record of the topic up to its end offsets now; rejects after `timeoutMs`. */
  readAll(timeoutMs: number): Promise<TopicRecord[]>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function chaosLog(brokers: readonly string[], topic: string, runId: string): ChaosLog {
  const kafka = new Kafka({
    clientId: 'chaos',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    requestTimeout: 5_000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 1_000 },
  });
  let admin: Promise<Admin> | undefined;
  let producer: Promise<Producer> | undefined;
  const connected = <T extends Admin | Producer>(client: T): Promise<T> => client.connect().then(() => client);
  const getAdmin = () => (admin ??= connected(kafka.admin()).catch((err: unknown) => ((admin = undefined), Promise.reject(err))));
  const getProducer = () =>
    (producer ??= connected(kafka.producer({ allowAutoTopicCreation: false })).catch(
      (err: unknown) => ((producer = undefined), Promise.reject(err)),
    ));

  const endOffsets = async () =>
    (await (await getAdmin()).fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition).map((p) => Number(p.high));

  return {
    endOffsets,
    leaders: async () => {
      const metadata = await (await getAdmin()).fetchTopicMetadata({ topics: [topic] });
      return metadata.topics[0]!.partitions.sort((a, b) => a.partitionId - b.partitionId).map((p) => p.leader);
    },
    publish: async (records) => {
      await (await getProducer()).send({ topic, acks: -1, messages: records });
    },
    readAll: async (timeoutMs) => {
      const ends = await endOffsets();
      const records: TopicRecord[] = [];
      const next = ends.map(() => 0);
      const done = () => next.every((offset, p) => offset >= ends[p]!);
      if (done()) return records;
      const consumer = kafka.consumer({
        groupId: `chaos-truth-${runId}`,
        sessionTimeout: 6_000,
        heartbeatInterval: 500,
        maxWaitTimeInMs: 100,
      });
      try {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) {
              const offset = Number(message.offset);
              if (offset >= ends[batch.partition]!) continue;
              records.push({ partition: batch.partition, offset, value: message.value === null ? null : message.value.toString('utf8') });
              next[batch.partition] = offset + 1;
            }
          },
        });
        const deadline = Date.now() + timeoutMs;
        while (!done()) {
          if (Date.now() > deadline) throw new Error(`read ${records.length} records of ${topic} but not all within ${timeoutMs} ms`);
          await sleep(100);
        }
        return records;
      } finally {
        await consumer.disconnect().catch(() => undefined);
      }
    },
    close: async () => {
      await Promise.allSettled([admin?.then((a) => a.disconnect()), producer?.then((p) => p.disconnect())]);
    },
  };
}
