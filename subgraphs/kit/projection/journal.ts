/**
 * The journal of a projection's applied events: per partition, the newest events the projection applied
 * there (`maxEvents` split evenly over the topic's partitions), in the order it applied them, each
 * with the projection's position vector right after it. It feeds
 * a resumable subscription of the events (stream.ts; `orderEvents` for orders): a subscriber replays what it missed from here and then follows
 * live events, and hears how far the projection has read (its positions only ever grow).
 *
 * - Only applied events enter it (the projector tells it right after applying one, before any
 *   mutation waiting for that event returns), so a subscriber never sees an event the projection
 *   does not have yet: read-your-events.
 * - Bounded per partition: when a partition's share is full it drops that partition's oldest event
 *   and remembers below which offset its events are gone. A cursor that needs a dropped event is
 *   expired (CURSOR_EXPIRED). Whether a cursor has expired depends only on how many events of each
 *   partition came after it, never on how partitions interleaved: a projection rebuilt after a
 *   restart (which may apply one partition's recent events before another's history) keeps what
 *   the cursors issued before the restart need.
 * - Followable only once the projector has started (`started`): before, a snapshot may still
 *   replace its content, and a follower would replay from, and check its cursor against, a journal
 *   that is about to change under it (events missed without an error).
 * - `follow` takes the replay snapshot and registers the live listener in one synchronous step, so
 *   nothing falls into a gap between them and nothing arrives twice.
 */
import { ErrorCode, InterchangeError } from '../../../lib/errors.ts';
import type { Logger } from '../../../lib/logger.ts';
import { maxVector, type PositionVector } from './cursor.ts';
import type { AppliedEvent, AppliedEventSink } from './projector.ts';

/** What the journal reads of an event: its id, its type and, when it says, when it happened. */
export interface JournalEvent {
  readonly id: string;
  readonly type: string;
  readonly occurredAt?: string | undefined;
}

export interface JournalEntry<E, Ev extends JournalEvent = JournalEvent> {
  /** Order of application in this process, from 1. */
  readonly seq: number;
  readonly partition: number;
  readonly offset: number;
  /** The event's own id. */
  readonly id: string;
  readonly type: Ev['type'];
  readonly occurredAt: Ev['occurredAt'];
  /** The entity as of this event (the projection's immutable version of it). */
  readonly entity: E;
  /**
   * The projection's next offset on every partition right after this event was applied (plain
   * JSON, like the whole entry). Not a stream's position: a stream takes the pointwise max of its
   * start and this (stream.ts), since a rebuilt projection interleaves partitions differently.
   */
  readonly positions: readonly number[];
}

export interface JournalOptions {
  /**
   * Most events retained, split evenly over the topic's partitions: each partition keeps its newest
   * floor(maxEvents / partitions) events (at least one), and drops its oldest beyond that.
   */
  maxEvents: number;
  /** Where a failing listener is reported (a listener must never stop the projector). */
  logger?: Logger;
  /** Names the journal in its log messages (`<name> journal: ...`). Default: `projection`. */
  name?: string;
}

export interface FollowOptions<Entry> {
  /** Deliver only events not covered by this vector (offset >= after[partition]); all new events when absent. */
  after?: PositionVector;
  /** Which events the follower wants, for the replay and live alike. */
  matches(entry: Entry): boolean;
  /** Called synchronously with each matching live event, in application order. */
  listener(entry: Entry): void;
  /** Called synchronously after the projection's positions moved (a handled batch), after the batch's events. */
  progressed?(): void;
}

export interface Following<Entry> {
  /** Retained matching events after `after`, oldest first (empty without `after`). */
  replay: Entry[];
  /** The projection's positions when following began: every event after them arrives live. */
  positions: number[];
  /** Stops live delivery; idempotent. */
  stop(): void;
}

export interface JournalStatus {
  events: number;
  maxEvents: number;
  /** Most events retained per partition (maxEvents split over the partitions). */
  maxEventsPerPartition: number;
  /** The oldest event retained, or null when none is. */
  oldest: { partition: number; offset: number } | null;
  /** Per partition: applied events below this offset were dropped; a cursor below it is expired. */
  retainedFrom: number[];
  followers: number;
  /** Subscriptions waiting for the projector to start (the log has not been reached, or a snapshot is loading). */
  waiting: number;
}

