/**
 * The orders subgraph's commands: check, publish an event, and answer once the projection has
 * applied it (read-your-writes). Nothing is published when a check fails.
 *
 * Safe to retry: `placeOrder` with an idempotency key and `cancelOrder` publish events whose ids
 * follow from the command (ids.ts), so a retry, concurrent or later, on this replica or another,
 * publishes nothing new in effect and answers with the same order.
 *
 * Within a deadline: a command answers by its deadline. When it runs out after the event may have
 * been published, the error names the order (`extensions.orderId`); when too little is left to
 * publish and read, it answers DEADLINE_EXCEEDED and publishes nothing.
 *
 * A keyed `placeOrder` whose checks fail (or that has too little time left to publish) first makes
 * sure no earlier attempt with the key has its OrderPlaced on the way: it waits, within the
 * deadline, for the projection to read up to the topic's end offsets and answers with the order if
 * it landed; when the deadline does not allow knowing, PROJECTION_BEHIND naming the order.
 */
import type { Deadline } from '../../lib/deadline.ts';
import { ErrorCode, InterchangeError, badUserInput } from '../../lib/errors.ts';
import type { EventLog, RecordPosition } from '../../lib/eventlog/types.ts';
import { encodeOrderEvent, orderEvent, type OrderEvent, type OrderLineData } from '../../services/events/orders.ts';
import type { CatalogSource } from '../catalog/datasource.ts';
import type { CustomersSource } from '../customers/datasource.ts';
import { MAX_IDEMPOTENCY_KEY_LENGTH, eventIdFor, orderIdFor } from './ids.ts';
import type { Order } from './projection.ts';
import type { Projector } from './projector.ts';

export interface PlaceOrderInput {
  customerId: string;
  lines: { productId: string; quantity: number }[];
  /**
   * Makes the command safe to retry: every call of the customer with this key answers with the same
   * order, placed once, whatever became of earlier calls (keys are per customer). A key used again
   * with other lines is refused (IDEMPOTENCY_KEY_REUSED). 1 to MAX_IDEMPOTENCY_KEY_LENGTH characters; absent: a new order per call.
   */
  idempotencyKey?: string | null;
}

export interface CommandOptions {
  log: EventLog;
  topic: string;
  projector: Projector;
  customers: CustomersSource;
  catalog: CatalogSource;
  /** Longest wait for the projection to apply a command's event, in ms (the deadline may cut it shorter). */
  readYourWritesTimeoutMs: number;
  /** Longest wait for the event log to acknowledge an event, in ms (the deadline may cut it shorter). */
  publishTimeoutMs: number;
  /** Least time a command must have left to publish and read its event, in ms; with less it publishes nothing. @default 100 */
  minBudgetMs?: number;
}

/** Most lines and units one order may have: a guard against absurd input, not a business rule. */
const MAX_LINES = 100;
const MAX_QUANTITY = 10_000;

/** Product id -> units, one entry per product. */
type Quantities = Map<string, number>;

export class OrderCommands {
  private readonly options: CommandOptions;
  /** placeOrder calls with a key still running here, by order id: a concurrent retry joins one. */
  private readonly placing = new Map<string, { customerId: string; quantities: Quantities; order: Promise<Order> }>();

  constructor(options: CommandOptions) {
    this.options = options;
  }

  async placeOrder(input: PlaceOrderInput, deadline: Deadline): Promise<Order> {
    const key = idempotencyKeyOf(input);
    const quantities = mergeLines(input.lines);
    const { customerId } = input;
    const orderId = orderIdFor(customerId, key);
    if (key === undefined) return this.place(orderId, customerId, quantities, deadline, false);

    // Placed already (by an earlier attempt, here or on another replica): answer with it, checks and all skipped.
    const existing = this.options.projector.projection.get(orderId);
    if (existing) return sameOrder(existing, customerId, quantities);
    const running = this.placing.get(orderId);
    if (running) {
      if (!sameInput(running, customerId, quantities)) throw keyReused(orderId);
      return raceDeadline(running.order, deadline, () => inFlight(orderId, 'an earlier call with this idempotency key is still running'));
    }
    const order = this.place(orderId, customerId, quantities, deadline, true).then((placed) => sameOrder(placed, customerId, quantities));
    this.placing.set(orderId, { customerId, quantities, order });
    const forget = () => this.placing.delete(orderId);
    order.then(forget, forget);
    return order;
  }

