/** The benchmark's supergraph: its four subgraphs (subgraphs.ts) composed with @apollo/composition. */
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { SUBGRAPH_NAMES, SUBGRAPH_SDL, type BenchSubgraphName } from './subgraphs.ts';

/** Where each subgraph is served by subgraphs-server.ts at `baseUrl`. */
export const subgraphUrl = (baseUrl: string, name: BenchSubgraphName): string => `${baseUrl}/${name}/graphql`;

/** The supergraph SDL, with each subgraph's URL on the server at `baseUrl`; throws with the composition errors. */
export function composeBenchSupergraph(baseUrl: string): string {
  const result = composeServices(
    SUBGRAPH_NAMES.map((name) => ({ name, url: subgraphUrl(baseUrl, name), typeDefs: parse(SUBGRAPH_SDL[name]) })),
  );
  if (result.errors)
    throw new Error(`the benchmark's subgraphs do not compose:\n  - ${result.errors.map((e) => e.message).join('\n  - ')}`);
  return result.supergraphSdl;
}
