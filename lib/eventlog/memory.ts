/**
 * The embedded event log: Kafka's model (topics, partitions, offsets, consumer groups with
 * committed positions) inside one process, kept in memory and, given a `dir`, on disk too (files.ts):
 * reopened on the same directory, it has every record and committed position again. It is the
 * default when no Kafka brokers are configured; the components of one process share one instance.
 * It passes the same contract suite as the Kafka log (test/support/eventlog-contract.ts), with and
 * without a directory.
 */
import type { Logger } from '../logger.ts';
import { LogFiles, type StoredGroup, type StoredRecord } from './files.ts';
import type {
  ConsumeOptions,
  ConsumerHandle,
  EventLog,
  LogRecord,
  OutgoingRecord,
  PartitionProgress,
  RecordPosition,
  StartFrom,
} from './types.ts';

export interface MemoryEventLogOptions {
  /** Partition count of named topics; other topics get `defaultPartitions`. */
  partitions?: Record<string, number>;
  /** Partitions of a topic created on first use (publish, consume or endOffsets). @default 3 */
  defaultPartitions?: number;
  /** Most records handed to one `handle` call. @default 500 */
  maxBatchSize?: number;
  /**
   * Keep the log in this directory (created when missing) and load what it holds, synchronously,
   * in the constructor. A topic found there keeps the partition count it was created with. Unset:
   * nothing is persisted. One directory per log: two logs must not share one.
   */
  dir?: string;
  /** Hears of repaired files (a record cut short by a crash). */
  logger?: Pick<Logger, 'warn'>;
}

const DEFAULT_PARTITIONS = 3;
const DEFAULT_MAX_BATCH_SIZE = 500;

