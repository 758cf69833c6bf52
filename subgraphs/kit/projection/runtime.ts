/**
 * A projection as a subgraph runs it: a projector feeding a read model from a topic, the journal
 * of applied events behind a resumable subscription's streams, and periodic snapshots of both,
 * wired together and started, reported and stopped as one. The orders subgraph and the subgraphs
 * scaffolded from a topic (`interchange subgraph new --from-topic`) are built on it.
 */
import type { Registry } from 'prom-client';
import type { EventLog } from '../../../lib/eventlog/types.ts';
import type { Logger } from '../../../lib/logger.ts';
import { EventJournal, type JournalEvent } from './journal.ts';
import { Projector, type Decoded, type ProjectorStatus } from './projector.ts';
import type { ReadModel } from './read-model.ts';
import { PeriodicSnapshots, SnapshotStore, restoreFromSnapshot, takeSnapshot, type SnapshotNames } from './snapshot.ts';
import { EventStreams, type EventStreamsOptions } from './stream.ts';

export interface ProjectionRuntimeOptions<E, Ev extends JournalEvent, M extends ReadModel<E, Ev>, S extends EventStreams<E, Ev>> {
  /** Names the projection in logs and metrics (`orders`). */
  name: string;
  /** The subscription field its streams serve (`orderEvents`), for the metrics' help. */
  field: string;
  /** What its entities are called in logs (`orders`), and one in the snapshot file (`order`). */
  entities: string;
  events: EventLog;
  topic: string;
  deadLetterTopic: string;
  /** The projector's consumer group (unique per replica). */
  groupId: string;
  projection: M;
  decode(value: string): Decoded<Ev>;
  snapshot: { file: string; intervalMs: number; names: Omit<SnapshotNames<E>, 'name' | 'entities'> };
  /** Applied events retained for resuming subscriptions (JournalOptions.maxEvents). */
  journalMaxEvents: number;
  /** Live events one subscription may have waiting (EventStreamsOptions.bufferEvents). */
  bufferEvents: number;
  logger: Logger;
  registry: Registry;
  /** Builds the streams (a subclass that adds the subgraph's own filters); default: the kit's. */
  streams?: (options: EventStreamsOptions<E, Ev>) => S;
}

export interface ProjectionRuntime<E, Ev extends JournalEvent, M extends ReadModel<E, Ev>, S extends EventStreams<E, Ev>> {
  projector: Projector<E, Ev, M>;
  journal: EventJournal<E, Ev>;
  streams: S;
  /** Starts the projector (in the background: it retries until the log answers) and the snapshots. */
  start(): void;
  /** Stops the projector and takes a last snapshot. */
  stop(): Promise<void>;
  /** For /readyz: ready once caught up. */
  readiness(): { ready: boolean; projection: ProjectorStatus; journal: ReturnType<EventJournal<E, Ev>['status']> };
}

export function createProjectionRuntime<E, Ev extends JournalEvent, M extends ReadModel<E, Ev>, S extends EventStreams<E, Ev>>(
  options: ProjectionRuntimeOptions<E, Ev, M, S>,
): ProjectionRuntime<E, Ev, M, S> {
  const { name, events, topic, logger, registry } = options;
  const journal = new EventJournal<E, Ev>({ maxEvents: options.journalMaxEvents, logger, name });
  // The projector exists below by the time a subscription arrives (streams open only once serving).
  const streamOptions: EventStreamsOptions<E, Ev> = {
    names: { name, field: options.field, events: `${options.snapshot.names.entity} events` },
    journal,
    bufferEvents: options.bufferEvents,
    registry,
    liveFrom: () => projector.liveFrom(),
    logEnd: () => events.endOffsets(topic),
    lag: () => {
      const status = projector.status();
      return { events: status.partitions.some((p) => p.lag === null) ? null : status.totalLag, stale: status.stale };
    },
  };
  const streams = options.streams ? options.streams(streamOptions) : (new EventStreams(streamOptions) as S);
  const store = new SnapshotStore<E, Ev>({
    file: options.snapshot.file,
    topic,
    logger,
    names: { ...options.snapshot.names, name, entities: options.entities },
  });
  const projector = new Projector<E, Ev, M>({
    name,
    entities: options.entities,
    projection: options.projection,
    decode: options.decode,
    log: events,
    topic,
    deadLetterTopic: options.deadLetterTopic,
    groupId: options.groupId,
    logger,
    registry,
    sink: journal,
    restore: restoreFromSnapshot(store, journal, logger, (snapshot) => snapshots.alreadySaved(snapshot.projector.projection.positions)),
  });
  const snapshots = new PeriodicSnapshots<E, Ev>({
    store,
    intervalMs: options.snapshot.intervalMs,
    logger,
    take: () => takeSnapshot(topic, projector, journal),
  });
  return {
    projector,
    journal,
    streams,
    start: () => {
      void projector.start().catch((err: unknown) => logger.error({ err }, `the ${name} projection failed to start`));
      snapshots.start();
    },
    stop: async () => {
      await projector.stop();
      await snapshots.stop();
    },
    readiness: () => {
      const status = projector.status();
      return { ready: status.caughtUp, projection: status, journal: journal.status() };
    },
  };
}
