/**
 * A resumable subscription's streams (`orderEvents` for orders): one async iterator per subscription,
 * fed by the journal (replay after a position, then live), filtered by event type and whatever else
 * the subgraph asks (`matches`: the orders' customer). It serves the
 * resumable-stream protocol (schema/resumable.md) through the kit's items (kit/resumable.ts).
 *
 * Positions: a stream's position is its own, and monotone: the pointwise max of its start vector
 * (`after`, or where the projection stood when it opened live) and the projection's positions
 * after each event or handled batch it has seen, capped at a bounded replay's end. An event's
 * `cursor` is the stream's position right after it. A rebuilt projection interleaves partitions
 * differently from the one that issued a client's position; the max keeps every position a client
 * sees at or above the one it resumed from, so resuming again never repeats an event.
 *
 * Checkpoints (only for a subscriber that speaks the protocol: `checkpoints`): the start position
 * as soon as the stream is open; the position whenever it moved without an event (filtered events,
 * skipped records), at most every `checkpointIntervalMs`; a heartbeat with the projection's lag
 * after `heartbeatMs` without anything sent.
 *
 * Bounded replay (`until`): only the matching events with after[p] <= offset < until[p] (none on a
 * partition `until` does not name). Once the projection has read up to `until` on every partition
 * and every such event was delivered, the stream sends a last checkpoint with its final position,
 * max(after, until) pointwise, and completes; it never waits for the projection to reach `after`
 * where `after` is ahead of `until` (a replica that is behind). The final position is encoded in
 * `until`'s form (no trailing zero entries beyond the partitions `until` names), so it is exactly
 * `until` when `after` was nowhere ahead of it: the gateway compares the strings.
 *
 * Each stream buffers at most `bufferEvents` live events that its consumer has not taken yet. When
 * the consumer falls that far behind, the stream drops its buffer and ends with SUBSCRIBER_TOO_SLOW
 * naming the last position it delivered, so the client can resume from there: memory stays bounded
 * whatever a client does. (The replay is not counted: it is a snapshot of the bounded journal.)
 *
 * A stream ends with an error by yielding it as its last value (an event item carrying the last
 * position delivered), then finishing; the subscription field's resolver throws it, so GraphQL
 * sends it as an errors result (followed by `complete`), the same shape as the errors raised when
 * the subscription starts.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { ErrorCode, InterchangeError, badUserInput } from '../../../lib/errors.ts';
import type { StreamLag } from '../../../lib/resumable.ts';
import { resumableCheckpoint, resumableEvent, type ResumableItem } from '../resumable.ts';
import { decodeCursor, encodeCursor, maxVector, minVector, reached, trimmed, type PositionVector } from './cursor.ts';
import type { EventJournal, Following, JournalEntry, JournalEvent } from './journal.ts';
import { metricPrefix } from './projector.ts';

export interface EventFilter<E, Ev extends JournalEvent = JournalEvent> {
  /** Only the events this says yes to (of one customer, say); all when absent. */
  matches?: ((entry: JournalEntry<E, Ev>) => boolean) | undefined;
  /** Only these event types; all when absent. Must not be empty. */
  types?: readonly Ev['type'][] | undefined;
  /** Resume after this position (replay the retained events it does not cover, then live); live when absent. */
  after?: string | undefined;
  /** A bounded replay: only events below this position; complete once the projection has read up to it. */
  until?: string | undefined;
  /** Send checkpoints (the subscriber reads `extensions.resumable`); events only when false (the default). */
  checkpoints?: boolean | undefined;
}

/** An event as a stream delivers it: the journal entry, with the stream's position right after it as its cursor. */
export type StreamedEvent<E, Ev extends JournalEvent = JournalEvent> = JournalEntry<E, Ev> & { readonly cursor: string };

/** What a stream yields: events and checkpoints, and at most one error (as an event) as its last value. */
export type StreamItem<E, Ev extends JournalEvent = JournalEvent> = ResumableItem<StreamedEvent<E, Ev> | InterchangeError>;

