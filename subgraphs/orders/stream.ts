/**
 * The `orderEvents` subscription's streams: one async iterator per subscription, fed by the journal
 * (replay after a cursor, then live), filtered by customer and event type.
 *
 * Each stream buffers at most `bufferEvents` live events that its consumer has not taken yet. When
 * the consumer falls that far behind, the stream drops its buffer and ends with SUBSCRIBER_TOO_SLOW
 * naming the last cursor it delivered, so the client can resume from there: memory stays bounded
 * whatever a client does. (The replay is not counted: it is a snapshot of the bounded journal.)
 *
 * A stream ends with an error by yielding it as its last value, then finishing; the subscription
 * field's resolver throws it, so GraphQL sends it as an errors result (followed by `complete`), the
 * same shape as the errors raised when the subscription starts.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { ErrorCode, InterchangeError, badUserInput } from '../../lib/errors.ts';
import type { OrderEventType } from '../../services/events/orders.ts';
import { decodeCursor } from './cursor.ts';
import type { EventJournal, Following, JournalEntry } from './journal.ts';

export interface OrderEventFilter {
  /** Only this customer's orders. */
  customerId?: string | undefined;
  /** Only these event types; all when absent. Must not be empty. */
  types?: readonly OrderEventType[] | undefined;
  /** Resume after this cursor (replay the retained events it does not cover, then live). */
  after?: string | undefined;
}

/** What a stream yields: events, and at most one error as its last value. */
export type StreamItem = JournalEntry | InterchangeError;

export interface OrderEventStreamsOptions {
  journal: EventJournal;
  /** Most undelivered live events per subscription before it ends with SUBSCRIBER_TOO_SLOW. */
  bufferEvents: number;
  /** Where its metrics go: orders_subscriptions_active, orders_subscriptions_started_total. */
  registry?: Registry;
  /**
   * Where a subscription without `after` starts while the projection is still rebuilding after a
   * start (the end offsets seen at start), so it gets what happens from now on, not the history
   * being replayed; undefined once caught up. Rejects if the log cannot be reached in time.
   */
  liveFrom?: () => Promise<number[] | undefined>;
}

/** How long a subscription waits for the topic's shape before answering EVENT_LOG_UNAVAILABLE. */
const LOG_WAIT_MS = 10_000;

/** Opens subscription streams over one journal, and counts them. */
export class OrderEventStreams {
  private readonly active: Gauge | undefined;
  private readonly started: Counter | undefined;
  private readonly ended: Counter<'reason'> | undefined;

  private readonly options: OrderEventStreamsOptions;

  constructor(options: OrderEventStreamsOptions) {
    this.options = options;
    if (!Number.isInteger(options.bufferEvents) || options.bufferEvents < 1) {
      throw new RangeError(`OrderEventStreams: bufferEvents must be a positive integer, got ${options.bufferEvents}`);
    }
    const registers = options.registry ? [options.registry] : [];
    if (options.registry) {
      this.active = new Gauge({ name: 'orders_subscriptions_active', help: 'orderEvents subscriptions open now.', registers });
      this.started = new Counter({
        name: 'orders_subscriptions_started_total',
        help: 'orderEvents subscriptions started (after their arguments were accepted).',
        registers,
      });
      this.ended = new Counter({
        name: 'orders_subscriptions_ended_total',
        help: 'orderEvents subscriptions ended, by reason: returned (the client completed or went away) or too_slow.',
        labelNames: ['reason'],
        registers,
      });
      const journal = options.journal;
      new Gauge({
        name: 'orders_journal_events',
        help: 'Applied order events retained for subscriptions to resume from.',
        registers,
        collect() {
          this.set(journal.size);
        },
      });
    }
  }

  /**
   * Opens a stream. Rejects with BAD_USER_INPUT (empty `types`), INVALID_CURSOR or CURSOR_EXPIRED.
   * With `after`, waits until the topic's partition count is known (the projector's first step).
   */
  async open(filter: OrderEventFilter): Promise<AsyncIterableIterator<StreamItem>> {
    const { customerId, types, after } = filter;
    if (types && types.length === 0) throw badUserInput('`types` must name at least one event type, or be left out for all', 'types');
    const vector = after === undefined ? await this.liveFrom() : decodeCursor(after);
    if (vector && this.options.journal.partitions === 0) {
      await withDeadline(this.options.journal.whenPartitionsKnown(), LOG_WAIT_MS);
    }
    const wanted = types && new Set(types);
    const stream = new OrderEventStream(this.options.bufferEvents, (reason) => {
      this.active?.dec();
      this.ended?.inc({ reason });
    });
    // Snapshot and live registration happen together inside follow(): no gap, no repeat.
    stream.attach(
      this.options.journal.follow({
        after: vector,
        matches: (e) => (customerId === undefined || e.order.customerId === customerId) && (!wanted || wanted.has(e.type)),
        listener: (e) => stream.push(e),
      }),
    );
    this.active?.inc();
    this.started?.inc();
    return stream;
  }

