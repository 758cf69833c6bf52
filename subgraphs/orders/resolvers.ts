import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { pageSize } from '../kit/arguments.ts';
import type { OrderCommands, PlaceOrderInput } from './commands.ts';
import type { Order, OrderProjection, OrderStatus } from './projection.ts';

export interface OrdersContext {
  projection: OrderProjection;
  commands: OrderCommands;
}

interface ListArgs {
  status?: OrderStatus | null;
  first: number;
}

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
  Order: {
    __resolveReference: (ref: { id: string }, ctx: OrdersContext) => ctx.projection.get(ref.id) ?? null,
    customer: (order: Order) => ({ __typename: 'Customer', id: order.customerId }),
    lines: (order: Order) => order.lines.map((line) => ({ ...line, product: { __typename: 'Product', id: line.productId } })),
  },
  Customer: {
    orders: (customer: { id: string }, args: ListArgs, ctx: OrdersContext) => list(ctx, args, customer.id),
  },
};
