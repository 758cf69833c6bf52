import type { GraphQLResolverMap } from '@apollo/subgraph';
import { Scope, type Principal } from '../../lib/auth/principal.ts';
import type { Deadline } from '../../lib/deadline.ts';
import type { OrderEventType } from '../../services/events/orders.ts';
import { pageSize } from '../kit/arguments.ts';
import { requireOwnerOr, requireScope, requireSubject } from '../kit/authorization.ts';
import { resumeRequest } from '../kit/resumable.ts';
import type { SubgraphRequest } from '../kit/subgraph.ts';
import type { OrderCommands, PlaceOrderInput } from './commands.ts';
import type { JournalEntry } from './journal.ts';
import type { Order, OrderProjection, OrderStatus } from './projection.ts';
import type { OrderEventStreams, StreamedOrderEvent } from './stream.ts';

export interface OrdersContext {
  projection: OrderProjection;
  commands: OrderCommands;
  events: OrderEventStreams;
  /** The request's `extensions`: `extensions.resumable` says where a subscription starts (schema/resumable.md). */
  extensions: SubgraphRequest['extensions'];
  /** By when this request's mutations must answer (the gateway's `interchange-timeout-ms`, capped by COMMAND_TIMEOUT_MS). */
  deadline: Deadline;
  /** Who is calling (the gateway's signed identity): whose orders it may read, place, cancel and stream. */
  principal: Principal;
}

interface ListArgs {
  status?: OrderStatus | null;
  first: number;
}

type GraphQLOrderEventType = 'PLACED' | 'PAID' | 'SHIPPED' | 'CANCELLED';

interface OrderEventsArgs {
  customerId?: string | null;
  types?: GraphQLOrderEventType[] | null;
  after?: string | null;
}

const eventTypes: Record<GraphQLOrderEventType, OrderEventType> = {
  PLACED: 'OrderPlaced',
  PAID: 'OrderPaid',
  SHIPPED: 'OrderShipped',
  CANCELLED: 'OrderCancelled',
};
const graphqlEventTypes = Object.fromEntries(Object.entries(eventTypes).map(([k, v]) => [v, k])) as Record<
  OrderEventType,
  GraphQLOrderEventType
>;

const list = (ctx: OrdersContext, args: ListArgs, customerId?: string) =>
  ctx.projection.list({ customerId, status: args.status ?? undefined, first: pageSize(args.first) });

/*
 * Who may do what (README "The example API"; the checks are kit/authorization.ts): reading a
 * customer's orders is for that customer or support; commands need orders:write and act for the
 * token's own customer unless admin; streaming needs a token, and orders:all for other customers'
 * events or everyone's. The checks run before any work, so a denied command publishes nothing.
 */
export const resolvers: GraphQLResolverMap<OrdersContext> = {
  Query: {
    order: (_root, { id }: { id: string }, ctx) => {
      requireSubject(ctx.principal);
      const order = ctx.projection.get(id);
      if (order) requireOwnerOr(ctx.principal, order.customerId, Scope.SUPPORT);
      return order ?? null;
    },
    orders: (_root, args: ListArgs, ctx) => {
      requireScope(ctx.principal, Scope.SUPPORT);
      return list(ctx, args);
    },
  },
  Mutation: {
    placeOrder: (_root, { input }: { input: PlaceOrderInput }, ctx) => {
      requireScope(ctx.principal, Scope.ORDERS_WRITE);
      requireOwnerOr(ctx.principal, input.customerId, Scope.ADMIN);
      return ctx.commands.placeOrder(input, ctx.deadline);
    },
    cancelOrder: (_root, { id }: { id: string }, ctx) => {
      requireScope(ctx.principal, Scope.ORDERS_WRITE);
      // An order the projection has not seen is NOT_FOUND for anyone (the command says so).
      const order = ctx.projection.get(id);
      if (order) requireOwnerOr(ctx.principal, order.customerId, Scope.ADMIN);
      return ctx.commands.cancelOrder(id, ctx.deadline);
    },
  },
  Subscription: {
    orderEvents: {
      // Resumable (@resumable(position: "cursor", argument: "after")): extensions.resumable wins over `after`.
      subscribe: (_root, args: OrderEventsArgs, ctx: OrdersContext) => {
        requireSubject(ctx.principal);
        if (args.customerId === undefined || args.customerId === null) requireScope(ctx.principal, Scope.ORDERS_ALL);
        else requireOwnerOr(ctx.principal, args.customerId, Scope.ORDERS_ALL);
        const from = resumeRequest(ctx.extensions, args.after);
        return ctx.events.open({
          customerId: args.customerId ?? undefined,
          types: args.types?.map((t) => eventTypes[t]),
          after: from.after ?? undefined,
          until: from.until,
          checkpoints: from.viaExtension,
        });
      },
      // A stream ends with an error as its last value: thrown here, it reaches the client as an errors result.
      resolve: (item: StreamedOrderEvent | Error) => {
        if (item instanceof Error) throw item;
        return item;
      },
    },
  },
  OrderEvent: {
    type: (entry: JournalEntry) => graphqlEventTypes[entry.type],
    order: (entry: JournalEntry) => entry.entity,
  },
  Order: {
    __resolveReference: (ref: { id: string }, ctx: OrdersContext) => ctx.projection.get(ref.id) ?? null,
    customer: (order: Order) => ({ __typename: 'Customer', id: order.customerId }),
    lines: (order: Order) => order.lines.map((line) => ({ ...line, product: { __typename: 'Product', id: line.productId } })),
  },
  Customer: {
    orders: (customer: { id: string }, args: ListArgs, ctx: OrdersContext) => {
      requireOwnerOr(ctx.principal, customer.id, Scope.SUPPORT);
      return list(ctx, args, customer.id);
    },
  },
};
