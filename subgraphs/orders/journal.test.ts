/**
 * The journal's retention: per partition, so whether a position has expired depends on how many
 * events of each partition came after it, not on how a (rebuilt) projection interleaved partitions.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, InterchangeError } from '../../lib/errors.ts';
import { orderEvent } from '../../services/events/orders.ts';
import { EventJournal } from './journal.ts';
import { OrderProjection } from './projection.ts';

type Record = readonly [partition: number, offset: number];

/** Applies `records` (each a new order placed) in the given order, as the projector does, to a journal of `maxEvents`. */
function journalOf(maxEvents: number, partitions: number, records: readonly Record[]): EventJournal {
  const journal = new EventJournal({ maxEvents });
  const projection = new OrderProjection();
  journal.partitionsSeen(partitions);
  for (const [partition, offset] of records) {
    const event = orderEvent('OrderPlaced', `o-${partition}-${offset}`, {
      customerId: 'c1',
      lines: [{ productId: 'p1', quantity: 1, unitPriceCents: 100 }],
    });
    const result = projection.apply({ partition, offset }, event);
    assert.equal(result.kind, 'applied');
    const positions = projection.positionVector(partitions);
    if (result.kind === 'applied') journal.applied({ partition, offset, event, entity: result.entity, positions });
    journal.progressed(positions);
  }
  return journal;
}

const range = (partition: number, from: number, to: number): Record[] =>
  Array.from({ length: to - from }, (_, i) => [partition, from + i] as const);

const replayOf = (journal: EventJournal, after: number[]) =>
  journal.follow({ after, matches: () => true, listener: () => undefined }).replay.map((e) => `${e.partition}:${e.offset}`);

describe('the journal of applied events', () => {
  test("a rebuild that applies a partition's recent events before other partitions' history keeps what resuming needs", () => {
    // The gateway's position: partition 0 read up to offset 8, partition 1 up to 100.
    const position = [8, 100];
    // Rebuilt after a restart: partition 0 first, then all of partition 1's history (more than the whole journal holds).
    const rebuilt = journalOf(20, 2, [...range(0, 0, 10), ...range(1, 0, 100)]);
    assert.deepEqual(replayOf(rebuilt, position), ['0:8', '0:9']);
    // The same events interleaved otherwise expire the same positions.
    const live = journalOf(20, 2, [...range(1, 0, 95), ...range(0, 0, 10), ...range(1, 95, 100)]);
    assert.deepEqual(live.status().retainedFrom, rebuilt.status().retainedFrom);
    assert.deepEqual(rebuilt.status().retainedFrom, [0, 90]);
    assert.equal(rebuilt.size, 20);
  });

  test("a position that needs a partition's events beyond its share of the journal is expired", () => {
    const journal = journalOf(6, 2, [...range(0, 0, 5), ...range(1, 0, 1)]);
    assert.equal(journal.status().maxEventsPerPartition, 3);
    assert.deepEqual(replayOf(journal, [2, 0]), ['0:2', '0:3', '0:4', '1:0']);
    assert.throws(
      () => replayOf(journal, [1, 0]),
      (err: unknown) =>
        err instanceof InterchangeError && err.code === ErrorCode.CURSOR_EXPIRED && /newest 3 of each partition/.test(err.message),
    );
  });

  test('a restored state keeps each partition within its share, and replays in application order', () => {
    const first = journalOf(100, 2, [...range(0, 0, 4), ...range(1, 0, 4), ...range(0, 4, 6)]);
    const restored = new EventJournal({ maxEvents: 6 });
    restored.restoreState(structuredClone(first.exportState()));
    assert.deepEqual(restored.status().retainedFrom, [3, 1]);
    assert.deepEqual(replayOf(restored, [3, 1]), ['0:3', '1:1', '1:2', '1:3', '0:4', '0:5']);
    assert.deepEqual(
      restored.exportState().entries.map((e) => e.seq),
      [...restored.exportState().entries.map((e) => e.seq)].sort((a, b) => a - b),
    );
  });

  test('refuses to restore a state once followed or started: the content would change under its followers', () => {
    const state = structuredClone(journalOf(100, 2, range(0, 0, 4)).exportState());
    const followed = new EventJournal({ maxEvents: 100 });
    const following = followed.follow({ matches: () => true, listener: () => undefined });
    assert.throws(() => followed.restoreState(state), /already followed/);
    following.stop();
    followed.restoreState(state);
    assert.equal(followed.size, 4);
    followed.started([4, 0]);
    assert.throws(() => followed.restoreState(state), /already followed/);
  });
});
