/**
 * The event log on Kafka, through kafkajs. Passes the contract suite (test/support/eventlog-contract.ts) on
 * the librdkafka mock cluster (test/kafka/eventlog.test.ts).
 *
 * At run time it needs Produce, Fetch, Metadata, ListOffsets, the group APIs and the idempotent
 * producer's InitProducerId; never CreateTopics & co.: topics are provisioned outside, or created
 * by the brokers' own auto-creation policy (kafkajs asks for it; the brokers decide).
 */
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Admin, Consumer, KafkaMessage, LogEntry, Message, Producer, RetryOptions } from 'kafkajs';
import type { Logger } from '../logger.ts';
import type { ConsumeOptions, ConsumerHandle, EventLog, LogRecord, OutgoingRecord, PartitionProgress, RecordPosition } from './types.ts';
import { ProducerQueue } from './kafka-sender.ts';
import { validateConsumeOptions } from './memory.ts';

/** kafkajs retry settings (exponential back-off with jitter), for every client of the log. */
export interface KafkaRetryOptions {
  /** Retries of one operation before it fails. @default 10 */
  retries?: number;
  /** First back-off, in ms. @default 300 */
  initialRetryTime?: number;
  /** Longest back-off, in ms. @default 30000 */
  maxRetryTime?: number;
  /** Jitter, as a fraction of the back-off. @default 0.2 */
  factor?: number;
  /** Back-off growth per retry. @default 2 */
  multiplier?: number;
}

export interface KafkaEventLogOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Names this process to the brokers (quotas, logs). */
  clientId: string;
  /** Where kafkajs's warnings and errors go; without it kafkajs is silent. */
  logger?: Logger;
  /** TCP connect timeout, in ms. @default 1000 */
  connectionTimeoutMs?: number;
  /** Timeout of one request, in ms. @default 30000 */
  requestTimeoutMs?: number;
  /** How long the broker holds a fetch that has no records yet, in ms: the idle latency. @default 500 */
  maxWaitTimeMs?: number;
  /** A consumer silent this long leaves its group, in ms. @default 30000 */
  sessionTimeoutMs?: number;
  /** Consumer heartbeat period, in ms; below sessionTimeoutMs. @default sessionTimeoutMs / 10, at most 3000 */
  heartbeatIntervalMs?: number;
  /**
   * Retries of transient failures (broker down, leader moves, coordinator changes). A consumer
   * whose retries run out is restarted by kafkajs; `failed` rejects only on a non-retriable crash.
   * A publish rejects when its retries run out (and the next one goes through a new producer:
   * kafka-sender.ts).
   */
  retry?: KafkaRetryOptions;
}

const DEFAULT_RETRY: Required<Pick<KafkaRetryOptions, 'retries' | 'initialRetryTime' | 'maxRetryTime'>> = {
  retries: 10,
  initialRetryTime: 300,
  maxRetryTime: 30_000,
};

/**
 * An `EventLog` on Kafka.
 *
 * - publish: an idempotent producer (acks all, one send in flight, so a retry never duplicates or
 *   reorders), replaced after any failed send so that no later record can be taken for a duplicate
 *   of the failed one (kafka-sender.ts); kafkajs's DefaultPartitioner (Kafka's murmur2 key hashing).
 * - consume: one kafkajs consumer per call, in group `groupId`, committing a batch's position only
 *   after `handle` resolved. Partitions keep their committed position when they move between
 *   members; `beginning` and `offsets` seek on a partition's first assignment, and `offsets`
 *   outside [earliest, end] are clamped to that range.
 * - `stop()` waits for the batch in flight and its commit: do not await it inside `handle`.
 */
export class KafkaEventLog implements EventLog {
  readonly #kafka: Kafka;
  readonly #retry: RetryOptions;
  readonly #maxWaitTimeMs: number;
  readonly #sessionTimeoutMs: number;
  readonly #heartbeatIntervalMs: number;
  readonly #consumers = new Set<KafkaConsumerHandle>();
  /** Which partition the partitioner gave each message of a send in progress. */
  readonly #partitionOf = new WeakMap<Message, number>();
  readonly #producer: ProducerQueue;
  #admin: Promise<Admin> | undefined;
  #closed = false;

