/**
 * Snapshots of a projection and its journal, so that a restart resumes from the log positions a
 * snapshot includes instead of replaying the whole topic. `names` says what the file calls things;
 * below for orders (`format: interchange.orders-snapshot`, entity `order`, entities `orders`).
 *
 * File format (version 2), one JSON value per line, so that neither writing nor reading needs the
 * whole state as one string:
 *   1. a header: `{ orders, format, version, topic, partitions, positions, counters, takenAt, entityCount, entries, journal }`
 *      (`entityCount` and `entries` are counts, and `orders` the count again under the entities'
 *      name, which older files have instead of `entityCount`; `journal` is the journal's state
 *      without its entries);
 *   2. `orders` lines, one order each;
 *   3. `entries` lines, one retained journal entry each, in order, its entity as `order`: verbatim
 *      for the first entry of an order; a later entry of the same order carries `orderId`,
 *      `orderChanges` (the fields of its order that are not the very values of the previous entry's
 *      order, which orders share since they are immutable: mostly not the lines) and `orderAppends`
 *      (what a list such as the event ids gained) instead of `order`;
 *   4. a trailer `{ "end": orders + entries }`: a file without it is incomplete.
 * Version 1 (every entry verbatim) is still read.
 * Written atomically (lib/atomic-file.ts): a reader sees the previous snapshot or the new one whole.
 *
 * Loading never throws: a missing, unreadable, corrupt or foreign snapshot, or one that does not
 * fit the log (another topic, more partitions than the topic has, positions beyond its end
 * offsets: the topic was recreated), is discarded with a warning and the projection rebuilds from
 * the beginning.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { writeFileAtomically } from '../../../lib/atomic-file.ts';
import type { Logger } from '../../../lib/logger.ts';
import type { EventJournal, JournalEntry, JournalEvent, JournalState } from './journal.ts';
import type { Projector, ProjectorState } from './projector.ts';
import type { ReadModel } from './read-model.ts';

export const SNAPSHOT_VERSION = 2;
/** Versions this code reads: 1 is 2 without `<entity>Changes`. */
const READABLE_VERSIONS: readonly unknown[] = [1, 2];

/** What a snapshot holds. */
export interface Snapshot<E, Ev extends JournalEvent = JournalEvent> {
  topic: string;
  projector: ProjectorState<E>;
  journal: JournalState<JournalEntry<E, Ev>>;
}

/** What a snapshot file calls things, and how it checks its entities. */
export interface SnapshotNames<E> {
  /** The header's `format` (`interchange.orders-snapshot`). */
  format: string;
  /** Names the snapshots in log messages (`orders snapshot saved`) and `not an orders snapshot`. */
  name: string;
  /** An entity in the file's fields (`order`: `orderId`, `orderChanges` ...). */
  entity: string;
  /** The header's count of entities (`orders`). */
  entities: string;
  /** An entity's key. */
  keyOf(entity: E): string;
  /** Whether a line read back is an entity. */
  isEntity(value: unknown): boolean;
}

interface Header {
  format: string;
  version: number;
  topic: string;
  /** The topic's partition count as the projection knew it. */
  partitions: number;
  /** Next offset per partition: the snapshot includes every record below it. */
  positions: number[];
  counters: ProjectorState<unknown>['counters'];
  takenAt: string;
  /** Entities in the file (older files: only under the names' `entities`). */
  entityCount?: number;
  entries: number;
  journal: Omit<JournalState<unknown>, 'entries'>;
}

/** Lines handed to one write call. */
const LINES_PER_WRITE = 2_000;
/** Bytes read at a time. */
const READ_CHUNK_BYTES = 1 << 20;

export interface SnapshotStoreOptions<E> {
  /** The snapshot file (its directory is created when needed). */
  file: string;
  topic: string;
  logger: Logger;
  names: SnapshotNames<E>;
}

/** Reads and writes one snapshot file. */
export class SnapshotStore<E, Ev extends JournalEvent = JournalEvent> {
  readonly #options: SnapshotStoreOptions<E>;

  constructor(options: SnapshotStoreOptions<E>) {
    this.#options = options;
  }

  /** Names the snapshots in log messages (`orders snapshot`). */
  get label(): string {
    return `${this.#options.names.name} snapshot`;
  }

  /** What the entities are called in the file and logs (`orders`). */
  get entities(): string {
    return this.#options.names.entities;
  }

  get file(): string {
    return this.#options.file;
  }

