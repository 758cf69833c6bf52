/**
 * Publishing through kafkajs's idempotent producer without losing records.
 *
 * The hazard: kafkajs numbers each partition's batches (producer id + sequence) so the broker can
 * drop a retried batch it has written already. When a send fails for good (its retries ran out, a
 * request timed out), kafkajs rolls the sequence back; if the broker had in fact written the failed
 * batch, the next batch goes out with the same sequence, and the broker acknowledges it as a
 * duplicate and drops it: an acknowledged record that is not in the log.
 *
 * So: one send in flight at a time, and after any failed send the producer is thrown away; the
 * next send gets a new producer (a new producer id, sequences from 0), which the broker cannot
 * mistake for the old one. Publishes that queue up behind a send in flight go out together in the
 * next one, so serialising costs little throughput. A failed send fails every publish in it, and
 * none after it: the caller always hears of a record that may not have landed.
 */
import type { Message, Producer, RecordMetadata } from 'kafkajs';
import type { RecordPosition } from './types.ts';

interface Pending {
  topic: string;
  messages: Message[];
  resolve(positions: RecordPosition[]): void;
  reject(err: unknown): void;
}

export interface ProducerQueueOptions {
  /** A new, connected idempotent producer; called again after a failed send. Rejects when it cannot connect. */
  connect(): Promise<Producer>;
  /** The partition kafkajs's partitioner gave a message of the send in progress. */
  partitionOf(message: Message): number | undefined;
}

/**
 * Most bytes (keys, values, headers) one send gathers from queued publishes; a publish larger than
 * this goes alone. Kept well below the brokers' usual 1 MB limit on one partition's batch.
 */
const MAX_SEND_BYTES = 512 * 1024;

export class ProducerQueue {
  readonly #options: ProducerQueueOptions;
  #queue: Pending[] = [];
  #sending = false;
  #producer: Promise<Producer> | undefined;
  #closed = false;

  constructor(options: ProducerQueueOptions) {
    this.#options = options;
  }

  /** Appends the messages to the topic; resolves once acknowledged by all in-sync replicas, with where each landed. */
  send(topic: string, messages: Message[]): Promise<RecordPosition[]> {
    if (this.#closed) return Promise.reject(new Error('the producer is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ topic, messages, resolve, reject });
      void this.#drain();
    });
  }

  /** Fails what is queued and disconnects the producer. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const pending of this.#queue.splice(0)) pending.reject(new Error('the producer is closed'));
    await this.#discard();
  }

  async #drain(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) await this.#sendTogether(this.#takeNext());
    } finally {
      this.#sending = false;
    }
  }

  /** The queued publishes the next send takes: at least one, in order, up to MAX_SEND_BYTES. */
  #takeNext(): Pending[] {
    let bytes = 0;
    let count = 0;
    for (const pending of this.#queue) {
      bytes += sizeOf(pending.messages);
      if (count > 0 && bytes > MAX_SEND_BYTES) break;
      count++;
    }
    return this.#queue.splice(0, count);
  }

  async #sendTogether(batch: Pending[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const { topic, messages } of batch) {
      const list = byTopic.get(topic);
      if (list) list.push(...messages);
      else byTopic.set(topic, [...messages]);
    }
    let sent: RecordMetadata[];
    try {
      this.#producer ??= this.#options.connect();
      const producer = await this.#producer;
      sent = await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    } catch (err) {
      // The broker may have written what failed: never send on this producer's sequence numbers again.
      await this.#discard();
      for (const pending of batch) pending.reject(err);
      return;
    }
    this.#settle(batch, sent);
  }

  /**
   * kafkajs answers with each partition's base offset; a partition's messages were appended in the
   * order sent, so a message's offset is the base plus its index among that partition's.
   */
  #settle(batch: Pending[], sent: RecordMetadata[]): void {
    const base = new Map<string, number>();
    for (const meta of sent) if (meta.baseOffset !== undefined) base.set(`${meta.topicName}/${meta.partition}`, Number(meta.baseOffset));
    const taken = new Map<string, number>();
    for (const pending of batch) {
      const positions = pending.messages.map((message) => {
        const partition = this.#options.partitionOf(message);
        const slot = `${pending.topic}/${partition}`;
        const index = taken.get(slot) ?? 0;
        taken.set(slot, index + 1);
        const first = base.get(slot);
        return partition === undefined || first === undefined ? undefined : { partition, offset: first + index };
      });
      if (positions.every((p) => p !== undefined)) pending.resolve(positions);
      else pending.reject(new Error(`publish(${pending.topic}): kafkajs did not report where a record landed`));
    }
  }

  async #discard(): Promise<void> {
    const producer = this.#producer;
    this.#producer = undefined;
    await producer?.then((p) => p.disconnect()).catch(() => {});
  }
}

function sizeOf(messages: Message[]): number {
  let bytes = 0;
  for (const { key, value, headers } of messages) {
    bytes += byteLength(key) + byteLength(value);
    for (const [name, header] of Object.entries(headers ?? {}))
      bytes += name.length + (typeof header === 'string' || Buffer.isBuffer(header) ? byteLength(header) : 0);
  }
  return bytes;
}

const byteLength = (data: string | Buffer | null | undefined): number =>
  data === null || data === undefined ? 0 : Buffer.byteLength(data);
