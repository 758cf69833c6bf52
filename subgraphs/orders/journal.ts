/**
 * The journal of applied order events: the newest `maxEvents` events the projection applied, in
 * the order it applied them, each with the projection's position vector right after it. It feeds
 * the `orderEvents` subscription: a subscriber replays what it missed from here and then follows
 * live events, and hears how far the projection has read (its positions only ever grow).
 *
 * - Only applied events enter it (the projector tells it right after applying one, before any
 *   mutation waiting for that event returns), so a subscriber never sees an event the projection
 *   does not have yet: read-your-events.
 * - Bounded: when full it drops its oldest event and remembers, per partition, below which offset
 *   events are gone. A cursor that needs a dropped event is expired (CURSOR_EXPIRED).
 * - `follow` takes the replay snapshot and registers the live listener in one synchronous step, so
 *   nothing falls into a gap between them and nothing arrives twice.
 */
import { ErrorCode, InterchangeError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { OrderEventType } from '../../services/events/orders.ts';
import { maxVector, type PositionVector } from './cursor.ts';
import type { Order } from './projection.ts';
import type { AppliedEvent, AppliedEventSink } from './projector.ts';

export interface JournalEntry {
  /** Order of application in this process, from 1. */
  readonly seq: number;
  readonly partition: number;
  readonly offset: number;
  /** The event's own id. */
  readonly id: string;
  readonly type: OrderEventType;
  readonly occurredAt: string;
  /** The order as of this event (the projection's immutable version of it). */
  readonly order: Order;
  /**
   * The projection's next offset on every partition right after this event was applied (plain
   * JSON, like the whole entry). Not a stream's position: a stream takes the pointwise max of its
   * start and this (stream.ts), since a rebuilt projection interleaves partitions differently.
   */
  readonly positions: readonly number[];
}

export interface JournalOptions {
  /** Most events retained; the oldest is dropped beyond it. */
  maxEvents: number;
  /** Where a failing listener is reported (a listener must never stop the projector). */
  logger?: Logger;
}

export interface FollowOptions {
  /** Deliver only events not covered by this vector (offset >= after[partition]); all new events when absent. */
  after?: PositionVector;
  /** Which events the follower wants, for the replay and live alike. */
  matches(entry: JournalEntry): boolean;
  /** Called synchronously with each matching live event, in application order. */
  listener(entry: JournalEntry): void;
  /** Called synchronously after the projection's positions moved (a handled batch), after the batch's events. */
  progressed?(): void;
}

export interface Following {
  /** Retained matching events after `after`, oldest first (empty without `after`). */
  replay: JournalEntry[];
  /** The projection's positions when following began: every event after them arrives live. */
  positions: number[];
  /** Stops live delivery; idempotent. */
  stop(): void;
}

export interface JournalStatus {
  events: number;
  maxEvents: number;
  /** The oldest event retained, or null when none is. */
  oldest: { partition: number; offset: number } | null;
  /** Per partition: applied events below this offset were dropped; a cursor below it is expired. */
  retainedFrom: number[];
  followers: number;
  /** Subscriptions waiting for the topic's partition count (the log has not been reached yet). */
  waiting: number;
}

export class EventJournal implements AppliedEventSink {
  /** Retained entries are entries[head..]; the slots before head are released lazily. */
  private entries: (JournalEntry | undefined)[] = [];
  private head = 0;
  private seq = 0;
  private partitionCount = 0;
  private readonly retainedFromOffsets: number[] = [];
  private readonly listeners = new Set<Pick<FollowOptions, 'listener' | 'progressed'>>();
  /** Pointwise max of every position vector heard (applied events and handled batches). */
  private readonly current: number[] = [];
  /** Who waits for the partition count: each removes itself when it gives up, so none piles up while the log is away. */
  private readonly partitionWaiters = new Set<() => void>();

  private readonly options: JournalOptions;

  constructor(options: JournalOptions) {
    this.options = options;
    if (!Number.isInteger(options.maxEvents) || options.maxEvents < 1)
      throw new RangeError(`EventJournal: maxEvents must be a positive integer, got ${options.maxEvents}`);
  }

  /** The topic's partition count, as far as known (0 until the projector has read it). */
  get partitions(): number {
    return this.partitionCount;
  }

  /** How far the projection has read: next offset per partition (a live view; do not modify). */
  get positions(): readonly number[] {
    return this.current;
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  /**
   * Resolves once the partition count is known (cursors can be checked against it). When `signal`
   * aborts first, rejects with its reason and stops waiting: nothing of the call stays behind.
   */
  whenPartitionsKnown(signal?: AbortSignal): Promise<void> {
    if (this.partitionCount > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const known = () => {
        signal?.removeEventListener('abort', aborted);
        resolve();
      };
      const aborted = () => {
        this.partitionWaiters.delete(known);
        reject(signal!.reason as Error);
      };
      this.partitionWaiters.add(known);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }

  partitionsSeen(count: number): void {
    if (count <= this.partitionCount) return;
    while (this.retainedFromOffsets.length < count) this.retainedFromOffsets.push(0);
    while (this.current.length < count) this.current.push(0);
    this.partitionCount = count;
    const waiters = [...this.partitionWaiters];
    this.partitionWaiters.clear();
    for (const resolve of waiters) resolve();
  }

  progressed(positions: number[]): void {
    this.partitionsSeen(positions.length);
    this.advance(positions);
    for (const follower of this.listeners) this.tell(() => follower.progressed?.());
  }

  applied({ partition, offset, event, order, positions }: AppliedEvent): void {
    this.partitionsSeen(Math.max(positions.length, partition + 1));
    const entry: JournalEntry = {
      seq: ++this.seq,
      partition,
      offset,
      id: event.id,
      type: event.type,
      occurredAt: event.occurredAt,
      order,
      positions: [...positions],
    };
    this.advance(positions);
    this.entries.push(entry);
    while (this.size > this.options.maxEvents) this.dropOldest();
    for (const follower of this.listeners) this.tell(() => follower.listener(entry));
  }

  /**
   * Starts following: checks `after` (INVALID_CURSOR when it names more partitions than the topic
   * has, CURSOR_EXPIRED when it needs dropped events), snapshots the retained events after it and
   * registers the listener, all in one synchronous step.
   */
  follow({ after, matches, listener, progressed }: FollowOptions): Following {
    if (after) this.check(after);
    const covered = (e: JournalEntry) => e.offset < (after?.[e.partition] ?? 0);
    const replay: JournalEntry[] = [];
    if (after) {
      for (let i = this.head; i < this.entries.length; i++) {
        const entry = this.entries[i]!;
        if (!covered(entry) && matches(entry)) replay.push(entry);
      }
    }
    const replayedThrough = this.seq;
    const live = (entry: JournalEntry) => {
      // Nothing can arrive here that the snapshot holds (same tick), but a repeat would be a duplicate.
      if (entry.seq <= replayedThrough || covered(entry) || !matches(entry)) return;
      listener(entry);
    };
    const follower = { listener: live, progressed };
    this.listeners.add(follower);
    return { replay, positions: [...this.current], stop: () => void this.listeners.delete(follower) };
  }

  /** Throws INVALID_CURSOR (naming `argument`) when `vector` names more partitions than the topic has. */
  checkPartitions(vector: PositionVector, argument: string): void {
    if (vector.length > this.partitionCount) {
      throw new InterchangeError(
        ErrorCode.INVALID_CURSOR,
        `\`${argument}\` is not a valid cursor: it names ${vector.length} partitions, the topic has ${this.partitionCount}`,
        { argument },
      );
    }
  }

  status(): JournalStatus {
    const oldest = this.entries[this.head];
    return {
      events: this.size,
      maxEvents: this.options.maxEvents,
      oldest: oldest ? { partition: oldest.partition, offset: oldest.offset } : null,
      retainedFrom: [...this.retainedFromOffsets],
      followers: this.listeners.size,
      waiting: this.partitionWaiters.size,
    };
  }

  private advance(positions: readonly number[]): void {
    const next = maxVector(this.current, positions);
    for (let partition = 0; partition < next.length; partition++) this.current[partition] = next[partition]!;
  }

  /** A follower must never stop the projector: its failure is logged. */
  private tell(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.options.logger?.error({ err }, 'orders journal: a subscription listener failed');
    }
  }

  private check(after: PositionVector): void {
    this.checkPartitions(after, 'after');
    const expired = this.retainedFromOffsets.findIndex((from, partition) => (after[partition] ?? 0) < from);
    if (expired >= 0) {
      throw new InterchangeError(
        ErrorCode.CURSOR_EXPIRED,
        `\`after\` has expired: events after it are no longer retained (the newest ${this.options.maxEvents} are); ` +
          'query the current state and subscribe again without `after`',
        { argument: 'after' },
      );
    }
  }

  private dropOldest(): void {
    const oldest = this.entries[this.head]!;
    this.retainedFromOffsets[oldest.partition] = oldest.offset + 1;
    this.entries[this.head++] = undefined;
    // Compact once the released prefix outweighs what is retained: amortised O(1) per event.
    if (this.head > 1_024 && this.head > this.size) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  // --- Snapshots: the journal's state, exported and restored whole (snapshot.ts writes it to disk). ---

  /**
   * The journal's state for a snapshot: the retained entries as they are (plain JSON values, taken
   * verbatim), and what `restoreState` needs besides them. Cheap: entries are immutable, so this
   * copies references only, and the caller may serialise them later while the journal moves on.
   */
  exportState(): JournalState {
    return {
      seq: this.seq,
      partitions: this.partitionCount,
      retainedFrom: [...this.retainedFromOffsets],
      entries: this.entries.slice(this.head) as JournalEntry[],
    };
  }

  /**
   * Replaces the journal's content with an exported state (before the projector resumes from the
   * positions of the same snapshot). Entries are taken as they are: the newest `maxEvents` are kept,
   * older ones count as dropped. Throws a TypeError on a state that is not one (the caller then
   * rebuilds from the beginning).
   */
  restoreState(state: JournalState): void {
    const { seq, partitions, retainedFrom, entries } = state ?? ({} as JournalState);
    const offsets = (value: unknown): value is number[] =>
      Array.isArray(value) && value.every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
    if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(partitions) || !offsets(retainedFrom) || !Array.isArray(entries))
      throw new TypeError('EventJournal.restoreState: not a journal state');
    this.entries = [...entries];
    this.head = 0;
    this.seq = seq;
    this.retainedFromOffsets.splice(0, this.retainedFromOffsets.length, ...retainedFrom);
    this.partitionCount = 0;
    this.partitionsSeen(Math.max(partitions, retainedFrom.length));
    while (this.size > this.options.maxEvents) this.dropOldest();
  }
}

/** What `EventJournal.exportState` returns and `restoreState` takes; JSON-serialisable. */
export interface JournalState {
  /** The last sequence number given out. */
  seq: number;
  partitions: number;
  /** Per partition: applied events below this offset were dropped. */
  retainedFrom: number[];
  /** The retained entries, oldest first, verbatim. */
  entries: readonly JournalEntry[];
}