  constructor(options: KafkaEventLogOptions) {
    const problems: string[] = [];
    const { brokers, clientId, logger } = options;
    if (!Array.isArray(brokers) || brokers.length === 0) problems.push('brokers must list at least one host:port');
    else {
      brokers.forEach((broker, i) => {
        if (typeof broker !== 'string' || !/^\S+:\d+$/.test(broker))
          problems.push(`brokers[${i}] must be host:port, got ${JSON.stringify(broker)}`);
      });
    }
    if (typeof clientId !== 'string' || clientId === '') problems.push('clientId must be a non-empty string');
    type Millis = 'connectionTimeoutMs' | 'requestTimeoutMs' | 'maxWaitTimeMs' | 'sessionTimeoutMs' | 'heartbeatIntervalMs';
    const ms = (name: Millis, fallback: number, min = 1): number => {
      const value = options[name] ?? fallback;
      if (!Number.isInteger(value) || value < min) problems.push(`${name} must be an integer >= ${min} (ms), got ${String(value)}`);
      return value;
    };
    const connectionTimeout = ms('connectionTimeoutMs', 1000);
    const requestTimeout = ms('requestTimeoutMs', 30_000);
    this.#maxWaitTimeMs = ms('maxWaitTimeMs', 500, 0);
    this.#sessionTimeoutMs = ms('sessionTimeoutMs', 30_000);
    this.#heartbeatIntervalMs = ms('heartbeatIntervalMs', Math.min(3000, Math.floor(this.#sessionTimeoutMs / 10)));
    if (this.#heartbeatIntervalMs >= this.#sessionTimeoutMs) problems.push('heartbeatIntervalMs must be below sessionTimeoutMs');
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    if (!Number.isInteger(this.#retry.retries) || (this.#retry.retries ?? 0) < 1) problems.push('retry.retries must be an integer >= 1');
    if (problems.length > 0) throw new TypeError(`KafkaEventLog: ${problems.join('; ')}`);

    this.#kafka = new Kafka({
      clientId,
      brokers,
      connectionTimeout,
      requestTimeout,
      retry: this.#retry,
      ...(logger ? { logLevel: logLevel.WARN, logCreator: toPino(logger) } : { logLevel: logLevel.NOTHING }),
    });
    this.#producer = new ProducerQueue({
      connect: () => this.#connectedProducer(),
      partitionOf: (message) => this.#partitionOf.get(message),
    });
  }

  async publish(topic: string, records: OutgoingRecord[]): Promise<RecordPosition[]> {
    this.#assertOpen();
    if (records.length === 0) return [];
    const messages: Message[] = records.map((r) => ({ key: r.key, value: r.value, ...(r.headers ? { headers: { ...r.headers } } : {}) }));
    return this.#producer.send(topic, messages);
  }

  async consume(options: ConsumeOptions): Promise<ConsumerHandle> {
    this.#assertOpen();
    validateConsumeOptions(options);
    const { topic, groupId, from } = options;

    // Where each partition starts, and how far it goes, as of now: progress() reports them before
    // the first batch, and `beginning` seeks to the earliest offset rather than to 0.
    const admin = await this.#connectedAdmin();
    const [watermarks, committed] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      from.kind === 'committed' ? admin.fetchOffsets({ groupId, topics: [topic] }) : undefined,
    ]);
    const start = new Map<number, { start: number; high: number }>();
    const committedAt = new Map((committed?.[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    for (const w of watermarks) {
      const low = Number(w.low);
      const high = Number(w.high);
      const wanted =
        from.kind === 'offsets' ? from.offsets[w.partition] : from.kind === 'committed' ? committedAt.get(w.partition) : undefined;
      start.set(w.partition, { start: Math.min(Math.max(wanted ?? low, low), high), high });
    }

    const consumer = this.#kafka.consumer({
      groupId,
      sessionTimeout: this.#sessionTimeoutMs,
      heartbeatInterval: this.#heartbeatIntervalMs,
      maxWaitTimeInMs: this.#maxWaitTimeMs,
      retry: this.#retry,
    });
    const handle = new KafkaConsumerHandle(consumer, options, start, this.#heartbeatIntervalMs, () => this.#consumers.delete(handle));
    this.#consumers.add(handle);
    try {
      await handle.start();
    } catch (err) {
      await handle.stop().catch(() => {});
      throw err;
    }
    return handle;
  }

  async endOffsets(topic: string): Promise<number[]> {
    this.#assertOpen();
    const admin = await this.#connectedAdmin();
    const offsets = await admin.fetchTopicOffsets(topic);
    const ends = new Array<number>(offsets.length).fill(0);
    for (const o of offsets) ends[o.partition] = Number(o.high);
    return ends;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const admin = this.#admin;
    this.#admin = undefined;
    await Promise.allSettled([
      ...[...this.#consumers].map((c) => c.stop()),
      this.#producer.close(),
      (async () => (await admin)?.disconnect())(),
    ]);
  }

  #connectedProducer(): Promise<Producer> {
    const producer = this.#kafka.producer({
      // Idempotent, so a retried produce is written once and in order.
      idempotent: true,
      maxInFlightRequests: 1,
      retry: this.#retry,
      createPartitioner: () => {
        const partitioner = Partitioners.DefaultPartitioner();
        return (args) => {
          const partition = partitioner(args);
          this.#partitionOf.set(args.message, partition);
          return partition;
        };
      },
    });
    return connect(producer, () => {});
  }

  #connectedAdmin(): Promise<Admin> {
    this.#admin ??= connect(this.#kafka.admin({ retry: this.#retry }), () => (this.#admin = undefined));
    return this.#admin;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('KafkaEventLog is closed');
  }
}

