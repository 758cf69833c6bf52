import { runSubgraphMain } from '../kit/main.ts';
import { createCustomersSubgraph, customersConfig } from './index.ts';

runSubgraphMain('customers', customersConfig, createCustomersSubgraph);
