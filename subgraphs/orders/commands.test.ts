/**
 * The orders commands on a real embedded event log and projector, with fake customers and catalog
 * sources: retries with one idempotency key place one order, cancels apply once, and a command
 * answers within its deadline (naming the order when it may still land) or publishes nothing.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { Deadline } from '../../lib/deadline.ts';
import { ErrorCode } from '../../lib/errors.ts';
import { MemoryEventLog } from '../../lib/eventlog/memory.ts';
import type { EventLog, OutgoingRecord, RecordPosition } from '../../lib/eventlog/types.ts';
import { createLogger } from '../../lib/logger.ts';
import { ORDERS_DEAD_LETTER_TOPIC, ORDERS_TOPIC } from '../../services/events/orders.ts';
import type { CatalogSource } from '../catalog/datasource.ts';
import type { CustomersSource } from '../customers/datasource.ts';
import { OrderCommands, type CommandOptions, type PlaceOrderInput } from './commands.ts';
import { waitFor } from '../../test/support/wait.ts';
import { EventJournal, type JournalEntry } from './journal.ts';
import { Projector } from './projector.ts';

const customers = {
  createLoader: () => ({ load: async (id: string) => (id === 'c1' || id === 'c2' ? { id } : null) }),
} as unknown as CustomersSource;
/** A catalog where every product has `stock` units; `asked` counts the lookups. */
const catalogWith = (stock: number, asked = { count: 0 }) =>
  ({
    createLoader: () => ({
      loadMany: async (ids: string[]) => (asked.count++, ids.map((id) => ({ id, stock, priceCents: 250 }))),
    }),
  }) as unknown as CatalogSource;
const catalog = catalogWith(1_000);

const input = (overrides: Partial<PlaceOrderInput> = {}): PlaceOrderInput => ({
  customerId: 'c1',
  lines: [{ productId: 'p1', quantity: 2 }],
  ...overrides,
});

const plenty = () => Deadline.after(10_000);

/**
 * An event log whose next publishes can be made to fail before writing, after writing, or to hang
 * until released, and whose deliveries to consumers can be held until released.
 */
class FaultyLog implements EventLog {
  readonly inner: EventLog;
  readonly faults: ('before' | 'after' | 'hang')[] = [];
  readonly #hung: (() => void)[] = [];
  #held: Promise<void> | undefined;

  constructor(inner: EventLog) {
    this.inner = inner;
  }

