import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { ErrorCode, InterchangeError } from '../../lib/errors.ts';
import { orderEvent, type OrderEvent } from '../../services/events/orders.ts';
import { decodeCursor, encodeCursor } from '../kit/projection/cursor.ts';
import { EventJournal } from './journal.ts';
import { OrderProjection, type Order } from './projection.ts';
import { withTimeout } from '../../test/support/wait.ts';
import { resumableCheckpoint } from '../kit/resumable.ts';
import { OrderEventStreams, type OrderEventFilter, type StreamItem, type StreamedOrderEvent } from './stream.ts';

const PARTITIONS = 3;
/** What the streams of `setUp` report as the projection's lag. */
const LAG = { events: 7, stale: false };

/** What applying a record gave: a stream from the topic's start reports `cursor` right after it. */
interface Applied {
  positions: number[];
  cursor: string;
  order: Order;
  type: OrderEvent['type'];
}

/** What the projector does per record: apply to the projection, tell the journal of applied events and of its progress. */
class Feed {
  readonly projection = new OrderProjection();
  private readonly next = new Map<number, number>();

  readonly journal: EventJournal;

  constructor(journal: EventJournal, partitions = PARTITIONS) {
    this.journal = journal;
    journal.started(new Array<number>(partitions).fill(0));
  }

  apply(partition: number, event: OrderEvent) {
    const offset = this.next.get(partition) ?? 0;
    this.next.set(partition, offset + 1);
    return this.applyAt(partition, offset, event);
  }

  /** Applies a record (a batch of one); for an applied event, what the journal recorded. */
  applyAt(partition: number, offset: number, event: OrderEvent): Applied | undefined {
    const result = this.projection.apply({ partition, offset }, event);
    const positions = this.projection.positionVector(this.journal.partitions);
    let applied: Applied | undefined;
    if (result.kind === 'applied') {
      this.journal.applied({ partition, offset, event, entity: result.entity, positions });
      applied = this.last = { positions, cursor: encodeCursor(positions), order: result.entity, type: event.type };
    }
    this.journal.progressed(positions);
    return applied;
  }

  last: Applied | undefined;
}

const placed = (orderId: string, customerId = 'c1') =>
  orderEvent('OrderPlaced', orderId, { customerId, lines: [{ productId: 'p1', quantity: 1, unitPriceCents: 100 }] });
const paid = (orderId: string) => orderEvent('OrderPaid', orderId, { amountCents: 100 }, `${orderId}:paid`);
const shipped = (orderId: string) => orderEvent('OrderShipped', orderId, { carrier: 'x' }, `${orderId}:shipped`);

function setUp(
  options: { maxEvents?: number; bufferEvents?: number; checkpointIntervalMs?: number; logEnd?: () => Promise<number[]> } = {},
) {
  const registry = new Registry();
  const journal = new EventJournal({ maxEvents: options.maxEvents ?? 1_000 });
  const streams = new OrderEventStreams({
    journal,
    bufferEvents: options.bufferEvents ?? 100,
    registry,
    lag: () => LAG,
    checkpointIntervalMs: options.checkpointIntervalMs,
    logEnd: options.logEnd,
  });
  const metric = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0;
  return { journal, streams, feed: new Feed(journal), metric };
}

/** The event an item carries, if it is one (not a checkpoint, not the error that ends a stream). */
const eventOf = (item: StreamItem): StreamedOrderEvent | undefined =>
  'value' in item && !(item.value instanceof Error) ? item.value : undefined;
/** The error that ends a stream, if the item is it. */
const errorOf = (item: StreamItem): InterchangeError | undefined =>
  'value' in item && item.value instanceof InterchangeError ? item.value : undefined;

/** Takes `count` items, failing if one does not come within 10 s. */
async function take(stream: AsyncIterator<StreamItem>, count: number): Promise<StreamItem[]> {
  const items: StreamItem[] = [];
  while (items.length < count) {
    const result = await withTimeout(stream.next(), 10_000, `got ${items.length} of ${count} items`);
    if (result.done) assert.fail(`the stream ended after ${items.length} of ${count} items`);
    items.push(result.value);
  }
  return items;
}

const ids = (items: StreamItem[]) =>
  items.map((i) => {
    const event = eventOf(i);
    const error = errorOf(i);
    return event ? `${event.entity.id}:${event.type}` : error ? `error:${error.code}` : 'checkpoint';
  });