  /**
   * Writes a snapshot atomically, in chunks (the event loop keeps turning: the state handed in must
   * not change meanwhile, which holds for exported states, whose orders and entries are immutable).
   * Resolves with the file's size in bytes; rejects on I/O errors (the previous snapshot stays).
   */
  async save(snapshot: Snapshot<E, Ev>): Promise<number> {
    const { projector, journal } = snapshot;
    const { entries, ...journalRest } = journal;
    const { names } = this.#options;
    const entityCount = projector.projection.entities.length;
    const header: Header & Record<string, unknown> = {
      // Under the entities' own name for readers of the orders format (`orders`), first: a name that
      // is one of the fixed keys below (`entries`, `positions` ...) gives way to it.
      [names.entities]: entityCount,
      format: names.format,
      version: SNAPSHOT_VERSION,
      topic: snapshot.topic,
      partitions: projector.projection.positions.length,
      positions: projector.projection.positions,
      counters: projector.counters,
      takenAt: new Date().toISOString(),
      entityCount,
      entries: entries.length,
      journal: journalRest,
    };
    let bytes = 0;
    await writeFileAtomically(this.#options.file, async (file) => {
      const write = async (text: string) => {
        bytes += Buffer.byteLength(text);
        await file.write(text);
      };
      await write(`${JSON.stringify(header)}\n`);
      const compact = compactor<E, Ev>(names);
      for (const items of [projector.projection.entities, entries.map(compact)] as const) {
        for (let i = 0; i < items.length; i += LINES_PER_WRITE) {
          await write(
            `${items
              .slice(i, i + LINES_PER_WRITE)
              .map((item) => JSON.stringify(item))
              .join('\n')}\n`,
          );
        }
      }
      await write(`${JSON.stringify({ end: entityCount + header.entries })}\n`);
    });
    return bytes;
  }

  /** The snapshot, when there is one that fits a topic with these end offsets; otherwise undefined, with the reason logged. */
  async load(endOffsets: number[]): Promise<Snapshot<E, Ev> | undefined> {
    const { file, logger } = this.#options;
    const { label } = this;
    const exists = await stat(file).then(
      () => true,
      () => false,
    );
    if (!exists) {
      logger.info({ file }, `${label}: none yet; the projection rebuilds from the beginning`);
      return undefined;
    }
    try {
      const snapshot = await this.#read(endOffsets);
      if (typeof snapshot === 'string') {
        logger.warn({ file, reason: snapshot }, `${label} discarded: ${snapshot}; the projection rebuilds from the beginning`);
        return undefined;
      }
      return snapshot;
    } catch (err) {
      logger.warn({ file, err }, `${label} unreadable; the projection rebuilds from the beginning`);
      return undefined;
    }
  }

  /**
   * The snapshot, or why it does not fit; throws when the file is not a complete snapshot. Reads in
   * large chunks and parses each chunk's lines synchronously (a promise per line would cost more
   * than the parsing).
   */
  async #read(endOffsets: number[]): Promise<Snapshot<E, Ev> | string> {
    const { names } = this.#options;
    const stream = createReadStream(this.#options.file, { highWaterMark: READ_CHUNK_BYTES });
    const decoder = new StringDecoder('utf8');
    const values: unknown[] = [];
    let rest = '';
    let header: Partial<Header> | undefined;
    try {
      for await (const chunk of stream) {
        const lines = (rest + decoder.write(chunk as Buffer)).split('\n');
        rest = lines.pop()!;
        for (const line of lines) values.push(JSON.parse(line));
        if (!header && values.length > 0) {
          header = values.shift() as Partial<Header>;
          const misfit = this.#misfit(header, endOffsets);
          if (misfit) return misfit;
        }
      }
    } finally {
      stream.destroy();
    }
    rest += decoder.end();
    if (rest !== '') throw new Error('the last line is incomplete');
    if (!header) throw new Error('the file is empty');
    const entityCount = (this.#entityCount(header) as number | undefined) ?? 0;
    const { entries: entryCount = 0 } = header;
    const trailer = values.pop() as { end?: unknown } | undefined;
    if (trailer?.end !== entityCount + entryCount || values.length !== entityCount + entryCount)
      throw new Error('the trailer does not match the header: incomplete or corrupt');
    const entities = values.slice(0, entityCount);
    const malformed = entities.findIndex((e) => !names.isEntity(e));
    if (malformed >= 0) throw new Error(`${names.entity} ${malformed + 1} is malformed`);
    if (values.some((v) => typeof v !== 'object' || v === null)) throw new Error('a line is not an object');
    const expand = expander<E, Ev>(names);
    return {
      topic: header.topic!,
      projector: {
        projection: { positions: header.positions!, entities: entities as E[] },
        counters: header.counters!,
      },
      journal: { ...header.journal!, entries: (values.slice(entityCount) as Record<string, unknown>[]).map(expand) },
    };
  }

  /** The header's count of entities: `entityCount`, or in older files the names' `entities`. */
  #entityCount(header: Partial<Header>): unknown {
    return 'entityCount' in header ? header.entityCount : (header as Record<string, unknown>)[this.#options.names.entities];
  }

  /** Why a snapshot with this header cannot resume on this topic, if it cannot. */
  #misfit(header: Partial<Header> | null, endOffsets: number[]): string | undefined {
    const { names } = this.#options;
    if (header?.format !== names.format) return `not an ${names.name} snapshot`;
    if (!READABLE_VERSIONS.includes(header.version))
      return `format version ${String(header.version)}, this version reads ${READABLE_VERSIONS.join(' and ')}`;
    const { topic, positions, entries, counters, journal } = header;
    const entities = this.#entityCount(header);
    const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
    if (
      !Array.isArray(positions) ||
      !positions.every(count) ||
      !count(entities) ||
      !count(entries) ||
      !count(counters?.applied) ||
      !count(counters?.deadLettered) ||
      typeof journal !== 'object' ||
      journal === null
    )
      return 'its header is malformed';
    if (topic !== this.#options.topic) return `it is of topic ${JSON.stringify(topic)}, not ${JSON.stringify(this.#options.topic)}`;
    if (positions.length > endOffsets.length)
      return `it has positions on ${positions.length} partitions, the topic has ${endOffsets.length} (was the topic recreated?)`;
    const beyond = positions.findIndex((next, partition) => next > endOffsets[partition]!);
    if (beyond >= 0)
      return `its position ${positions[beyond]} on partition ${beyond} lies beyond the end offset ${endOffsets[beyond]} (was the topic recreated?)`;
    return undefined;
  }
}

