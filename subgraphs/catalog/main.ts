import { runSubgraphMain } from '../kit/main.ts';
import { catalogConfig, createCatalogSubgraph } from './index.ts';

runSubgraphMain('catalog', catalogConfig, createCatalogSubgraph);
