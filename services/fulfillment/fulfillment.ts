/**
 * The fulfillment service: consumes `orders.events` as any other team's service would, and moves
 * placed orders along: OrderPaid after `payDelayMs`, then OrderShipped after `shipDelayMs`.
 *
 * It keeps no state of its own: on start it replays its partitions from the beginning to learn
 * where each order is, and only once it has caught up does it schedule what is still to do. The
 * events it publishes have deterministic ids (`<order>:paid`, `<order>:shipped`), so publishing one
 * again after a restart is harmless: the projection de-duplicates by event id.
 */
import type { ConsumerHandle, EventLog, LogRecord } from '../../lib/eventlog/types.ts';
import type { Logger } from '../../lib/logger.ts';
import { ORDERS_TOPIC, decodeOrderEvent, encodeOrderEvent, orderEvent, type OrderEvent } from '../events/orders.ts';

export interface FulfillmentOptions {
  log: EventLog;
  logger: Logger;
  payDelayMs: number;
  shipDelayMs: number;
  /** Replicas in one group share the partitions. Default `fulfillment`. */
  groupId?: string;
  topic?: string;
}

type Stage = 'PLACED' | 'PAID' | 'DONE';

interface Tracked {
  stage: Stage;
  totalCents: number;
  timer?: NodeJS.Timeout;
}

const stageAfter: Record<OrderEvent['type'], Stage> = {
  OrderPlaced: 'PLACED',
  OrderPaid: 'PAID',
  OrderShipped: 'DONE',
  OrderCancelled: 'DONE',
};

export class Fulfillment {
  private readonly orders = new Map<string, Tracked>();
  private readonly positions = new Map<number, number>();
  private consumer: ConsumerHandle | undefined;
  private caughtUp = false;
  private stopped = false;
  private target: number[] = [];

  private readonly options: FulfillmentOptions;

  constructor(options: FulfillmentOptions) {
    this.options = options;
  }

  get topic(): string {
    return this.options.topic ?? ORDERS_TOPIC;
  }

  async start(): Promise<void> {
    this.target = await this.options.log.endOffsets(this.topic);
    const consumer = await this.options.log.consume({
      topic: this.topic,
      groupId: this.options.groupId ?? 'fulfillment',
      from: { kind: 'beginning' },
      commit: false,
      handle: async (records) => this.handle(records),
    });
    this.consumer = consumer;
    // A failed consumer is started again from scratch (state is rebuilt from the log), so the
    // service never sits there healthy but idle.
    consumer.failed.catch(async (err: unknown) => {
      if (this.stopped) return;
      this.options.logger.error({ err }, 'fulfillment: consumer failed; starting it again');
      await consumer.stop().catch(() => undefined);
      for (const order of this.orders.values()) clearTimeout(order.timer);
      this.orders.clear();
      this.positions.clear();
      this.caughtUp = false;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      if (!this.stopped)
        await this.start().catch((again: unknown) => this.options.logger.error({ err: again }, 'fulfillment: could not start again'));
    });
    this.checkCaughtUp();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const order of this.orders.values()) clearTimeout(order.timer);
    await this.consumer?.stop();
  }

  private handle(records: LogRecord[]): void {
    for (const record of records) {
      this.positions.set(record.partition, record.offset + 1);
      const decoded = decodeOrderEvent(record.value);
      if (!decoded.ok) continue; // the orders projection dead-letters it
      const { event } = decoded;
      // Only orders seen being placed are tracked (a finished one is forgotten, see below).
      const tracked =
        this.orders.get(event.orderId) ?? (event.type === 'OrderPlaced' ? { stage: 'PLACED' as Stage, totalCents: 0 } : undefined);
      if (!tracked) continue;
      if (event.type === 'OrderPlaced') tracked.totalCents = event.data.lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
      clearTimeout(tracked.timer);
      tracked.timer = undefined;
      tracked.stage = stageAfter[event.type];
      // A finished order needs nothing more: forget it (a late duplicate only re-sends an event id
      // the projection already has).
      if (tracked.stage === 'DONE') this.orders.delete(event.orderId);
      else this.orders.set(event.orderId, tracked);
      if (this.caughtUp) this.schedule(event.orderId, tracked);
    }
    this.checkCaughtUp();
  }

  /** Caught up once every partition assigned to this replica is read to the end seen at start. */
  private checkCaughtUp(): void {
    // Partitions another replica of the group reads are not this one's to wait for.
    const assigned = new Set((this.consumer?.progress() ?? []).map((p) => p.partition));
    const mine = (partition: number) => assigned.size === 0 || assigned.has(partition);
    if (this.caughtUp || !this.target.every((end, p) => !mine(p) || (this.positions.get(p) ?? 0) >= end)) return;
    this.caughtUp = true;
    let pending = 0;
    for (const [orderId, tracked] of this.orders) if (this.schedule(orderId, tracked)) pending++;
    this.options.logger.info({ orders: this.orders.size, pending }, 'fulfillment: caught up');
  }

  /** Schedules an order's next step; returns whether there is one. */
  private schedule(orderId: string, tracked: Tracked): boolean {
    if (tracked.stage === 'DONE' || this.stopped) return false;
    const [delay, next] =
      tracked.stage === 'PLACED'
        ? [this.options.payDelayMs, () => orderEvent('OrderPaid', orderId, { amountCents: tracked.totalCents }, `${orderId}:paid`)]
        : [
            this.options.shipDelayMs,
            () =>
              orderEvent(
                'OrderShipped',
                orderId,
                { carrier: 'Interchange Post', trackingNumber: `IP${orderId.slice(-8).toUpperCase()}` },
                `${orderId}:shipped`,
              ),
          ];
    tracked.timer = setTimeout(() => void this.publish(next()), delay);
    return true;
  }

  private async publish(event: OrderEvent): Promise<void> {
    try {
      await this.options.log.publish(this.topic, [encodeOrderEvent(event)]);
      this.options.logger.info({ orderId: event.orderId, type: event.type }, `fulfillment: ${event.type}`);
    } catch (err) {
      // Not lost: the order stays in its stage, and the next start (or the retry below) sends it again.
      this.options.logger.warn({ err, orderId: event.orderId, type: event.type }, 'fulfillment: publish failed; retrying');
      const tracked = this.orders.get(event.orderId);
      if (tracked && !this.stopped) tracked.timer = setTimeout(() => void this.publish(event), 1_000);
    }
  }
}