/** The snapshot of a projector and its journal as of now; undefined while the projector is still starting. */
export function takeSnapshot<E, Ev extends JournalEvent>(
  topic: string,
  projector: Projector<E, Ev, ReadModel<E, Ev>>,
  journal: EventJournal<E, Ev>,
): Snapshot<E, Ev> | undefined {
  const state = projector.exportState();
  return state && { topic, projector: state, journal: journal.exportState() };
}

/**
 * A projector's `restore` option: loads the snapshot in `store` that fits the log, restores
 * `journal` from it, and hands the projector its part; undefined (rebuild) when there is none or
 * its journal part is malformed. `restored` hears of the snapshot used.
 */
export function restoreFromSnapshot<E, Ev extends JournalEvent>(
  store: SnapshotStore<E, Ev>,
  journal: EventJournal<E, Ev>,
  logger: Logger,
  restored?: (snapshot: Snapshot<E, Ev>) => void,
): (endOffsets: number[]) => Promise<ProjectorState<E> | undefined> {
  return async (endOffsets) => {
    const snapshot = await store.load(endOffsets);
    if (!snapshot) return undefined;
    try {
      journal.restoreState(snapshot.journal);
    } catch (err) {
      logger.warn({ err }, `${store.label} discarded: its journal is malformed; the projection rebuilds from the beginning`);
      return undefined;
    }
    restored?.(snapshot);
    return snapshot.projector;
  };
}

export interface PeriodicSnapshotsOptions<E, Ev extends JournalEvent = JournalEvent> {
  store: SnapshotStore<E, Ev>;
  /** Time between snapshots, in ms. */
  intervalMs: number;
  /** The state to save now; undefined when there is nothing worth saving yet. Must be synchronous and cheap. */
  take(): Snapshot<E, Ev> | undefined;
  logger: Logger;
  /**
   * Calls `run` every `intervalMs` until the function it returns is called. Default: a timer that
   * does not keep the process alive. Tests pass a fake one to tick by hand.
   */
  schedule?: (run: () => void, intervalMs: number) => () => void;
}

const everyInterval = (run: () => void, intervalMs: number) => {
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
};

/**
 * Saves a snapshot every `intervalMs` while the positions move (an idle projection is not written
 * again), and a last one on `stop`. One save at a time: a tick while a save is running or queued is
 * skipped (slow saves do not pile up); a failed save is logged and retried at the next tick, never thrown.
 */
export class PeriodicSnapshots<E, Ev extends JournalEvent = JournalEvent> {
  readonly #options: PeriodicSnapshotsOptions<E, Ev>;
  #cancelSchedule: (() => void) | undefined;
  #saving: Promise<void> = Promise.resolve();
  /** Saves running or queued. */
  #pending = 0;
  #lastPositions: string | undefined;

  constructor(options: PeriodicSnapshotsOptions<E, Ev>) {
    this.#options = options;
  }

