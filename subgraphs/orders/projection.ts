/**
 * The orders read model: the kit's read model (kit/projection/read-model.ts: positions, exactly-once
 * in effect, refusals) with the orders' own rules: an order's life cycle (paid before placed,
 * shipped after cancelled ... are refused with a reason) and its index by customer.
 */
import type { OrderEvent, OrderLineData } from '../../services/events/orders.ts';
import {
  ReadModel,
  type ApplyResult as KitApplyResult,
  type ProjectionState as KitProjectionState,
  type Reducer,
} from '../kit/projection/read-model.ts';

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

export type ApplyResult = KitApplyResult<Order>;
export type ProjectionState = KitProjectionState<Order>;

/** Which event moves an order from which status. */
const transitions: Record<Exclude<OrderEvent['type'], 'OrderPlaced'>, { from: OrderStatus[]; to: OrderStatus }> = {
  OrderPaid: { from: ['PLACED'], to: 'PAID' },
  OrderShipped: { from: ['PAID'], to: 'SHIPPED' },
  OrderCancelled: { from: ['PLACED', 'PAID'], to: 'CANCELLED' },
};

/** An order's life cycle as a reducer of order events. */
export const orderReducer: Reducer<Order, OrderEvent> = {
  key: (event) => event.orderId,
  eventId: (event) => event.id,
  keyOf: (order) => order.id,
  eventIds: (order) => order.eventIds,
  indexes: { customer: (order) => order.customerId },
  apply(existing, event) {
    if (event.type === 'OrderPlaced') {
      if (existing) return { refused: `order ${event.orderId} was already placed` };
      return {
        entity: {
          id: event.orderId,
          status: 'PLACED',
          customerId: event.data.customerId,
          lines: event.data.lines.map((l) => ({ productId: l.productId, quantity: l.quantity, unitPriceCents: l.unitPriceCents })),
          totalCents: event.data.lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0),
          placedAt: event.occurredAt,
          updatedAt: event.occurredAt,
          version: 1,
          eventIds: [event.id],
        },
      };
    }
    if (!existing) return { refused: `${event.type} for unknown order ${event.orderId}` };
    const transition = transitions[event.type];
    if (!transition.from.includes(existing.status))
      return { refused: `${event.type} cannot apply to order ${event.orderId} in status ${existing.status}` };
    return {
      entity: {
        ...existing,
        status: transition.to,
        updatedAt: event.occurredAt,
        version: existing.version + 1,
        eventIds: [...existing.eventIds, event.id],
      },
    };
  },
};

export class OrderProjection extends ReadModel<Order, OrderEvent> {
  constructor() {
    super(orderReducer);
  }

  /** Newest first (placedAt, then id), optionally one customer's, optionally one status. */
  list(options: { customerId?: string; status?: OrderStatus; first: number }): Order[] {
    const source = options.customerId === undefined ? this.values() : this.indexed('customer', options.customerId);
    const matching: Order[] = [];
    for (const order of source) if (!options.status || order.status === options.status) matching.push(order);
    matching.sort((a, b) => (a.placedAt === b.placedAt ? b.id.localeCompare(a.id) : b.placedAt.localeCompare(a.placedAt)));
    return matching.slice(0, options.first);
  }
}
