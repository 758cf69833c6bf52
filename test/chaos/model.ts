/**
 * The chaos run's reference model: a small implementation of the order life cycle of its own,
 * which turns the topic as read back into the events a correct projection applies, in
 * per-partition order.
 *
 * - placed -> paid -> shipped; cancelled from placed or paid. Anything else is refused.
 * - An event whose id its order has already applied is a duplicate and is ignored.
 * - A record that does not fit the contract (contract.ts) is malformed and is ignored.
 * - One order's events are keyed to one partition, so partitions are independent; an order whose
 *   records span partitions is counted (its outcome would depend on an interleaving).
 */
import { readEvent, type EventType } from './contract.ts';

/** A record of the topic, as kafkajs returns it. */
export interface TopicRecord {
  partition: number;
  offset: number;
  value: string | null;
}

/** An event the model applied. */
export interface AppliedEvent {
  partition: number;
  offset: number;
  /** The event's own id. */
  id: string;
  orderId: string;
  type: EventType;
  /** The order's version once this event is applied (1 for OrderPlaced). */
  version: number;
  /** The order's customer (from its OrderPlaced). */
  customerId: string;
}

/** An order the model saw placed, with what identifies the command that placed it. */
export interface PlacedOrder {
  orderId: string;
  /** `commandSignature` of its customer and lines. */
  signature: string;
}

export interface ModelResult {
  /** Applied events by partition, then offset. */
  applied: AppliedEvent[];
  placed: PlacedOrder[];
  counts: { records: number; applied: number; duplicate: number; malformed: number; refused: number; splitOrders: number };
}

type Status = 'PLACED' | 'PAID' | 'SHIPPED' | 'CANCELLED';

const next: Record<Exclude<EventType, 'OrderPlaced'>, { from: readonly Status[]; to: Status }> = {
  OrderPaid: { from: ['PLACED'], to: 'PAID' },
  OrderShipped: { from: ['PAID'], to: 'SHIPPED' },
  OrderCancelled: { from: ['PLACED', 'PAID'], to: 'CANCELLED' },
};

/** What identifies an order's command: its customer and its lines (merged per product, sorted). */
export function commandSignature(customerId: string, lines: readonly { productId: string; quantity: number }[]): string {
  const quantities = new Map<string, number>();
  for (const { productId, quantity } of lines) quantities.set(productId, (quantities.get(productId) ?? 0) + quantity);
  return `${customerId}|${[...quantities]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([p, q]) => `${p}x${q}`)
    .join(',')}`;
}

interface OrderState {
  status: Status;
  version: number;
  customerId: string;
  partition: number;
  eventIds: Set<string>;
}

/** Applies the records (any order; each partition is taken in offset order). */
export function applyTopic(records: readonly TopicRecord[]): ModelResult {
  const sorted = [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  const orders = new Map<string, OrderState>();
  const partitionsOf = new Map<string, Set<number>>();
  const applied: AppliedEvent[] = [];
  const placed: PlacedOrder[] = [];
  const counts = { records: sorted.length, applied: 0, duplicate: 0, malformed: 0, refused: 0, splitOrders: 0 };

  for (const record of sorted) {
    const reading = readEvent(record.value);
    if (!reading.ok) {
      counts.malformed++;
      continue;
    }
    const { event } = reading;
    const partitions = partitionsOf.get(event.orderId) ?? new Set();
    partitionsOf.set(event.orderId, partitions.add(record.partition));
    const order = orders.get(event.orderId);
    if (order?.eventIds.has(event.id)) {
      counts.duplicate++;
      continue;
    }
    let state: OrderState;
    if (event.type === 'OrderPlaced') {
      if (order) {
        counts.refused++;
        continue;
      }
      const customerId = event.data.customerId!;
      state = { status: 'PLACED', version: 1, customerId, partition: record.partition, eventIds: new Set() };
      placed.push({ orderId: event.orderId, signature: commandSignature(customerId, event.data.lines ?? []) });
    } else {
      const transition = next[event.type];
      if (!order || !transition.from.includes(order.status)) {
        counts.refused++;
        continue;
      }
      state = { ...order, status: transition.to, version: order.version + 1 };
    }
    state.eventIds.add(event.id);
    orders.set(event.orderId, state);
    counts.applied++;
    applied.push({
      partition: record.partition,
      offset: record.offset,
      id: event.id,
      orderId: event.orderId,
      type: event.type,
      version: state.version,
      customerId: state.customerId,
    });
  }
  counts.splitOrders = [...partitionsOf.values()].filter((p) => p.size > 1).length;
  return { applied, placed, counts };
}
