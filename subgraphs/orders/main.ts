import { runSubgraphMain } from '../kit/main.ts';
import { createOrdersSubgraph, ordersConfig } from './index.ts';

runSubgraphMain('orders', ordersConfig, createOrdersSubgraph);
