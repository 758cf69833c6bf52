/**
 * `npm run bench -- replay`: how fast the orders projection (with its journal) comes back after a
 * restart, on the embedded log kept on disk and on the Kafka mock cluster. Runs the projector
 * in this process on the real code (Projector, EventJournal, SnapshotStore, the event logs), so
 * the figures are the projection's own, without HTTP in between.
 *
 * Per log, with N events in all:
 *   1. publish 90 % of N; rebuild cold (from the beginning); save a snapshot of that projection;
 *   2. publish the other 10 %;
 *   3. (embedded) reopen the log from its files, as a restarted `npm start` does;
 *   4. restart from the snapshot: load it, restore, replay the 10 % after it;
 *   5. rebuild cold over all N: the figure of a restart without snapshots.
 * On Kafka the records actually present are counted before measuring (the mock keeps only ~5 MB per
 * partition and drops older records silently): the run stops if any is missing.
 *
 * Prints figures and asserts nothing about them. Bounded: every wait has a deadline, and
 * everything started (logs, the mock cluster, temporary directories) is stopped or removed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { KafkaEventLog } from '../../lib/eventlog/kafka.ts';
import { MemoryEventLog } from '../../lib/eventlog/memory.ts';
import type { EventLog } from '../../lib/eventlog/types.ts';
import { createLogger } from '../../lib/logger.ts';
import { ORDERS_DEAD_LETTER_TOPIC, ORDERS_TOPIC, encodeOrderEvent } from '../../services/events/orders.ts';
import { EventJournal } from '../../subgraphs/orders/journal.ts';
import { Projector } from '../../subgraphs/orders/projector.ts';
import { SnapshotStore, restoreFromSnapshot, takeSnapshot } from '../../subgraphs/orders/snapshot.ts';
import { kafkaEnv } from '../kafka/orders-support.ts';
import { buildMockBroker, startMockCluster, type MockCluster } from '../kafka/mock-cluster.ts';
import { withTimeout } from '../support/wait.ts';
import { OrderEventSource } from './producer.ts';
import { log } from './scenario.ts';
import { round, table } from './stats.ts';

export interface ReplayBenchOptions {
  /** Events on the embedded log (0 skips it). */
  embeddedEvents: number;
  /** Events on the Kafka mock cluster (0 skips it). */
  kafkaEvents: number;
  /** Partitions of the topic on the embedded log and on Kafka. */
  embeddedPartitions: number;
  kafkaPartitions: number;
}

interface Measured {
  log: string;
  scenario: string;
  /** Records in the topic. */
  inLog: number;
  /** Records the projector read in this run. */
  read: number;
  /** Start to caught up. */
  ms: number;
  /** From the first record handled to caught up (excludes start-up: a Kafka group join, a snapshot load). */
  readMs: number;
  note: string;
}

/** Longest any one step may take before the bench gives up. */
const STEP_LIMIT_MS = 10 * 60_000;
const PUBLISH_BATCH = 1_000;
const JOURNAL_EVENTS = 100_000;
const silent = createLogger('bench-replay', 'silent');

/**
 * A full garbage collection before each measured step, so that none pays for the garbage the one
 * before it left (the bench process holds several projections in turn; a restarted process would not).
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Everything the bench started, stopped by `cleanup` even when a step failed. */
const cleanups: (() => Promise<unknown>)[] = [];
export async function cleanupReplayBench(): Promise<void> {
  for (let fn = cleanups.pop(); fn; fn = cleanups.pop()) await fn().catch(() => undefined);
}

export async function replayBench(options: ReplayBenchOptions): Promise<void> {
  const results: Measured[] = [];
  try {
    if (options.embeddedEvents > 0) results.push(...(await embedded(options.embeddedEvents, options.embeddedPartitions)));
    if (options.kafkaEvents > 0) results.push(...(await kafka(options.kafkaEvents, options.kafkaPartitions)));
  } finally {
    await cleanupReplayBench();
  }
  report(results);
}

