/** The chaos run's reference model: the order life cycle, duplicates, malformed records, per-partition order. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyTopic, commandSignature, type TopicRecord } from './model.ts';

const at = '2026-12-01T00:00:00.000Z';
const placed = (orderId: string, customerId = 'c1', id = `${orderId}:placed`) =>
  JSON.stringify({
    id,
    type: 'OrderPlaced',
    version: 1,
    occurredAt: at,
    orderId,
    data: { customerId, lines: [{ productId: 'p1', quantity: 2, unitPriceCents: 100 }] },
  });
const event = (type: string, orderId: string, id = `${orderId}:${type}`, data: Record<string, unknown> = {}) =>
  JSON.stringify({ id, type, version: 1, occurredAt: at, orderId, data });
const paid = (orderId: string, id?: string) => event('OrderPaid', orderId, id, { amountCents: 200 });
const shipped = (orderId: string, id?: string) => event('OrderShipped', orderId, id, { carrier: 'Post' });
const cancelled = (orderId: string, id?: string) => event('OrderCancelled', orderId, id);

/** Records on one partition, offsets from 0. */
const partition = (p: number, values: (string | null)[]): TopicRecord[] => values.map((value, offset) => ({ partition: p, offset, value }));
const summary = (records: TopicRecord[]) => applyTopic(records).applied.map((e) => `${e.orderId}:${e.type}:v${e.version}`);

describe('the reference model', () => {
  test('applies placed, paid, shipped with increasing versions and the customer of the order', () => {
    const { applied, counts } = applyTopic(partition(0, [placed('a', 'c7'), paid('a'), shipped('a')]));
    assert.deepEqual(
      applied.map((e) => [e.type, e.version, e.customerId, e.offset]),
      [
        ['OrderPlaced', 1, 'c7', 0],
        ['OrderPaid', 2, 'c7', 1],
        ['OrderShipped', 3, 'c7', 2],
      ],
    );
    assert.deepEqual(counts, { records: 3, applied: 3, duplicate: 0, malformed: 0, refused: 0, splitOrders: 0 });
  });

  test('cancels from placed and from paid, and refuses what does not follow the life cycle', () => {
    const records = partition(0, [
      placed('a'),
      cancelled('a'),
      paid('a'), // after cancelled
      placed('b'),
      paid('b'),
      cancelled('b'),
      shipped('b'), // after cancelled
      placed('c'),
      shipped('c'), // before paid
      paid('ghost'), // unknown order
      placed('c', 'c1', 'c:placed-again'), // placed twice
    ]);
    assert.deepEqual(summary(records), [
      'a:OrderPlaced:v1',
      'a:OrderCancelled:v2',
      'b:OrderPlaced:v1',
      'b:OrderPaid:v2',
      'b:OrderCancelled:v3',
      'c:OrderPlaced:v1',
    ]);
    assert.equal(applyTopic(records).counts.refused, 5);
  });

  test('ignores an event whose id its order already applied, wherever it comes again', () => {
    const records = partition(0, [placed('a'), placed('a'), paid('a'), placed('a'), paid('a')]);
    assert.deepEqual(summary(records), ['a:OrderPlaced:v1', 'a:OrderPaid:v2']);
    assert.equal(applyTopic(records).counts.duplicate, 3);
  });

  test('a refused event is not remembered: the same id can apply once its order allows it', () => {
    assert.deepEqual(summary(partition(0, [paid('a'), placed('a'), paid('a')])), ['a:OrderPlaced:v1', 'a:OrderPaid:v2']);
  });

  test('counts malformed records (not JSON, no value, wrong envelope, unknown type or version, invalid data) and skips them', () => {
    const records = partition(0, [
      '{"not": json',
      null,
      '',
      JSON.stringify({ id: 'x', type: 'OrderPlaced' }),
      event('OrderTeleported', 'x'),
      JSON.stringify({ ...JSON.parse(placed('x')), version: 2 }),
      JSON.stringify({ ...JSON.parse(placed('x')), data: { customerId: 'c1', lines: [] } }),
      JSON.stringify({ ...JSON.parse(placed('x')), occurredAt: 'yesterday' }),
      event('OrderPaid', 'x', 'x:paid', { amountCents: -1 }),
      placed('x'),
    ]);
    const { counts } = applyTopic(records);
    assert.equal(counts.malformed, 9);
    assert.deepEqual(summary(records), ['x:OrderPlaced:v1']);
  });

  test('takes each partition in offset order, whatever order the records come in', () => {
    const records = [...partition(1, [placed('b'), paid('b')]), ...partition(0, [placed('a'), cancelled('a')])].reverse();
    assert.deepEqual(summary(records), ['a:OrderPlaced:v1', 'a:OrderCancelled:v2', 'b:OrderPlaced:v1', 'b:OrderPaid:v2']);
  });

  test('counts orders whose records span partitions', () => {
    const records = [...partition(0, [placed('a')]), ...partition(1, [paid('a')])];
    assert.equal(applyTopic(records).counts.splitOrders, 1);
  });

  test('names each placed order by the signature of its command', () => {
    assert.deepEqual(applyTopic(partition(0, [placed('a', 'c3')])).placed, [{ orderId: 'a', signature: 'c3|p1x2' }]);
  });
});

describe('command signatures', () => {
  test('merge lines of one product and ignore the order of lines', () => {
    assert.equal(
      commandSignature('c1', [
        { productId: 'p2', quantity: 1 },
        { productId: 'p1', quantity: 1 },
        { productId: 'p2', quantity: 3 },
      ]),
      commandSignature('c1', [
        { productId: 'p1', quantity: 1 },
        { productId: 'p2', quantity: 4 },
      ]),
    );
    assert.notEqual(commandSignature('c1', [{ productId: 'p1', quantity: 1 }]), commandSignature('c2', [{ productId: 'p1', quantity: 1 }]));
  });
});
