/** The customers subgraph: customers from the REST customers service. */
import type { Logger } from '../../lib/logger.ts';
import { resilienceFrom, subgraphConfig } from '../kit/config.ts';
import { setting } from '../../lib/config.ts';
import { loadSubgraphSdl, type SubgraphModule } from '../kit/subgraph.ts';
import { CustomersSource } from './datasource.ts';
import { resolvers, type CustomersContext } from './resolvers.ts';
import type { z } from 'zod';

export const customersConfig = subgraphConfig({
  /** Base URL of the REST customers service. */
  CUSTOMERS_SERVICE_URL: setting.url().default('http://127.0.0.1:4201'),
});

export type CustomersConfig = z.output<typeof customersConfig>;

export function createCustomersSubgraph(config: CustomersConfig, log: Logger): SubgraphModule<CustomersContext> {
  const source = new CustomersSource({ ...resilienceFrom(config, 'customers-service'), baseUrl: config.CUSTOMERS_SERVICE_URL, log });
  return {
    name: 'customers',
    typeDefs: loadSubgraphSdl('customers'),
    resolvers,
    createContext: (request) => ({ source, customers: source.createLoader(), principal: request.principal }),
    upstreams: { 'customers-service': source.client.policy },
  };
}