async function embedded(events: number, partitions: number): Promise<Measured[]> {
  const dir = await mkdtemp(join(tmpdir(), 'interchange-bench-replay-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const open = () => {
    const opened = new MemoryEventLog({ dir: join(dir, 'eventlog'), partitions: { [ORDERS_TOPIC]: partitions } });
    cleanups.push(() => opened.close());
    return opened;
  };
  const first = open();
  return phases('embedded (on disk)', events, dir, first, async () => {
    await first.close();
    collectGarbage();
    const started = performance.now();
    const reopened = open();
    const ms = performance.now() - started;
    log(`embedded: reopened the log from its files: ${events} records in ${round(ms)} ms (${rate(events, ms)} records/s)`);
    return { log: reopened, reopenMs: ms };
  });
}

async function kafka(events: number, partitions: number): Promise<Measured[]> {
  await buildMockBroker();
  const cluster: MockCluster = await startMockCluster({
    brokers: 1,
    topics: [
      { name: ORDERS_TOPIC, partitions },
      { name: ORDERS_DEAD_LETTER_TOPIC, partitions: 1 },
    ],
  });
  cleanups.push(() => cluster.stop());
  const dir = await mkdtemp(join(tmpdir(), 'interchange-bench-replay-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const eventLog = new KafkaEventLog({
    brokers: cluster.brokers,
    clientId: 'bench-replay',
    maxWaitTimeMs: Number(kafkaEnv.KAFKA_MAX_WAIT_MS),
    sessionTimeoutMs: Number(kafkaEnv.KAFKA_SESSION_TIMEOUT_MS),
    heartbeatIntervalMs: Number(kafkaEnv.KAFKA_HEARTBEAT_INTERVAL_MS),
    requestTimeoutMs: Number(kafkaEnv.KAFKA_REQUEST_TIMEOUT_MS),
  });
  cleanups.push(() => eventLog.close());
  return phases(`Kafka mock (${partitions} partitions)`, events, dir, eventLog, async () => {
    await checkPresent(eventLog, events);
    return { log: eventLog };
  });
}

/** The five steps of the file comment, on one log; `reopen` gives the log to restart on. */
async function phases(
  name: string,
  events: number,
  dir: string,
  eventLog: EventLog,
  reopen: () => Promise<{ log: EventLog; reopenMs?: number }>,
): Promise<Measured[]> {
  const source = new OrderEventSource(7, `replay-${Date.now().toString(36)}`);
  const before = Math.round(events * 0.9);
  await publish(name, eventLog, source, before);
  const store = new SnapshotStore({ file: join(dir, 'orders', 'projection.snapshot'), topic: ORDERS_TOPIC, logger: silent });

  const partial = await rebuild(eventLog, before);
  const saveStarted = performance.now();
  const snapshot = takeSnapshot(ORDERS_TOPIC, partial.projector, partial.journal)!;
  const bytes = await store.save(snapshot);
  const saveMs = performance.now() - saveStarted;
  log(
    `${name}: snapshot of ${snapshot.projector.projection.entities.length} orders and ${partial.journal.size} journal events: ` +
      `${round(bytes / 1e6)} MB written in ${round(saveMs)} ms`,
  );
  await partial.projector.stop();

  await publish(name, eventLog, source, events - before);
  const { log: restarted, reopenMs } = await reopen();
  const fromSnapshot = await rebuild(restarted, events, store);
  await fromSnapshot.projector.stop();
  const cold = await rebuild(restarted, events);
  await cold.projector.stop();
  if (fromSnapshot.read !== events - before)
    throw new Error(`${name}: the restart read ${fromSnapshot.read} records, expected ${events - before}`);
  const reopenNote = reopenMs === undefined ? '' : `; + ${round(reopenMs)} ms to reopen the log's files`;
  return [
    { log: name, scenario: 'cold rebuild (90 %)', inLog: before, read: partial.read, ms: partial.ms, readMs: partial.readMs, note: '' },
    { log: name, scenario: 'cold rebuild', inLog: events, read: cold.read, ms: cold.ms, readMs: cold.readMs, note: reopenNote.slice(2) },
    {
      log: name,
      scenario: 'restart from snapshot',
      inLog: events,
      read: fromSnapshot.read,
      ms: fromSnapshot.ms,
      readMs: fromSnapshot.readMs,
      note: `snapshot load ${round(fromSnapshot.restoreMs)} ms (${round(bytes / 1e6)} MB); a cold rebuild takes ${round(cold.ms / fromSnapshot.ms, 1)}x as long${reopenNote}`,
    },
  ];
}

async function publish(name: string, eventLog: EventLog, source: OrderEventSource, count: number): Promise<void> {
  const started = performance.now();
  for (let sent = 0; sent < count; sent += PUBLISH_BATCH) {
    const batch = Array.from({ length: Math.min(PUBLISH_BATCH, count - sent) }, () => encodeOrderEvent(source.next()));
    await withTimeout(eventLog.publish(ORDERS_TOPIC, batch), STEP_LIMIT_MS, 'publish');
  }
  const ms = performance.now() - started;
  log(`${name}: published ${count} events in ${round(ms)} ms (${rate(count, ms)} events/s)`);
}

/** A projector (and journal) from the beginning or from `store`'s snapshot, until caught up with `expected` records. */
async function rebuild(eventLog: EventLog, expected: number, store?: SnapshotStore) {
  const journal = new EventJournal({ maxEvents: JOURNAL_EVENTS });
  let read = 0;
  let firstAt: number | undefined;
  let restoreMs = 0;
  let restoredPositions = 0;
  const restore = store && restoreFromSnapshot(store, journal, silent);
  collectGarbage();
  const projector = new Projector({
    log: eventLog,
    topic: ORDERS_TOPIC,
    deadLetterTopic: ORDERS_DEAD_LETTER_TOPIC,
    groupId: `bench-replay-${Math.random().toString(36).slice(2)}`,
    logger: silent,
    registry: new Registry(),
    progressIntervalMs: 60_000,
    sink: {
      partitionsSeen: (count) => journal.partitionsSeen(count),
      started: (positions) => journal.started(positions),
      applied: (event) => journal.applied(event),
      progressed: (positions) => {
        firstAt ??= performance.now();
        read = positions.reduce((a, b) => a + b, 0) - restoredPositions;
        journal.progressed(positions);
      },
    },
    ...(restore && {
      restore: async (endOffsets: number[]) => {
        const restoreStarted = performance.now();
        const state = await restore(endOffsets);
        if (!state) throw new Error('the snapshot did not load');
        restoredPositions = state.projection.positions.reduce((a, b) => a + b, 0);
        restoreMs = performance.now() - restoreStarted;
        return state;
      },
    }),
  });
  const started = performance.now();
  await withTimeout(
    projector.start().then(() => projector.whenCaughtUp()),
    STEP_LIMIT_MS,
    'the projection did not catch up',
  );
  const done = performance.now();
  const status = projector.status();
  if (status.applied + status.deadLettered < expected)
    throw new Error(`caught up with ${status.applied} applied and ${status.deadLettered} dead-lettered of ${expected}`);
  return { projector, journal, read, ms: done - started, readMs: done - (firstAt ?? started), restoreMs };
}

/** Counts the records present from the beginning (the mock drops old ones silently): every one of the `expected` must be. */
async function checkPresent(eventLog: EventLog, expected: number): Promise<void> {
  const ends = await eventLog.endOffsets(ORDERS_TOPIC);
  const firstOffsets = new Map<number, number>();
  let count = 0;
  const started = performance.now();
  const consumer = await eventLog.consume({
    topic: ORDERS_TOPIC,
    groupId: `bench-count-${Math.random().toString(36).slice(2)}`,
    from: { kind: 'beginning' },
    commit: false,
    handle: async (records) => {
      for (const r of records) if (!firstOffsets.has(r.partition)) firstOffsets.set(r.partition, r.offset);
      count += records.length;
    },
  });
  try {
    await withTimeout(
      (async () => {
        while (!ends.every((end, p) => (consumer.progress().find((x) => x.partition === p)?.position ?? 0) >= end))
          await new Promise((resolve) => setTimeout(resolve, 50));
      })(),
      STEP_LIMIT_MS,
      'counting the records present',
    );
  } finally {
    await consumer.stop();
  }
  const dropped = [...firstOffsets].filter(([, first]) => first > 0);
  const total = ends.reduce((a, b) => a + b, 0);
  log(`Kafka mock: ${count} records present of ${total} published (plain consume: ${rate(count, performance.now() - started)} records/s)`);
  if (count !== expected || total !== expected || dropped.length > 0)
    throw new Error(
      `the mock holds ${count} of ${expected} records (partitions starting late: ${JSON.stringify(dropped)}): use more partitions or fewer events`,
    );
}

const rate = (count: number, ms: number) => Math.round((count * 1000) / Math.max(ms, 1));

function report(results: Measured[]): void {
  const lines = [
    '',
    'Replay: the orders projection and its journal brought back after a restart (in process; journal of 100,000 events)',
    '',
    table([
      ['log', 'scenario', 'events in log', 'events read', 'to ready ms', 'events/s to ready', 'events/s reading', 'note'],
      ...results.map((r) => [r.log, r.scenario, r.inLog, r.read, round(r.ms), rate(r.read, r.ms), rate(r.read, r.readMs), r.note]),
    ]),
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  process.stdout.write(
    JSON.stringify({
      bench: 'replay',
      results: results.map((r) => ({ ...r, ms: round(r.ms), readMs: round(r.readMs), eventsPerSecond: rate(r.read, r.readMs) })),
    }) + '\n',
  );
}
