import type DataLoader from 'dataloader';
import type { GraphQLResolverMap } from '@apollo/subgraph';
import { Scope, type Principal } from '../../lib/auth/principal.ts';
import { requireOwnerOr } from '../kit/authorization.ts';
import { entityResolvers } from '../kit/entities.ts';
import type { CustomersSource, RestCustomer } from './datasource.ts';

export interface CustomersContext {
  source: CustomersSource;
  customers: DataLoader<string, RestCustomer | null>;
  /** Who is calling (the gateway's signed identity): the e-mail rule reads it. */
  principal: Principal;
}

const customer = entityResolvers<RestCustomer, CustomersContext>({
  loader: (ctx) => ctx.customers,
  list: (ctx, count) => ctx.source.list(count),
});

export const resolvers: GraphQLResolverMap<CustomersContext> = {
  Query: { customer: customer.byId, customers: customer.list },
  Customer: {
    __resolveReference: customer.reference,
    // The customer themself or support (kit/authorization.ts); anyone else: null and UNAUTHORIZED here.
    email: (c: RestCustomer, _args: unknown, ctx: CustomersContext) => {
      requireOwnerOr(ctx.principal, c.id, Scope.SUPPORT);
      return c.email;
    },
    tier: (c: RestCustomer) => c.tier.toUpperCase(),
    favoriteProducts: (c: RestCustomer) => c.favoriteProductIds.map((id) => ({ __typename: 'Product', id })),
  },
};