/**
 * Kafka's murmur2 (the Java client's `Utils.murmur2`, also kafkajs's), over the key's UTF-8
 * bytes. 32-bit arithmetic throughout: Math.imul is the Java int multiplication.
 */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  const byte = (i: number): number => data[i] ?? 0;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = byte(i) | (byte(i + 1) << 8) | (byte(i + 2) << 16) | (byte(i + 3) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length % 4;
  if (rest === 3) h ^= byte(whole + 2) << 16;
  if (rest >= 2) h ^= byte(whole + 1) << 8;
  if (rest >= 1) h = Math.imul(h ^ byte(whole), m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner (and kafkajs's DefaultPartitioner) picks for a key. */
export function partitionForKey(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
}

interface Topic {
  partitions: LogRecord[][];
  consumers: Set<MemoryConsumer>;
}

/** One group's view of one topic: its committed positions and live members. */
interface Group {
  groupId: string;
  topic: string;
  committed: Map<number, number>;
  /** In join order; member i owns the partitions p with p % members.length === i. */
  members: MemoryConsumer[];
  /** Partition -> the member handling a batch of it right now (a new owner waits for it). */
  busy: Map<number, MemoryConsumer>;
  /** Called after a commit (to write the committed positions to disk). */
  committedChanged: () => void;
}

/**
 * An in-process `EventLog`.
 *
 * - Keys pick partitions with Kafka's default partitioner (murmur2), so a key lands on the same
 *   partition number here as on Kafka with the same partition count.
 * - Delivery is asynchronous: `publish` appends and wakes the consumers, which run the handler in a
 *   later microtask; a consumer hands over one batch (one partition, offset order) at a time,
 *   taking partitions in turn.
 * - Members of one group share a topic's partitions (reassigned when one joins, stops or fails);
 *   committed positions survive a member's stop and restart within the process.
 * - `offsets` start positions outside [0, end] are clamped to that range.
 * - `stop()` waits for the batch in flight (and its commit): do not await it inside `handle`.
 */
export class MemoryEventLog implements EventLog {
  readonly #topics = new Map<string, Topic>();
  readonly #groups = new Map<string, Group>();
  readonly #consumers = new Set<MemoryConsumer>();
  readonly #partitionCounts: Record<string, number>;
  readonly #defaultPartitions: number;
  readonly #maxBatchSize: number;
  readonly #files: LogFiles | undefined;
  #closed = false;

  constructor(options: MemoryEventLogOptions = {}) {
    const problems: string[] = [];
    const positiveInt = (path: string, value: unknown): void => {
      if (!Number.isInteger(value) || (value as number) < 1) problems.push(`${path} must be a positive integer, got ${String(value)}`);
    };
    const { partitions = {}, defaultPartitions = DEFAULT_PARTITIONS, maxBatchSize = DEFAULT_MAX_BATCH_SIZE } = options;
    positiveInt('defaultPartitions', defaultPartitions);
    positiveInt('maxBatchSize', maxBatchSize);
    for (const [topic, count] of Object.entries(partitions)) positiveInt(`partitions.${topic}`, count);
    if (problems.length > 0) throw new RangeError(`MemoryEventLog: ${problems.join('; ')}`);
    this.#partitionCounts = { ...partitions };
    this.#defaultPartitions = defaultPartitions;
    this.#maxBatchSize = maxBatchSize;
    if (options.dir !== undefined) {
      this.#files = new LogFiles({ dir: options.dir, ...(options.logger && { logger: options.logger }) });
      this.#restore(this.#files);
    }
  }

  /** Takes in what a directory holds: topics with their records, groups with their committed positions. */
  #restore(files: LogFiles): void {
    const loaded = files.load();
    for (const [name, partitions] of loaded.topics) {
      this.#topics.set(name, {
        partitions: partitions.map((records, partition) => records.map((r, offset) => frozenRecord(name, partition, offset, r))),
        consumers: new Set(),
      });
    }
    for (const stored of loaded.groups) {
      const group = this.#group(stored.groupId, stored.topic);
      for (const [partition, next] of Object.entries(stored.committed)) group.committed.set(Number(partition), next);
    }
    // Only groups that committed something: a group that never commits (`commit: false`, such as
    // a per-process projection group with a random id) has nothing to resume from and would pile up.
    files.trackGroups(() =>
      [...this.#groups.values()]
        .filter((g) => g.committed.size > 0)
        .map((g): StoredGroup => ({
          groupId: g.groupId,
          topic: g.topic,
          committed: Object.fromEntries(g.committed),
        })),
    );
  }

  async publish(topic: string, records: OutgoingRecord[]): Promise<RecordPosition[]> {
    this.#assertOpen();
    const state = this.#topic(topic);
    records.forEach((r, i) => {
      if (typeof r?.key !== 'string') throw new TypeError(`publish(${topic}): records[${i}].key must be a string`);
      if (typeof r.value !== 'string') throw new TypeError(`publish(${topic}): records[${i}].value must be a string`);
    });
    const timestamp = Date.now();
    const byPartition = new Map<number, StoredRecord[]>();
    const positions = records.map((r): RecordPosition => {
      const partition = partitionForKey(r.key, state.partitions.length);
      let batch = byPartition.get(partition);
      if (!batch) byPartition.set(partition, (batch = []));
      batch.push({ key: r.key, value: r.value, headers: { ...r.headers }, timestamp });
      return { partition, offset: state.partitions[partition]!.length + batch.length - 1 };
    });
    // On disk first, all or nothing: a failed write leaves disk and memory as they were (and publish rejects).
    this.#files?.append(topic, byPartition);
    for (const [partition, batch] of byPartition) {
      const log = state.partitions[partition]!;
      for (const stored of batch) log.push(frozenRecord(topic, partition, log.length, stored));
    }
    for (const consumer of state.consumers) consumer.wake();
    return positions;
  }

  async consume(options: ConsumeOptions): Promise<ConsumerHandle> {
    this.#assertOpen();
    validateConsumeOptions(options);
    const topic = this.#topic(options.topic);
    const group = this.#group(options.groupId, options.topic);
    const consumer = new MemoryConsumer(topic, group, options, this.#maxBatchSize, () => this.#consumers.delete(consumer));
    this.#consumers.add(consumer);
    return consumer;
  }

  async endOffsets(topic: string): Promise<number[]> {
    this.#assertOpen();
    return this.#topic(topic).partitions.map((p) => p.length);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#consumers].map((c) => c.stop()));
    await this.#files?.close();
  }

  #group(groupId: string, topic: string): Group {
    const key = `${groupId}\u0000${topic}`;
    let group = this.#groups.get(key);
    if (!group) {
      group = { groupId, topic, committed: new Map(), members: [], busy: new Map(), committedChanged: () => this.#files?.groupsChanged() };
      this.#groups.set(key, group);
    }
    return group;
  }

  #topic(name: string): Topic {
    if (typeof name !== 'string' || name === '') throw new TypeError('topic must be a non-empty string');
    let topic = this.#topics.get(name);
    if (!topic) {
      const count = this.#partitionCounts[name] ?? this.#defaultPartitions;
      topic = { partitions: Array.from({ length: count }, () => []), consumers: new Set() };
      this.#topics.set(name, topic);
      this.#files?.createTopic(name, count);
    }
    return topic;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('MemoryEventLog is closed');
  }
}

/** Frozen: every consumer of the topic gets the same object. */
function frozenRecord(topic: string, partition: number, offset: number, r: StoredRecord): LogRecord {
  return Object.freeze({
    topic,
    partition,
    offset,
    key: r.key,
    value: r.value,
    headers: Object.freeze({ ...r.headers }),
    timestamp: r.timestamp,
  });
}

/**
 * Checks what the types cannot: shared by both implementations, so both refuse the same options
 * with the same message.
 */
export function validateConsumeOptions(options: ConsumeOptions): void {
  const problems: string[] = [];
  if (typeof options.topic !== 'string' || options.topic === '') problems.push('topic must be a non-empty string');
  if (typeof options.groupId !== 'string' || options.groupId === '') problems.push('groupId must be a non-empty string');
  if (typeof options.handle !== 'function') problems.push('handle must be a function');
  const from = options.from as StartFrom | undefined;
  if (from?.kind === 'offsets') {
    for (const [partition, offset] of Object.entries(from.offsets ?? {})) {
      if (!/^\d+$/.test(partition)) problems.push(`from.offsets: ${partition} is not a partition number`);
      if (!Number.isSafeInteger(offset) || offset < 0)
        problems.push(`from.offsets.${partition} must be an offset (integer >= 0), got ${String(offset)}`);
    }
  } else if (from?.kind !== 'beginning' && from?.kind !== 'committed') {
    problems.push(`from.kind must be 'beginning', 'committed' or 'offsets'`);
  }
  if (problems.length > 0) throw new TypeError(`consume(${String(options.topic)}): ${problems.join('; ')}`);
}

class MemoryConsumer implements ConsumerHandle {
  readonly failed: Promise<never>;
  readonly #topic: Topic;
  readonly #group: Group;
  readonly #options: ConsumeOptions;
  readonly #commit: boolean;
  readonly #maxBatchSize: number;
  readonly #onGone: () => void;
  readonly #loop: Promise<void>;
  #reject: (err: unknown) => void = () => {};
  #stopped = false;
  #wakeUp: (() => void) | undefined;
  /** Partitions this member owns now. */
  readonly #owned = new Set<number>();
  /** Next offset to hand over, per partition ever owned (kept when a partition moves away). */
  readonly #positions = new Map<number, number>();
  #cursor = 0;

  constructor(topic: Topic, group: Group, options: ConsumeOptions, maxBatchSize: number, onGone: () => void) {
    this.#topic = topic;
    this.#group = group;
    this.#options = options;
    this.#commit = options.commit ?? true;
    this.#maxBatchSize = maxBatchSize;
    this.#onGone = onGone;
    this.failed = new Promise<never>((_, reject) => {
      this.#reject = reject;
    });
    this.failed.catch(() => {}); // rejecting must not be an unhandled rejection if nobody listens
    topic.consumers.add(this);
    group.members.push(this);
    this.#wakeGroup();
    this.#rebalance();
    // Never run the handler inside consume() itself.
    this.#loop = Promise.resolve().then(() => this.#run());
  }

  /** In-process: the log is always reachable. */
  lastFetchAt(): number | null {
    return Date.now();
  }

  progress(): PartitionProgress[] {
    if (!this.#stopped) this.#rebalance();
    return [...this.#owned]
      .sort((a, b) => a - b)
      .map((partition) => ({
        partition,
        position: this.#positions.get(partition) ?? 0,
        highWatermark: this.#topic.partitions[partition]?.length ?? 0,
      }));
  }

  async stop(): Promise<void> {
    this.#leave();
    await this.#loop;
  }

  wake(): void {
    this.#wakeUp?.();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const next = this.#nextBatch();
      if (!next) {
        // No await between the check above and arming the wake-up: a publish cannot slip between.
        await new Promise<void>((resolve) => {
          this.#wakeUp = resolve;
        });
        this.#wakeUp = undefined;
        continue;
      }
      const { partition, records } = next;
      this.#group.busy.set(partition, this);
      try {
        await this.#options.handle(records, { partition, nextOffset: records[records.length - 1]!.offset + 1 });
        // Handled: even when stop() came in meanwhile, the batch counts and its position is
        // committed, before the partition is free for another member.
        const position = records[records.length - 1]!.offset + 1;
        this.#positions.set(partition, position);
        if (this.#commit) {
          this.#group.committed.set(partition, position);
          this.#group.committedChanged();
        }
      } catch (err) {
        this.#leave();
        this.#reject(err);
        return;
      } finally {
        this.#group.busy.delete(partition);
        this.#wakeGroup();
      }
    }
  }

  #nextBatch(): { partition: number; records: LogRecord[] } | undefined {
    this.#rebalance();
    const owned = [...this.#owned].sort((a, b) => a - b);
    for (let i = 0; i < owned.length; i++) {
      const index = (this.#cursor + i) % owned.length;
      const partition = owned[index]!;
      const log = this.#topic.partitions[partition]!;
      const position = this.#positions.get(partition) ?? 0;
      if (log.length > position) {
        this.#cursor = index + 1; // next time, start with the following partition
        return { partition, records: log.slice(position, position + this.#maxBatchSize) };
      }
    }
    return undefined;
  }

  /** Follows the group's assignment: drops partitions that moved away, takes new ones once free. */
  #rebalance(): void {
    const members = this.#group.members;
    const index = members.indexOf(this);
    const count = this.#topic.partitions.length;
    for (const partition of this.#owned) {
      if (index < 0 || partition % members.length !== index) this.#owned.delete(partition);
    }
    if (index < 0) return;
    for (let partition = index; partition < count; partition += members.length) {
      if (this.#owned.has(partition)) continue;
      const holder = this.#group.busy.get(partition);
      if (holder && holder !== this) continue; // its previous owner is still handling a batch
      this.#owned.add(partition);
      this.#positions.set(partition, this.#startPosition(partition));
    }
  }

  #startPosition(partition: number): number {
    const end = this.#topic.partitions[partition]!.length;
    const committed = this.#group.committed.get(partition);
    const own = this.#positions.get(partition);
    if (own !== undefined) return this.#commit ? (committed ?? own) : own; // owned before
    const from = this.#options.from;
    switch (from.kind) {
      case 'beginning':
        return 0;
      case 'committed':
        return Math.min(committed ?? 0, end);
      case 'offsets':
        return Math.min(from.offsets[partition] ?? 0, end);
    }
  }

  #leave(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    const members = this.#group.members;
    const index = members.indexOf(this);
    if (index >= 0) members.splice(index, 1);
    this.#topic.consumers.delete(this);
    this.#onGone();
    this.wake();
    this.#wakeGroup();
  }

  #wakeGroup(): void {
    for (const member of this.#group.members) if (member !== this) member.wake();
  }
}
