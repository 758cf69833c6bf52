/**
 * The orders read model: applies order events, in offset order per partition, to a map of orders.
 * Pure and synchronous (no I/O), so it can be tested and rebuilt from any stream.
 *
 * Exactly-once in effect: a record at or before a partition's applied position is skipped (a
 * replay), and an event whose id the order has seen is skipped (a duplicate published twice).
 * An event that breaks the order's life cycle (paid before placed, shipped after cancelled ...) is
 * refused with a reason and changes nothing, not even the position: the caller records the record
 * elsewhere (the dead-letter topic) and only then `skip`s it, so the position never covers a record
 * that is neither applied nor recorded (a snapshot saves the position).
 */
import type { LogRecord } from '../../lib/eventlog/types.ts';
import type { OrderEvent, OrderLineData } from '../../services/events/orders.ts';

export type OrderStatus = 'PLACED' | 'PAID' | 'SHIPPED' | 'CANCELLED';

export interface Order {
  id: string;
  status: OrderStatus;
  customerId: string;
  lines: OrderLineData[];
  totalCents: number;
  placedAt: string;
  updatedAt: string;
  /** Events applied to this order. */
  version: number;
  /** Ids of the events applied, for de-duplication. */
  eventIds: string[];
}

export type ApplyResult =
  { kind: 'applied'; order: Order } | { kind: 'replayed' } | { kind: 'duplicate' } | { kind: 'refused'; reason: string };

/** Which event moves an order from which status. */
const transitions: Record<Exclude<OrderEvent['type'], 'OrderPlaced'>, { from: OrderStatus[]; to: OrderStatus }> = {
  OrderPaid: { from: ['PLACED'], to: 'PAID' },
  OrderShipped: { from: ['PAID'], to: 'SHIPPED' },
  OrderCancelled: { from: ['PLACED', 'PAID'], to: 'CANCELLED' },
};

export class OrderProjection {
  private readonly orders = new Map<string, Order>();
  private readonly byCustomer = new Map<string, Set<string>>();
  /** Partition -> next offset to apply. */
  private readonly positions = new Map<number, number>();

  /** The next offset this projection expects on a partition. */
  position(partition: number): number {
    return this.positions.get(partition) ?? 0;
  }

  /** The next offset on each of the first `count` partitions (index = partition). */
  positionVector(count: number): number[] {
    return Array.from({ length: count }, (_, partition) => this.position(partition));
  }

  /** Marks a record as seen without applying anything (a malformed record that was dead-lettered). */
  skip(record: Pick<LogRecord, 'partition' | 'offset'>): void {
    this.skipTo(record.partition, record.offset + 1);
  }

  /** Moves a partition's position forward to `next` (never back): offsets below it count as seen. */
  skipTo(partition: number, next: number): void {
    if (next > this.position(partition)) this.positions.set(partition, next);
  }

  /**
   * Applies the event of a record: moves the partition's position past it unless the result is
   * `refused` (the caller then `skip`s the record once it has dead-lettered it).
   */
  apply(record: Pick<LogRecord, 'partition' | 'offset'>, event: OrderEvent): ApplyResult {
    if (record.offset < this.position(record.partition)) return { kind: 'replayed' };
    const result = this.applyEvent(event);
    if (result.kind !== 'refused') this.positions.set(record.partition, record.offset + 1);
    return result;
  }

  /** Applies an event to its order, position aside. */
  private applyEvent(event: OrderEvent): ApplyResult {
    const existing = this.orders.get(event.orderId);
    if (existing?.eventIds.includes(event.id)) return { kind: 'duplicate' };

    if (event.type === 'OrderPlaced') {
      if (existing) return { kind: 'refused', reason: `order ${event.orderId} was already placed` };
      const order: Order = {
        id: event.orderId,
        status: 'PLACED',
        customerId: event.data.customerId,
        lines: event.data.lines.map((l) => ({ productId: l.productId, quantity: l.quantity, unitPriceCents: l.unitPriceCents })),
        totalCents: event.data.lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0),
        placedAt: event.occurredAt,
        updatedAt: event.occurredAt,
        version: 1,
        eventIds: [event.id],
      };
      this.add(order);
      return { kind: 'applied', order };
    }

    if (!existing) return { kind: 'refused', reason: `${event.type} for unknown order ${event.orderId}` };
    const transition = transitions[event.type];
    if (!transition.from.includes(existing.status)) {
      return { kind: 'refused', reason: `${event.type} cannot apply to order ${event.orderId} in status ${existing.status}` };
    }
    const order: Order = {
      ...existing,
      status: transition.to,
      updatedAt: event.occurredAt,
      version: existing.version + 1,
      eventIds: [...existing.eventIds, event.id],
    };
    this.orders.set(order.id, order);
    return { kind: 'applied', order };
  }

  get(id: string): Order | undefined {
    return this.orders.get(id);
  }

  /** Newest first (placedAt, then id), optionally one customer's, optionally one status. */
  list(options: { customerId?: string; status?: OrderStatus; first: number }): Order[] {
    const source =
      options.customerId === undefined
        ? this.orders.values()
        : [...(this.byCustomer.get(options.customerId) ?? [])].map((id) => this.orders.get(id)!);
    const matching: Order[] = [];
    for (const order of source) if (!options.status || order.status === options.status) matching.push(order);
    matching.sort((a, b) => (a.placedAt === b.placedAt ? b.id.localeCompare(a.id) : b.placedAt.localeCompare(a.placedAt)));
    return matching.slice(0, options.first);
  }

  get size(): number {
    return this.orders.size;
  }

  /** Every order, for comparing projections in tests and snapshots. */
  snapshot(): Order[] {
    return [...this.orders.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * The projection's state for a snapshot: its positions on the first `partitions` partitions and
   * every order. Cheap: orders are immutable (applying an event replaces the order), so this copies
   * references only, and the caller may serialise them later while the projection moves on.
   */
  exportState(partitions: number): ProjectionState {
    return { positions: this.positionVector(partitions), orders: [...this.orders.values()] };
  }

  /** Replaces everything with an exported state; the projection then continues from its positions. */
  restoreState(state: ProjectionState): void {
    this.orders.clear();
    this.byCustomer.clear();
    this.positions.clear();
    state.positions.forEach((next, partition) => this.skipTo(partition, next));
    for (const order of state.orders) this.add(order);
  }

  /** A new order, indexed by customer. */
  private add(order: Order): void {
    this.orders.set(order.id, order);
    let ids = this.byCustomer.get(order.customerId);
    if (!ids) this.byCustomer.set(order.customerId, (ids = new Set()));
    ids.add(order.id);
  }
}

/** A projection's content, as `exportState` gives it and `restoreState` takes it; JSON-serialisable. */
export interface ProjectionState {
  /** Next offset to apply, per partition (index = partition). */
  positions: number[];
  orders: Order[];
}