export interface EventStreamsOptions<E, Ev extends JournalEvent = JournalEvent> {
  /**
   * Names the streams in metrics (`<name>_subscriptions_active` ...) and their help: `name` the
   * projection (`orders`), `field` the subscription field (`orderEvents`), `events` what the events
   * are called (`order events`).
   */
  names: { name: string; field: string; events: string };
  journal: EventJournal<E, Ev>;
  /** Most undelivered live events per subscription before it ends with SUBSCRIBER_TOO_SLOW. */
  bufferEvents: number;
  /** Where its metrics go: <name>_subscriptions_active, <name>_subscriptions_started_total, <name>_subscriptions_ended_total, <name>_journal_events. */
  registry?: Registry;
  /**
   * Where a subscription without `after` starts while the projection is still rebuilding after a
   * start (the end offsets seen at start), so it gets what happens from now on, not the history
   * being replayed; undefined once caught up. Rejects if the log cannot be reached in time.
   */
  liveFrom?: () => Promise<number[] | undefined>;
  /**
   * The log's end offsets now (asked of the log, not the projection), to refuse an `after` ahead of
   * them; without it such a cursor waits for events that may never come.
   */
  logEnd?: () => Promise<number[]>;
  /** How far the projection is behind the log, carried by checkpoints; none when absent. */
  lag?: () => StreamLag;
  /** Least time between two checkpoints that report a moved position, in ms. Default 250. */
  checkpointIntervalMs?: number;
  /** Longest time a checkpointing stream stays silent: then it sends a heartbeat checkpoint, in ms. Default 5000. */
  heartbeatMs?: number;
  /**
   * How long opening a subscription waits for the projector to start (the topic's shape known, a
   * snapshot loaded) before answering EVENT_LOG_UNAVAILABLE, in ms. Default 10000.
   */
  logWaitMs?: number;
}

/** Opens subscription streams over one journal, and counts them. */
export class EventStreams<E, Ev extends JournalEvent = JournalEvent> {
  private readonly active: Gauge | undefined;
  private readonly started: Counter | undefined;
  private readonly ended: Counter<'reason'> | undefined;

  private readonly options: EventStreamsOptions<E, Ev>;

  constructor(options: EventStreamsOptions<E, Ev>) {
    this.options = options;
    if (!Number.isInteger(options.bufferEvents) || options.bufferEvents < 1) {
      throw new RangeError(`EventStreams: bufferEvents must be a positive integer, got ${options.bufferEvents}`);
    }
    const registers = options.registry ? [options.registry] : [];
    const { field } = options.names;
    const metric = metricPrefix(options.names.name);
    if (options.registry) {
      this.active = new Gauge({ name: `${metric}_subscriptions_active`, help: `${field} subscriptions open now.`, registers });
      this.started = new Counter({
        name: `${metric}_subscriptions_started_total`,
        help: `${field} subscriptions started (after their arguments were accepted).`,
        registers,
      });
      this.ended = new Counter({
        name: `${metric}_subscriptions_ended_total`,
        help:
          `${field} subscriptions ended, by reason: returned (the client completed or went away), too_slow, ` +
          'or completed (a bounded replay reached its end).',
        labelNames: ['reason'],
        registers,
      });
      const journal = options.journal;
      new Gauge({
        name: `${metric}_journal_events`,
        help: `Applied ${options.names.events} retained for subscriptions to resume from.`,
        registers,
        collect() {
          this.set(journal.size);
        },
      });
    }
  }

