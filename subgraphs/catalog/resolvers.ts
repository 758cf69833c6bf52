import type DataLoader from 'dataloader';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { pageSize } from '../kit/arguments.ts';
import type { CatalogSource, Product } from './datasource.ts';

export interface CatalogContext {
  source: CatalogSource;
  products: DataLoader<string, Product | null>;
}

export const resolvers: GraphQLResolverMap<CatalogContext> = {
  Query: {
    product: (_root, { id }: { id: string }, ctx) => ctx.products.load(id),
    products: async (_root, { first }: { first: number }, ctx) => {
      const items = await ctx.source.list(pageSize(first));
      for (const item of items) ctx.products.prime(item.id, item);
      return items;
    },
  },
  Product: {
    __resolveReference: (ref: { id: string }, ctx: CatalogContext) => ctx.products.load(ref.id),
  },
};