  private async liveFrom(): Promise<number[] | undefined> {
    return this.options.liveFrom ? withDeadline(this.options.liveFrom(), LOG_WAIT_MS) : undefined;
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new InterchangeError(ErrorCode.EVENT_LOG_UNAVAILABLE, `the event log did not answer within ${ms} ms; try again`)),
      ms,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

type EndReason = 'returned' | 'too_slow';

class OrderEventStream implements AsyncIterableIterator<StreamItem> {
  private following: Following | undefined;
  private replay: JournalEntry[] = [];
  private replayIndex = 0;
  /** Live events not taken yet: queue[queueHead..]. */
  private queue: (JournalEntry | undefined)[] = [];
  private queueHead = 0;
  private readonly takers: ((result: IteratorResult<StreamItem>) => void)[] = [];
  private state: 'open' | 'failed' | 'done' = 'open';
  private failure: InterchangeError | undefined;
  private lastCursor: string | null = null;

  private readonly bufferEvents: number;
  private readonly onEnd: (reason: EndReason) => void;

  constructor(bufferEvents: number, onEnd: (reason: EndReason) => void) {
    this.bufferEvents = bufferEvents;
    this.onEnd = onEnd;
  }

  attach(following: Following): void {
    this.following = following;
    this.replay = following.replay;
    this.lastCursor = following.startCursor;
  }

  /** A live event from the journal (already filtered). */
  push(entry: JournalEntry): void {
    if (this.state !== 'open') return;
    const taker = this.takers.shift();
    if (taker) return taker(this.deliver(entry)); // a waiting taker means the replay and queue are empty
    if (this.queue.length - this.queueHead >= this.bufferEvents) return this.overflow();
    this.queue.push(entry);
  }

  next(): Promise<IteratorResult<StreamItem>> {
    if (this.replayIndex < this.replay.length) return Promise.resolve(this.deliver(this.replay[this.replayIndex++]!));
    if (this.queueHead < this.queue.length) {
      const entry = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined;
      if (this.queueHead === this.queue.length || (this.queueHead > 1_024 && this.queueHead * 2 > this.queue.length)) {
        this.queue = this.queue.slice(this.queueHead);
        this.queueHead = 0;
      }
      return Promise.resolve(this.deliver(entry));
    }
    if (this.state === 'failed') {
      this.state = 'done';
      return Promise.resolve({ done: false, value: this.failure! });
    }
    if (this.state === 'done') return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => this.takers.push(resolve));
  }

  /** The client completed, or its socket closed: stop listening and release everything. */
  return(): Promise<IteratorResult<StreamItem>> {
    if (this.state === 'open') this.release('returned');
    this.state = 'done';
    this.failure = undefined;
    for (const taker of this.takers.splice(0)) taker({ done: true, value: undefined });
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<StreamItem> {
    return this;
  }

  private deliver(entry: JournalEntry): IteratorResult<StreamItem> {
    this.lastCursor = entry.cursor;
    return { done: false, value: entry };
  }

  private overflow(): void {
    this.release('too_slow');
    this.state = 'failed';
    const resume = this.lastCursor === null ? 'subscribe again' : `resume with after: "${this.lastCursor}"`;
    this.failure = new InterchangeError(
      ErrorCode.SUBSCRIBER_TOO_SLOW,
      `the subscriber fell ${this.bufferEvents} events behind and was ended; ${resume}`,
      { lastDeliveredCursor: this.lastCursor, bufferEvents: this.bufferEvents },
    );
  }

  /** Stops live delivery and drops what was not delivered. */
  private release(reason: EndReason): void {
    this.following?.stop();
    this.replay = [];
    this.replayIndex = 0;
    this.queue = [];
    this.queueHead = 0;
    this.onEnd(reason);
  }
}