  /**
   * Opens a stream. Rejects with BAD_USER_INPUT (empty `types`), INVALID_CURSOR (a position this
   * API did not issue, naming more partitions than the topic has, or ahead of the log's end), CURSOR_EXPIRED (`after`
   * needs events no longer retained) or EVENT_LOG_UNAVAILABLE (the projector has not started
   * within `logWaitMs`: it has not reached the log yet, or is still loading its snapshot).
   */
  async open(filter: EventFilter<E, Ev>): Promise<AsyncIterableIterator<StreamItem<E, Ev>>> {
    const { matches, types, after, until } = filter;
    const { journal } = this.options;
    if (types && types.length === 0) throw badUserInput('`types` must name at least one event type, or be left out for all', 'types');
    const untilVector = until === undefined ? undefined : decodeCursor(until, 'until');
    const afterVector = after === undefined ? await this.liveFrom() : decodeCursor(after);
    // Not before the projector has started: a snapshot still loading would replace the journal under this stream.
    if (!journal.ready) await withDeadline((signal) => journal.whenReady(signal), this.logWaitMs);
    if (untilVector) journal.checkPartitions(untilVector, 'until');
    if (after !== undefined && afterVector && !reached(journal.positions, afterVector)) {
      journal.checkPartitions(afterVector, 'after');
      await this.checkNotAhead(afterVector);
    }
    const wanted = types && new Set<string>(types);
    const stream = new EventStream<E, Ev>({
      ...this.options,
      checkpoints: filter.checkpoints ?? false,
      until: untilVector,
      onEnd: (reason) => {
        this.active?.dec();
        this.ended?.inc({ reason });
      },
    });
    // Snapshot and live registration happen together inside follow(): no gap, no repeat.
    const following = journal.follow({
      after: afterVector,
      matches: (e) =>
        (!matches || matches(e)) && (!wanted || wanted.has(e.type)) && (!untilVector || e.offset < (untilVector[e.partition] ?? 0)),
      listener: (e) => stream.push(e),
      progressed: () => stream.progressed(),
    });
    // Padded to the topic's partitions: a start position names every partition.
    stream.attach(
      following,
      maxVector(
        afterVector ?? following.positions,
        following.positions.map(() => 0),
      ),
    );
    this.active?.inc();
    this.started?.inc();
    return stream;
  }

  /**
   * An `after` this projection has not reached may still be good: issued by another replica, or
   * by this one before a restart, while this projection is behind. Only the log's end offsets say
   * that it is ahead of everything there is (a cursor of another topic, or of a recreated one).
   */
  private async checkNotAhead(after: PositionVector): Promise<void> {
    const { logEnd } = this.options;
    if (!logEnd) return;
    const end = await withDeadline(() => logEnd(), this.logWaitMs);
    if (!reached(end, after)) {
      throw new InterchangeError(ErrorCode.INVALID_CURSOR, '`after` is ahead of the event log: it names events that do not exist', {
        argument: 'after',
      });
    }
  }

  private async liveFrom(): Promise<number[] | undefined> {
    const { liveFrom } = this.options;
    return liveFrom ? withDeadline(() => liveFrom(), this.logWaitMs) : undefined;
  }

  private get logWaitMs(): number {
    return this.options.logWaitMs ?? 10_000;
  }
}

/**
 * Runs `start` and rejects with EVENT_LOG_UNAVAILABLE when it has not settled within `ms`; the
 * signal it gets aborts (with that error) at the deadline, so it can stop waiting too.
 */
function withDeadline<T>(start: (signal: AbortSignal) => Promise<T>, ms: number): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(new InterchangeError(ErrorCode.EVENT_LOG_UNAVAILABLE, `the event log did not answer within ${ms} ms; try again`)),
    ms,
  );
  const deadline = new Promise<never>((_, reject) =>
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), { once: true }),
  );
  return Promise.race([start(controller.signal), deadline]).finally(() => clearTimeout(timer));
}

type EndReason = 'returned' | 'too_slow' | 'completed';

interface StreamSettings<E, Ev extends JournalEvent> {
  journal: EventJournal<E, Ev>;
  bufferEvents: number;
  checkpoints: boolean;
  /** A bounded replay's `until`. */
  until: PositionVector | undefined;
  lag?: (() => StreamLag) | undefined;
  checkpointIntervalMs?: number | undefined;
  heartbeatMs?: number | undefined;
  onEnd(reason: EndReason): void;
}

