/**
 * Keeps a projection (a read model, read-model.ts) fed from the event log, for any entity and events.
 *
 * - On start it restores a saved state when `restore` offers one (a snapshot: the projection and
 *   the positions it includes) and consumes from those positions; otherwise it replays the topic
 *   from the beginning (the projection lives in memory: nothing lost, nothing applied twice). It
 *   logs progress while it catches up, and reports ready once it has reached the end offsets it
 *   saw at start.
 * - A record that `decode` refuses (not a valid event), or that the read model refuses, never
 *   stops it: the record goes to the dead-letter topic with the reason, is counted and logged. Records
 *   dead-lettered by an earlier run are recognised (by source position) and not sent again.
 * - If the consumer fails (the log is unreachable for longer than its retries), it is restarted
 *   after a pause at the projection's own positions.
 * - `waitFor` lets a mutation return only once its event is applied (read-your-writes).
 * - Its `sink` hears of each event right after it is applied and before the mutations waiting for
 *   it return (read-your-events for subscribers); never of replays, duplicates or refused records.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BatchPosition, ConsumerHandle, EventLog, LogRecord, RecordPosition } from '../../../lib/eventlog/types.ts';
import type { Logger } from '../../../lib/logger.ts';
import type { ProjectionState, ReadModel } from './read-model.ts';

/** A record's value decoded: the event, or why it is not one. */
export type Decoded<Ev> = { ok: true; event: Ev } | { ok: false; reason: string };

/** An event the projection has just applied. */
export interface AppliedEvent<E, Ev> {
  partition: number;
  offset: number;
  event: Ev;
  /** The entity as of this event. */
  entity: E;
  /** The projection's next offset on every partition of the topic right after applying it. */
  positions: number[];
}

/** Hears what the projection applies, synchronously and in order; must not throw. */
export interface AppliedEventSink<E, Ev> {
  /** The topic's partition count: once known at start, again whenever a higher partition shows up. */
  partitionsSeen(count: number): void;
  /**
   * The projector has decided where it starts (a restored state, which the sink's own state was
   * restored with, or the beginning): `positions` are its next offsets then. Called once, before
   * any `applied`; until then the sink's content may still be replaced, so nobody may follow it.
   */
  started(positions: number[]): void;
  applied(event: AppliedEvent<E, Ev>): void;
  /**
   * The projection's next offset on every partition after a batch was handled, whether or not it
   * applied anything (records dead-lettered, duplicates, transaction markers): how far the topic
   * has been read.
   */
  progressed(positions: number[]): void;
}

export interface ProjectorOptions<E, Ev, M extends ReadModel<E, Ev> = ReadModel<E, Ev>> {
  /** Names the projection in logs (`<name> projection: ...`) and metrics (`<name>_projection_...`). */
  name: string;
  /** What the consumed entities are called in logs (`restored a snapshot of 3 orders`). Default: `entities`. */
  entities?: string;
  /** The read model it feeds (empty; a restored state replaces its content). */
  projection: M;
  /** A record's value as an event, or why it is not one (the record is then dead-lettered). Must not throw. */
  decode(value: string): Decoded<Ev>;
  log: EventLog;
  topic: string;
  deadLetterTopic: string;
  /** Unique per replica: each replica consumes every partition. */
  groupId: string;
  logger: Logger;
  registry: Registry;
  /** How often to log progress while catching up, in ms. */
  progressIntervalMs?: number;
  /** Pause before restarting a failed consumer, in ms. */
  restartDelayMs?: number;
  /** After how long without an answer from the log the status says `stale`, in ms. Default 5000. */
  staleAfterMs?: number;
  /** Told of every applied event (the subscriptions' journal). */
  sink?: AppliedEventSink<E, Ev>;
  /**
   * Asked once at start, with the topic's end offsets, for a saved state to resume from (a
   * snapshot that fits those offsets); undefined, or no `restore`, replays from the beginning.
   * The sink's own state is the callee's to restore, before it resolves.
   */
  restore?: (endOffsets: number[]) => Promise<ProjectorState<E> | undefined>;
}

/** What a projector resumes from: the projection (with its positions) and its counters. JSON-serialisable. */
export interface ProjectorState<E> {
  projection: ProjectionState<E>;
  counters: { applied: number; deadLettered: number };
}

export interface PartitionLag {
  partition: number;
  position: number;
  highWatermark: number | null;
  lag: number | null;
}

