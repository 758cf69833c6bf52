/**
 * Snapshots of the orders projection and journal: a projector restarted from one has what the
 * first had and replays only what came after; a snapshot that is corrupt or does not fit the log
 * is discarded with a warning (never an exception); periodic snapshots skip an idle projection
 * and take a last one on stop.
 *
 * Run: node test/run.ts subgraphs/orders/snapshot.test.ts
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { MemoryEventLog } from '../../lib/eventlog/memory.ts';
import type { Logger } from '../../lib/logger.ts';
import { ORDERS_DEAD_LETTER_TOPIC, ORDERS_TOPIC, encodeOrderEvent, orderEvent, type OrderEvent } from '../../services/events/orders.ts';
import { EventJournal } from './journal.ts';
import { Projector, type ProjectorOptions } from './projector.ts';
import { OrderProjection } from './projection.ts';
import { encodeCursor } from '../kit/projection/cursor.ts';
import { OrderEventStreams, type StreamItem } from './stream.ts';
import { waitFor, withTimeout } from '../../test/support/wait.ts';
import { PeriodicSnapshots, SNAPSHOT_VERSION, SnapshotStore, restoreFromSnapshot, takeSnapshot, type OrdersSnapshot } from './snapshot.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));
async function snapshotFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'interchange-snapshot-'));
  dirs.push(dir);
  return join(dir, 'orders', 'projection.snapshot');
}

/** A logger that keeps each message by level. */
function recordingLogger() {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (objOrMsg: unknown, msg?: string) =>
    void lines.push({ level, msg: typeof objOrMsg === 'string' ? objOrMsg : (msg ?? '') });
  const logger = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as unknown as Logger;
  return { logger, lines, messages: (level: string) => lines.filter((l) => l.level === level).map((l) => l.msg) };
}

/** Places `count` orders and pays every other one: count * 1.5 events. */
function events(prefix: string, count: number): OrderEvent[] {
  const placed = Array.from({ length: count }, (_, i) =>
    orderEvent('OrderPlaced', `${prefix}-${i}`, {
      customerId: `c${i % 3}`,
      lines: [{ productId: 'p1', quantity: 1, unitPriceCents: 100 + i }],
    }),
  );
  const paid = placed.filter((_, i) => i % 2 === 0).map((e) => orderEvent('OrderPaid', e.orderId, { amountCents: 100 }));
  return [...placed, ...paid];
}

function projectorOn(log: MemoryEventLog, journal: EventJournal, logger: Logger, restore?: ProjectorOptions['restore']) {
  return new Projector({
    log,
    topic: ORDERS_TOPIC,
    deadLetterTopic: ORDERS_DEAD_LETTER_TOPIC,
    groupId: `test-${Math.random()}`,
    logger,
    registry: new Registry(),
    sink: journal,
    ...(restore && { restore }),
  });
}

/**
 * Runs a first projector on `log`: applies 30 events ('a-'), saves a snapshot to `store`, applies 6
 * more ('b-') and stops. Returns it, its journal and the snapshot saved.
 */
async function firstRun(log: MemoryEventLog, store: SnapshotStore, logger: Logger) {
  const journal = new EventJournal({ maxEvents: 1_000 });
  const projector = projectorOn(log, journal, logger);
  try {
    await projector.start();
    const before = await log.publish(ORDERS_TOPIC, events('a', 20).map(encodeOrderEvent));
    for (const position of before) await projector.waitFor(position, 10_000);
    const saved = takeSnapshot(ORDERS_TOPIC, projector, journal)!;
    await store.save(saved);
    const later = await log.publish(ORDERS_TOPIC, events('b', 4).map(encodeOrderEvent));
    for (const position of later) await projector.waitFor(position, 10_000);
    return { projector, journal, saved };
  } finally {
    await projector.stop();
  }
}

