/**
 * A read model: applies events, in offset order per partition, to a map of entities through a
 * reducer, and keeps the partitions' positions. Pure and synchronous (no I/O), so it can be tested
 * and rebuilt from any stream. What an event does to an entity is the reducer's (an orders life
 * cycle, an upsert); everything else is here.
 *
 * Exactly-once in effect: a record at or before a partition's applied position is skipped (a
 * replay: the positions cover any redelivery), and an event whose id was seen is skipped (a
 * duplicate published twice). Which ids are remembered is the reducer's choice: those its entity
 * lists (`eventIds`: an order lists its few events), or else the read model's own bounded window of
 * the most recent ids (`recentEventIds`, in memory only: after a restart it starts empty), so that
 * memory never grows with a key's event count.
 * An event the reducer refuses changes nothing, not even the position: the caller records the
 * record elsewhere (the dead-letter topic) and only then `skip`s it, so the position never covers a
 * record that is neither applied nor recorded (a snapshot saves the position).
 */
import type { LogRecord } from '../../../lib/eventlog/types.ts';

/** What the read model needs to know of its entities and events. */
export interface Reducer<E, Ev> {
  /** The key of the entity an event is about (the record's key, as a rule). */
  key(event: Ev): string;
  /** The event's own id, unique per event. */
  eventId(event: Ev): string;
  /** An entity's key (as `key` gave it for its events). */
  keyOf(entity: E): string;
  /**
   * The ids of the events applied to an entity, for de-duplication, when the entity keeps them (it
   * then must keep them bounded: an order has at most four events). Without it, the read model
   * remembers the most recent ids itself (ReadModelOptions.recentEventIds).
   */
  eventIds?(entity: E): readonly string[];
  /**
   * The entity after `event` (`existing` is undefined for the first event of a key), or why the
   * event cannot apply. Must not modify `existing`: entities are immutable (snapshots and journal
   * entries share them).
   */
  apply(existing: E | undefined, event: Ev): { entity: E } | { refused: string };
  /** Secondary indexes by name: the value an entity is listed under (undefined: not listed). */
  indexes?: Readonly<Record<string, (entity: E) => string | undefined>>;
}

export type ApplyResult<E> =
  { kind: 'applied'; entity: E } | { kind: 'replayed' } | { kind: 'duplicate' } | { kind: 'refused'; reason: string };

/** A read model's content, as `exportState` gives it and `restoreState` takes it; JSON-serialisable. */
export interface ProjectionState<E> {
  /** Next offset to apply, per partition (index = partition). */
  positions: number[];
  entities: E[];
}

export interface ReadModelOptions {
  /**
   * Most event ids remembered for de-duplication when the reducer has no `eventIds`: the newest
   * ones over all keys; a duplicate of an older event is applied again. Default 10 000.
   */
  recentEventIds?: number;
}

/** The newest `max` ids seen, oldest dropped first. */
class RecentIds {
  readonly #ids = new Set<string>();
  readonly #max: number;

  constructor(max: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`ReadModel: recentEventIds must be a positive integer, got ${max}`);
    this.#max = max;
  }

  get size(): number {
    return this.#ids.size;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  add(id: string): void {
    this.#ids.add(id);
    // A Set iterates in insertion order: its first value is the oldest.
    if (this.#ids.size > this.#max) this.#ids.delete(this.#ids.values().next().value!);
  }

  clear(): void {
    this.#ids.clear();
  }
}

export class ReadModel<E, Ev> {
  private readonly entities = new Map<string, E>();
  /** Index name -> indexed value -> keys. */
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  /** Partition -> next offset to apply. */
  private readonly positions = new Map<number, number>();
  protected readonly reducer: Reducer<E, Ev>;
  /** Bumped whenever the set of keys changes (a new key, a restore): lets subclasses cache what depends on it. */
  #keyChanges = 0;
  /** Recent `<key>\n<event id>`s, when the reducer's entities keep no ids. */
  readonly #recent: RecentIds | undefined;

  constructor(reducer: Reducer<E, Ev>, options: ReadModelOptions = {}) {
    this.reducer = reducer;
    this.#recent = reducer.eventIds ? undefined : new RecentIds(options.recentEventIds ?? 10_000);
    for (const name of Object.keys(reducer.indexes ?? {})) this.indexes.set(name, new Map());
  }

  /** The next offset this read model expects on a partition. */
  position(partition: number): number {
    return this.positions.get(partition) ?? 0;
  }

