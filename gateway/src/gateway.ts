/**
 * The federation engine: `@apollo/gateway` on a supergraph file, reaching each subgraph through a
 * `SubgraphSource`. It serves any valid supergraph, not only ours, and makes no network call other
 * than to the subgraphs it names (vendor telemetry is switched off in `main.ts` before this runs).
 */
import { readFile } from 'node:fs/promises';
import { ApolloGateway, type ServiceEndpointDefinition } from '@apollo/gateway';
import { Supergraph } from '@apollo/federation-internals';
import type { Logger } from '../../lib/logger.ts';
import { withEnforcedSecurityFeatures } from './authorization/policy.ts';
import { SubgraphSource } from './subgraph-source.ts';

export interface GatewayOptions {
  subgraphTimeoutMs: number;
  /** The secret every subgraph request's identity header is signed with. */
  identitySecret: string;
  log: Logger;
}

export interface LoadedSupergraph {
  sdl: string;
  subgraphs: { name: string; url: string }[];
}

/** Reads and checks a supergraph file; the error says which file and what is wrong with it. */
export async function readSupergraph(path: string, overrides: Record<string, string>): Promise<LoadedSupergraph> {
  let sdl: string;
  try {
    sdl = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the supergraph file ${path} (SUPERGRAPH): ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      cause: err,
    });
  }
  let names: { name: string; url: string }[];
  try {
    sdl = withEnforcedSecurityFeatures(sdl);
    names = [...Supergraph.build(sdl).subgraphs()].map((s) => ({ name: s.name, url: s.url }));
  } catch (err) {
    throw new Error(`${path} is not a valid supergraph: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const unknown = Object.keys(overrides).filter((name) => !names.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `SUBGRAPH_URLS names ${unknown.map((n) => `"${n}"`).join(', ')}, not in the supergraph (it has ${names.map((s) => s.name).join(', ')})`,
    );
  }
  return { sdl, subgraphs: names.map((s) => ({ name: s.name, url: overrides[s.name] ?? s.url })) };
}

export function createSubgraphSource(subgraph: { name: string; url: string }, options: GatewayOptions): SubgraphSource {
  return new SubgraphSource({
    name: subgraph.name,
    url: subgraph.url,
    timeoutMs: options.subgraphTimeoutMs,
    identitySecret: options.identitySecret,
    log: options.log,
  });
}

/** One data source per subgraph, shared by queries and by the entity fetches of subscriptions. */
export function createSubgraphSources(supergraph: LoadedSupergraph, options: GatewayOptions): Map<string, SubgraphSource> {
  return new Map(supergraph.subgraphs.map((s) => [s.name, createSubgraphSource(s, options)]));
}

export function createGateway(supergraph: LoadedSupergraph, sources: Map<string, SubgraphSource>, log: Logger): ApolloGateway {
  return new ApolloGateway({
    supergraphSdl: supergraph.sdl,
    logger: log,
    buildService: ({ name }: ServiceEndpointDefinition) => {
      const source = sources.get(name);
      if (!source) throw new Error(`the supergraph names subgraph "${name}", which has no data source`);
      return source;
    },
  });
}