  /** Cancels an order; an order cancelled already is returned as it is. */
  async cancelOrder(id: string, deadline: Deadline): Promise<Order> {
    const order = this.options.projector.projection.get(id);
    if (!order) throw new InterchangeError(ErrorCode.NOT_FOUND, `no order "${id}"`, { orderId: id });
    if (order.status === 'CANCELLED') return order;
    if (order.status === 'SHIPPED') {
      throw new InterchangeError(ErrorCode.INVALID_STATE, `order "${id}" is shipped and cannot be cancelled`, {
        orderId: id,
        status: order.status,
      });
    }
    const event = orderEvent('OrderCancelled', id, { reason: 'cancelled by the customer' }, eventIdFor(id, 'OrderCancelled'));
    return this.publishAndRead(event, deadline, this.budgetFor(event, deadline));
  }

  /** Checks and places; `keyed`: a failure before publishing first looks for an earlier attempt's order (`placedEarlier`). */
  private async place(orderId: string, customerId: string, quantities: Quantities, deadline: Deadline, keyed: boolean): Promise<Order> {
    let event: OrderEvent;
    let budget: number;
    try {
      const lines = await raceDeadline(this.check(customerId, quantities), deadline, () =>
        notStarted('checking the customer and products took longer than the request may'),
      );
      event = orderEvent('OrderPlaced', orderId, { customerId, lines }, eventIdFor(orderId, 'OrderPlaced'));
      budget = this.budgetFor(event, deadline);
    } catch (err) {
      if (!keyed) throw err;
      return this.placedEarlier(orderId, err, deadline);
    }
    return this.publishAndRead(event, deadline, budget);
  }

  /**
   * For a keyed placement that failed before publishing (`failure`): an earlier attempt with the key
   * may have published its OrderPlaced, not applied yet. Waits, within the deadline, for the
   * projection to read up to the topic's current end offsets, then answers with the order if it is
   * there, and throws `failure` if not. Throws PROJECTION_BEHIND naming the order (which may still
   * land) when the deadline, or the log, does not allow knowing.
   */
  private async placedEarlier(orderId: string, failure: unknown, deadline: Deadline): Promise<Order> {
    const { log, topic, projector } = this.options;
    const readToEnd = async () => {
      const ends = await log.endOffsets(topic);
      const read = ends.flatMap((end, partition) => (end > 0 ? [{ partition, offset: end - 1 }] : []));
      await Promise.all(read.map((last) => projector.waitFor(last, deadline.remaining())));
    };
    const known = await raceDeadline(readToEnd(), deadline, () => new DeadlineError()).then(
      () => true,
      () => false,
    );
    const placed = projector.projection.get(orderId);
    if (placed) return placed;
    if (known) throw failure;
    throw new InterchangeError(
      ErrorCode.PROJECTION_BEHIND,
      `${(failure as Error).message}; but an earlier call with this idempotency key may still place order "${orderId}": ` +
        `query it before trying again`,
      { orderId },
      failure,
    );
  }

  /** The time left to publish and read `event`; DEADLINE_EXCEEDED (nothing published) when below `minBudgetMs`. */
  private budgetFor(event: OrderEvent, deadline: Deadline): number {
    const { minBudgetMs = 100 } = this.options;
    const budget = deadline.remaining();
    if (budget < minBudgetMs)
      throw notStarted(`${budget} ms left, ${event.type} needs at least ${minBudgetMs} ms to be published and read`);
    return budget;
  }