  /** The next offset on each of the first `count` partitions (index = partition). */
  positionVector(count: number): number[] {
    return Array.from({ length: count }, (_, partition) => this.position(partition));
  }

  /** Marks a record as seen without applying anything (a malformed record that was dead-lettered). */
  skip(record: Pick<LogRecord, 'partition' | 'offset'>): void {
    this.skipTo(record.partition, record.offset + 1);
  }

  /** Moves a partition's position forward to `next` (never back): offsets below it count as seen. */
  skipTo(partition: number, next: number): void {
    if (next > this.position(partition)) this.positions.set(partition, next);
  }

  /**
   * Applies the event of a record: moves the partition's position past it unless the result is
   * `refused` (the caller then `skip`s the record once it has dead-lettered it).
   */
  apply(record: Pick<LogRecord, 'partition' | 'offset'>, event: Ev): ApplyResult<E> {
    if (record.offset < this.position(record.partition)) return { kind: 'replayed' };
    const result = this.applyEvent(event);
    if (result.kind !== 'refused') this.positions.set(record.partition, record.offset + 1);
    return result;
  }

  /** Applies an event to its entity, position aside. */
  private applyEvent(event: Ev): ApplyResult<E> {
    const key = this.reducer.key(event);
    const id = this.reducer.eventId(event);
    const existing = this.entities.get(key);
    const seen = this.#recent ? this.#recent.has(`${key}\n${id}`) : existing !== undefined && this.reducer.eventIds!(existing).includes(id);
    if (seen) return { kind: 'duplicate' };
    const result = this.reducer.apply(existing, event);
    if ('refused' in result) return { kind: 'refused', reason: result.refused };
    this.#recent?.add(`${key}\n${id}`);
    this.put(result.entity, existing);
    return { kind: 'applied', entity: result.entity };
  }

  get(key: string): E | undefined {
    return this.entities.get(key);
  }

  /** Every entity, in no particular order. */
  values(): IterableIterator<E> {
    return this.entities.values();
  }

  /** The entities an index lists under `value`, in no particular order. */
  indexed(index: string, value: string): E[] {
    const keys = this.indexes.get(index)?.get(value);
    return keys ? [...keys].map((key) => this.entities.get(key)!) : [];
  }

  get size(): number {
    return this.entities.size;
  }

  /** A number that changes whenever the set of keys does (a new key, a restore), for caches of the keys. */
  protected get keyChanges(): number {
    return this.#keyChanges;
  }

  /** Event ids the read model itself remembers for de-duplication (0 when its entities keep them). */
  get rememberedEventIds(): number {
    return this.#recent?.size ?? 0;
  }

  /** Every entity by key, for comparing read models in tests and snapshots. */
  snapshot(): E[] {
    return [...this.entities.values()].sort((a, b) => this.reducer.keyOf(a).localeCompare(this.reducer.keyOf(b)));
  }

  /**
   * The read model's state for a snapshot: its positions on the first `partitions` partitions and
   * every entity. Cheap: entities are immutable (applying an event replaces the entity), so this
   * copies references only, and the caller may serialise them later while the read model moves on.
   */
  exportState(partitions: number): ProjectionState<E> {
    return { positions: this.positionVector(partitions), entities: [...this.entities.values()] };
  }

  /** Replaces everything with an exported state; the read model then continues from its positions. */
  restoreState(state: ProjectionState<E>): void {
    this.entities.clear();
    for (const index of this.indexes.values()) index.clear();
    this.positions.clear();
    this.#recent?.clear();
    this.#keyChanges++;
    state.positions.forEach((next, partition) => this.skipTo(partition, next));
    for (const entity of state.entities) this.put(entity, undefined);
  }

  /** Stores an entity in place of `previous`, moving it in the indexes whose value changed. */
  private put(entity: E, previous: E | undefined): void {
    const key = this.reducer.keyOf(entity);
    if (!this.entities.has(key)) this.#keyChanges++;
    this.entities.set(key, entity);
    for (const [name, valueOf] of Object.entries(this.reducer.indexes ?? {})) {
      const index = this.indexes.get(name)!;
      const [before, now] = [previous && valueOf(previous), valueOf(entity)];
      if (before === now && previous) continue;
      if (before !== undefined) index.get(before)?.delete(key);
      if (now === undefined) continue;
      let keys = index.get(now);
      if (!keys) index.set(now, (keys = new Set()));
      keys.add(key);
    }
  }
}
