/**
 * The federation engine: `@apollo/gateway` on a supergraph, reaching each subgraph through a
 * `SubgraphSource`. It serves any valid supergraph, not only ours, and makes no network call other
 * than to the subgraphs it names (vendor telemetry is switched off in `main.ts` before this runs).
 * A new supergraph is swapped in with `update` (reload.ts): requests in flight finish on the one
 * they started on.
 */
import { createHash } from 'node:crypto';
import { ApolloGateway, type ServiceEndpointDefinition, type ServiceMap } from '@apollo/gateway';
import { Supergraph } from '@apollo/federation-internals';
import type { GraphQLSchema } from 'graphql';
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
  /** The supergraph's text as read (what `hash` is the hash of). */
  text: string;
  /** The supergraph as served (with the security features the gateway enforces). */
  sdl: string;
  /** SHA-256 of the supergraph as read (hex): what `sha256sum` of the file gives. */
  hash: string;
  subgraphs: { name: string; url: string }[];
}

/** SHA-256 of a supergraph's text as read (hex), as `sha256sum` gives it. */
export const supergraphHash = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Checks a supergraph's text; the error says where it came from and what is wrong with it.
 * `overrides` (SUBGRAPH_URLS) replace the URLs the supergraph gives; a name it lacks is an error.
 */
export function parseSupergraph(text: string, origin: string, overrides: Record<string, string>): LoadedSupergraph {
  let sdl: string;
  let names: { name: string; url: string }[];
  try {
    sdl = withEnforcedSecurityFeatures(text);
    names = [...Supergraph.build(sdl).subgraphs()].map((s) => ({ name: s.name, url: s.url }));
  } catch (err) {
    throw new Error(`${origin} is not a valid supergraph: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const unknown = Object.keys(overrides).filter((name) => !names.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `SUBGRAPH_URLS names ${unknown.map((n) => `"${n}"`).join(', ')}, not in the supergraph (it has ${names.map((s) => s.name).join(', ')})`,
    );
  }
  const subgraphs = names.map((s) => ({ name: s.name, url: overrides[s.name] ?? s.url }));
  // Checked here, before anything is swapped: @apollo/gateway would swap some data sources before failing on one.
  const unroutable = subgraphs.filter((s) => !URL.canParse(s.url) || !/^https?:$/.test(new URL(s.url).protocol));
  if (unroutable.length > 0) {
    throw new Error(
      `${origin} gives ${unroutable.map((s) => `subgraph "${s.name}" no http(s) URL (${JSON.stringify(s.url)})`).join(', ')}; set one with SUBGRAPH_URLS`,
    );
  }
  return { text, sdl, hash: supergraphHash(text), subgraphs };
}

/** The API schema (what clients may query) of a supergraph's text, as the gateway serves it. */
export function apiSchemaOf(supergraphText: string): GraphQLSchema {
  return Supergraph.build(withEnforcedSecurityFeatures(supergraphText)).apiSchema().toGraphQLJSSchema();
}

/**
 * One data source per subgraph and URL, shared by queries and by the entity fetches of
 * subscriptions. A reload that moves a subgraph gets a new one; the old one finishes what it has.
 */
export class SubgraphSources {
  private readonly sources = new Map<string, SubgraphSource>();
  private readonly options: GatewayOptions;

  constructor(options: GatewayOptions) {
    this.options = options;
  }

  get(name: string, url: string): SubgraphSource {
    const key = `${name}\u0000${url}`;
    let source = this.sources.get(key);
    if (!source) {
      source = new SubgraphSource({
        name,
        url,
        timeoutMs: this.options.subgraphTimeoutMs,
        identitySecret: this.options.identitySecret,
        log: this.options.log,
      });
      this.sources.set(key, source);
    }
    return source;
  }

  /** The data sources of a supergraph's subgraphs, by name. */
  serviceMap(supergraph: LoadedSupergraph): ServiceMap {
    return Object.fromEntries(supergraph.subgraphs.map((s) => [s.name, this.get(s.name, s.url)]));
  }
}

/** `@apollo/gateway` on the initial supergraph, and the function that swaps in another (it throws when that is not valid). */
export function createGateway(
  initial: LoadedSupergraph,
  sources: SubgraphSources,
  overrides: Record<string, string>,
  log: Logger,
): { gateway: ApolloGateway; update: (sdl: string) => void } {
  let update: ((sdl: string) => void) | undefined;
  const gateway = new ApolloGateway({
    supergraphSdl: ({ update: swap }) => {
      update = swap;
      return Promise.resolve({ supergraphSdl: initial.sdl });
    },
    logger: log,
    buildService: ({ name, url }: ServiceEndpointDefinition) => {
      const target = overrides[name] ?? url;
      if (!target) throw new Error(`the supergraph gives subgraph "${name}" no URL`);
      return sources.get(name, target);
    },
  });
  return {
    gateway,
    update: (sdl) => {
      if (!update) throw new Error('the gateway has not loaded its first supergraph yet');
      update(sdl);
    },
  };
}