class EventStream<E, Ev extends JournalEvent> implements AsyncIterableIterator<StreamItem<E, Ev>> {
  private following: Following<JournalEntry<E, Ev>> | undefined;
  private start: PositionVector = [];
  /**
   * A bounded replay's end: pointwise max(start, until), on every partition (`start` names them
   * all). Where the client's position is ahead of `until` it stays; a partition `until` does not
   * name keeps the start position: nothing is delivered there, so nothing is claimed.
   */
  private bound: PositionVector | undefined;
  private replay: JournalEntry<E, Ev>[] = [];
  private replayIndex = 0;
  /** Live events not taken yet: queue[queueHead..]. */
  private queue: (JournalEntry<E, Ev> | undefined)[] = [];
  private queueHead = 0;
  private readonly takers: ((result: IteratorResult<StreamItem<E, Ev>>) => void)[] = [];
  private state: 'open' | 'failed' | 'done' = 'open';
  private failure: InterchangeError | undefined;
  /** The last position delivered (the start position before anything was). */
  private lastPosition = '';
  private startSent = false;
  private lastCheckpointAt = 0;
  private lastSentAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;

  private readonly settings: StreamSettings<E, Ev>;
  private readonly checkpointIntervalMs: number;
  private readonly heartbeatMs: number;

  constructor(settings: StreamSettings<E, Ev>) {
    this.settings = settings;
    this.checkpointIntervalMs = settings.checkpointIntervalMs ?? 250;
    this.heartbeatMs = settings.heartbeatMs ?? 5_000;
  }

  attach(following: Following<JournalEntry<E, Ev>>, start: PositionVector): void {
    this.following = following;
    this.replay = following.replay;
    this.start = start;
    this.bound = this.settings.until && maxVector(start, this.settings.until);
    this.lastPosition = this.positionAfter(start);
    this.lastCheckpointAt = this.lastSentAt = Date.now();
  }

  /** A live event from the journal (already filtered). */
  push(entry: JournalEntry<E, Ev>): void {
    if (this.state !== 'open') return;
    const taker = this.takers.shift();
    if (taker) {
      taker(this.deliver(entry)); // a waiting taker means the replay and queue are empty
      return this.arm();
    }
    if (this.queue.length - this.queueHead >= this.settings.bufferEvents) return this.overflow();
    this.queue.push(entry);
  }

  /** The projection handled a batch: a waiting consumer may be owed a checkpoint, or a bounded replay its end. */
  progressed(): void {
    if (this.state === 'open' && (this.settings.checkpoints || this.bound)) this.wake();
  }

  next(): Promise<IteratorResult<StreamItem<E, Ev>>> {
    const result = this.take();
    if (result) return Promise.resolve(result);
    return new Promise((resolve) => {
      this.takers.push(resolve);
      this.arm();
    });
  }

