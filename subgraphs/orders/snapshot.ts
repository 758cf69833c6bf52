/**
 * Snapshots of the orders projection and its journal, so that a restart resumes from the log
 * positions a snapshot includes instead of replaying the whole topic.
 *
 * File format (version 2), one JSON value per line, so that neither writing nor reading needs the
 * whole state as one string:
 *   1. a header: `{ format, version, topic, partitions, positions, counters, takenAt, orders, entries, journal }`
 *      (`orders` and `entries` are counts; `journal` is the journal's state without its entries);
 *   2. `orders` lines, one order each;
 *   3. `entries` lines, one retained journal entry each, in order: verbatim for the first entry of
 *      an order; a later entry of the same order carries `orderId`, `orderChanges` (the fields of
 *      its order that are not the very values of the previous entry's order, which orders share
 *      since they are immutable: mostly not the lines) and `orderAppends` (what a list such as the
 *      event ids gained) instead of `order`;
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
import { writeFileAtomically } from '../../lib/atomic-file.ts';
import type { Logger } from '../../lib/logger.ts';
import type { EventJournal, JournalEntry, JournalState } from './journal.ts';
import type { Order } from './projection.ts';
import type { Projector, ProjectorState } from './projector.ts';

export const SNAPSHOT_FORMAT = 'interchange.orders-snapshot';
export const SNAPSHOT_VERSION = 2;
/** Versions this code reads: 1 is 2 without `orderChanges`. */
const READABLE_VERSIONS: readonly unknown[] = [1, 2];

/** What a snapshot holds. */
export interface OrdersSnapshot {
  topic: string;
  projector: ProjectorState;
  journal: JournalState;
}

interface Header {
  format: string;
  version: number;
  topic: string;
  /** The topic's partition count as the projection knew it. */
  partitions: number;
  /** Next offset per partition: the snapshot includes every record below it. */
  positions: number[];
  counters: ProjectorState['counters'];
  takenAt: string;
  orders: number;
  entries: number;
  journal: Omit<JournalState, 'entries'>;
}

/** Lines handed to one write call. */
const LINES_PER_WRITE = 2_000;
/** Bytes read at a time. */
const READ_CHUNK_BYTES = 1 << 20;

export interface SnapshotStoreOptions {
  /** The snapshot file (its directory is created when needed). */
  file: string;
  topic: string;
  logger: Logger;
}

/** Reads and writes one snapshot file. */
export class SnapshotStore {
  readonly #options: SnapshotStoreOptions;

  constructor(options: SnapshotStoreOptions) {
    this.#options = options;
  }

  get file(): string {
    return this.#options.file;
  }

