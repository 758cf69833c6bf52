import type DataLoader from 'dataloader';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { pageSize } from '../kit/arguments.ts';
import type { CustomersSource, RestCustomer } from './datasource.ts';

export interface CustomersContext {
  source: CustomersSource;
  customers: DataLoader<string, RestCustomer | null>;
}

export const resolvers: GraphQLResolverMap<CustomersContext> = {
  Query: {
    customer: (_root, { id }: { id: string }, ctx) => ctx.customers.load(id),
    customers: async (_root, { first }: { first: number }, ctx) => {
      const items = await ctx.source.list(pageSize(first));
      // Later entity lookups in this request are answered without another call.
      for (const item of items) ctx.customers.prime(item.id, item);
      return items;
    },
  },
  Customer: {
    __resolveReference: (ref: { id: string }, ctx: CustomersContext) => ctx.customers.load(ref.id),
    tier: (customer: RestCustomer) => customer.tier.toUpperCase(),
    favoriteProducts: (customer: RestCustomer) => customer.favoriteProductIds.map((id) => ({ __typename: 'Product', id })),
  },
};
