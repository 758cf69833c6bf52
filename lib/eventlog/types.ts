/**
 * One event-log interface with two implementations: Kafka (kafkajs, when brokers are configured)
 * and an embedded in-process log (the default for `npm start`, and for unit tests). Both pass the
 * same contract suite (test/support/eventlog-contract.ts).
 *
 * The model is Kafka's: a topic has partitions; a record's key picks its partition, so one key's
 * records keep their order; every record has an offset, its position in its partition, counted
 * from 0. Delivery is at-least-once: a handler may see a record again after a restart or a
 * failure, so consumers must be idempotent.
 */

/** A record to publish. */
export interface OutgoingRecord {
  /** Picks the partition: records with one key stay in order on one partition. */
  key: string;
  value: string;
  headers?: Record<string, string>;
}

/** Where a published record landed. */
export interface RecordPosition {
  partition: number;
  offset: number;
}

/** A record as consumed. */
export interface LogRecord extends RecordPosition {
  topic: string;
  key: string | null;
  value: string;
  headers: Record<string, string>;
  /** When the log accepted it (ms since the epoch). */
  timestamp: number;
}

/** Where a consumer starts. */
export type StartFrom =
  /** Every record, ignoring committed positions. */
  | { kind: 'beginning' }
  /** After the group's committed position per partition; from the beginning where there is none. */
  | { kind: 'committed' }
  /** At these offsets (partition -> next offset to read); other partitions from the beginning. */
  | { kind: 'offsets'; offsets: Record<number, number> };

/** Where a handled batch leaves its partition. */
export interface BatchPosition {
  partition: number;
  /**
   * The next offset to read once the batch is handled. It can lie beyond the last record's offset
   * + 1, and a batch can be empty, when the log skipped offsets that carry no record for consumers
   * (Kafka's transaction markers and aborted transactions): a consumer that tracks positions moves
   * to it, or it never reaches the partition's end.
   */
  nextOffset: number;
}

export interface ConsumeOptions {
  topic: string;
  /** Consumers in one group share committed positions. */
  groupId: string;
  from: StartFrom;
  /**
   * Called with records of one partition, in offset order (possibly none: see BatchPosition). When it resolves, the records count as
   * handled (and, with `commit: true`, their position is committed). When it throws, the consumer
   * stops and `ConsumerHandle.failed` rejects: nothing after the failed batch is handled.
   */
  handle(records: LogRecord[], batch: BatchPosition): Promise<void>;
  /** Commit positions after each handled batch. Default true. */
  commit?: boolean;
}

/** Per-partition progress of a consumer. */
export interface PartitionProgress {
  partition: number;
  /** The next offset the consumer will hand over (one past the last handled record). */
  position: number;
  /** One past the newest record in the partition, as last seen; null before the first fetch. */
  highWatermark: number | null;
}

export interface ConsumerHandle {
  /** Progress per partition, as of now. */
  progress(): PartitionProgress[];
  /**
   * When the consumer last heard from the log (ms since the epoch), empty answers included; null
   * before the first fetch. A value that stops moving means the log is unreachable.
   */
  lastFetchAt(): number | null;
  /** Rejects if the handler throws or the consumer fails for good. */
  readonly failed: Promise<never>;
  stop(): Promise<void>;
}

export interface EventLog {
  /** Appends records; resolves once the log has acknowledged them, with where each landed. */
  publish(topic: string, records: OutgoingRecord[]): Promise<RecordPosition[]>;
  consume(options: ConsumeOptions): Promise<ConsumerHandle>;
  /** One past the newest offset of each partition (index = partition). */
  endOffsets(topic: string): Promise<number[]>;
  close(): Promise<void>;
}