export interface ProjectorStatus {
  caughtUp: boolean;
  consuming: boolean;
  /** Time since the consumer last heard from the log; null before the first fetch. */
  sinceLastFetchMs: number | null;
  /** True when the log has not answered for `staleAfterMs`: lag figures are as of the last fetch. */
  stale: boolean;
  /** Entities in the read model. */
  entities: number;
  applied: number;
  deadLettered: number;
  partitions: PartitionLag[];
  totalLag: number;
}

/** Longest wait for reading back the dead-letter topic at start. */
const DLQ_SCAN_LIMIT_MS = 15_000;

const DLQ_HEADERS = { reason: 'dlq-reason', topic: 'dlq-topic', partition: 'dlq-partition', offset: 'dlq-offset' } as const;

export class Projector<E, Ev, M extends ReadModel<E, Ev> = ReadModel<E, Ev>> {
  readonly projection: M;
  private consumer: ConsumerHandle | undefined;
  private stopped = false;
  private caughtUp = false;
  private catchUpTarget: number[] = [];
  private markTargetKnown!: () => void;
  private readonly targetKnown = new Promise<void>((resolve) => (this.markTargetKnown = resolve));
  private partitionCount = 0;
  private readonly deadLettered = new Set<string>();
  private readonly waiters = new Set<{ position: RecordPosition; resolve: () => void }>();
  private readonly events: Counter<'result'>;
  private counts = { applied: 0, deadLettered: 0 };
  private readonly caughtUpListeners: (() => void)[] = [];
  /** Set once start() knows where the projection begins (restored or empty): from then on its state is worth saving. */
  private started = false;

  private readonly options: ProjectorOptions<E, Ev, M>;
  /** `<name> projection`, the start of its log messages. */
  private readonly label: string;
  private readonly noun: string;

  constructor(options: ProjectorOptions<E, Ev, M>) {
    this.options = options;
    this.projection = options.projection;
    this.label = `${options.name} projection`;
    this.noun = options.entities ?? 'entities';
    const metric = metricPrefix(options.name);
    this.events = new Counter({
      name: `${metric}_projection_events_total`,
      help: `Records the ${this.label} consumed, by result: applied, duplicate, replayed or dead_lettered.`,
      labelNames: ['result'],
      registers: [options.registry],
    });
    const partitions = () => this.status().partitions;
    new Gauge({
      name: `${metric}_projection_lag`,
      help: 'Records on the partition that the projection has not applied yet (as of the last fetch).',
      labelNames: ['partition'],
      registers: [options.registry],
      collect() {
        for (const p of partitions()) if (p.lag !== null) this.set({ partition: String(p.partition) }, p.lag);
      },
    });
  }

  /** Starts consuming; resolves once the consumer runs (not once caught up: see `whenCaughtUp`). */
  async start(): Promise<void> {
    const { logger, topic } = this.options;
    this.catchUpTarget = await this.retrying('read the end offsets', () => this.options.log.endOffsets(topic));
    this.markTargetKnown();
    this.notePartitions(this.catchUpTarget.length);
    await this.loadDeadLettered();
    logger.info({ topic, endOffsets: this.catchUpTarget, events: sum(this.catchUpTarget) }, `${this.label}: catching up`);
    const restored = await this.restore(this.catchUpTarget);
    this.started = true;
    this.options.sink?.started(this.projection.positionVector(this.partitionCount));
    this.checkCaughtUp();
    void this.reportProgress();
    await this.run(restored ? { kind: 'offsets', offsets: { ...restored.projection.positions } } : { kind: 'beginning' });
  }

  /**
   * The projector's state for a snapshot; undefined until start() has restored or decided to
   * rebuild (saving the empty state of a projector still starting would overwrite a good snapshot).
   * Synchronous and cheap (references only): the projection and its positions agree with each other.
   */
  exportState(): ProjectorState<E> | undefined {
    if (!this.started) return undefined;
    const partitions = Math.max(this.partitionCount, this.catchUpTarget.length);
    return { projection: this.projection.exportState(partitions), counters: { ...this.counts } };
  }

  private async restore(endOffsets: number[]): Promise<ProjectorState<E> | undefined> {
    const { logger, topic } = this.options;
    const state = await this.options.restore?.(endOffsets);
    if (!state) return undefined;
    this.projection.restoreState(state.projection);
    this.counts = { ...state.counters };
    this.notePartitions(state.projection.positions.length);
    const positions = state.projection.positions;
    const behind = endOffsets.reduce((total, end, partition) => total + Math.max(0, end - (positions[partition] ?? 0)), 0);
    logger.info(
      { topic, positions, endOffsets, [this.noun]: this.projection.size, events: behind },
      `${this.label}: restored a snapshot of ${this.projection.size} ${this.noun}; catching up from its positions (${behind} events behind)`,
    );
    return state;
  }

