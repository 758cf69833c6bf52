/**
 * What every subgraph is built from: its SDL (schema/subgraphs/<name>.graphql), resolvers, a
 * per-request context (where its DataLoaders live), and how it reports readiness. `startSubgraph`
 * serves it with `@apollo/subgraph` on the shared GraphQL HTTP host.
 */
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BaseContext } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph';
import { parse, type DocumentNode, type GraphQLFormattedError } from 'graphql';
import type { Express } from 'express';
import { ErrorCode } from '../../lib/errors.ts';
import { DEFAULT_EDGE, type EdgeOptions } from '../../lib/edge.ts';
import { GRAPHQL_PATH, startGraphQLHost, type GraphQLHost, type Readiness } from '../../lib/graphql-http.ts';
import { serveGraphQLOverWebSocket } from '../../lib/graphql-ws.ts';
import type { Logger } from '../../lib/logger.ts';
import type { CallPolicy } from './resilience.ts';
import { subscribeResumable } from './resumable.ts';
import type { Registry } from 'prom-client';
import type { Principal } from '../../lib/auth/principal.ts';
import { verifiedPrincipal, verifyConnections, verifyRequests, type IdentityOptions, type VerifiedConnection } from './identity.ts';

export interface SubgraphModule<Ctx extends BaseContext> {
  name: string;
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<Ctx>;
  /**
   * Builds a fresh context per request (per-request DataLoaders: batching without cross-request
   * caching), from what the request carries: its headers and the GraphQL request's `extensions`
   * (over WebSocket: the connection's headers and the subscribe message's extensions).
   */
  createContext(request: SubgraphRequest): Ctx;
  /** Policies of the backends it calls, reported on /readyz. */
  upstreams: Record<string, CallPolicy>;
  /** Starts background work (a projection's consumer, say) before the server listens. */
  start?(): Promise<void>;
  /** Whether it can serve yet, with details for /readyz; ready when absent. */
  readiness?(): Readiness;
  /** Its Prometheus metrics, served on /metrics. */
  registry?: Registry;
  /** Routes of its own on the ops listener (beside /healthz, /readyz and /metrics). */
  opsRoutes?: ((app: Express) => void) | undefined;
  /** Releases clients and connections. */
  close?(): Promise<void>;
}

/** What a subgraph's context may read of the request it serves. */
export interface SubgraphRequest {
  /** Request headers, names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The GraphQL request's `extensions` (the subscribe message's, over WebSocket). */
  extensions: Readonly<Record<string, unknown>>;
  /** Who is calling, as the gateway vouches for it (its signed identity header). */
  principal: Principal;
}

const schemaDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../schema/subgraphs');

export function loadSubgraphSdl(name: string): DocumentNode {
  return parse(readFileSync(resolve(schemaDir, `${name}.graphql`), 'utf8'));
}

export interface ServeOptions {
  host: string;
  port: number;
  bodyLimitBytes: number;
  /** How the gateway's signed identity is checked (every GraphQL request must carry one). */
  identity: IdentityOptions;
  /** The ops listener and slow-client timeouts; default: ops on a free loopback port. */
  edge?: EdgeOptions;
  log: Logger;
}

export async function startSubgraph<Ctx extends BaseContext>(
  module: SubgraphModule<Ctx>,
  options: ServeOptions,
): Promise<GraphQLHost<Ctx>> {
  const { log } = options;
  const readiness = (): Readiness => ({
    subgraph: module.name,
    upstreams: Object.fromEntries(Object.entries(module.upstreams).map(([name, policy]) => [name, { breaker: policy.breakerState }])),
    ...(module.readiness?.() ?? { ready: true }),
  });
  await module.start?.();
  // Resolver maps are typed by their context; buildSubgraphSchema takes them untyped.
  const schema = buildSubgraphSchema([{ typeDefs: module.typeDefs, resolvers: module.resolvers as GraphQLResolverMap<unknown> }]);
  const host = await startGraphQLHost<Ctx>({
    name: module.name,
    log,
    host: options.host,
    port: options.port,
    bodyLimitBytes: options.bodyLimitBytes,
    edge: options.edge ?? DEFAULT_EDGE,
    apollo: {
      schema,
      includeStacktraceInErrorResponses: false,
      logger: log,
      // Inline traces (ftv1) only feed a vendor's usage reporting, which Interchange never uses.
      plugins: [ApolloServerPluginInlineTraceDisabled()],
      formatError: (formatted, error) => maskInternal(formatted, error, log),
    },
    context: async ({ req, res }) =>
      module.createContext({
        headers: headersOf(req.headers),
        extensions: extensionsOf(req.body),
        principal: verifiedPrincipal(res.locals),
      }),
    readiness,
    registry: module.registry,
    opsRoutes: module.opsRoutes,
    routes: (app) => void app.use(GRAPHQL_PATH, verifyRequests(options.identity, log)),
  });
  // Subscriptions, where the schema has any, over graphql-ws on the same path.
  const ws = schema.getSubscriptionType()
    ? serveGraphQLOverWebSocket<Record<string, unknown> | undefined, VerifiedConnection>({
        httpServer: host.httpServer,
        path: GRAPHQL_PATH,
        log,
        maxPayloadBytes: options.bodyLimitBytes,
        graphql: {
          schema,
          onConnect: verifyConnections(options.identity, log),
          // Resumable fields' streams carry positions and checkpoints (resumable.ts); others run as graphql's own subscribe.
          subscribe: subscribeResumable,
          context: (ctx, _id, payload) =>
            module.createContext({
              headers: headersOf(ctx.extra.request.headers),
              extensions: extensionsOf(payload),
              principal: verifiedPrincipal(ctx.extra),
            }),
          // The same masking as over HTTP, for results and for errors at the start of a subscription.
          onNext: (_ctx, _id, _payload, _args, result) =>
            result.errors ? { ...result, errors: result.errors.map((e) => maskInternal(e.toJSON(), e, log)) } : result,
          onError: (_ctx, _id, _payload, errors) => errors.map((e) => maskInternal(e.toJSON(), e, log)),
        },
      })
    : undefined;
  return {
    ...host,
    stop: async () => {
      await ws?.stop();
      await host.stop();
      await module.close?.();
    },
  };
}

function headersOf(headers: IncomingHttpHeaders): SubgraphRequest['headers'] {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : value]));
}

function extensionsOf(body: unknown): SubgraphRequest['extensions'] {
  const extensions = (body as { extensions?: unknown } | null | undefined)?.extensions;
  return typeof extensions === 'object' && extensions !== null && !Array.isArray(extensions) ? (extensions as Record<string, unknown>) : {};
}

/** Errors without a code of ours or Apollo's are bugs: log them, and tell the client only that much. */
function maskInternal(formatted: GraphQLFormattedError, error: unknown, log: Logger): GraphQLFormattedError {
  const code = formatted.extensions?.['code'];
  if (code !== undefined && code !== ErrorCode.INTERNAL_SERVER_ERROR) return formatted;
  log.error({ err: error }, 'unexpected error in a resolver');
  return { ...formatted, message: 'internal error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
}