  /**
   * Writes a snapshot atomically, in chunks (the event loop keeps turning: the state handed in must
   * not change meanwhile, which holds for exported states, whose orders and entries are immutable).
   * Resolves with the file's size in bytes; rejects on I/O errors (the previous snapshot stays).
   */
  async save(snapshot: OrdersSnapshot): Promise<number> {
    const { projector, journal } = snapshot;
    const { entries, ...journalRest } = journal;
    const header: Header = {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      topic: snapshot.topic,
      partitions: projector.projection.positions.length,
      positions: projector.projection.positions,
      counters: projector.counters,
      takenAt: new Date().toISOString(),
      orders: projector.projection.orders.length,
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
      const compact = compactor();
      for (const items of [projector.projection.orders, entries.map(compact)] as const) {
        for (let i = 0; i < items.length; i += LINES_PER_WRITE) {
          await write(
            `${items
              .slice(i, i + LINES_PER_WRITE)
              .map((item) => JSON.stringify(item))
              .join('\n')}\n`,
          );
        }
      }
      await write(`${JSON.stringify({ end: header.orders + header.entries })}\n`);
    });
    return bytes;
  }

  /** The snapshot, when there is one that fits a topic with these end offsets; otherwise undefined, with the reason logged. */
  async load(endOffsets: number[]): Promise<OrdersSnapshot | undefined> {
    const { file, logger } = this.#options;
    const exists = await stat(file).then(
      () => true,
      () => false,
    );
    if (!exists) {
      logger.info({ file }, 'orders snapshot: none yet; the projection rebuilds from the beginning');
      return undefined;
    }
    try {
      const snapshot = await this.#read(endOffsets);
      if (typeof snapshot === 'string') {
        logger.warn({ file, reason: snapshot }, `orders snapshot discarded: ${snapshot}; the projection rebuilds from the beginning`);
        return undefined;
      }
      return snapshot;
    } catch (err) {
      logger.warn({ file, err }, 'orders snapshot unreadable; the projection rebuilds from the beginning');
      return undefined;
    }
  }

  /**
   * The snapshot, or why it does not fit; throws when the file is not a complete snapshot. Reads in
   * large chunks and parses each chunk's lines synchronously (a promise per line would cost more
   * than the parsing).
   */
  async #read(endOffsets: number[]): Promise<OrdersSnapshot | string> {
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
    const { orders: orderCount = 0, entries: entryCount = 0 } = header;
    const trailer = values.pop() as { end?: unknown } | undefined;
    if (trailer?.end !== orderCount + entryCount || values.length !== orderCount + entryCount)
      throw new Error('the trailer does not match the header: incomplete or corrupt');
    const orders = values.slice(0, orderCount);
    const malformed = orders.findIndex((o) => typeof (o as Order | null)?.id !== 'string' || typeof (o as Order).customerId !== 'string');
    if (malformed >= 0) throw new Error(`order ${malformed + 1} is malformed`);
    if (values.some((v) => typeof v !== 'object' || v === null)) throw new Error('a line is not an object');
    const expand = expander();
    return {
      topic: header.topic!,
      projector: {
        projection: { positions: header.positions!, orders: orders as Order[] },
        counters: header.counters!,
      },
      journal: { ...header.journal!, entries: (values.slice(orderCount) as EntryLine[]).map(expand) },
    };
  }

  /** Why a snapshot with this header cannot resume on this topic, if it cannot. */
  #misfit(header: Partial<Header> | null, endOffsets: number[]): string | undefined {
    if (header?.format !== SNAPSHOT_FORMAT) return 'not an orders snapshot';
    if (!READABLE_VERSIONS.includes(header.version))
      return `format version ${String(header.version)}, this version reads ${READABLE_VERSIONS.join(' and ')}`;
    const { topic, positions, orders, entries, counters, journal } = header;
    const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
    if (
      !Array.isArray(positions) ||
      !positions.every(count) ||
      !count(orders) ||
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
export function takeSnapshot(topic: string, projector: Projector, journal: EventJournal): OrdersSnapshot | undefined {
  const state = projector.exportState();
  return state && { topic, projector: state, journal: journal.exportState() };
}

/**
 * A projector's `restore` option: loads the snapshot in `store` that fits the log, restores
 * `journal` from it, and hands the projector its part; undefined (rebuild) when there is none or
 * its journal part is malformed. `restored` hears of the snapshot used.
 */
export function restoreFromSnapshot(
  store: SnapshotStore,
  journal: EventJournal,
  logger: Logger,
  restored?: (snapshot: OrdersSnapshot) => void,
): (endOffsets: number[]) => Promise<ProjectorState | undefined> {
  return async (endOffsets) => {
    const snapshot = await store.load(endOffsets);
    if (!snapshot) return undefined;
    try {
      journal.restoreState(snapshot.journal);
    } catch (err) {
      logger.warn({ err }, 'orders snapshot discarded: its journal is malformed; the projection rebuilds from the beginning');
      return undefined;
    }
    restored?.(snapshot);
    return snapshot.projector;
  };
}

export interface PeriodicSnapshotsOptions {
  store: SnapshotStore;
  /** Time between snapshots, in ms. */
  intervalMs: number;
  /** The state to save now; undefined when there is nothing worth saving yet. Must be synchronous and cheap. */
  take(): OrdersSnapshot | undefined;
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
export class PeriodicSnapshots {
  readonly #options: PeriodicSnapshotsOptions;
  #cancelSchedule: (() => void) | undefined;
  #saving: Promise<void> = Promise.resolve();
  /** Saves running or queued. */
  #pending = 0;
  #lastPositions: string | undefined;

  constructor(options: PeriodicSnapshotsOptions) {
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
          file: store.file,
          positions: snapshot.projector.projection.positions,
          orders: snapshot.projector.projection.orders.length,
          journalEvents: snapshot.journal.entries.length,
          bytes,
          ms: Math.round(performance.now() - started),
        },
        'orders snapshot saved',
      );
    } catch (err) {
      logger.error({ err, file: store.file }, 'orders snapshot could not be saved; the previous one stays');
    }
  }
}