  /** The client completed, or its socket closed: stop listening and release everything. */
  return(): Promise<IteratorResult<StreamItem<E, Ev>>> {
    if (this.state === 'open') this.release('returned');
    this.state = 'done';
    this.failure = undefined;
    for (const taker of this.takers.splice(0)) taker({ done: true, value: undefined });
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<StreamItem<E, Ev>> {
    return this;
  }

  /** What the consumer gets now, if anything: events first, then the end, then a due checkpoint. */
  private take(): IteratorResult<StreamItem<E, Ev>> | undefined {
    if (this.settings.checkpoints && !this.startSent && this.state !== 'done') {
      this.startSent = true;
      return this.checkpoint(this.lastPosition);
    }
    if (this.replayIndex < this.replay.length) return this.deliver(this.replay[this.replayIndex++]!);
    if (this.queueHead < this.queue.length) {
      const entry = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined;
      if (this.queueHead === this.queue.length || (this.queueHead > 1_024 && this.queueHead * 2 > this.queue.length)) {
        this.queue = this.queue.slice(this.queueHead);
        this.queueHead = 0;
      }
      return this.deliver(entry);
    }
    if (this.state === 'failed') {
      this.state = 'done';
      return { done: false, value: resumableEvent(this.failure!, this.lastPosition) };
    }
    if (this.state === 'done') return { done: true, value: undefined };
    // Every matching event seen so far was delivered: the projection's positions are this stream's too.
    const projection = this.settings.journal.positions;
    const position = this.positionAfter(projection);
    const { bound } = this;
    const { until } = this.settings;
    if (bound && until && reached(projection, until)) {
      // Every event below `until` was read and delivered: the position is now `bound` (see positionAfter).
      this.release('completed');
      this.state = 'done';
      if (this.settings.checkpoints) return this.checkpoint(encodeCursor(trimmed(bound, until.length)));
      return { done: true, value: undefined };
    }
    if (!this.settings.checkpoints) return undefined;
    const now = Date.now();
    if (position !== this.lastPosition && now - this.lastCheckpointAt >= this.checkpointIntervalMs) return this.checkpoint(position);
    if (now - this.lastSentAt >= this.heartbeatMs) return this.checkpoint(position);
    return undefined;
  }

  /** Hands a waiting consumer whatever is due now, and re-arms the timer for what is due later. */
  private wake(): void {
    if (this.takers.length === 0) return;
    const result = this.take();
    if (result) this.takers.shift()!(result);
    this.arm();
  }

  /**
   * While a consumer waits on a checkpointing stream: a timer for the next checkpoint or heartbeat
   * due. A timer already set for no later is kept (when it fires early, `wake` finds nothing due and
   * arms again): one timer per interval at most, not one per event.
   */
  private arm(): void {
    if (!this.settings.checkpoints || this.takers.length === 0 || this.state !== 'open') return;
    const moved = this.positionAfter(this.settings.journal.positions) !== this.lastPosition;
    const due = Math.min(this.lastSentAt + this.heartbeatMs, moved ? this.lastCheckpointAt + this.checkpointIntervalMs : Infinity);
    if (this.timer && this.timerDue <= due) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.wake();
      },
      Math.max(0, due - Date.now()),
    );
  }

  /** The stream's position once it has seen `vector`: max with its start, capped at a bounded replay's end. */
  private positionAfter(vector: PositionVector): string {
    const position = maxVector(this.start, vector);
    return encodeCursor(this.bound ? minVector(position, this.bound) : position);
  }

  private deliver(entry: JournalEntry<E, Ev>): IteratorResult<StreamItem<E, Ev>> {
    const position = this.positionAfter(entry.positions);
    this.lastPosition = position;
    this.lastSentAt = Date.now();
    return { done: false, value: resumableEvent({ ...entry, cursor: position }, position) };
  }

  private checkpoint(position: string): IteratorResult<StreamItem<E, Ev>> {
    this.lastPosition = position;
    this.lastCheckpointAt = this.lastSentAt = Date.now();
    return { done: false, value: resumableCheckpoint(position, this.settings.lag?.()) };
  }

  private overflow(): void {
    this.release('too_slow');
    this.state = 'failed';
    const { bufferEvents } = this.settings;
    this.failure = new InterchangeError(
      ErrorCode.SUBSCRIBER_TOO_SLOW,
      `the subscriber fell ${bufferEvents} events behind and was ended; resume with after: "${this.lastPosition}"`,
      { lastDeliveredCursor: this.lastPosition, bufferEvents },
    );
  }

  /** Stops live delivery and drops what was not delivered. */
  private release(reason: EndReason): void {
    this.following?.stop();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.replay = [];
    this.replayIndex = 0;
    this.queue = [];
    this.queueHead = 0;
    this.settings.onEnd(reason);
  }
}