  start(): void {
    const { schedule = everyInterval, intervalMs } = this.#options;
    this.#cancelSchedule ??= schedule(() => {
      if (this.#pending === 0) void this.saveNow();
    }, intervalMs);
  }

  /** Stops the timer and saves a last snapshot (after any save in progress). */
  async stop(): Promise<void> {
    this.#cancelSchedule?.();
    this.#cancelSchedule = undefined;
    await this.saveNow();
  }

  /** Says that the store already holds a snapshot at these positions (the one restored at start): no need to write it again. */
  alreadySaved(positions: number[]): void {
    this.#lastPositions = JSON.stringify(positions);
  }

  /** Saves a snapshot now unless nothing moved since the last one; resolves once written (or failed, logged). */
  saveNow(): Promise<void> {
    this.#pending++;
    this.#saving = this.#saving.then(() => this.#save()).finally(() => this.#pending--);
    return this.#saving;
  }

  async #save(): Promise<void> {
    const { store, take, logger } = this.#options;
    const snapshot = take();
    if (!snapshot) return;
    const positions = JSON.stringify(snapshot.projector.projection.positions);
    if (positions === this.#lastPositions) return;
    const started = performance.now();
    try {
      const bytes = await store.save(snapshot);
      this.#lastPositions = positions;
      logger.info(
        {
          [store.entities]: snapshot.projector.projection.entities.length,
          file: store.file,
          positions: snapshot.projector.projection.positions,
          journalEvents: snapshot.journal.entries.length,
          bytes,
          ms: Math.round(performance.now() - started),
        },
        `${store.label} saved`,
      );
    } catch (err) {
      logger.error({ err, file: store.file }, `${store.label} could not be saved; the previous one stays`);
    }
  }
}

/** An entry as a snapshot line (its entity under the names' `entity`): verbatim, or as the changes from the previous entry's entity of the same key. */
type EntryLine = Record<string, unknown>;

/**
 * Turns entries (in order) into lines: a later entry of an entity written before carries only the
 * fields of its entity that are not the same values as in the previous one (immutable entities
 * share the unchanged ones) in `<entity>Changes`, except that an array that only grew (the event
 * ids) is written as what was appended, in `<entity>Appends`. Written verbatim when a field was
 * removed, which changes cannot say.
 */
function compactor<E, Ev extends JournalEvent>(names: SnapshotNames<E>): (entry: JournalEntry<E, Ev>) => EntryLine {
  const written = new Map<string, E>();
  return (entry) => {
    const { entity, ...rest } = entry;
    const key = names.keyOf(entity);
    const previous = written.get(key) as Record<string, unknown> | undefined;
    written.set(key, entity);
    const verbatim = { ...rest, [names.entity]: entity };
    const now = entity as Record<string, unknown>;
    if (!previous || Object.keys(previous).some((field) => !(field in now))) return verbatim;
    const changes: Record<string, unknown> = {};
    const appends: Record<string, unknown[]> = {};
    for (const field of Object.keys(now)) {
      const [after, before] = [now[field], previous[field]];
      if (after === before) continue;
      if (Array.isArray(after) && Array.isArray(before) && after.length > before.length && before.every((item, i) => item === after[i]))
        appends[field] = after.slice(before.length);
      else changes[field] = after;
    }
    // JSON drops an undefined value, and then the previous one would stand: such a change is not said by changes.
    if (Object.values(changes).some((value) => value === undefined)) return verbatim;
    return {
      ...rest,
      [`${names.entity}Id`]: key,
      [`${names.entity}Changes`]: changes,
      ...(Object.keys(appends).length > 0 && { [`${names.entity}Appends`]: appends }),
    };
  };
}

/** The inverse of `compactor`, over the lines in order; throws on a line whose entity was not written before it. */
function expander<E, Ev extends JournalEvent>(names: SnapshotNames<E>): (line: EntryLine) => JournalEntry<E, Ev> {
  const read = new Map<string, E>();
  const [idField, changesField, appendsField] = ['Id', 'Changes', 'Appends'].map((suffix) => `${names.entity}${suffix}`) as [
    string,
    string,
    string,
  ];
  return (line) => {
    let entity: E;
    const { [names.entity]: verbatim, [idField]: key, [changesField]: changes, [appendsField]: appends = {}, ...rest } = line;
    if (changesField in line) {
      const previous = read.get(key as string);
      if (!previous || typeof changes !== 'object' || changes === null)
        throw new Error(`entry ${String(line['seq'])} changes an ${names.entity} no earlier entry holds`);
      const merged: Record<string, unknown> = { ...previous, ...changes };
      for (const [field, appended] of Object.entries(appends as Record<string, unknown>)) {
        const before = merged[field];
        if (!Array.isArray(before) || !Array.isArray(appended))
          throw new Error(`entry ${String(line['seq'])} appends to a field that is not a list`);
        merged[field] = [...(before as unknown[]), ...appended];
      }
      entity = merged as E;
    } else {
      entity = verbatim as E;
    }
    if (names.isEntity(entity)) read.set(names.keyOf(entity), entity);
    return { ...rest, entity } as unknown as JournalEntry<E, Ev>;
  };
}