/** An entry as a snapshot line: verbatim, or with its order as the changes from the previous entry's order of the same id. */
type EntryLine =
  | JournalEntry
  | (Omit<JournalEntry, 'order'> & { orderId: string; orderChanges: Partial<Order>; orderAppends?: Record<string, unknown[]> });

/**
 * Turns entries (in order) into lines: a later entry of an order written before carries only the
 * fields of its order that are not the same values as in the previous one (immutable orders share
 * the unchanged ones) in `orderChanges`, except that an array that only grew (the event ids) is
 * written as what was appended, in `orderAppends`. Written verbatim when a field was removed, which
 * changes cannot say.
 */
function compactor(): (entry: JournalEntry) => EntryLine {
  const written = new Map<string, Order>();
  return (entry) => {
    const { order, ...rest } = entry;
    const previous = written.get(order.id);
    written.set(order.id, order);
    if (!previous || Object.keys(previous).some((key) => !(key in order))) return entry;
    const orderChanges: Partial<Order> = {};
    const orderAppends: Record<string, unknown[]> = {};
    for (const key of Object.keys(order) as (keyof Order)[]) {
      const [now, before] = [order[key], previous[key]];
      if (now === before) continue;
      if (Array.isArray(now) && Array.isArray(before) && now.length > before.length && before.every((item, i) => item === now[i]))
        orderAppends[key] = now.slice(before.length);
      else Object.assign(orderChanges, { [key]: now });
    }
    // JSON drops an undefined value, and then the previous one would stand: such a change is not said by changes.
    if (Object.values(orderChanges).some((value) => value === undefined)) return entry;
    return { ...rest, orderId: order.id, orderChanges, ...(Object.keys(orderAppends).length > 0 && { orderAppends }) };
  };
}

/** The inverse of `compactor`, over the lines in order; throws on a line whose order was not written before it. */
function expander(): (line: EntryLine) => JournalEntry {
  const read = new Map<string, Order>();
  return (line) => {
    let entry: JournalEntry;
    if ('orderChanges' in line) {
      const { orderId, orderChanges, orderAppends = {}, ...rest } = line;
      const previous = read.get(orderId);
      if (!previous || typeof orderChanges !== 'object' || orderChanges === null)
        throw new Error(`entry ${line.seq} changes an order no earlier entry holds`);
      const order: Record<string, unknown> = { ...previous, ...orderChanges };
      for (const [key, appended] of Object.entries(orderAppends)) {
        const before = order[key];
        if (!Array.isArray(before) || !Array.isArray(appended)) throw new Error(`entry ${line.seq} appends to a field that is not a list`);
        order[key] = [...(before as unknown[]), ...appended];
      }
      entry = { ...rest, order: order as unknown as Order };
    } else {
      entry = line;
    }
    if (typeof entry.order?.id === 'string') read.set(entry.order.id, entry.order);
    return entry;
  };
}
