import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { orderEvent } from '../../services/events/orders.ts';
import { OrderProjection } from './projection.ts';

const placed = (orderId: string, customerId = 'c1') =>
  orderEvent('OrderPlaced', orderId, {
    customerId,
    lines: [
      { productId: 'p1', quantity: 2, unitPriceCents: 250 },
      { productId: 'p2', quantity: 1, unitPriceCents: 1000 },
    ],
  });

describe('the orders projection', () => {
  test('creates an order from OrderPlaced with its total and version 1', () => {
    const projection = new OrderProjection();
    const event = placed('o1');
    assert.equal(projection.apply({ partition: 0, offset: 0 }, event).kind, 'applied');
    assert.deepEqual(projection.get('o1'), {
      id: 'o1',
      status: 'PLACED',
      customerId: 'c1',
      lines: event.data.lines,
      totalCents: 1500,
      placedAt: event.occurredAt,
      updatedAt: event.occurredAt,
      version: 1,
      eventIds: [event.id],
    });
  });

  test('moves an order through PAID and SHIPPED, counting versions', () => {
    const projection = new OrderProjection();
    projection.apply({ partition: 1, offset: 0 }, placed('o1'));
    projection.apply({ partition: 1, offset: 1 }, orderEvent('OrderPaid', 'o1', { amountCents: 1500 }));
    projection.apply({ partition: 1, offset: 2 }, orderEvent('OrderShipped', 'o1', { carrier: 'x' }));
    assert.equal(projection.get('o1')?.status, 'SHIPPED');
    assert.equal(projection.get('o1')?.version, 3);
    assert.equal(projection.position(1), 3);
  });

  test('skips a record at or before the applied position (a replay)', () => {
    const projection = new OrderProjection();
    projection.apply({ partition: 0, offset: 5 }, placed('o1'));
    assert.equal(projection.apply({ partition: 0, offset: 5 }, orderEvent('OrderPaid', 'o1', { amountCents: 1 })).kind, 'replayed');
    assert.equal(projection.get('o1')?.status, 'PLACED');
  });

  test('skips an event id it has applied before (a duplicate published twice)', () => {
    const projection = new OrderProjection();
    projection.apply({ partition: 0, offset: 0 }, placed('o1'));
    const paid = orderEvent('OrderPaid', 'o1', { amountCents: 1500 }, 'o1:paid');
    assert.equal(projection.apply({ partition: 0, offset: 1 }, paid).kind, 'applied');
    assert.equal(projection.apply({ partition: 0, offset: 2 }, { ...paid, occurredAt: new Date().toISOString() }).kind, 'duplicate');
    assert.equal(projection.get('o1')?.version, 2);
    assert.equal(projection.position(0), 3);
  });

  for (const [name, events, reason] of [
    ['pays an unknown order', [orderEvent('OrderPaid', 'o9', { amountCents: 1 })], /OrderPaid for unknown order o9/],
    [
      'ships an order that is not paid',
      [placed('o1'), orderEvent('OrderShipped', 'o1', { carrier: 'x' })],
      /OrderShipped cannot apply to order o1 in status PLACED/,
    ],
    ['places an order twice', [placed('o1'), placed('o1')], /order o1 was already placed/],
    [
      'cancels a shipped order',
      [
        placed('o1'),
        orderEvent('OrderPaid', 'o1', { amountCents: 1 }),
        orderEvent('OrderShipped', 'o1', { carrier: 'x' }),
        orderEvent('OrderCancelled', 'o1', {}),
      ],
      /OrderCancelled cannot apply to order o1 in status SHIPPED/,
    ],
  ] as const) {
    test(`refuses an event that ${name}, changing nothing`, () => {
      const projection = new OrderProjection();
      const results = events.map((event, offset) => projection.apply({ partition: 0, offset }, event));
      const last = results.at(-1)!;
      assert.equal(last.kind, 'refused');
      assert.match(last.kind === 'refused' ? last.reason : '', reason);
      assert.equal(projection.get(events[0].orderId)?.version ?? 0, results.filter((r) => r.kind === 'applied').length);
    });
  }

  test('lists newest first, by customer and by status', () => {
    const projection = new OrderProjection();
    const a = { ...placed('a', 'c1'), occurredAt: '2026-01-01T00:00:00.000Z' };
    const b = { ...placed('b', 'c2'), occurredAt: '2026-01-02T00:00:00.000Z' };
    const c = { ...placed('c', 'c1'), occurredAt: '2026-01-03T00:00:00.000Z' };
    [a, b, c].forEach((e, offset) => projection.apply({ partition: 0, offset }, e));
    projection.apply({ partition: 0, offset: 3 }, orderEvent('OrderCancelled', 'c', {}));
    assert.deepEqual(
      projection.list({ first: 10 }).map((o) => o.id),
      ['c', 'b', 'a'],
    );
    assert.deepEqual(
      projection.list({ first: 2 }).map((o) => o.id),
      ['c', 'b'],
    );
    assert.deepEqual(
      projection.list({ customerId: 'c1', first: 10 }).map((o) => o.id),
      ['c', 'a'],
    );
    assert.deepEqual(
      projection.list({ customerId: 'c1', status: 'PLACED', first: 10 }).map((o) => o.id),
      ['a'],
    );
    assert.deepEqual(projection.list({ customerId: 'nobody', first: 10 }), []);
  });
});
