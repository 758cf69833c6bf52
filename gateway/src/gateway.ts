/**
 * The federation engine: Interchange's executor on a supergraph's query plans, reaching each
 * subgraph through a pooled `SubgraphClient`. It serves any valid supergraph, not only ours, and makes no network call other
 * than to the subgraphs it names (vendor telemetry is switched off in `main.ts` before this runs).
 * A new supergraph is prepared in full, then served (reload/reloader.ts): operations in flight
 * finish on the one they started on.
 */
import { createHash } from 'node:crypto';
import { Supergraph } from '@apollo/federation-internals';
import type { GraphQLSchema } from 'graphql';
import type { Logger } from '../../lib/logger.ts';
import type { Gateway } from './authorization/enforce.ts';
import { withEnforcedSecurityFeatures } from './authorization/policy.ts';
import { FederatedSchema } from './executor/federated-schema.ts';
import { Operations, type OperationsOptions, type SubgraphSenders } from './executor/operations.ts';
import { SubgraphClient } from './executor/transport.ts';

export interface GatewayOptions {
  subgraphTimeoutMs: number;
  /** Connections to each subgraph at most. */
  maxConnections: number;
  /** Largest subgraph answer read, in bytes. */
  maxResponseBytes: number;
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
  /** The supergraph built, its schemas and its query planner: one for everything that serves it. */
  schema: FederatedSchema;
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
  let schema: FederatedSchema;
  let names: { name: string; url: string }[];
  try {
    sdl = withEnforcedSecurityFeatures(text);
    schema = new FederatedSchema(sdl);
    names = [...schema.supergraph.subgraphs()].map((s) => ({ name: s.name, url: s.url }));
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
  return { text, sdl, hash: supergraphHash(text), schema, subgraphs };
}

/** The API schema (what clients may query) of a supergraph's text, as the gateway serves it. */
export function apiSchemaOf(supergraphText: string): GraphQLSchema {
  return Supergraph.build(withEnforcedSecurityFeatures(supergraphText)).apiSchema().toGraphQLJSSchema();
}

/**
 * One client per subgraph and URL (a pool of keep-alive connections), shared by queries and by the
 * entity fetches of subscriptions. A reload that moves a subgraph gets a new one; the old one
 * finishes what it has. Once a supergraph is served, `retain` closes the clients of subgraphs it does
 * not have (operations still running on an earlier one finish their requests first).
 */
export class SubgraphSources {
  private readonly clients = new Map<string, SubgraphClient>();
  /** Dropped by a reload, closed after a grace period. */
  private readonly closing = new Set<SubgraphClient>();
  private readonly options: GatewayOptions;

  constructor(options: GatewayOptions) {
    this.options = options;
  }

  get(name: string, url: string): SubgraphClient {
    const key = `${name}\u0000${url}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new SubgraphClient({
        name,
        url,
        timeoutMs: this.options.subgraphTimeoutMs,
        connections: this.options.maxConnections,
        maxResponseBytes: this.options.maxResponseBytes,
        identitySecret: this.options.identitySecret,
        log: this.options.log,
      });
      this.clients.set(key, client);
    }
    return client;
  }

  /**
   * Drops every client but those of this supergraph's subgraphs (at their URLs). A dropped client is
   * closed once operations and events still running on an earlier supergraph are done with it: after
   * twice the subgraph timeout (a fetch or two of theirs), then its pool finishes what it has.
   */
  retain(supergraph: LoadedSupergraph): void {
    const kept = new Set(supergraph.subgraphs.map((s) => `${s.name}\u0000${s.url}`));
    for (const [key, client] of this.clients) {
      if (kept.has(key)) continue;
      this.clients.delete(key);
      this.closing.add(client);
      setTimeout(() => void this.closeClient(client), 2 * this.options.subgraphTimeoutMs).unref();
    }
  }

  private async closeClient(client: SubgraphClient): Promise<void> {
    if (!this.closing.delete(client)) return;
    await client.close().catch((err: unknown) => this.options.log.warn({ err, subgraph: client.name }, 'closing a subgraph client failed'));
  }

  /** The clients of a supergraph's subgraphs, by name. */
  senders(supergraph: LoadedSupergraph): SubgraphSenders {
    return Object.fromEntries(supergraph.subgraphs.map((s) => [s.name, this.get(s.name, s.url)]));
  }

  /** Closes every client, those still closing too. */
  async close(): Promise<void> {
    for (const client of this.clients.values()) this.closing.add(client);
    this.clients.clear();
    await Promise.all([...this.closing].map((client) => this.closeClient(client)));
  }
}

/** Where the engine gets a supergraph's subgraph clients (`SubgraphSources`; tests pass fakes). */
export type SenderSource = Pick<SubgraphSources, 'senders' | 'close'>;

type SchemaListener = Parameters<Gateway['onSchemaLoadOrUpdate']>[0];

export interface Federation {
  /** The engine, for Apollo Server. */
  gateway: Gateway;
  /**
   * Builds the engine of another supergraph (schema, query planner, subgraph clients) without serving
   * it; rejects when it cannot. The function it resolves serves it, and does not throw.
   */
  prepare(supergraph: LoadedSupergraph): Promise<() => void>;
}

/**
 * The federation engine: Interchange's executor (executor/operations.ts), one per supergraph
 * generation, each fixed on its own supergraph. Apollo Server validates an operation against the API
 * schema it had when the request started and hands that schema to the executor; the executor runs
 * the operation on the generation that schema belongs to. So an operation validates, plans and
 * executes on one supergraph however a reload falls between those steps, and an old generation
 * lives as long as operations still run on it.
 */
export function createGateway(initial: LoadedSupergraph, sources: SenderSource, options: OperationsOptions, log: Logger): Federation {
  const generations = new WeakMap<GraphQLSchema, Operations>();
  const listeners = new Set<SchemaListener>();
  let current: { operations: Operations; sdl: string } | undefined;

  const build = (supergraph: LoadedSupergraph) => {
    const operations = new Operations(supergraph.schema, sources.senders(supergraph), options);
    generations.set(operations.apiSchema, operations);
    return { operations, sdl: supergraph.sdl };
  };
  const serve = (next: NonNullable<typeof current>) => {
    current = next;
    for (const listener of listeners) {
      try {
        listener({ apiSchema: next.operations.apiSchema, coreSupergraphSdl: next.sdl });
      } catch (err) {
        log.error({ err }, 'a listener failed on the new supergraph');
      }
    }
  };
  const gateway: Gateway = {
    load: async () => {
      serve(build(initial));
      return {
        schema: current!.operations.apiSchema,
        executor: async (requestContext) => {
          const operations = generations.get(requestContext.schema);
          // Never run on another generation than the one the operation was validated on.
          if (!operations) throw new Error('the operation was validated against a schema this gateway never served');
          return operations.execute(requestContext);
        },
      };
    },
    onSchemaLoadOrUpdate: (listener) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    stop: async () => {
      await sources.close();
    },
  };
  return {
    gateway,
    prepare: async (supergraph) => {
      const next = build(supergraph);
      return () => serve(next);
    },
  };
}
