/**
 * The `orderEvents` subscription's streams: the kit's resumable event streams
 * (kit/projection/stream.ts) over the orders journal, filtered by customer and event type.
 */
import type { OrderEvent, OrderEventType } from '../../services/events/orders.ts';
import { EventStreams, type EventStreamsOptions, type StreamedEvent, type StreamItem as KitStreamItem } from '../kit/projection/stream.ts';
import type { Order } from './projection.ts';

export interface OrderEventFilter {
  /** Only this customer's orders. */
  customerId?: string | undefined;
  /** Only these event types; all when absent. Must not be empty. */
  types?: readonly OrderEventType[] | undefined;
  /** Resume after this position (replay the retained events it does not cover, then live); live when absent. */
  after?: string | undefined;
  /** A bounded replay: only events below this position; complete once the projection has read up to it. */
  until?: string | undefined;
  /** Send checkpoints (the subscriber reads `extensions.resumable`); events only when false (the default). */
  checkpoints?: boolean | undefined;
}

export type StreamedOrderEvent = StreamedEvent<Order, OrderEvent>;
export type StreamItem = KitStreamItem<Order, OrderEvent>;
export type OrderEventStreamsOptions = Omit<EventStreamsOptions<Order, OrderEvent>, 'names'>;

export class OrderEventStreams extends EventStreams<Order, OrderEvent> {
  constructor(options: OrderEventStreamsOptions) {
    super({ ...options, names: { name: 'orders', field: 'orderEvents', events: 'order events' } });
  }

  /** Opens a stream of the order events `filter` asks for (see EventStreams.open for its errors). */
  override open({ customerId, ...filter }: OrderEventFilter): Promise<AsyncIterableIterator<StreamItem>> {
    return super.open({ ...filter, matches: customerId === undefined ? undefined : (e) => e.entity.customerId === customerId });
  }
}