export class EventJournal<E, Ev extends JournalEvent = JournalEvent> implements AppliedEventSink<E, Ev> {
  /** Retained entries, one queue per partition, each in application order. */
  private readonly retained: EntryQueue<JournalEntry<E, Ev>>[] = [];
  private retainedCount = 0;
  private seq = 0;
  private partitionCount = 0;
  private readonly retainedFromOffsets: number[] = [];
  private readonly listeners = new Set<Pick<FollowOptions<JournalEntry<E, Ev>>, 'listener' | 'progressed'>>();
  /** Pointwise max of every position vector heard (applied events and handled batches). */
  private readonly current: number[] = [];
  /** Set by `started`: the content is final (no snapshot replaces it), followers may begin. */
  private readyToFollow = false;
  /** Who waits for `started`: each removes itself when it gives up, so none piles up while the log is away. */
  private readonly readyWaiters = new Set<() => void>();

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
    return this.retainedCount;
  }

  /** Most events retained per partition: `maxEvents` split over the partitions, at least one. */
  get maxEventsPerPartition(): number {
    return Math.max(1, Math.floor(this.options.maxEvents / Math.max(1, this.partitionCount)));
  }

  /** True once the projector has started (`started`): the partition count is known and the content final. */
  get ready(): boolean {
    return this.readyToFollow;
  }

  /**
   * Resolves once the journal is `ready` (cursors can be checked against it and followed). When
   * `signal` aborts first, rejects with its reason and stops waiting: nothing of the call stays behind.
   */
  whenReady(signal?: AbortSignal): Promise<void> {
    if (this.readyToFollow) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const known = () => {
        signal?.removeEventListener('abort', aborted);
        resolve();
      };
      const aborted = () => {
        this.readyWaiters.delete(known);
        reject(signal!.reason as Error);
      };
      this.readyWaiters.add(known);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }

  partitionsSeen(count: number): void {
    if (count <= this.partitionCount) return;
    while (this.retainedFromOffsets.length < count) this.retainedFromOffsets.push(0);
    while (this.current.length < count) this.current.push(0);
    while (this.retained.length < count) this.retained.push(new EntryQueue());
    this.partitionCount = count;
    // More partitions, smaller shares.
    for (let partition = 0; partition < count; partition++) this.trim(partition);
  }

  started(positions: number[]): void {
    this.progressed(positions);
    this.readyToFollow = true;
    const waiters = [...this.readyWaiters];
    this.readyWaiters.clear();
    for (const resolve of waiters) resolve();
  }

  progressed(positions: number[]): void {
    this.partitionsSeen(positions.length);
    this.advance(positions);
    for (const follower of this.listeners) this.tell(() => follower.progressed?.());
  }

  applied({ partition, offset, event, entity, positions }: AppliedEvent<E, Ev>): void {
    this.partitionsSeen(Math.max(positions.length, partition + 1));
    const entry: JournalEntry<E, Ev> = {
      seq: ++this.seq,
      partition,
      offset,
      id: event.id,
      type: event.type,
      occurredAt: event.occurredAt,
      entity,
      positions: [...positions],
    };
    this.advance(positions);
    this.retained[partition]!.push(entry);
    this.retainedCount++;
    this.trim(partition);
    for (const follower of this.listeners) this.tell(() => follower.listener(entry));
  }

  /**
   * Starts following: checks `after` (INVALID_CURSOR when it names more partitions than the topic
   * has, CURSOR_EXPIRED when it needs dropped events), snapshots the retained events after it and
   * registers the listener, all in one synchronous step.
   */
  follow({ after, matches, listener, progressed }: FollowOptions<JournalEntry<E, Ev>>): Following<JournalEntry<E, Ev>> {
    if (after) this.check(after);
    const covered = (e: JournalEntry<E, Ev>) => e.offset < (after?.[e.partition] ?? 0);
    const replay = after ? inApplicationOrder(this.retained.map((queue) => queue.filter((e) => !covered(e) && matches(e)))) : [];
    const replayedThrough = this.seq;
    const live = (entry: JournalEntry<E, Ev>) => {
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
    const oldest = inApplicationOrder(this.retained.map((queue) => (queue.oldest ? [queue.oldest] : [])))[0];
    return {
      events: this.size,
      maxEvents: this.options.maxEvents,
      maxEventsPerPartition: this.maxEventsPerPartition,
      oldest: oldest ? { partition: oldest.partition, offset: oldest.offset } : null,
      retainedFrom: [...this.retainedFromOffsets],
      followers: this.listeners.size,
      waiting: this.readyWaiters.size,
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
      this.options.logger?.error({ err }, `${this.options.name ?? 'projection'} journal: a subscription listener failed`);
    }
  }

  private check(after: PositionVector): void {
    this.checkPartitions(after, 'after');
    const expired = this.retainedFromOffsets.findIndex((from, partition) => (after[partition] ?? 0) < from);
    if (expired >= 0) {
      throw new InterchangeError(
        ErrorCode.CURSOR_EXPIRED,
        `\`after\` has expired: events after it are no longer retained (the newest ${this.maxEventsPerPartition} of each partition are); ` +
          'query the current state and subscribe again without `after`',
        { argument: 'after' },
      );
    }
  }

  /** Drops a partition's oldest events beyond its share. */
  private trim(partition: number): void {
    const queue = this.retained[partition]!;
    while (queue.size > this.maxEventsPerPartition) {
      this.retainedFromOffsets[partition] = queue.shift().offset + 1;
      this.retainedCount--;
    }
  }

  // --- Snapshots: the journal's state, exported and restored whole (snapshot.ts writes it to disk). ---

  /**
   * The journal's state for a snapshot: the retained entries as they are (plain JSON values, taken
   * verbatim), and what `restoreState` needs besides them. Cheap: entries are immutable, so this
   * copies references only, and the caller may serialise them later while the journal moves on.
   */
  exportState(): JournalState<JournalEntry<E, Ev>> {
    return {
      seq: this.seq,
      partitions: this.partitionCount,
      retainedFrom: [...this.retainedFromOffsets],
      entries: inApplicationOrder(this.retained.map((queue) => queue.filter(() => true))),
    };
  }

  /**
   * Replaces the journal's content with an exported state (before the projector resumes from the
   * positions of the same snapshot). Entries are taken as they are: each partition keeps its newest
   * `maxEventsPerPartition`, older ones count as dropped. Throws a TypeError on a state that is not one (the caller then
   * rebuilds from the beginning). Throws an Error once anyone follows the journal, or once it is
   * ready: replacing the content under a follower would lose events without telling it.
   */
  restoreState(state: JournalState<JournalEntry<E, Ev>>): void {
    if (this.readyToFollow || this.listeners.size > 0)
      throw new Error('EventJournal.restoreState: the journal is already followed; a snapshot can only be restored before streams open');
    const { seq, partitions, retainedFrom, entries } = state ?? ({} as JournalState<JournalEntry<E, Ev>>);
    const offsets = (value: unknown): value is number[] =>
      Array.isArray(value) && value.every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
    if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(partitions) || !offsets(retainedFrom) || !Array.isArray(entries))
      throw new TypeError('EventJournal.restoreState: not a journal state');
    const partitioned = entries.map((entry: Partial<JournalEntry<E, Ev>> | null) => entry?.partition);
    if (!offsets(partitioned)) throw new TypeError('EventJournal.restoreState: not a journal state');
    this.seq = seq;
    this.retainedFromOffsets.splice(0, this.retainedFromOffsets.length, ...retainedFrom);
    this.retained.splice(0);
    this.retainedCount = 0;
    this.partitionCount = 0;
    this.partitionsSeen(
      partitioned.reduce((count, partition) => Math.max(count, partition + 1), Math.max(partitions, retainedFrom.length)),
    );
    for (const entry of entries) this.retained[entry.partition]!.push(entry);
    this.retainedCount = entries.length;
    for (let partition = 0; partition < this.partitionCount; partition++) this.trim(partition);
  }
}

