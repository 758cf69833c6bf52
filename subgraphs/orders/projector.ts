/**
 * The orders projection's projector: the kit's (kit/projection/projector.ts) over the orders topic's
 * events, decoded and validated by the event codec, feeding the orders read model.
 */
import { decodeOrderEvent, type OrderEvent } from '../../services/events/orders.ts';
import {
  Projector as KitProjector,
  type AppliedEvent as KitAppliedEvent,
  type ProjectorOptions as KitProjectorOptions,
  type ProjectorState as KitProjectorState,
} from '../kit/projection/projector.ts';
import { OrderProjection, type Order } from './projection.ts';

export type AppliedEvent = KitAppliedEvent<Order, OrderEvent>;
export type ProjectorState = KitProjectorState<Order>;
export type ProjectorOptions = Omit<KitProjectorOptions<Order, OrderEvent, OrderProjection>, 'name' | 'entities' | 'projection' | 'decode'>;

export class Projector extends KitProjector<Order, OrderEvent, OrderProjection> {
  constructor(options: ProjectorOptions) {
    super({ ...options, name: 'orders', entities: 'orders', projection: new OrderProjection(), decode: decodeOrderEvent });
  }
}