/** Connects; a failed connect forgets the client, so the next call tries afresh. */
async function connect<T extends { connect(): Promise<void>; disconnect(): Promise<void> }>(client: T, forget: () => void): Promise<T> {
  try {
    await client.connect();
    return client;
  } catch (err) {
    forget();
    await client.disconnect().catch(() => {});
    throw err;
  }
}

class KafkaConsumerHandle implements ConsumerHandle {
  readonly failed: Promise<never>;
  readonly #consumer: Consumer;
  readonly #options: ConsumeOptions;
  readonly #commit: boolean;
  readonly #heartbeatIntervalMs: number;
  readonly #onGone: () => void;
  #reject: (err: unknown) => void = () => {};
  #hasFailed = false;
  #lastFetchAt: number | null = null;
  #stopping: Promise<void> | undefined;
  readonly #removeListeners: (() => void)[] = [];
  /** Start position and end of each partition when consume() was called. */
  readonly #initial: Map<number, { start: number; high: number }>;
  /** Partitions assigned to this member now. */
  #assigned = new Set<number>();
  readonly #progress = new Map<number, { position: number; highWatermark: number | null }>();
  /** Partitions whose position this member committed (the group's position is then ours). */
  readonly #committed = new Set<number>();
  /** Per partition, the report of skipped offsets still being handled (see #skipped). */
  readonly #skipping = new Map<number, Promise<void>>();

  constructor(
    consumer: Consumer,
    options: ConsumeOptions,
    initial: Map<number, { start: number; high: number }>,
    heartbeatIntervalMs: number,
    onGone: () => void,
  ) {
    this.#consumer = consumer;
    this.#options = options;
    this.#commit = options.commit ?? true;
    this.#initial = initial;
    this.#heartbeatIntervalMs = heartbeatIntervalMs;
    this.#onGone = onGone;
    this.failed = new Promise<never>((_, reject) => {
      this.#reject = reject;
    });
    this.failed.catch(() => {}); // rejecting must not be an unhandled rejection if nobody listens
  }

