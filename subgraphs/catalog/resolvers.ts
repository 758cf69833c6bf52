import type DataLoader from 'dataloader';
import type { GraphQLResolverMap } from '@apollo/subgraph';
import { entityResolvers } from '../kit/entities.ts';
import type { CatalogSource, Product } from './datasource.ts';

export interface CatalogContext {
  source: CatalogSource;
  products: DataLoader<string, Product | null>;
}

const product = entityResolvers<Product, CatalogContext>({
  loader: (ctx) => ctx.products,
  list: (ctx, count) => ctx.source.list(count),
});

export const resolvers: GraphQLResolverMap<CatalogContext> = {
  Query: { product: product.byId, products: product.list },
  Product: { __resolveReference: product.reference },
};
