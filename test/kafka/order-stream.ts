/**
 * A deterministic stream of order events, as another team's service might publish them: `orders`
 * orders, each placed, then (mostly) paid and shipped or cancelled, interleaved across orders.
 * The producer process and the tests build the same stream from the same seed.
 */
import { seededRandom } from '../../services/seed.ts';
import { orderEvent, type OrderEvent } from '../../services/events/orders.ts';

export function orderStream(orders: number, seed: number, prefix = 'stream'): OrderEvent[] {
  const random = seededRandom(seed);
  const pending: OrderEvent[][] = [];
  for (let n = 1; n <= orders; n++) {
    const orderId = `${prefix}-${seed}-${n}`;
    const lines = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) => ({
      productId: `p${1 + ((n * 7 + i * 13) % 500)}`,
      quantity: 1 + Math.floor(random() * 4),
      unitPriceCents: 100 + Math.floor(random() * 5000),
    }));
    const total = lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
    const events: OrderEvent[] = [orderEvent('OrderPlaced', orderId, { customerId: `c${1 + (n % 1000)}`, lines }, `${orderId}:placed`)];
    const fate = random();
    if (fate < 0.15) events.push(orderEvent('OrderCancelled', orderId, { reason: 'changed mind' }, `${orderId}:cancelled`));
    else if (fate < 0.95) {
      events.push(orderEvent('OrderPaid', orderId, { amountCents: total }, `${orderId}:paid`));
      if (fate < 0.8) events.push(orderEvent('OrderShipped', orderId, { carrier: 'Test Post' }, `${orderId}:shipped`));
    }
    pending.push(events);
  }
  // Interleave: take the next event of a random order that still has events.
  const stream: OrderEvent[] = [];
  while (pending.length > 0) {
    const i = Math.floor(random() * pending.length);
    const events = pending[i]!;
    stream.push(events.shift()!);
    if (events.length === 0) pending.splice(i, 1);
  }
  return stream;
}
