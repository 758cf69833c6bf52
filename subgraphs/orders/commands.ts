/**
 * The orders subgraph's commands: check, publish an event, and answer once the projection has
 * applied it (read-your-writes). Nothing is published when a check fails.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode, InterchangeError, badUserInput } from '../../lib/errors.ts';
import type { EventLog, RecordPosition } from '../../lib/eventlog/types.ts';
import { encodeOrderEvent, orderEvent, type OrderEvent, type OrderLineData } from '../../services/events/orders.ts';
import type { CatalogSource } from '../catalog/datasource.ts';
import type { CustomersSource } from '../customers/datasource.ts';
import type { Order } from './projection.ts';
import type { Projector } from './projector.ts';

export interface PlaceOrderInput {
  customerId: string;
  lines: { productId: string; quantity: number }[];
}

export interface CommandOptions {
  log: EventLog;
  topic: string;
  projector: Projector;
  customers: CustomersSource;
  catalog: CatalogSource;
  /** How long a mutation waits for the projection to apply its event, in ms. */
  readYourWritesTimeoutMs: number;
  /** How long publishing may take before the mutation fails, in ms. */
  publishTimeoutMs: number;
}

/** Most lines and units one order may have: a guard against absurd input, not a business rule. */
const MAX_LINES = 100;
const MAX_QUANTITY = 10_000;

export class OrderCommands {
  private readonly options: CommandOptions;

  constructor(options: CommandOptions) {
    this.options = options;
  }

  async placeOrder(input: PlaceOrderInput): Promise<Order> {
    const quantities = mergeLines(input.lines);
    const customer = await this.options.customers.createLoader().load(input.customerId);
    if (!customer) throw badUserInput(`unknown customer "${input.customerId}"`, 'input.customerId');
    const productIds = [...quantities.keys()];
    const products = await this.options.catalog.createLoader().loadMany(productIds);
    const lines: OrderLineData[] = productIds.map((productId, i) => {
      const product = products[i];
      if (product instanceof Error) throw product;
      if (!product) throw badUserInput(`unknown product "${productId}"`, 'input.lines');
      const quantity = quantities.get(productId)!;
      if (product.stock < quantity) {
        throw new InterchangeError(
          ErrorCode.INSUFFICIENT_STOCK,
          `only ${product.stock} of product "${productId}" in stock, ${quantity} ordered`,
          { productId, stock: product.stock },
        );
      }
      return { productId, quantity, unitPriceCents: product.priceCents };
    });
    const orderId = `o-${randomUUID()}`;
    return this.publishAndRead(orderEvent('OrderPlaced', orderId, { customerId: input.customerId, lines }));
  }

  async cancelOrder(id: string): Promise<Order> {
    const order = this.options.projector.projection.get(id);
    if (!order) throw new InterchangeError(ErrorCode.NOT_FOUND, `no order "${id}"`, { orderId: id });
    if (order.status === 'SHIPPED' || order.status === 'CANCELLED') {
      throw new InterchangeError(ErrorCode.INVALID_STATE, `order "${id}" is ${order.status.toLowerCase()} and cannot be cancelled`, {
        orderId: id,
        status: order.status,
      });
    }
    return this.publishAndRead(orderEvent('OrderCancelled', id, { reason: 'cancelled by the customer' }));
  }

  private async publishAndRead(event: OrderEvent): Promise<Order> {
    const { log, topic, projector, publishTimeoutMs, readYourWritesTimeoutMs } = this.options;
    let position: RecordPosition;
    try {
      [position] = (await withTimeout(log.publish(topic, [encodeOrderEvent(event)]), publishTimeoutMs)) as [RecordPosition];
    } catch (err) {
      throw new InterchangeError(
        ErrorCode.EVENT_LOG_UNAVAILABLE,
        `the event log did not acknowledge ${event.type} (${(err as Error).message}); it may still be applied: query order "${event.orderId}" before trying again`,
        { orderId: event.orderId },
        err,
      );
    }
    try {
      await projector.waitFor(position, readYourWritesTimeoutMs);
    } catch (err) {
      throw new InterchangeError(
        ErrorCode.PROJECTION_BEHIND,
        `${event.type} for order "${event.orderId}" was accepted but is not visible yet`,
        { orderId: event.orderId },
        err,
      );
    }
    const order = projector.projection.get(event.orderId);
    // The event was applied or refused (a concurrent change won); either way the order says what is true.
    if (!order) throw new InterchangeError(ErrorCode.INVALID_STATE, `order "${event.orderId}" was not created`, { orderId: event.orderId });
    if (!order.eventIds.includes(event.id)) {
      throw new InterchangeError(
        ErrorCode.INVALID_STATE,
        `${event.type} for order "${event.orderId}" conflicted with a concurrent change; it is ${order.status.toLowerCase()}`,
        { orderId: event.orderId, status: order.status },
      );
    }
    return order;
  }
}

/** Checks the lines and adds up quantities per product. */
function mergeLines(lines: PlaceOrderInput['lines']): Map<string, number> {
  if (lines.length === 0) throw badUserInput('an order needs at least one line', 'input.lines');
  if (lines.length > MAX_LINES) throw badUserInput(`an order has at most ${MAX_LINES} lines`, 'input.lines');
  const quantities = new Map<string, number>();
  for (const { productId, quantity } of lines) {
    if (!Number.isInteger(quantity) || quantity < 1)
      throw badUserInput(`quantity must be at least 1, got ${quantity} for product "${productId}"`, 'input.lines.quantity');
    const total = (quantities.get(productId) ?? 0) + quantity;
    if (total > MAX_QUANTITY) throw badUserInput(`at most ${MAX_QUANTITY} units of one product per order`, 'input.lines.quantity');
    quantities.set(productId, total);
  }
  return quantities;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))),
  ]);
}