describe('orders snapshots', { timeout: 60_000 }, () => {
  test('a projector restarted from a snapshot has the first one’s orders and journal, and applies only what came after', async () => {
    const { logger, messages } = recordingLogger();
    const log = new MemoryEventLog({ partitions: { [ORDERS_TOPIC]: 3 } });
    const store = new SnapshotStore({ file: await snapshotFile(), topic: ORDERS_TOPIC, logger });
    const { projector, journal: firstJournal, saved } = await firstRun(log, store, logger);

    const journal = new EventJournal({ maxEvents: 1_000 });
    const restarted = projectorOn(log, journal, logger, restoreFromSnapshot(store, journal, logger));
    try {
      await restarted.start();
      await restarted.whenCaughtUp();
      assert.deepEqual(restarted.projection.snapshot(), projector.projection.snapshot());
      assert.deepEqual(JSON.parse(JSON.stringify(journal.exportState())), JSON.parse(JSON.stringify(firstJournal.exportState())));
      const applied = journal
        .exportState()
        .entries.filter((e) => e.seq > saved.journal.seq)
        .map((e) => e.entity.id);
      assert.equal(applied.length, 6, 'only the 6 events after the snapshot were applied');
      assert.ok(applied.every((id) => id.startsWith('b-')));
      assert.equal(restarted.status().applied, 36, 'the counters continue');
      // A subscriber of the first process resumes here: the events after its cursor are still retained.
      const resumeAt = firstJournal.exportState().entries[9]!;
      const resumed = journal.follow({ after: resumeAt.positions, matches: () => true, listener: () => undefined });
      resumed.stop();
      assert.deepEqual(
        resumed.replay.map((e) => e.id),
        firstJournal
          .exportState()
          .entries.slice(10)
          .map((e) => e.id),
      );
      assert.match(messages('info').join('\n'), /restored a snapshot of 20 orders; catching up from its positions \(6 events behind\)/);
    } finally {
      await restarted.stop();
      await log.close();
    }
  });

  test('a subscription resuming while the restarted projector loads its snapshot replays what it missed, not nothing', async () => {
    const { logger } = recordingLogger();
    const log = new MemoryEventLog({ partitions: { [ORDERS_TOPIC]: 3 } });
    const store = new SnapshotStore({ file: await snapshotFile(), topic: ORDERS_TOPIC, logger });
    const { journal: firstJournal } = await firstRun(log, store, logger);
    // A cursor older than the snapshot, issued by the first process.
    const resumeAt = firstJournal.exportState().entries[9]!;
    const missed = firstJournal
      .exportState()
      .entries.slice(10)
      .map((e) => e.id);

    const journal = new EventJournal({ maxEvents: 1_000 });
    const streams = new OrderEventStreams({ journal, bufferEvents: 100 });
    let release!: () => void;
    const loading = new Promise<void>((resolve) => (release = resolve));
    const restore = restoreFromSnapshot(store, journal, logger);
    const restarted = projectorOn(log, journal, logger, async (endOffsets) => (await loading, restore(endOffsets)));
    let stream: AsyncIterableIterator<StreamItem> | undefined;
    try {
      const starting = restarted.start();
      await waitFor(() => journal.partitions === 3, 10_000, 'the partition count is known');
      const opening = streams.open({ after: encodeCursor(resumeAt.positions) });
      opening.catch(() => undefined); // awaited below
      release();
      await starting;
      stream = await opening;
      const ids: string[] = [];
      while (ids.length < missed.length) {
        const { value } = await withTimeout(stream.next(), 10_000, `got ${ids.length} of ${missed.length} events: ${ids.join(' ')}`);
        if (value && 'value' in value && !(value.value instanceof Error)) ids.push(value.value.id);
      }
      assert.deepEqual(ids, missed);
    } finally {
      await stream?.return?.();
      await restarted.stop();
      await log.close();
    }
  });

  test("writes an order's lines once however many of its events the journal holds, and restores each entry's order as of its event", async () => {
    const { logger } = recordingLogger();
    const file = await snapshotFile();
    const store = new SnapshotStore({ file, topic: ORDERS_TOPIC, logger });
    const projection = new OrderProjection();
    const journal = new EventJournal({ maxEvents: 100 });
    journal.partitionsSeen(2);
    const lines = [{ productId: 'p-only-once', quantity: 2, unitPriceCents: 150 }];
    const history = [
      orderEvent('OrderPlaced', 'o1', { customerId: 'c1', lines }),
      orderEvent('OrderPlaced', 'o2', { customerId: 'c1', lines: [{ productId: 'p2', quantity: 1, unitPriceCents: 1 }] }),
      orderEvent('OrderPaid', 'o1', { amountCents: 300 }),
      orderEvent('OrderShipped', 'o1', { carrier: 'x' }),
    ];
    history.forEach((event, offset) => {
      const result = projection.apply({ partition: 1, offset }, event);
      assert.equal(result.kind, 'applied');
      if (result.kind === 'applied')
        journal.applied({ partition: 1, offset, event, entity: result.entity, positions: projection.positionVector(2) });
    });
    await store.save({
      topic: ORDERS_TOPIC,
      projector: { projection: projection.exportState(2), counters: { applied: 4, deadLettered: 0 } },
      journal: journal.exportState(),
    });
    const text = await readFile(file, 'utf8');
    assert.equal(text.split('p-only-once').length - 1, 2, 'once among the orders, once among the journal entries');
    const placedId = history[0]!.id;
    assert.equal(text.split(placedId).length - 1, 3, "the orders' event ids, and the placed entry's id and its order's event ids");
    const loaded = await store.load([0, 4]);
    assert.ok(loaded);
    assert.deepEqual(loaded.journal, JSON.parse(JSON.stringify(journal.exportState())));
    assert.deepEqual(
      loaded.journal.entries.map((e) => `${e.entity.id}:${e.entity.status}:${e.entity.version}:${e.entity.eventIds.length}`),
      ['o1:PLACED:1:1', 'o2:PLACED:1:1', 'o1:PAID:2:2', 'o1:SHIPPED:3:3'],
    );
  });

  test('a corrupt, truncated or empty snapshot file is discarded with a warning', async () => {
    const { logger, messages } = recordingLogger();
    const file = await snapshotFile();
    const store = new SnapshotStore({ file, topic: ORDERS_TOPIC, logger });
    const journal = new EventJournal({ maxEvents: 10 });
    const projection = { positions: [1, 0], entities: [] };
    await store.save({
      topic: ORDERS_TOPIC,
      projector: { projection, counters: { applied: 1, deadLettered: 0 } },
      journal: journal.exportState(),
    });
    assert.ok(await store.load([1, 0]), 'the intact snapshot loads');
    const good = await readFile(file, 'utf8');

    for (const [damage, content] of [
      ['garbage', 'not json at all\n'],
      ['cut before its trailer', good.split('\n').slice(0, -2).join('\n')],
      ['empty', ''],
      ['another format', `${JSON.stringify({ format: 'something else' })}\n`],
      ['an order that is not one', good.replace(/\n\{"end":0\}\n$/, '\nnull\n{"end":1}\n').replace('"orders":0', '"orders":1')],
    ] as const) {
      await writeFile(file, content);
      assert.equal(await store.load([1, 0]), undefined, damage);
    }
    await truncate(file, 10);
    assert.equal(await store.load([1, 0]), undefined, 'cut in its header');
    assert.equal(messages('warn').length, 6, messages('warn').join('\n'));
  });

  test('a snapshot that does not fit the log is discarded, saying why', async () => {
    const { logger, messages } = recordingLogger();
    const file = await snapshotFile();
    const journal = new EventJournal({ maxEvents: 10 });
    const snapshot = (positions: number[]): OrdersSnapshot => ({
      topic: ORDERS_TOPIC,
      projector: { projection: { positions, entities: [] }, counters: { applied: 0, deadLettered: 0 } },
      journal: journal.exportState(),
    });
    const store = new SnapshotStore({ file, topic: ORDERS_TOPIC, logger });
    await store.save(snapshot([5, 3]));
    assert.equal(await store.load([5, 2]), undefined);
    assert.match(messages('warn').at(-1)!, /position 3 on partition 1 lies beyond the end offset 2 \(was the topic recreated\?\)/);
    assert.equal(await store.load([5]), undefined);
    assert.match(messages('warn').at(-1)!, /positions on 2 partitions, the topic has 1/);
    assert.equal(await new SnapshotStore({ file, topic: 'other.topic', logger }).load([5, 3]), undefined);
    assert.match(messages('warn').at(-1)!, /of topic "orders.events", not "other.topic"/);
    await writeFile(file, (await readFile(file, 'utf8')).replace(`"version":${SNAPSHOT_VERSION}`, '"version":99'));
    assert.equal(await store.load([5, 3]), undefined);
    assert.match(messages('warn').at(-1)!, /format version 99/);
    assert.ok(
      (await new SnapshotStore({ file: `${file}.none`, topic: ORDERS_TOPIC, logger }).load([1])) === undefined,
      'no snapshot at all',
    );
    assert.match(messages('info').at(-1)!, /none yet/);
    // A topic that grew: new partitions are read from the beginning.
    await store.save(snapshot([5, 3]));
    assert.ok(await store.load([5, 3, 7]));
  });

  test('periodic snapshots skip an idle projection and take a last one on stop', async () => {
    const { logger, messages } = recordingLogger();
    const file = await snapshotFile();
    let positions = [1, 2];
    const journal = new EventJournal({ maxEvents: 10 });
    const snapshots = new PeriodicSnapshots({
      store: new SnapshotStore({ file, topic: ORDERS_TOPIC, logger }),
      intervalMs: 60_000,
      logger,
      take: () => ({
        topic: ORDERS_TOPIC,
        projector: { projection: { positions, entities: [] }, counters: { applied: 0, deadLettered: 0 } },
        journal: journal.exportState(),
      }),
    });
    const saved = () => messages('info').filter((m) => m === 'orders snapshot saved').length;
    snapshots.start();
    snapshots.alreadySaved([1, 2]); // as restored at start
    await snapshots.saveNow();
    assert.equal(saved(), 0, 'the restored snapshot is not written again');
    positions = [1, 3];
    await snapshots.saveNow();
    await snapshots.saveNow();
    assert.equal(saved(), 1, 'unchanged positions are not saved again');
    positions = [1, 4];
    await snapshots.stop();
    assert.equal(saved(), 2, 'a last one on stop');
    assert.ok((await stat(file)).size > 0);
    assert.match(await readFile(file, 'utf8'), /"positions":\[1,4\]/);
  });

  test('a tick while a save is still running is skipped: slow saves do not pile up', async () => {
    const { logger } = recordingLogger();
    const file = await snapshotFile();
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    let saves = 0;
    class SlowStore extends SnapshotStore {
      override async save(snapshot: OrdersSnapshot): Promise<number> {
        saves++;
        await slow;
        return super.save(snapshot);
      }
    }
    let taken = 0;
    let tick: () => void = () => assert.fail('not scheduled');
    const snapshots = new PeriodicSnapshots({
      store: new SlowStore({ file, topic: ORDERS_TOPIC, logger }),
      intervalMs: 1_000,
      logger,
      schedule: (run) => ((tick = run), () => undefined),
      // The positions move at every tick: each would be worth saving.
      take: () => ({
        topic: ORDERS_TOPIC,
        projector: { projection: { positions: [++taken], entities: [] }, counters: { applied: 0, deadLettered: 0 } },
        journal: new EventJournal({ maxEvents: 10 }).exportState(),
      }),
    });
    snapshots.start();
    try {
      tick();
      await waitFor(() => saves === 1, 10_000, 'the first save started');
      for (let i = 0; i < 5; i++) tick();
    } finally {
      release();
      await snapshots.stop();
    }
    assert.equal(taken, 2, 'the save of the first tick and the last one on stop, none for the ticks in between');
    assert.equal(saves, 2);
    assert.match(await readFile(file, 'utf8'), /"positions":\[2\]/);
  });
});