  async publish(topic: string, records: OutgoingRecord[]): Promise<RecordPosition[]> {
    if (topic !== ORDERS_TOPIC) return this.inner.publish(topic, records);
    const fault = this.faults.shift();
    if (fault === 'before') throw new Error('broker unreachable');
    if (fault === 'hang') await new Promise<void>((resolve) => this.#hung.push(resolve));
    const positions = await this.inner.publish(topic, records);
    if (fault === 'after') throw new Error('acknowledgement lost');
    return positions;
  }

  /** Holds every delivery to consumers (the projection stops applying) until `release`. */
  holdDeliveries(): void {
    this.#held ??= new Promise<void>((resolve) => this.#hung.push(resolve));
  }

  /** Lets every hung publish, and held delivery, go on. */
  release(): void {
    this.#held = undefined;
    for (const resolve of this.#hung.splice(0)) resolve();
  }

  consume: EventLog['consume'] = (options) =>
    this.inner.consume({
      ...options,
      handle: async (records, batch) => {
        await this.#held;
        return options.handle(records, batch);
      },
    });
  endOffsets: EventLog['endOffsets'] = (topic) => this.inner.endOffsets(topic);
  close = async () => this.release();
}

interface System {
  memory: MemoryEventLog;
  log: FaultyLog;
  projector: Projector;
  applied: JournalEntry[];
  commands: (overrides?: Partial<CommandOptions>) => OrderCommands;
  published: () => Promise<number>;
}

let system: System;

beforeEach(async () => {
  const memory = new MemoryEventLog({ partitions: { [ORDERS_TOPIC]: 3 } });
  const log = new FaultyLog(memory);
  const journal = new EventJournal({ maxEvents: 1_000 });
  const applied: JournalEntry[] = [];
  journal.follow({ matches: () => true, listener: (entry) => applied.push(entry) });
  const projector = new Projector({
    log,
    topic: ORDERS_TOPIC,
    deadLetterTopic: ORDERS_DEAD_LETTER_TOPIC,
    groupId: 'commands-test',
    logger: createLogger('test', 'silent'),
    registry: new Registry(),
    sink: journal,
  });
  await projector.start();
  // One OrderCommands per replica; they share the log and, here, the projection.
  const commands = (overrides: Partial<CommandOptions> = {}) =>
    new OrderCommands({
      log,
      topic: ORDERS_TOPIC,
      projector,
      customers,
      catalog,
      readYourWritesTimeoutMs: 5_000,
      publishTimeoutMs: 5_000,
      ...overrides,
    });
  const published = async () => (await memory.endOffsets(ORDERS_TOPIC)).reduce((a, b) => a + b, 0);
  system = { memory, log, projector, applied, commands, published };
});

afterEach(async () => {
  system.log.release();
  await system.projector.stop();
  await system.memory.close();
});

const placedEvents = () => system.applied.filter((e) => e.type === 'OrderPlaced');

async function rejection(promise: Promise<unknown>): Promise<{ code: unknown; orderId: unknown; message: string }> {
  const err = (await promise.then(
    () => assert.fail('expected the command to fail'),
    (e: unknown) => e,
  )) as { extensions: Record<string, unknown>; message: string };
  return { code: err.extensions['code'], orderId: err.extensions['orderId'], message: err.message };
}

describe('placeOrder with an idempotency key', { timeout: 30_000 }, () => {
  test('a second call with the key returns the same order and publishes nothing', async () => {
    const commands = system.commands();
    const first = await commands.placeOrder(input({ idempotencyKey: 'k-1' }), plenty());
    const second = await commands.placeOrder(input({ idempotencyKey: 'k-1' }), plenty());
    assert.equal(second.id, first.id);
    assert.equal(await system.published(), 1);
    assert.equal(placedEvents().length, 1);
  });

  test('the order id follows from the key, on every replica', async () => {
    const here = await system.commands().placeOrder(input({ idempotencyKey: 'k-2' }), plenty());
    const there = await system.commands().placeOrder(input({ idempotencyKey: 'k-2' }), plenty());
    assert.equal(there.id, here.id);
    const other = await system.commands().placeOrder(input({ idempotencyKey: 'k-3' }), plenty());
    assert.notEqual(other.id, here.id);
  });

  test('a retry after a publish that landed unacknowledged gets the order that landed, applied once', async () => {
    const commands = system.commands();
    system.log.faults.push('after');
    const failed = await rejection(commands.placeOrder(input({ idempotencyKey: 'k-4' }), plenty()));
    assert.equal(failed.code, ErrorCode.EVENT_LOG_UNAVAILABLE);
    assert.equal(typeof failed.orderId, 'string');
    const retried = await commands.placeOrder(input({ idempotencyKey: 'k-4' }), plenty());
    assert.equal(retried.id, failed.orderId);
    assert.equal(retried.version, 1);
    assert.equal(placedEvents().length, 1);
  });

  test('a retry after a publish that failed before writing places the order', async () => {
    const commands = system.commands();
    system.log.faults.push('before');
    const failed = await rejection(commands.placeOrder(input({ idempotencyKey: 'k-5' }), plenty()));
    assert.equal(failed.code, ErrorCode.EVENT_LOG_UNAVAILABLE);
    const retried = await commands.placeOrder(input({ idempotencyKey: 'k-5' }), plenty());
    assert.equal(retried.id, failed.orderId);
    assert.equal(placedEvents().length, 1);
  });

  test('a retry on another replica while the first publish is in flight publishes the same event, applied once', async () => {
    system.log.faults.push('hang');
    const first = system.commands().placeOrder(input({ idempotencyKey: 'k-6' }), plenty());
    const second = await system.commands().placeOrder(input({ idempotencyKey: 'k-6' }), plenty());
    system.log.release();
    assert.equal((await first).id, second.id);
    assert.equal(await system.published(), 2, 'both replicas published');
    assert.equal(placedEvents().length, 1, 'the projection applied one');
    assert.equal(system.projector.projection.get(second.id)?.eventIds.length, 1);
  });

  test('a concurrent retry on the same replica joins the call in flight', async () => {
    const commands = system.commands();
    system.log.faults.push('hang');
    const first = commands.placeOrder(input({ idempotencyKey: 'k-7' }), plenty());
    const second = commands.placeOrder(input({ idempotencyKey: 'k-7' }), plenty());
    await new Promise((resolve) => setImmediate(resolve));
    system.log.release();
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.id, b.id);
    assert.equal(await system.published(), 1);
  });

  test('keys are per customer: another customer using the same key string places its own order', async () => {
    const commands = system.commands();
    const mine = await commands.placeOrder(input({ idempotencyKey: 'k-15' }), plenty());
    const theirs = await commands.placeOrder(input({ idempotencyKey: 'k-15', customerId: 'c2' }), plenty());
    assert.notEqual(theirs.id, mine.id);
    assert.equal(theirs.customerId, 'c2');
    assert.equal((await commands.placeOrder(input({ idempotencyKey: 'k-15', customerId: 'c2' }), plenty())).id, theirs.id);
    assert.equal(placedEvents().length, 2);
  });

  test('a key used again with another input is refused with IDEMPOTENCY_KEY_REUSED naming the order', async () => {
    const commands = system.commands();
    const placed = await commands.placeOrder(input({ idempotencyKey: 'k-8' }), plenty());
    for (const other of [input({ lines: [{ productId: 'p1', quantity: 3 }] }), input({ lines: [{ productId: 'p2', quantity: 2 }] })]) {
      const refused = await rejection(commands.placeOrder({ ...other, idempotencyKey: 'k-8' }, plenty()));
      assert.deepEqual([refused.code, refused.orderId], [ErrorCode.IDEMPOTENCY_KEY_REUSED, placed.id]);
    }
    const split = await commands.placeOrder(
      input({
        idempotencyKey: 'k-8',
        lines: [
          { productId: 'p1', quantity: 1 },
          { productId: 'p1', quantity: 1 },
        ],
      }),
      plenty(),
    );
    assert.equal(split.id, placed.id, 'lines that add up to the same order are the same input');
    assert.equal(await system.published(), 1);
  });

  test('of two inputs racing on two replicas with one key, the first applied wins and the other is refused', async () => {
    system.log.faults.push('hang');
    const first = system.commands().placeOrder(input({ idempotencyKey: 'k-9' }), plenty());
    const other = [{ productId: 'p2', quantity: 1 }];
    const second = await system.commands().placeOrder(input({ idempotencyKey: 'k-9', lines: other }), plenty());
    system.log.release();
    const late = await rejection(first);
    assert.equal(second.lines[0]?.productId, 'p2', 'the second call applied first');
    assert.deepEqual(
      [late.code, late.orderId],
      [ErrorCode.IDEMPOTENCY_KEY_REUSED, second.id],
      'the first found the order placed with another input',
    );
    assert.equal(placedEvents().length, 1);
  });

  test('a retry whose checks fail while the first attempt’s order is on its way answers with that order once it lands', async () => {
    system.log.holdDeliveries();
    system.log.faults.push('after');
    const failed = await rejection(system.commands().placeOrder(input({ idempotencyKey: 'k-13' }), plenty()));
    assert.equal(failed.code, ErrorCode.EVENT_LOG_UNAVAILABLE);
    // The first attempt's order took the last units: the retry's stock check fails.
    const asked = { count: 0 };
    const retry = system.commands({ catalog: catalogWith(0, asked) }).placeOrder(input({ idempotencyKey: 'k-13' }), plenty());
    await waitFor(() => asked.count > 0, 10_000, 'the retry checks the stock');
    system.log.release();
    const retried = await retry;
    assert.equal(retried.id, failed.orderId);
    assert.equal(placedEvents().length, 1);
  });

  test('a retry whose checks fail while the projection is behind names the order the first attempt may still place', async () => {
    system.log.holdDeliveries();
    system.log.faults.push('after');
    const failed = await rejection(system.commands().placeOrder(input({ idempotencyKey: 'k-14' }), plenty()));
    const retry = system.commands({ catalog: catalogWith(0) }).placeOrder(input({ idempotencyKey: 'k-14' }), Deadline.after(300));
    const behind = await rejection(retry);
    assert.deepEqual([behind.code, behind.orderId], [ErrorCode.PROJECTION_BEHIND, failed.orderId]);
    assert.match(behind.message, /may still place order/);
    system.log.release();
    const landed = await system.commands().placeOrder(input({ idempotencyKey: 'k-14' }), plenty());
    assert.equal(landed.id, failed.orderId);
  });

  test('a key of more than 128 characters, or an empty one, is bad input and publishes nothing', async () => {
    for (const idempotencyKey of ['x'.repeat(129), '']) {
      const refused = await rejection(system.commands().placeOrder(input({ idempotencyKey }), plenty()));
      assert.equal(refused.code, ErrorCode.BAD_USER_INPUT);
    }
    await system.commands().placeOrder(input({ idempotencyKey: 'x'.repeat(128) }), plenty());
    assert.equal(await system.published(), 1);
  });

  test('without a key every call places a new order', async () => {
    const commands = system.commands();
    const a = await commands.placeOrder(input(), plenty());
    const b = await commands.placeOrder(input({ idempotencyKey: null }), plenty());
    assert.notEqual(a.id, b.id);
    assert.equal(placedEvents().length, 2);
  });
});

describe('cancelOrder', { timeout: 30_000 }, () => {
  test('cancelling a cancelled order returns it and publishes nothing', async () => {
    const commands = system.commands();
    const placed = await commands.placeOrder(input(), plenty());
    const cancelled = await commands.cancelOrder(placed.id, plenty());
    const again = await commands.cancelOrder(placed.id, plenty());
    assert.equal(again.status, 'CANCELLED');
    assert.equal(again.version, cancelled.version);
    assert.equal(await system.published(), 2);
  });

  test('concurrent cancels on two replicas apply once', async () => {
    const placed = await system.commands().placeOrder(input(), plenty());
    const [a, b] = await Promise.all([
      system.commands().cancelOrder(placed.id, plenty()),
      system.commands().cancelOrder(placed.id, plenty()),
    ]);
    assert.equal(await system.published(), 3, 'both published');
    assert.deepEqual([a.status, b.status], ['CANCELLED', 'CANCELLED']);
    assert.equal(system.projector.projection.get(placed.id)?.version, 2, 'one OrderCancelled applied');
    assert.equal(system.applied.filter((e) => e.type === 'OrderCancelled').length, 1);
  });
});

describe('deadlines', { timeout: 30_000 }, () => {
  test('a budget too small to publish and read answers DEADLINE_EXCEEDED and publishes nothing', async () => {
    const refused = await rejection(system.commands().placeOrder(input({ idempotencyKey: 'k-10' }), Deadline.after(20)));
    assert.equal(refused.code, ErrorCode.DEADLINE_EXCEEDED);
    assert.equal(refused.orderId, undefined);
    const placed = await system.commands().placeOrder(input(), plenty());
    const cancel = await rejection(system.commands().cancelOrder(placed.id, Deadline.after(0)));
    assert.equal(cancel.code, ErrorCode.DEADLINE_EXCEEDED);
    assert.equal(await system.published(), 1);
  });

  test('a publish still unacknowledged when the deadline comes answers with the order id, and a retry gets that order', async () => {
    const commands = system.commands();
    system.log.faults.push('hang');
    const late = await rejection(commands.placeOrder(input({ idempotencyKey: 'k-11' }), Deadline.after(300)));
    assert.equal(late.code, ErrorCode.EVENT_LOG_UNAVAILABLE);
    assert.equal(typeof late.orderId, 'string');
    system.log.release(); // the order lands after the answer
    const retried = await commands.placeOrder(input({ idempotencyKey: 'k-11' }), plenty());
    assert.equal(retried.id, late.orderId);
    assert.equal(placedEvents().length, 1);
  });

  test('a retry whose deadline ends while joining a call in flight answers with the order id', async () => {
    const commands = system.commands();
    system.log.faults.push('hang');
    const first = commands.placeOrder(input({ idempotencyKey: 'k-12' }), plenty());
    const late = await rejection(commands.placeOrder(input({ idempotencyKey: 'k-12' }), Deadline.after(300)));
    system.log.release();
    assert.equal(late.code, ErrorCode.EVENT_LOG_UNAVAILABLE);
    assert.equal(late.orderId, (await first).id);
  });
});
