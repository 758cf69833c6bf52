/**
 * Snapshots of the orders projection and its journal: the kit's snapshots (kit/projection/snapshot.ts,
 * which describes the file format) named for orders: format `interchange.orders-snapshot`, entity `order`.
 */
import type { OrderEvent } from '../../services/events/orders.ts';
import {
  SnapshotStore as KitSnapshotStore,
  type Snapshot,
  type SnapshotNames,
  type SnapshotStoreOptions,
} from '../kit/projection/snapshot.ts';
import type { Order } from './projection.ts';

export { PeriodicSnapshots, SNAPSHOT_VERSION, restoreFromSnapshot, takeSnapshot } from '../kit/projection/snapshot.ts';

export const SNAPSHOT_FORMAT = 'interchange.orders-snapshot';

/** What the orders snapshot file calls things. */
export const ordersSnapshotNames: SnapshotNames<Order> = {
  format: SNAPSHOT_FORMAT,
  name: 'orders',
  entity: 'order',
  entities: 'orders',
  keyOf: (order) => order.id,
  isEntity: (value) => typeof (value as Order | null)?.id === 'string' && typeof (value as Order).customerId === 'string',
};

export type OrdersSnapshot = Snapshot<Order, OrderEvent>;

export class SnapshotStore extends KitSnapshotStore<Order, OrderEvent> {
  constructor(options: Omit<SnapshotStoreOptions<Order>, 'names'>) {
    super({ ...options, names: ordersSnapshotNames });
  }
}
