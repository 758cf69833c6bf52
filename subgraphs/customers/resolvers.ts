import type DataLoader from 'dataloader';
import type { GraphQLResolverMap } from '@apollo/subgraph';
import { entityResolvers } from '../kit/entities.ts';
import type { CustomersSource, RestCustomer } from './datasource.ts';

export interface CustomersContext {
  source: CustomersSource;
  customers: DataLoader<string, RestCustomer | null>;
}

const customer = entityResolvers<RestCustomer, CustomersContext>({
  loader: (ctx) => ctx.customers,
  list: (ctx, count) => ctx.source.list(count),
});

export const resolvers: GraphQLResolverMap<CustomersContext> = {
  Query: { customer: customer.byId, customers: customer.list },
  Customer: {
    __resolveReference: customer.reference,
    tier: (c: RestCustomer) => c.tier.toUpperCase(),
    favoriteProducts: (c: RestCustomer) => c.favoriteProductIds.map((id) => ({ __typename: 'Product', id })),
  },
};