  async start(): Promise<void> {
    const consumer = this.#consumer;
    const { topic } = this.#options;
    // Emitted synchronously once an assignment arrives and before the first fetch for it, so
    // the seeks below apply to that fetch.
    this.#removeListeners.push(
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => this.#onAssignment(payload.memberAssignment[topic] ?? [])),
      consumer.on(consumer.events.FETCH, () => {
        this.#lastFetchAt = Date.now();
      }),
      // A fetch that brought only offsets with nothing for consumers (transaction markers, aborted
      // transactions) never reaches eachBatch: kafkajs moves past it itself and says so here.
      consumer.on(consumer.events.START_BATCH_PROCESS, ({ payload }) => {
        if (payload.topic === topic && payload.batchSize === 0)
          this.#skipped(payload.partition, Number(payload.lastOffset) + 1, payload.highWatermark);
      }),
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        // Retriable crashes (retries ran out on a transient error) are restarted by kafkajs.
        if (!payload.restart) this.#fail(payload.error);
      }),
    );
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        if (this.#hasFailed || !isRunning() || isStale() || batch.messages.length === 0) return;
        const partition = batch.partition;
        await this.#skipping.get(partition); // batches of skipped offsets before this one first
        // The last offset counts filtered control records: a commit marker after the last record.
        const last = Number(batch.lastOffset());
        const records = batch.messages.map((m) => toLogRecord(topic, partition, m));
        // A long handler must not cost the group membership.
        const beat = setInterval(() => void heartbeat().catch(() => {}), this.#heartbeatIntervalMs);
        try {
          if (!(await this.#handle(records, partition, last + 1, batch.highWatermark))) return; // unresolved: handled again by whoever gets the partition
        } finally {
          clearInterval(beat);
        }
        resolveOffset(String(last));
        if (this.#commit) {
          // Errors (a rebalance, a moved coordinator) go to kafkajs, which rejoins or retries;
          // the batch may then be handled again: at least once.
          await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: String(last + 1) }] }] });
          this.#committed.add(partition);
        }
      },
    });
    // run() returns after the first join; a non-retriable failure there has crashed it already.
    if (this.#hasFailed) await this.failed;
  }

  lastFetchAt(): number | null {
    return this.#lastFetchAt;
  }

  /**
   * Hands a batch to `handle` and records where it leaves the partition; false when the handler
   * threw (the consumer has failed then).
   */
  async #handle(records: LogRecord[], partition: number, nextOffset: number, highWatermark: string): Promise<boolean> {
    const progress = this.#progressOf(partition);
    progress.highWatermark = Number(highWatermark);
    try {
      await this.#options.handle(records, { partition, nextOffset });
    } catch (err) {
      this.#fail(err);
      return false;
    }
    progress.position = Math.max(progress.position, nextOffset);
    return true;
  }

  /** Reports offsets kafkajs skipped as an empty batch, after any such batch of the partition before it. */
  #skipped(partition: number, nextOffset: number, highWatermark: string): void {
    if (this.#hasFailed) return;
    const { topic } = this.#options;
    const done = (this.#skipping.get(partition) ?? Promise.resolve()).then(async () => {
      if (this.#hasFailed || !(await this.#handle([], partition, nextOffset, highWatermark)) || !this.#commit) return;
      // Best effort: if it fails, these offsets are skipped again after a restart, which is harmless.
      await this.#consumer.commitOffsets([{ topic, partition, offset: String(nextOffset) }]).then(
        () => this.#committed.add(partition),
        () => {},
      );
    });
    this.#skipping.set(partition, done);
    void done.finally(() => {
      if (this.#skipping.get(partition) === done) this.#skipping.delete(partition);
    });
  }

  progress(): PartitionProgress[] {
    return [...this.#assigned].sort((a, b) => a - b).map((partition) => ({ partition, ...this.#progressOf(partition) }));
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const remove of this.#removeListeners.splice(0)) remove();
      try {
        await this.#consumer.disconnect();
      } finally {
        this.#onGone();
      }
    })();
    return this.#stopping;
  }

  #onAssignment(partitions: number[]): void {
    const { topic, from } = this.#options;
    for (const partition of partitions) {
      const known = this.#progress.get(partition);
      let seekTo: number | undefined;
      if (!known) {
        // First assignment: where `from` says. `committed` is kafkajs's own start.
        const initial = this.#initial.get(partition);
        const position = initial?.start ?? 0;
        this.#progress.set(partition, { position, highWatermark: initial?.high ?? null });
        if (from.kind !== 'committed') seekTo = position;
      } else if (!this.#commit || !this.#committed.has(partition)) {
        // Back after a rebalance, with nothing of ours committed: resume where we were.
        seekTo = known.position;
      }
      if (seekTo !== undefined) this.#consumer.seek({ topic, partition, offset: String(seekTo) });
    }
    this.#assigned = new Set(partitions);
  }

  #progressOf(partition: number): { position: number; highWatermark: number | null } {
    let progress = this.#progress.get(partition);
    if (!progress) {
      progress = { position: this.#initial.get(partition)?.start ?? 0, highWatermark: null };
      this.#progress.set(partition, progress);
    }
    return progress;
  }

  #fail(err: unknown): void {
    if (this.#hasFailed) return;
    this.#hasFailed = true;
    try {
      // Nothing more is fetched while the consumer shuts down.
      this.#consumer.pause([{ topic: this.#options.topic }]);
    } catch {
      // not running any more
    }
    this.#reject(err);
    // Not awaited: when called from eachBatch, disconnect waits for eachBatch to return.
    void this.stop().catch(() => {});
  }
}

function toLogRecord(topic: string, partition: number, m: KafkaMessage): LogRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    // Kafka allows a header name more than once; like Java's lastHeader, the last one wins.
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) headers[name] = last.toString();
  }
  return {
    topic,
    partition,
    offset: Number(m.offset),
    key: m.key?.toString() ?? null,
    // A tombstone (null value) reads as ''.
    value: m.value?.toString() ?? '',
    headers,
    timestamp: Number(m.timestamp),
  };
}

/** kafkajs log lines as pino lines (kafkajs only hands over what passes its WARN level). */
function toPino(logger: Logger) {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = log;
      const payload = { namespace, ...fields };
      if (level === logLevel.ERROR) kafkaLogger.error(payload, message);
      else if (level === logLevel.WARN) kafkaLogger.warn(payload, message);
      else if (level === logLevel.INFO) kafkaLogger.info(payload, message);
      else kafkaLogger.debug(payload, message);
    };
}