async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof InterchangeError, `expected an InterchangeError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('order event cursors', () => {
  test('round-trip a position vector through an opaque base64url string', () => {
    for (const vector of [[0], [0, 0, 0], [12, 0, 7, 3, 0, 9], [Number.MAX_SAFE_INTEGER, 1]]) {
      const cursor = encodeCursor(vector);
      assert.match(cursor, /^[A-Za-z0-9_-]+$/);
      assert.deepEqual(decodeCursor(cursor), vector);
    }
    assert.equal(Buffer.from(encodeCursor([5, 6]), 'base64url').toString(), 'v1:5,6');
  });

  for (const [name, cursor] of [
    ['empty', ''],
    ['not base64url', 'a+b/c='],
    ['plain text', 'hello'],
    ['a vector without version', Buffer.from('5,6').toString('base64url')],
    ['another version', Buffer.from('v2:5,6').toString('base64url')],
    ['a negative offset', Buffer.from('v1:-1,6').toString('base64url')],
    ['leading zeros', Buffer.from('v1:05,6').toString('base64url')],
    ['no offsets', Buffer.from('v1:').toString('base64url')],
    ['an unsafe integer', Buffer.from('v1:9999999999999999').toString('base64url')],
    ['non-canonical base64url', `${encodeCursor([1, 2])}A`],
    ['far too long', 'A'.repeat(5_000)],
  ] as const) {
    test(`refuses a cursor that is ${name} with INVALID_CURSOR naming the argument`, () => {
      assert.throws(
        () => decodeCursor(cursor),
        (err: unknown) =>
          err instanceof InterchangeError && err.code === ErrorCode.INVALID_CURSOR && err.extensions['argument'] === 'after',
      );
    });
  }

  test("a journal entry keeps the projection's positions on every partition right after the event, as plain JSON", async () => {
    const { feed, streams } = setUp();
    const stream = await streams.open({ after: encodeCursor([0, 0, 0]) });
    feed.apply(0, placed('a'));
    feed.apply(2, placed('b'));
    feed.apply(0, paid('a'));
    const [, , entry] = (await take(stream, 3)).map(eventOf);
    assert.deepEqual(entry!.positions, [2, 0, 1]);
    assert.equal(entry!.cursor, encodeCursor([2, 0, 1]));
    const { cursor, ...journaled } = entry!;
    assert.deepEqual(JSON.parse(JSON.stringify(journaled)), journaled);
    assert.equal(typeof cursor, 'string');
    await stream.return!();
  });
});

describe('the orderEvents stream', () => {
  test('without `after`, delivers the events applied from now on, not earlier ones', async () => {
    const { streams, feed } = setUp();
    feed.apply(0, placed('a'));
    const stream = await streams.open({});
    feed.apply(1, placed('b'));
    feed.apply(0, paid('a'));
    assert.deepEqual(ids(await take(stream, 2)), ['b:OrderPlaced', 'a:OrderPaid']);
    await stream.return!();
  });

  test('delivers applied events only: not replays, duplicates or refused events', async () => {
    const { streams, feed } = setUp();
    const stream = await streams.open({});
    feed.applyAt(0, 0, placed('a'));
    feed.applyAt(0, 0, paid('a')); // replayed offset
    feed.applyAt(0, 1, paid('a'));
    feed.applyAt(0, 2, paid('a')); // same event id again
    feed.applyAt(0, 3, shipped('zzz')); // unknown order: refused
    feed.applyAt(0, 4, shipped('a'));
    assert.deepEqual(ids(await take(stream, 3)), ['a:OrderPlaced', 'a:OrderPaid', 'a:OrderShipped']);
    await stream.return!();
  });

  test('with `after`, replays the retained events the cursor does not cover, then continues live', async () => {
    const { streams, feed } = setUp();
    feed.apply(0, placed('a'));
    const cursor = feed.apply(1, placed('b'))!.cursor;
    feed.apply(0, paid('a'));
    feed.apply(2, placed('c'));
    const stream = await streams.open({ after: cursor });
    feed.apply(1, paid('b'));
    assert.deepEqual(ids(await take(stream, 3)), ['a:OrderPaid', 'c:OrderPlaced', 'b:OrderPaid']);
    await stream.return!();
  });

  test('resumes with no gap and no duplicate at the seam while events keep arriving', async () => {
    const { streams, feed } = setUp({ maxEvents: 10_000, bufferEvents: 10_000 });
    const all: string[] = [];
    let producing = true;
    const producer = (async () => {
      for (let i = 0; producing && i < 600; i++) {
        const entry = feed.apply(i % PARTITIONS, placed(`o${i}`));
        all.push(`${entry!.order.id}:OrderPlaced`);
        if (i % 7 === 0) await tick();
      }
    })();
    // Subscribe at many points mid-stream; each must see exactly what followed its cursor.
    const checks: Promise<void>[] = [];
    for (let round = 0; round < 20; round++) {
      await tick();
      const seen = all.length;
      const cursor = feed.last?.cursor;
      if (!cursor) continue;
      checks.push(
        (async () => {
          const stream = await streams.open({ after: cursor });
          await producer;
          const expected = all.slice(seen);
          assert.deepEqual(ids(await take(stream, expected.length)), expected);
          const extra = await Promise.race([stream.next(), tick().then(() => 'none')]);
          assert.equal(extra, 'none', 'nothing after the last event');
          await stream.return!();
        })(),
      );
    }
    await producer;
    producing = false;
    await Promise.all(checks);
    assert.ok(checks.length >= 10);
  });

  test('a cursor keeps its meaning when a rebuilt projection interleaves partitions differently', async () => {
    const events: [number, OrderEvent][] = [
      [0, placed('a')],
      [1, placed('b')],
      [0, paid('a')],
      [2, placed('c')],
      [1, paid('b')],
      [0, shipped('a')],
      [2, paid('c')],
      [1, shipped('b')],
    ];
    const first = setUp();
    let cursor = '';
    events.forEach(([p, e], i) => {
      const entry = first.feed.apply(p, e)!;
      if (i === 3) cursor = entry.cursor; // after a:PLACED, b:PLACED, a:PAID, c:PLACED
    });
    // The "restart": same records, partitions taken in another order (still offset order per partition).
    const rebuilt = setUp();
    for (const partition of [2, 1, 0]) for (const [p, e] of events) if (p === partition) rebuilt.feed.apply(p, e);
    const stream = await rebuilt.streams.open({ after: cursor });
    const replayed = ids(await take(stream, 4));
    assert.deepEqual([...replayed].sort(), ['a:OrderShipped', 'b:OrderPaid', 'b:OrderShipped', 'c:OrderPaid']);
    assert.ok(replayed.indexOf('b:OrderPaid') < replayed.indexOf('b:OrderShipped'), 'one order in event order');
    await stream.return!();
  });

  test('filters by customer and by event type, in the replay and live', async () => {
    const { streams, feed } = setUp();
    const start = encodeCursor([0, 0, 0]);
    feed.apply(0, placed('a', 'c1'));
    feed.apply(1, placed('b', 'c2'));
    feed.apply(0, paid('a'));
    const byCustomer = await streams.open({ after: start, customerId: 'c2' });
    const byType = await streams.open({ after: start, types: ['OrderPaid', 'OrderShipped'] });
    const both = await streams.open({ after: start, customerId: 'c1', types: ['OrderShipped'] });
    feed.apply(1, paid('b'));
    feed.apply(0, shipped('a'));
    assert.deepEqual(ids(await take(byCustomer, 2)), ['b:OrderPlaced', 'b:OrderPaid']);
    assert.deepEqual(ids(await take(byType, 3)), ['a:OrderPaid', 'b:OrderPaid', 'a:OrderShipped']);
    assert.deepEqual(ids(await take(both, 1)), ['a:OrderShipped']);
    for (const s of [byCustomer, byType, both]) await s.return!();
  });

  test('refuses an empty `types` list with BAD_USER_INPUT', async () => {
    const { streams } = setUp();
    await rejectsWith(streams.open({ types: [] }), ErrorCode.BAD_USER_INPUT, /types/);
  });

  test('refuses a cursor that names more partitions than the topic has with INVALID_CURSOR', async () => {
    const { streams } = setUp();
    await rejectsWith(streams.open({ after: encodeCursor([0, 0, 0, 0]) }), ErrorCode.INVALID_CURSOR, /4 partitions, the topic has 3/);
    await rejectsWith(streams.open({ after: 'garbage!' }), ErrorCode.INVALID_CURSOR);
  });

  test("refuses a cursor ahead of the log's end offsets with INVALID_CURSOR", async () => {
    const { streams, feed } = setUp({ logEnd: async () => [1, 0, 0] });
    feed.apply(0, placed('a'));
    await rejectsWith(streams.open({ after: encodeCursor([1, 5, 0]) }), ErrorCode.INVALID_CURSOR, /ahead of the event log/);
    await rejectsWith(streams.open({ after: encodeCursor([2]) }), ErrorCode.INVALID_CURSOR, /ahead of the event log/);
  });

  test('accepts a cursor ahead of this projection but within the log (a replica or restart that is behind), and resumes after it', async () => {
    // The log has 3 records on partition 0; this projection has applied only the first so far.
    const { streams, feed } = setUp({ logEnd: async () => [3, 0, 0] });
    feed.apply(0, placed('a'));
    const stream = await streams.open({ after: encodeCursor([2, 0, 0]) });
    feed.apply(0, paid('a'));
    feed.apply(0, shipped('a'));
    assert.deepEqual(ids(await take(stream, 1)), ['a:OrderShipped']);
    await stream.return?.();
  });

  test('a cursor the projection has reached is not checked against the log', async () => {
    const { streams, feed } = setUp({ logEnd: () => Promise.reject(new Error('the log must not be asked')) });
    feed.apply(0, placed('a'));
    const stream = await streams.open({ after: feed.last!.cursor });
    await stream.return?.();
  });

  test('treats partitions a cursor does not name as not covered (the topic grew)', async () => {
    const { streams, feed } = setUp();
    feed.apply(0, placed('a'));
    feed.apply(2, placed('c'));
    const stream = await streams.open({ after: encodeCursor([1]) });
    assert.deepEqual(ids(await take(stream, 1)), ['c:OrderPlaced']);
    await stream.return!();
  });

  test('refuses a cursor that needs dropped events with CURSOR_EXPIRED, and accepts one just inside the journal', async () => {
    const { streams, feed, journal } = setUp({ maxEvents: 3 * PARTITIONS }); // 3 per partition
    const cursors = ['a', 'b', 'c', 'd', 'e'].map((id) => feed.apply(0, placed(id))!.cursor);
    assert.deepEqual(journal.status().oldest, { partition: 0, offset: 2 });
    await rejectsWith(streams.open({ after: cursors[0] }), ErrorCode.CURSOR_EXPIRED, /no longer retained/);
    await rejectsWith(streams.open({ after: encodeCursor([0, 0, 0]) }), ErrorCode.CURSOR_EXPIRED);
    const stream = await streams.open({ after: cursors[1] });
    assert.deepEqual(ids(await take(stream, 3)), ['c:OrderPlaced', 'd:OrderPlaced', 'e:OrderPlaced']);
    await stream.return!();
    // Other partitions lost nothing: a cursor that only needs them is fine.
    feed.apply(1, placed('f'));
    const other = await streams.open({ after: encodeCursor([5, 0, 0]) });
    assert.deepEqual(ids(await take(other, 1)), ['f:OrderPlaced']);
    await other.return!();
  });

  test('with `after`, waits until the topic partition count is known before checking it', async () => {
    const journal = new EventJournal({ maxEvents: 10 });
    const streams = new OrderEventStreams({ journal, bufferEvents: 10 });
    let opened = false;
    const opening = streams.open({ after: encodeCursor([0, 0]) }).then((s) => ((opened = true), s));
    await tick();
    assert.equal(opened, false);
    const feed = new Feed(journal, 2);
    feed.apply(1, placed('a'));
    const stream = await opening;
    assert.deepEqual(ids(await take(stream, 1)), ['a:OrderPlaced']);
    await stream.return!();
  });

  test('opens that give up waiting for the topic partition count leave no waiter behind', async () => {
    const journal = new EventJournal({ maxEvents: 10 });
    const streams = new OrderEventStreams({ journal, bufferEvents: 10, logWaitMs: 1 });
    for (let i = 0; i < 3; i++) await rejectsWith(streams.open({ after: encodeCursor([0]) }), ErrorCode.EVENT_LOG_UNAVAILABLE);
    assert.equal(journal.status().waiting, 0);
    const opening = new OrderEventStreams({ journal, bufferEvents: 10 }).open({ after: encodeCursor([0]) });
    await tick();
    assert.equal(journal.status().waiting, 1);
    new Feed(journal, 1);
    await (
      await opening
    ).return!();
    assert.equal(journal.status().waiting, 0);
  });

  test('ends a consumer that falls behind with SUBSCRIBER_TOO_SLOW naming the last delivered cursor', async () => {
    const { streams, feed, journal, metric } = setUp({ bufferEvents: 5 });
    const stream = await streams.open({});
    const first = feed.apply(0, placed('o0'))!;
    assert.deepEqual(ids(await take(stream, 1)), ['o0:OrderPlaced']);
    for (let i = 1; i <= 6; i++) feed.apply(i % PARTITIONS, placed(`o${i}`));
    assert.equal(await metric('orders_subscriptions_active'), 0, 'released at once');
    assert.equal(journal.status().followers, 0);
    const failure = errorOf((await take(stream, 1))[0]!);
    assert.ok(failure instanceof InterchangeError);
    assert.equal(failure.code, ErrorCode.SUBSCRIBER_TOO_SLOW);
    assert.equal(failure.extensions['lastDeliveredCursor'], first.cursor);
    assert.match(failure.message, new RegExp(`fell 5 events behind.*after: "${first.cursor}"`));
    assert.deepEqual(await stream.next(), { done: true, value: undefined });
    // The cursor it names resumes with nothing lost.
    const resumed = await streams.open({ after: String(failure.extensions['lastDeliveredCursor']) });
    assert.deepEqual(
      ids(await take(resumed, 6)),
      [1, 2, 3, 4, 5, 6].map((i) => `o${i}:OrderPlaced`),
    );
    await resumed.return!();
  });

  test('a slow consumer that has received nothing is told its starting cursor', async () => {
    const { streams, feed } = setUp({ bufferEvents: 2 });
    const before = feed.apply(0, placed('a'))!.cursor;
    const stream = await streams.open({});
    for (const id of ['b', 'c', 'd']) feed.apply(1, placed(id));
    const failure = errorOf((await take(stream, 1))[0]!);
    assert.ok(failure instanceof InterchangeError);
    assert.equal(failure.extensions['lastDeliveredCursor'], before);
    await stream.return!();
  });

  test('the replay does not count against the buffer', async () => {
    const { streams, feed } = setUp({ bufferEvents: 2 });
    const start = encodeCursor([0, 0, 0]);
    for (let i = 0; i < 10; i++) feed.apply(0, placed(`o${i}`));
    const stream = await streams.open({ after: start });
    assert.equal((await take(stream, 10)).filter(eventOf).length, 10);
    await stream.return!();
  });

  test('stops listening and ends a pending read when the consumer returns the iterator', async () => {
    const { streams, feed, journal, metric } = setUp();
    const a = await streams.open({});
    const b = await streams.open({ after: encodeCursor([0, 0, 0]) });
    assert.equal(await metric('orders_subscriptions_active'), 2);
    assert.equal(await metric('orders_subscriptions_started_total'), 2);
    assert.equal(journal.status().followers, 2);
    const pending = a.next();
    await a.return!();
    assert.deepEqual(await pending, { done: true, value: undefined });
    assert.deepEqual(await a.next(), { done: true, value: undefined });
    await b.return!();
    await b.return!(); // idempotent
    assert.equal(journal.status().followers, 0);
    assert.equal(await metric('orders_subscriptions_active'), 0);
    feed.apply(0, placed('x')); // nobody listens; nothing breaks
    assert.equal(await metric('orders_subscriptions_started_total'), 2);
  });

  test('a refused subscription is neither counted nor left listening', async () => {
    const { streams, journal, metric } = setUp();
    const bad: OrderEventFilter[] = [{ types: [] }, { after: 'x' }, { after: encodeCursor([0, 0, 0, 0, 0]) }];
    for (const filter of bad) await assert.rejects(streams.open(filter));
    assert.equal(journal.status().followers, 0);
    assert.equal(await metric('orders_subscriptions_active'), 0);
    assert.equal(await metric('orders_subscriptions_started_total'), 0);
  });
});

/** The position an item carries (events and checkpoints alike). */
const positionOf = (item: StreamItem): number[] => decodeCursor(item.position);

/** Whether `promise` has settled, after letting everything already due run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await tick();
  return done;
}

/** Takes items until the stream finishes, failing if it does not within 10 s. */
async function drain(stream: AsyncIterator<StreamItem>): Promise<StreamItem[]> {
  const items: StreamItem[] = [];
  for (;;) {
    const result = await withTimeout(stream.next(), 10_000, `the stream did not finish after ${items.length} items`);
    if (result.done) return items;
    items.push(result.value);
  }
}

/** A deterministic pseudo-random generator (mulberry32), so a failing interleaving can be replayed. */
function random(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4_294_967_296) * below);
  };
}

/** Merges per-partition record lists in a random order, keeping each partition's own order. */
function interleave<T>(lists: T[][], pick: (below: number) => number): T[] {
  const heads = lists.map(() => 0);
  const merged: T[] = [];
  for (;;) {
    const open = lists.flatMap((list, i) => (heads[i]! < list.length ? [i] : []));
    if (open.length === 0) return merged;
    const i = open[pick(open.length)]!;
    merged.push(lists[i]![heads[i]!++]!);
  }
}

const assertNotBelow = (later: number[], earlier: number[], what: string) =>
  assert.ok(
    earlier.every((offset, partition) => (later[partition] ?? 0) >= offset),
    `${what}: ${JSON.stringify(later)} is below ${JSON.stringify(earlier)}`,
  );

describe('resumable positions (schema/resumable.md)', () => {
  // Defect: an event's cursor was the rebuilding projection's own vector, so after a restart a resumed
  // client got cursors lower than the one it resumed from, and resuming from them repeated events.
  for (let seed = 1; seed <= 12; seed++) {
    const filtered = seed % 2 === 0;
    test(`resuming again and again on rebuilt projections gives every event once, positions never going back (seed ${seed}${filtered ? ', filtered' : ''})`, async () => {
      const pick = random(seed);
      // Per partition: orders of two customers, each order's events in its order.
      const lists = [0, 1, 2].map((p) =>
        [0, 1, 2].flatMap((i) => {
          const id = `p${p}o${i}`;
          return [placed(id, i % 2 === 0 ? 'c1' : 'c2'), paid(id), shipped(id)].map((e) => [p, e] as const);
        }),
      );
      const customerId = filtered ? 'c1' : undefined;
      const expected = lists
        .flat()
        .filter(([, e]) => !filtered || /o[02]$/.test(e.orderId))
        .map(([, e]) => `${e.orderId}:${e.type}`);
      const delivered: string[] = [];
      const positions: number[][] = [[0, 0, 0]];
      let after = encodeCursor([0, 0, 0]);
      for (let run = 0; run < 3; run++) {
        // A restart: a fresh projection reads the same records in another interleaving, partly before the client is back.
        const { streams, feed } = setUp();
        const records = interleave(lists, pick);
        const early = pick(records.length + 1);
        for (const [p, e] of records.slice(0, early)) feed.apply(p, e);
        const stream = await streams.open({ after, customerId });
        for (const [p, e] of records.slice(early)) feed.apply(p, e);
        const left = expected.length - delivered.length;
        const count = run === 2 ? left : 1 + pick(left - (2 - run));
        for (const item of await take(stream, count)) {
          const event = eventOf(item)!;
          delivered.push(`${event.entity.id}:${event.type}`);
          assert.equal(event.cursor, item.position);
          const position = positionOf(item);
          assertNotBelow(position, positions.at(-1)!, `after ${delivered.at(-1)} in run ${run}`);
          positions.push(position);
        }
        if (run === 2) assert.equal(await settled(stream.next()), false, 'nothing after the last event');
        after = encodeCursor(positions.at(-1)!);
        await stream.return!();
      }
      assert.equal(new Set(delivered).size, delivered.length, `repeated: ${delivered.join(' ')}`);
      assert.deepEqual([...delivered].sort(), [...expected].sort());
    });
  }

  test('a checkpointing stream sends its start position first: where it opened live, or the resume position', async () => {
    const { streams, feed } = setUp();
    feed.apply(0, placed('a'));
    feed.apply(1, placed('b'));
    const live = await streams.open({ checkpoints: true });
    const resuming = await streams.open({ after: encodeCursor([1]), checkpoints: true });
    const [start] = await take(live, 1);
    assert.deepEqual(start, resumableCheckpoint(encodeCursor([1, 1, 0]), LAG));
    const [checkpoint, event] = await take(resuming, 2);
    assert.deepEqual(checkpoint, resumableCheckpoint(encodeCursor([1, 0, 0]), LAG));
    assert.equal(eventOf(event!)?.entity.id, 'b');
    assert.deepEqual(positionOf(event!), [1, 1, 0]);
    await live.return!();
    await resuming.return!();
  });

  test('checkpoints a position moved by filtered events at most every 250 ms, without delaying events', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const { streams, feed } = setUp();
    const stream = await streams.open({ customerId: 'c9', checkpoints: true });
    assert.deepEqual(positionOf((await stream.next()).value as StreamItem), [0, 0, 0]);
    const moved = stream.next();
    feed.apply(0, placed('a'));
    feed.apply(1, placed('b'));
    t.mock.timers.tick(249);
    assert.equal(await settled(moved), false, 'not before 250 ms');
    t.mock.timers.tick(1);
    assert.deepEqual((await moved).value, resumableCheckpoint(encodeCursor([1, 1, 0]), LAG));
    // A matching event goes out at once, whatever the checkpoint pacing.
    const event = stream.next();
    feed.apply(2, placed('c'));
    feed.apply(2, placed('mine', 'c9'));
    const item = (await event).value as StreamItem;
    assert.equal(eventOf(item)?.entity.id, 'mine');
    assert.deepEqual(positionOf(item), [1, 1, 2]);
    // Nothing moved since: only a heartbeat, after 5 s of silence, with the same position and the lag.
    const heartbeat = stream.next();
    t.mock.timers.tick(4_999);
    assert.equal(await settled(heartbeat), false, 'no heartbeat before 5 s');
    t.mock.timers.tick(1);
    assert.deepEqual((await heartbeat).value, resumableCheckpoint(encodeCursor([1, 1, 2]), LAG));
    await stream.return!();
  });

  test('a subscriber that did not ask for checkpoints gets none, only events', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const { streams, feed } = setUp();
    const stream = await streams.open({ customerId: 'c9' });
    const next = stream.next();
    feed.apply(0, placed('a'));
    t.mock.timers.tick(20_000);
    assert.equal(await settled(next), false);
    feed.apply(0, placed('mine', 'c9'));
    assert.equal(eventOf((await next).value as StreamItem)?.entity.id, 'mine');
    await stream.return!();
  });

  // Defect: a filtered subscription's resume point only moved on matching events, so it fell out of the journal.
  test("a filtered subscription's checkpoint stays resumable after the events it skipped left the journal", async () => {
    const { streams, feed } = setUp({ maxEvents: 3, checkpointIntervalMs: 0 });
    const stream = await streams.open({ customerId: 'c9', checkpoints: true });
    const [start] = await take(stream, 1);
    for (const id of ['a', 'b', 'c', 'd', 'e']) feed.apply(0, placed(id));
    const [checkpoint] = await take(stream, 1);
    assert.deepEqual(positionOf(checkpoint!), [5, 0, 0]);
    await stream.return!();
    await rejectsWith(streams.open({ after: start!.position, customerId: 'c9' }), ErrorCode.CURSOR_EXPIRED);
    const resumed = await streams.open({ after: checkpoint!.position, customerId: 'c9' });
    feed.apply(1, placed('mine', 'c9'));
    assert.deepEqual(ids(await take(resumed, 1)), ['mine:OrderPlaced']);
    await resumed.return!();
  });

  test('a bounded replay delivers the matching events from `after` below `until`, then completes at once', async () => {
    const { streams, feed } = setUp();
    feed.apply(0, placed('a'));
    const after = feed.apply(1, placed('b'))!.cursor;
    feed.apply(2, placed('c'));
    const until = feed.apply(0, paid('a'))!.cursor;
    feed.apply(1, paid('b'));
    const stream = await streams.open({ after, until, checkpoints: true });
    const items = await drain(stream);
    assert.deepEqual(ids(items), ['checkpoint', 'c:OrderPlaced', 'a:OrderPaid', 'checkpoint']);
    assert.deepEqual(items.map(positionOf), [
      [1, 1, 0],
      [1, 1, 1],
      [2, 1, 1],
      [2, 1, 1],
    ]);
    assert.equal(items.at(-1)!.position, until, 'the last checkpoint is `until` itself');
  });

  test('a bounded replay whose `after` is ahead of `until` on a partition completes once the projection reaches `until`', async () => {
    const { streams, feed } = setUp();
    feed.apply(0, placed('a'));
    feed.apply(1, placed('b'));
    // A position from a replica that had read further on partition 0 than this one has.
    const stream = await streams.open({ after: encodeCursor([3, 0, 0]), until: encodeCursor([1, 1, 0]), checkpoints: true });
    const items = await drain(stream);
    assert.deepEqual(ids(items), ['checkpoint', 'b:OrderPlaced', 'checkpoint']);
    // The final position keeps `after` where it was ahead: max(after, until).
    assert.deepEqual(items.map(positionOf), [
      [3, 0, 0],
      [3, 1, 0],
      [3, 1, 0],
    ]);
  });

  test("a bounded replay's final position is exactly `until` when `after` is nowhere ahead of it, however both are written", async () => {
    const { streams, feed } = setUp();
    feed.apply(0, placed('a'));
    feed.apply(1, placed('b'));
    feed.apply(2, placed('c'));
    const until = encodeCursor([1, 1]);
    const items = await drain(await streams.open({ after: encodeCursor([0]), until, checkpoints: true }));
    assert.deepEqual(ids(items), ['checkpoint', 'a:OrderPlaced', 'b:OrderPlaced', 'checkpoint']);
    assert.equal(items.at(-1)!.position, until);
  });

  test('a bounded replay ended by SUBSCRIBER_TOO_SLOW names the last position it delivered, and no final checkpoint', async () => {
    const { streams, feed } = setUp({ bufferEvents: 1 });
    const stream = await streams.open({ after: encodeCursor([0, 0, 0]), until: encodeCursor([0, 0, 5]), checkpoints: true });
    const [start] = await take(stream, 1);
    for (const id of ['a', 'b', 'c', 'd', 'e']) feed.apply(2, placed(id));
    const items = await drain(stream);
    assert.deepEqual(ids(items), ['error:SUBSCRIBER_TOO_SLOW']);
    assert.equal(items[0]!.position, start!.position);
  });

  test('a bounded replay ahead of the projection delivers events below `until` as they come, and completes once the projection reaches it', async () => {
    const { streams, feed } = setUp();
    const until = encodeCursor([2, 1, 0]);
    const stream = await streams.open({ after: encodeCursor([0, 0, 0]), until, checkpoints: true, customerId: 'c1' });
    const draining = drain(stream);
    feed.apply(2, placed('x')); // at or above `until`: not part of the replay
    feed.apply(0, placed('a'));
    feed.apply(0, paid('a'));
    assert.equal(await settled(draining), false, 'partition 1 has not reached `until` yet');
    feed.apply(1, placed('other', 'c2')); // filtered out, but it moves the position to `until`
    const items = await draining;
    assert.deepEqual(ids(items), ['checkpoint', 'a:OrderPlaced', 'a:OrderPaid', 'checkpoint']);
    // Capped at `until`: the stream never claims events it did not deliver.
    assert.deepEqual(items.map(positionOf), [
      [0, 0, 0],
      [1, 0, 0],
      [2, 0, 0],
      [2, 1, 0],
    ]);
  });

  test('a bounded replay claims no partition `until` does not name: a resume from its end gets their events', async () => {
    const { streams, feed } = setUp();
    feed.apply(1, placed('b'));
    feed.apply(2, placed('c'));
    feed.apply(0, placed('a'));
    // `after` and `until` name partition 0 only (a position from before the topic grew, say).
    const replay = await streams.open({ after: encodeCursor([0]), until: encodeCursor([1]), checkpoints: true });
    const items = await drain(replay);
    assert.deepEqual(
      ids(items).filter((id) => id !== 'checkpoint'),
      ['a:OrderPlaced'],
    );
    for (const item of items)
      assert.deepEqual(
        positionOf(item).slice(1),
        positionOf(item)
          .slice(1)
          .map(() => 0),
        'nothing claimed beyond partition 0',
      );
    const resumed = await streams.open({ after: items.at(-1)!.position });
    assert.deepEqual(ids(await take(resumed, 2)).sort(), ['b:OrderPlaced', 'c:OrderPlaced']);
    await resumed.return!();
  });

  test('refuses an `until` it cannot read, or naming more partitions than the topic has, with INVALID_CURSOR', async () => {
    const { streams, journal } = setUp();
    await rejectsWith(streams.open({ until: 'nope' }), ErrorCode.INVALID_CURSOR, /`until`/);
    await rejectsWith(streams.open({ until: encodeCursor([0, 0, 0, 0]) }), ErrorCode.INVALID_CURSOR, /`until`.*4 partitions/);
    assert.equal(journal.status().followers, 0);
  });
});
