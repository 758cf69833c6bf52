/** The catalog subgraph: products and stock from the gRPC catalog service. */
import { z } from 'zod';
import type { Logger } from '../../lib/logger.ts';
import { resilienceFrom, subgraphConfig } from '../kit/config.ts';
import { loadSubgraphSdl, type SubgraphModule } from '../kit/subgraph.ts';
import { CatalogSource } from './datasource.ts';
import { resolvers, type CatalogContext } from './resolvers.ts';

export const catalogConfig = subgraphConfig({
  /** host:port of the gRPC catalog service. */
  CATALOG_SERVICE_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port')
    .default('127.0.0.1:4202'),
});

export type CatalogConfig = z.output<typeof catalogConfig>;

export function createCatalogSubgraph(config: CatalogConfig, _log: Logger): SubgraphModule<CatalogContext> {
  const source = new CatalogSource(config.CATALOG_SERVICE_ADDRESS, resilienceFrom(config, 'catalog-service'));
  return {
    name: 'catalog',
    typeDefs: loadSubgraphSdl('catalog'),
    resolvers,
    createContext: () => ({ source, products: source.createLoader() }),
    upstreams: { 'catalog-service': source.caller.policy },
    close: async () => source.close(),
  };
}