  /**
   * Where "now" begins for a new live subscriber: while the projection is rebuilding after a start,
   * the end offsets it saw at start (what it applies before them is history); undefined once caught up.
   */
  async liveFrom(): Promise<number[] | undefined> {
    if (this.caughtUp) return undefined;
    await this.targetKnown;
    return this.caughtUp ? undefined : [...this.catchUpTarget];
  }

  whenCaughtUp(): Promise<void> {
    return this.caughtUp ? Promise.resolve() : new Promise((resolve) => this.caughtUpListeners.push(resolve));
  }

  /** Resolves once the record at `position` is applied (or skipped); rejects after `timeoutMs`. */
  waitFor(position: RecordPosition, timeoutMs: number): Promise<void> {
    if (this.projection.position(position.partition) > position.offset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`the projection did not apply partition ${position.partition} offset ${position.offset} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  status(): ProjectorStatus {
    const seen = new Map((this.consumer?.progress() ?? []).map((p) => [p.partition, p.highWatermark]));
    const partitionCount = Math.max(this.catchUpTarget.length, ...[...seen.keys()].map((p) => p + 1));
    const partitions: PartitionLag[] = [];
    for (let partition = 0; partition < partitionCount; partition++) {
      const position = this.projection.position(partition);
      const highWatermark = Math.max(seen.get(partition) ?? -1, this.catchUpTarget[partition] ?? -1);
      partitions.push({
        partition,
        position,
        highWatermark: highWatermark < 0 ? null : highWatermark,
        lag: highWatermark < 0 ? null : Math.max(0, highWatermark - position),
      });
    }
    const lastFetchAt = this.consumer?.lastFetchAt() ?? null;
    const sinceLastFetchMs = lastFetchAt === null ? null : Date.now() - lastFetchAt;
    return {
      caughtUp: this.caughtUp,
      consuming: this.consumer !== undefined,
      sinceLastFetchMs,
      stale: this.consumer === undefined || (sinceLastFetchMs ?? 0) > (this.options.staleAfterMs ?? 5_000),
      entities: this.projection.size,
      applied: this.counts.applied,
      deadLettered: this.counts.deadLettered,
      partitions,
      totalLag: partitions.reduce((total, p) => total + (p.lag ?? 0), 0),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.consumer?.stop();
    this.consumer = undefined;
  }

  private async run(from: Parameters<EventLog['consume']>[0]['from']): Promise<void> {
    const consumer = await this.retrying('start the consumer', () =>
      this.options.log.consume({
        topic: this.options.topic,
        groupId: this.options.groupId,
        from,
        commit: false,
        handle: (records, batch) => this.handle(records, batch),
      }),
    );
    if (this.stopped) return consumer.stop();
    this.consumer = consumer;
    consumer.failed
      .catch(async (err: unknown) => {
        if (this.stopped || this.consumer !== consumer) return;
        this.consumer = undefined;
        this.options.logger.error({ err }, `${this.label}: consumer failed; restarting at the applied positions`);
        await consumer.stop().catch(() => undefined);
        await sleep(this.options.restartDelayMs ?? 1_000);
        if (this.stopped) return;
        const offsets = Object.fromEntries(this.status().partitions.map((p) => [p.partition, p.position]));
        await this.run({ kind: 'offsets', offsets });
      })
      .catch((err: unknown) => {
        if (!this.stopped) this.options.logger.error({ err }, `${this.label}: could not restart the consumer`);
      });
  }

  private async handle(records: LogRecord[], batch: BatchPosition): Promise<void> {
    for (const record of records) {
      const decoded = this.options.decode(record.value);
      if (!decoded.ok) {
        await this.deadLetter(record, decoded.reason);
        this.projection.skip(record);
        continue;
      }
      const result = this.projection.apply(record, decoded.event);
      if (result.kind === 'refused') {
        // Past the record only once it is dead-lettered (a snapshot must not skip it).
        await this.deadLetter(record, result.reason);
        this.projection.skip(record);
      } else {
        this.events.inc({ result: result.kind });
        if (result.kind === 'applied') {
          this.counts.applied++;
          this.notePartitions(record.partition + 1);
          // Before the waiters below are released: a subscriber hears of an event no later than the mutation returns.
          this.options.sink?.applied({
            partition: record.partition,
            offset: record.offset,
            event: decoded.event,
            entity: result.entity,
            positions: this.projection.positionVector(this.partitionCount),
          });
        }
      }
    }
    // Offsets without a record for consumers (transaction markers) count as seen.
    this.projection.skipTo(batch.partition, batch.nextOffset);
    this.notePartitions(batch.partition + 1);
    this.options.sink?.progressed(this.projection.positionVector(this.partitionCount));
    for (const waiter of this.waiters) {
      if (this.projection.position(waiter.position.partition) > waiter.position.offset) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
    this.checkCaughtUp();
  }

  private notePartitions(count: number): void {
    if (count <= this.partitionCount) return;
    this.partitionCount = count;
    this.options.sink?.partitionsSeen(count);
  }

  private async deadLetter(record: LogRecord, reason: string): Promise<void> {
    this.events.inc({ result: 'dead_lettered' });
    this.counts.deadLettered++;
    const source = `${record.topic}/${record.partition}/${record.offset}`;
    if (this.deadLettered.has(source)) return; // sent by an earlier run
    this.options.logger.warn(
      { topic: record.topic, partition: record.partition, offset: record.offset, reason },
      `${this.label}: record dead-lettered`,
    );
    // Retried in place until it is sent: the projection does not move past a record that is
    // neither applied nor dead-lettered (nothing silently dropped), and says why it waits.
    await this.retrying('publish to the dead-letter topic', () =>
      this.options.log.publish(this.options.deadLetterTopic, [
        {
          key: record.key ?? '',
          value: record.value,
          headers: {
            ...record.headers,
            [DLQ_HEADERS.reason]: reason,
            [DLQ_HEADERS.topic]: record.topic,
            [DLQ_HEADERS.partition]: String(record.partition),
            [DLQ_HEADERS.offset]: String(record.offset),
          },
        },
      ]),
    );
    this.deadLettered.add(source);
  }

  /** Learns which source records earlier runs already dead-lettered, so a rebuild does not send them twice. */
  private async loadDeadLettered(): Promise<void> {
    const { log, deadLetterTopic, groupId } = this.options;
    const ends = await this.retrying('read the dead-letter end offsets', () => log.endOffsets(deadLetterTopic));
    if (sum(ends) === 0) return;
    const seen = async (scan: ConsumerHandle) => scan.progress().every((p) => p.position >= (ends[p.partition] ?? 0));
    const scan = await this.retrying('read the dead-letter topic', () =>
      log.consume({
        topic: deadLetterTopic,
        groupId: `${groupId}-dlq-scan`,
        from: { kind: 'beginning' },
        commit: false,
        handle: async (records) => {
          for (const r of records)
            this.deadLettered.add(`${r.headers[DLQ_HEADERS.topic]}/${r.headers[DLQ_HEADERS.partition]}/${r.headers[DLQ_HEADERS.offset]}`);
        },
      }),
    );
    // Bounded: records deleted by retention never arrive; at worst a record is dead-lettered twice.
    const deadline = Date.now() + DLQ_SCAN_LIMIT_MS;
    while (!(await seen(scan)) && Date.now() < deadline && !this.stopped) await sleep(50);
    await scan.stop();
  }

  private checkCaughtUp(): void {
    if (this.caughtUp || !this.catchUpTarget.every((end, partition) => this.projection.position(partition) >= end)) return;
    this.caughtUp = true;
    this.options.logger.info(
      { [this.noun]: this.projection.size, applied: this.counts.applied, deadLettered: this.counts.deadLettered },
      `${this.label}: caught up`,
    );
    for (const listener of this.caughtUpListeners.splice(0)) listener();
  }

  private async reportProgress(): Promise<void> {
    const interval = this.options.progressIntervalMs ?? 1_000;
    let last = { at: performance.now(), applied: this.counts.applied };
    while (!this.caughtUp && !this.stopped) {
      await sleep(interval);
      if (this.caughtUp || this.stopped) break;
      const now = { at: performance.now(), applied: this.counts.applied };
      const rate = Math.round(((now.applied - last.applied) * 1000) / (now.at - last.at));
      const { totalLag, partitions } = this.status();
      this.options.logger.info(
        { applied: now.applied, eventsPerSecond: rate, lag: totalLag, partitions },
        `${this.label}: catching up, ${now.applied} applied, ${rate} events/s, lag ${totalLag}`,
      );
      last = now;
    }
  }

  /** Retries a start-up step until it succeeds or the projector stops (the log may be down). */
  private async retrying<T>(what: string, step: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (err) {
        if (this.stopped) throw err;
        this.options.logger.warn({ err, attempt }, `${this.label}: could not ${what}; retrying`);
        await sleep(Math.min(5_000, 200 * attempt));
      }
    }
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** A projection's name as the start of a Prometheus metric name (`orders`, `stock_levels`). */
export const metricPrefix = (name: string) => name.replace(/[^A-Za-z0-9_]/g, '_');
