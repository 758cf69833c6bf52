/** What the chaos run expects of each subscriber and command, and how it counts the differences. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EventType } from './contract.ts';
import { diffCommands, diffDeliveries, type Delivery } from './expect.ts';
import type { AppliedEvent } from './model.ts';

const applied: AppliedEvent[] = [
  { partition: 0, offset: 0, id: 'a1', orderId: 'a', type: 'OrderPlaced', version: 1, customerId: 'c1' },
  { partition: 0, offset: 1, id: 'a2', orderId: 'a', type: 'OrderPaid', version: 2, customerId: 'c1' },
  { partition: 0, offset: 5, id: 'a3', orderId: 'a', type: 'OrderShipped', version: 3, customerId: 'c1' },
  { partition: 1, offset: 0, id: 'b1', orderId: 'b', type: 'OrderPlaced', version: 1, customerId: 'c2' },
  { partition: 1, offset: 2, id: 'b2', orderId: 'b', type: 'OrderCancelled', version: 2, customerId: 'c2' },
];
const d = (orderId: string, version: number, type: EventType): Delivery => ({ orderId, version, type });
const all = applied.map((e) => d(e.orderId, e.version, e.type));

describe('deliveries against the applied events', () => {
  test('every matching event once, in order: nothing to report', () => {
    const diff = diffDeliveries(applied, { filter: {}, deliveries: all });
    assert.deepEqual(diff, {
      expected: 5,
      delivered: 5,
      duplicated: 0,
      missing: 0,
      excused: 0,
      outOfOrder: 0,
      unexpected: 0,
      missingSample: [],
      duplicateSample: [],
    });
  });

  test('filters by customer and by types', () => {
    assert.equal(diffDeliveries(applied, { filter: { customerId: 'c2' }, deliveries: [] }).missing, 2);
    const byTypes = diffDeliveries(applied, {
      filter: { types: ['OrderPlaced'] },
      deliveries: [d('a', 1, 'OrderPlaced'), d('b', 1, 'OrderPlaced')],
    });
    assert.equal(byTypes.expected, 2);
    assert.equal(byTypes.missing, 0);
    assert.equal(byTypes.unexpected, 0);
  });

  test('counts a delivery received again as duplicated, and not as out of order', () => {
    const resumed = (delivery: Delivery) => ({ ...delivery, subscription: 2 });
    const diff = diffDeliveries(applied, {
      filter: {},
      deliveries: [...all.slice(0, 3), resumed(all[0]!), resumed(all[1]!), ...all.slice(3).map(resumed)],
    });
    assert.equal(diff.duplicated, 2);
    assert.deepEqual(diff.duplicateSample, ['a#1@?,2', 'a#2@?,2']);
    assert.equal(diff.outOfOrder, 0);
    assert.equal(diff.delivered, 7);
  });

  test('counts the expected events never received as missing, with a sample', () => {
    const diff = diffDeliveries(applied, { filter: {}, deliveries: [all[0]!, all[3]!] });
    assert.equal(diff.missing, 3);
    assert.deepEqual(diff.missingSample, ['a#2', 'a#3', 'b#2']);
  });

  test('counts a lower version after a higher one of the same order as out of order', () => {
    const diff = diffDeliveries(applied, { filter: {}, deliveries: [all[0]!, all[2]!, all[1]!, all[3]!, all[4]!] });
    assert.equal(diff.outOfOrder, 1);
    assert.equal(diff.missing, 0);
  });

  test('counts deliveries of events never applied, of another type, or outside the filter as unexpected', () => {
    const diff = diffDeliveries(applied, {
      filter: { customerId: 'c1' },
      deliveries: [d('a', 1, 'OrderPlaced'), d('a', 2, 'OrderCancelled'), d('a', 4, 'OrderShipped'), d('b', 1, 'OrderPlaced')],
    });
    assert.equal(diff.unexpected, 3);
    assert.deepEqual(diff.missingSample, ['a#3']); // a#2 came, with the wrong type: counted once, as unexpected
  });

  test('excuses what a subscriber without a position missed below the end offsets at its live restart', () => {
    const diff = diffDeliveries(applied, { filter: {}, deliveries: [all[2]!], excuseBelow: [2, 1] });
    assert.equal(diff.excused, 3);
    assert.equal(diff.missing, 1); // b#2 at offset 2 of partition 1
    assert.deepEqual(diff.missingSample, ['b#2']);
  });
});

describe('commands against the placed orders', () => {
  test('one order per command: nothing to report', () => {
    const diff = diffCommands(
      [
        { orderId: 'o1', signature: 's1' },
        { orderId: 'o2', signature: 's2' },
        { orderId: 'x', signature: 'not ours' },
      ],
      [
        { key: 'k1', signature: 's1', attempts: 1, acknowledged: 'o1' },
        { key: 'k2', signature: 's2', attempts: 3, acknowledged: 'o2' },
      ],
    );
    assert.deepEqual(diff, {
      commands: 2,
      attempts: 4,
      acknowledged: 2,
      failed: 0,
      ordersPlaced: 2,
      duplicateOrders: 0,
      keysWithDuplicates: 0,
      acknowledgedNotPlaced: 0,
    });
  });

  test('counts orders beyond the first of a command as duplicates, whether or not it was acknowledged', () => {
    const diff = diffCommands(
      [
        { orderId: 'o1', signature: 's1' },
        { orderId: 'o1b', signature: 's1' },
        { orderId: 'o1c', signature: 's1' },
        { orderId: 'o2', signature: 's2' },
        { orderId: 'o2b', signature: 's2' },
      ],
      [
        { key: 'k1', signature: 's1', attempts: 3, acknowledged: 'o1c' },
        { key: 'k2', signature: 's2', attempts: 8 },
      ],
    );
    assert.equal(diff.duplicateOrders, 3);
    assert.equal(diff.keysWithDuplicates, 2);
    assert.equal(diff.ordersPlaced, 5);
    assert.equal(diff.failed, 1);
  });

  test('counts an acknowledged order that is not in the log', () => {
    const diff = diffCommands([], [{ key: 'k1', signature: 's1', attempts: 1, acknowledged: 'o1' }]);
    assert.equal(diff.acknowledgedNotPlaced, 1);
    assert.equal(diff.ordersPlaced, 0);
  });
});
