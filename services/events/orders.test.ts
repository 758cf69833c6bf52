import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeOrderEvent, encodeOrderEvent, orderEvent } from './orders.ts';

const placed = orderEvent('OrderPlaced', 'o-1', { customerId: 'c1', lines: [{ productId: 'p1', quantity: 2, unitPriceCents: 500 }] });

describe('order event contracts', () => {
  test('encodes an event keyed by its order id and decodes it back', () => {
    const record = encodeOrderEvent(placed);
    assert.equal(record.key, 'o-1');
    assert.deepEqual(record.headers, { 'event-type': 'OrderPlaced', 'event-id': placed.id });
    assert.deepEqual(decodeOrderEvent(record.value), { ok: true, event: placed });
  });

  test('ignores properties it does not know (tolerant reader)', () => {
    const decoded = decodeOrderEvent(JSON.stringify({ ...placed, traceId: 'x', data: { ...placed.data, giftWrap: true } }));
    assert.equal(decoded.ok, true);
  });

  const rejects: [string, string, RegExp][] = [
    ['bad JSON', '{"id": ', /^not JSON/],
    [
      'a missing envelope field',
      JSON.stringify({ ...placed, orderId: undefined }),
      /invalid envelope: event must have required property 'orderId'/,
    ],
    [
      'an unknown type',
      JSON.stringify({ ...placed, type: 'OrderLost' }),
      /invalid envelope: event\/type must be equal to one of the allowed values/,
    ],
    ['a bad timestamp', JSON.stringify({ ...placed, occurredAt: 'yesterday' }), /event\/occurredAt must match format "date-time"/],
    ['an unsupported version', JSON.stringify({ ...placed, version: 2 }), /unsupported OrderPlaced version 2/],
    [
      'data that fails its schema',
      JSON.stringify({ ...placed, data: { customerId: 'c1', lines: [{ productId: 'p1', quantity: 0, unitPriceCents: 1 }] } }),
      /invalid OrderPlaced: data\/lines\/0\/quantity must be >= 1/,
    ],
    [
      'an order with no lines',
      JSON.stringify({ ...placed, data: { customerId: 'c1', lines: [] } }),
      /invalid OrderPlaced: data\/lines must NOT have fewer than 1 items/,
    ],
  ];
  for (const [what, value, reason] of rejects) {
    test(`rejects ${what} with the reason`, () => {
      const decoded = decodeOrderEvent(value);
      assert.equal(decoded.ok, false);
      assert.match(decoded.ok ? '' : decoded.reason, reason);
    });
  }

  test('refuses to encode an invalid event', () => {
    assert.throws(() => encodeOrderEvent({ ...placed, data: { customerId: '', lines: [] } }), /refusing to publish an invalid event/);
  });
});