/** One partition's retained entries, oldest first: a queue with amortised O(1) push and shift. */
class EntryQueue<Entry> {
  /** Retained entries are items[head..]; the slots before head are released lazily. */
  private items: (Entry | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  get oldest(): Entry | undefined {
    return this.items[this.head];
  }

  push(entry: Entry): void {
    this.items.push(entry);
  }

  /** Removes and returns the oldest entry; the queue must not be empty. */
  shift(): Entry {
    const oldest = this.items[this.head]!;
    this.items[this.head++] = undefined;
    // Compact once the released prefix outweighs what is retained: amortised O(1) per event.
    if (this.head > 1_024 && this.head > this.size) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return oldest;
  }

  /** The retained entries that pass `keep`, oldest first. */
  filter(keep: (entry: Entry) => boolean): Entry[] {
    const kept: Entry[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const entry = this.items[i]!;
      if (keep(entry)) kept.push(entry);
    }
    return kept;
  }
}

/** Merges per-partition lists (each in application order) into one, in application order (by `seq`). */
function inApplicationOrder<Entry extends { seq: number }>(lists: readonly Entry[][]): Entry[] {
  const heads = lists.map(() => 0);
  const merged: Entry[] = [];
  for (;;) {
    let next = -1;
    for (let i = 0; i < lists.length; i++) {
      const entry = lists[i]![heads[i]!];
      if (entry && (next < 0 || entry.seq < lists[next]![heads[next]!]!.seq)) next = i;
    }
    if (next < 0) return merged;
    merged.push(lists[next]![heads[next]!++]!);
  }
}

/** What `EventJournal.exportState` returns and `restoreState` takes; JSON-serialisable. */
export interface JournalState<Entry> {
  /** The last sequence number given out. */
  seq: number;
  partitions: number;
  /** Per partition: applied events below this offset were dropped. */
  retainedFrom: number[];
  /** The retained entries, oldest first, verbatim. */
  entries: readonly Entry[];
}