  /** The order's lines at today's prices; throws when the customer or a product is unknown, or stock is short. */
  private async check(customerId: string, quantities: Quantities): Promise<OrderLineData[]> {
    const customer = await this.options.customers.createLoader().load(customerId);
    if (!customer) throw badUserInput(`unknown customer "${customerId}"`, 'input.customerId');
    const productIds = [...quantities.keys()];
    const products = await this.options.catalog.createLoader().loadMany(productIds);
    return productIds.map((productId, i) => {
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
  }

  /** Publishes `event` within `budget` ms (from `budgetFor`) and answers once the projection has applied it. */
  private async publishAndRead(event: OrderEvent, deadline: Deadline, budget: number): Promise<Order> {
    const { log, topic, projector, publishTimeoutMs, readYourWritesTimeoutMs } = this.options;
    let position: RecordPosition;
    try {
      [position] = (await withTimeout(log.publish(topic, [encodeOrderEvent(event)]), Math.min(publishTimeoutMs, budget))) as [
        RecordPosition,
      ];
    } catch (err) {
      throw new InterchangeError(
        ErrorCode.EVENT_LOG_UNAVAILABLE,
        `the event log did not acknowledge ${event.type} (${(err as Error).message}); it may still be applied: query order "${event.orderId}" before trying again`,
        { orderId: event.orderId },
        err,
      );
    }
    try {
      await projector.waitFor(position, Math.min(readYourWritesTimeoutMs, deadline.remaining()));
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

function idempotencyKeyOf(input: PlaceOrderInput): string | undefined {
  const key = input.idempotencyKey ?? undefined;
  if (key !== undefined && (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH)) {
    throw badUserInput(`idempotencyKey must have 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters, got ${key.length}`, 'input.idempotencyKey');
  }
  return key;
}

/** Checks the lines and adds up quantities per product. */
function mergeLines(lines: PlaceOrderInput['lines']): Quantities {
  if (lines.length === 0) throw badUserInput('an order needs at least one line', 'input.lines');
  if (lines.length > MAX_LINES) throw badUserInput(`an order has at most ${MAX_LINES} lines`, 'input.lines');
  const quantities: Quantities = new Map();
  for (const { productId, quantity } of lines) {
    if (!Number.isInteger(quantity) || quantity < 1)
      throw badUserInput(`quantity must be at least 1, got ${quantity} for product "${productId}"`, 'input.lines.quantity');
    const total = (quantities.get(productId) ?? 0) + quantity;
    if (total > MAX_QUANTITY) throw badUserInput(`at most ${MAX_QUANTITY} units of one product per order`, 'input.lines.quantity');
    quantities.set(productId, total);
  }
  return quantities;
}

/** Whether an order (or a placement in progress) is what this input asks for; prices may have changed since. */
function sameInput(placed: { customerId: string; quantities: Quantities }, customerId: string, quantities: Quantities): boolean {
  if (placed.customerId !== customerId || placed.quantities.size !== quantities.size) return false;
  return [...quantities].every(([productId, quantity]) => placed.quantities.get(productId) === quantity);
}

/** The order, if it is what the input asks for; IDEMPOTENCY_KEY_REUSED if not. */
function sameOrder(order: Order, customerId: string, quantities: Quantities): Order {
  const placed = { customerId: order.customerId, quantities: new Map(order.lines.map((l) => [l.productId, l.quantity])) };
  if (!sameInput(placed, customerId, quantities)) throw keyReused(order.id);
  return order;
}

const keyReused = (orderId: string) =>
  new InterchangeError(ErrorCode.IDEMPOTENCY_KEY_REUSED, `this idempotency key placed order "${orderId}" with a different input`, {
    orderId,
  });

const notStarted = (why: string) => new InterchangeError(ErrorCode.DEADLINE_EXCEEDED, `${why}; nothing was published`);

const inFlight = (orderId: string, why: string) =>
  new InterchangeError(
    ErrorCode.EVENT_LOG_UNAVAILABLE,
    `${why} and did not finish in time; it may still be applied: query order "${orderId}" before trying again`,
    { orderId },
  );

/** The promise's outcome, or the error `onExpiry` makes once the deadline has passed. */
function raceDeadline<T>(promise: Promise<T>, deadline: Deadline, onExpiry: () => Error): Promise<T> {
  return withTimeout(promise, deadline.remaining()).catch((err: unknown) => {
    throw err instanceof DeadlineError ? onExpiry() : err;
  });
}

class DeadlineError extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new DeadlineError(`no answer within ${ms} ms`)), ms))),
  ]);
}
