import type { GraphQLResolverMap } from '@apollo/subgraph';
import type { OrderEventType } from '../../services/events/orders.ts';
import { pageSize } from '../kit/arguments.ts';
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

export const resolvers: GraphQLResolverMap<OrdersContext> = {
  Query: {
    order: (_root, { id }: { id: string }, ctx) => ctx.projection.get(id) ?? null,
    orders: (_root, args: ListArgs, ctx) => list(ctx, args),
  },
  Mutation: {
    placeOrder: (_root, { input }: { input: PlaceOrderInput }, ctx) => ctx.commands.placeOrder(input),
    cancelOrder: (_root, { id }: { id: string }, ctx) => ctx.commands.cancelOrder(id),
  },
  Subscription: {
    orderEvents: {
      // Resumable (@resumable(position: "cursor", argument: "after")): extensions.resumable wins over `after`.
      subscribe: (_root, args: OrderEventsArgs, ctx: OrdersContext) => {
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
  },
  Order: {
    __resolveReference: (ref: { id: string }, ctx: OrdersContext) => ctx.projection.get(ref.id) ?? null,
    customer: (order: Order) => ({ __typename: 'Customer', id: order.customerId }),
    lines: (order: Order) => order.lines.map((line) => ({ ...line, product: { __typename: 'Product', id: line.productId } })),
  },
  Customer: {
    orders: (customer: { id: string }, args: ListArgs, ctx: OrdersContext) => list(ctx, args, customer.id),
  },
};
