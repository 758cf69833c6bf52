/**
 * The gateway process's server: the federation engine behind Apollo Server on the shared GraphQL
 * HTTP host; subscriptions (and queries and mutations) over graphql-ws on the same `/graphql` path
 * and over Server-Sent Events at `/graphql/stream`; the offline playground, and a plain-text page
 * at `/` for anything that is not a browser; health, readiness and metrics.
 */
import {
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import type { Response as SseResponse } from 'graphql-sse';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import express from 'express';
import { edgeOptions } from '../../lib/edge.ts';
import { ErrorCode, InterchangeError, withHttpStatus } from '../../lib/errors.ts';
import { GRAPHQL_PATH, bodyErrors, startGraphQLHost, type GraphQLHost } from '../../lib/graphql-http.ts';
import { codedValidate } from '../../lib/graphql-validation.ts';
import { serveGraphQLOverWebSocket } from '../../lib/graphql-ws.ts';
import type { Logger } from '../../lib/logger.ts';
import { disableVendorTelemetry, type GatewayConfig } from './config.ts';
import { authorizingGateway, authorizingOperations } from './authorization/enforce.ts';
import { readAuthorizationPolicy, type AuthorizationPolicy } from './authorization/policy.ts';
import { httpClient } from './edge/client.ts';
import { Edge } from './edge/edge.ts';
import { wantsEventStream } from './edge/sse.ts';
import { createGateway, parseSupergraph, SubgraphSources, supergraphHash, type LoadedSupergraph } from './gateway.ts';
import { fileOrigin, urlOrigin } from './reload/origin.ts';
import { SubgraphProbe } from './reload/probe.ts';
import { SupergraphReloader } from './reload/reloader.ts';
import {
  authenticateConnections,
  authenticateRequests,
  connectionPrincipal,
  requestPrincipal,
  type ConnectionIdentity,
} from './auth/authenticate.ts';
import { createTokenVerifier } from './auth/tokens.ts';
import { identityFrom, identityOrRefusal, type GatewayContext } from './identity.ts';
import { landingPageHandler } from './landing.ts';
import { admissionMiddleware, admitOverSse, admitOverWebSocket } from './limits/transports.ts';
import { admissionOn, trustedDocumentsFor } from './limits/setup.ts';
import type { Admission } from './limits/admission.ts';
import type { TrustedDocuments } from './limits/trusted-documents.ts';
import { operationGuard } from './operation-guard.ts';
import { onServedSchema, operationHandlers } from './operations.ts';
import { playgroundHandler } from './playground.ts';
import { clientErrorFormat, clientResults, edgePolicy } from './production.ts';
import { SubscriptionEngine } from './subscriptions/engine.ts';
import { startUsage } from './usage/serve.ts';

export const SSE_PATH = `${GRAPHQL_PATH}/stream`;

export async function startGateway(config: GatewayConfig, log: Logger): Promise<GraphQLHost<GatewayContext>> {
  disableVendorTelemetry();
  const overrides = config.SUBGRAPH_URLS;
  const origin = config.SUPERGRAPH_URL
    ? urlOrigin(config.SUPERGRAPH_URL, config.SUPERGRAPH_POLL_MS, config.SUBGRAPH_TIMEOUT_MS)
    : fileOrigin(config.SUPERGRAPH, log);
  const initialText = await origin.read();
  if (initialText === undefined) throw new Error(`${origin.name} gave no supergraph`);
  const initial = parseSupergraph(initialText, origin.name, overrides);
  const sources = new SubgraphSources({
    subgraphTimeoutMs: config.SUBGRAPH_TIMEOUT_MS,
    maxConnections: config.SUBGRAPH_MAX_CONNECTIONS,
    maxResponseBytes: config.SUBGRAPH_MAX_RESPONSE_BYTES,
    identitySecret: config.IDENTITY_SECRET,
    log,
  });
  const tokens = createTokenVerifier({
    jwksUrl: config.JWKS_URL,
    jwksFile: config.JWKS_FILE,
    jwksTimeoutMs: config.JWKS_TIMEOUT_MS,
    cacheSize: config.TOKEN_CACHE_SIZE,
    cacheMs: config.TOKEN_CACHE_MS,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    log,
  });
  const engine = new SubscriptionEngine({
    schema: initial.schema,
    urls: new Map(initial.subgraphs.map((s) => [s.name, s.url])),
    senders: sources.senders(initial),
    log,
    subscriberBufferEvents: config.SUBSCRIPTION_BUFFER_EVENTS,
    upstreamRetryAttempts: config.UPSTREAM_SUBSCRIPTION_RETRIES,
    upstreamRecoveryMs: config.UPSTREAM_RECOVERY_MS,
    lagThresholdEvents: config.STREAM_LAG_THRESHOLD_EVENTS,
    upstreamConnectTimeoutMs: config.UPSTREAM_CONNECT_TIMEOUT_MS,
    upstreamBacklogEvents: config.UPSTREAM_BACKLOG_EVENTS,
    resolution: { concurrency: config.SUBSCRIPTION_RESOLVE_CONCURRENCY, retries: config.SUBSCRIPTION_RESOLVE_RETRIES },
    identitySecret: config.IDENTITY_SECRET,
    planCacheBytes: config.SUBSCRIPTION_PLAN_CACHE_BYTES,
  });
  const usage = await startUsage(config, log);
  /** What serves the supergraph of now: swapped as one by a reload. */
  const trusted = await trustedDocumentsFor(config);
  let generation: Generation = { supergraph: initial, ...generationParts(config, initial, trusted) };
  const federation = createGateway(
    initial,
    sources,
    { planCacheBytes: config.QUERY_PLAN_CACHE_BYTES, deduplicate: config.DEDUPLICATE_REQUESTS },
    log,
  );
  const gateway = authorizingGateway(federation.gateway, () => generation.authorization);
  const registry = gatewayMetrics(engine);
  const probe = new SubgraphProbe({ timeoutMs: Math.min(config.SUBGRAPH_TIMEOUT_MS, 5_000) });
  const reloader = new SupergraphReloader({
    origin,
    initialHash: initial.hash,
    hashOf: supergraphHash,
    registry,
    log,
    // Everything that can refuse the new supergraph runs here, before anything changes.
    prepare: async (text) => {
      const supergraph = parseSupergraph(text, origin.name, overrides);
      const { authorization, admission } = generationParts(config, supergraph, trusted);
      const subscriptions = engine.prepare({
        schema: supergraph.schema,
        urls: new Map(supergraph.subgraphs.map((s) => [s.name, s.url])),
        senders: sources.senders(supergraph),
      });
      const operations = await federation.prepare(supergraph);
      return { hash: supergraph.hash, next: { supergraph, authorization, admission }, subscriptions, operations };
    },
    commit: ({ next, subscriptions, operations }) => {
      const previous = generation;
      // The policy first: the engine hands each new API schema the policy served with it (authorizingGateway).
      generation = next;
      operations();
      // Open subscriptions were authorized under the old rules: when the rules change, they end and
      // clients subscribe again (resuming from their cursor) under the new ones.
      const reauthorize = next.authorization.fingerprint !== previous.authorization.fingerprint;
      const ended = reauthorize
        ? engine.endAll(
            new InterchangeError(
              ErrorCode.SUBSCRIPTION_SCHEMA_RELOAD,
              'the supergraph was reloaded with other authorization rules: subscribe again (from your last cursor) to be authorized under them',
            ),
          )
        : 0;
      const outcome = { ...subscriptions(), ...(reauthorize && { endedForAuthorization: ended }) };
      sources.retain(next.supergraph);
      probe.watch(next.supergraph.subgraphs, config.SUBGRAPH_PROBE_MS);
      return { subscriptions: outcome };
    },
  });
  const edge = new Edge(config, registry, log);
  const authenticate = authenticateConnections(tokens, edge.refusedTokens);
  // Operations over graphql-ws and SSE run through Apollo Server, which the host creates below;
  // they are only ever called once it is listening.
  const exposure = edgePolicy(config);
  const formatError = clientErrorFormat(exposure, log);
  // Without introspection and suggestions in production, on graphql-ws and graphql-sse as over HTTP.
  const validate = codedValidate(exposure);
  const operations = authorizingOperations(
    operationHandlers(
      engine,
      () => host.apollo,
      (client) => edge.subscription(client),
      clientResults(formatError),
    ),
    () => engine.schema,
    () => generation.authorization,
  );
  // Subscriptions count in the usage record as they start; queries and mutations through its plugin.
  const counted = usage.operations(
    onServedSchema(operations, () => engine.schema, validate),
    () => engine.schema,
  );
  const forward = config.FORWARD_HEADERS;
  let serving = false;

  const host = await startGraphQLHost<GatewayContext>({
    name: 'gateway',
    log,
    host: config.HOST,
    port: config.PORT,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    edge: edgeOptions(config),
    apollo: {
      gateway,
      introspection: exposure.introspection,
      hideSchemaDetailsFromClientErrors: exposure.hideSuggestions,
      formatError,
      csrfPrevention: config.CSRF_PREVENTION,
      includeStacktraceInErrorResponses: false,
      plugins: [
        ApolloServerPluginUsageReportingDisabled(),
        ApolloServerPluginSchemaReportingDisabled(),
        ApolloServerPluginLandingPageDisabled(),
        operationGuard(SSE_PATH),
        usage.plugin,
      ],
    },
    // Apollo Server answers an error thrown here as the response, with its HTTP status.
    context: async ({ req, res }) => {
      const identity = identityOrRefusal(req.headers, forward);
      if (identity instanceof InterchangeError) throw withHttpStatus(identity, 400);
      return { headers: identity, principal: requestPrincipal(res.locals) };
    },
    readiness: () => ({
      ready: serving,
      supergraph: {
        source: origin.name,
        hash: reloader.current.hash,
        generation: reloader.current.generation,
        loadedAt: reloader.current.loadedAt.toISOString(),
      },
      subgraphs: probe.report(),
      subscriptions: engine.stats(),
    }),
    registry,
    opsRoutes: (app) => {
      // 200 with what happened (reloaded or unchanged); 422 when the supergraph was refused.
      app.post('/reload', async (_req, res) => {
        const result = await reloader.reload('request');
        res.status(result.status === 'refused' ? 422 : 200).json(result);
      });
      usage.routes(app, () => generation.supergraph);
    },
    beforeGraphQL: [admissionMiddleware(() => generation.admission)],
    routes: (app) => {
      // Before /graphql and /graphql/stream alike: CORS, then a bad token is refused before the
      // operation is read, and the edge's rates count the verified client.
      edge.routes(app, SSE_PATH, authenticateRequests(tokens));
      // graphql-sse takes the context from `onSubscribe` when it returns the execution arguments.
      const sseContext = (
        req: { raw: express.Request; context: { res: express.Response } },
        params: { extensions?: Record<string, unknown> | undefined },
      ): GatewayContext => ({
        headers: identityFrom(req.raw.headers, forward),
        principal: requestPrincipal(req.context.res.locals),
        extensions: params.extensions,
        client: httpClient(req.raw, req.context.res),
      });
      const sse = [
        express.json({ limit: config.BODY_LIMIT_BYTES }),
        bodyErrors,
        edge.sse<GatewayContext>({
          schema: () => engine.schema,
          validate,
          bodyLimitBytes: config.BODY_LIMIT_BYTES,
          onSubscribe: (req, params) => {
            const identity = identityOrRefusal(req.raw.headers, forward);
            if (identity instanceof InterchangeError) return badRequest(identity);
            return admitOverSse(generation.admission, engine.schema, params, sseContext(req, params));
          },
          context: sseContext,
          execute: (args) => operations.execute(args),
          subscribe: (args) => counted.subscribe(args),
        }),
      ];
      app.use(SSE_PATH, ...sse);
      // GraphQL over SSE's distinct connections mode at the GraphQL path too (where the playground,
      // GraphiQL on Yoga's executor, subscribes with its Headers tab): the same binding and limits.
      const eventStreams: express.RequestHandler = (req, _res, next) => next(wantsEventStream(req) ? undefined : 'route');
      app.all(GRAPHQL_PATH, eventStreams, ...sse);
      if (exposure.playground) app.get(['/', GRAPHQL_PATH], playgroundHandler(GRAPHQL_PATH, config.PLAYGROUND_TOKEN));
      app.get('/', landingPageHandler({ graphqlPath: GRAPHQL_PATH, ssePath: SSE_PATH, playground: exposure.playground }));
    },
  });
  const ws = serveGraphQLOverWebSocket<Record<string, unknown> | undefined, ConnectionIdentity>({
    httpServer: host.httpServer,
    path: GRAPHQL_PATH,
    log,
    maxPayloadBytes: config.BODY_LIMIT_BYTES,
    keepAliveMs: config.WEBSOCKET_KEEP_ALIVE_MS,
    refuseUpgrade: (request) => edge.upgrade(request),
    validation: exposure,
    graphql: {
      schema: () => engine.schema,
      connectionInitWaitTimeout: config.CONNECTION_INIT_TIMEOUT_MS,
      // The token first (a socket with a bad one closes with 4401), then the client's socket cap.
      onConnect: async (ctx) => (await authenticate(ctx)) && edge.webSocket.admit(ctx),
      // The operation gets the error; the socket stays open (an error thrown by `context` would close it).
      onSubscribe: async (ctx, _id, payload) => {
        const identity = identityOrRefusal(ctx.connectionParams, forward);
        if (identity instanceof InterchangeError) return [identity];
        return (await edge.webSocket.refuse(ctx)) ?? admitOverWebSocket(generation.admission, engine.schema, payload, validate);
      },
      context: (ctx, _id, payload) => ({
        headers: identityFrom(ctx.connectionParams, forward),
        principal: connectionPrincipal(ctx.extra),
        extensions: payload.extensions ?? undefined,
        client: edge.webSocket.client(ctx),
      }),
      execute: (args) => operations.execute(args),
      subscribe: (args) => counted.subscribe(args),
    },
  });
  serving = true;
  probe.watch(initial.subgraphs, config.SUBGRAPH_PROBE_MS);
  if (config.SUPERGRAPH_URL || config.SUPERGRAPH_WATCH) reloader.watch();
  log.info(
    {
      playground: exposure.playground ? `http://${config.HOST}:${host.port}/` : undefined,
      subgraphs: initial.subgraphs,
      supergraph: { source: origin.name, hash: initial.hash },
    },
    'gateway ready',
  );
  return {
    ...host,
    // Subscriptions end first (complete sent, upstream released), then sockets close with 1001.
    stop: async () => {
      serving = false;
      await reloader.stop();
      probe.stop();
      await engine.close();
      // Each transport sends its subscriptions' complete a few promise hops after they end: let
      // every one of them run before the sockets close.
      await new Promise((resolve) => setImmediate(resolve));
      await ws.stop();
      await host.stop();
      await usage.stop();
    },
  };
}

/** What serves one supergraph: its authorization policy and its admission (cost directives). */
interface Generation {
  supergraph: LoadedSupergraph;
  authorization: AuthorizationPolicy;
  admission: Admission;
}

/** A supergraph's policy and admission; throws when the supergraph declares them wrongly. */
function generationParts(config: GatewayConfig, supergraph: LoadedSupergraph, trusted: TrustedDocuments | undefined) {
  return {
    authorization: readAuthorizationPolicy(supergraph.sdl),
    admission: admissionOn(config, supergraph.schema.apiSchema, supergraph.sdl, trusted),
  };
}

/** A refused Server-Sent Events request: 400 with the error, as graphql-sse answers a query it cannot parse. */
function badRequest(error: InterchangeError): SseResponse {
  return [
    JSON.stringify({ errors: [error.toJSON()] }),
    { status: 400, statusText: 'Bad Request', headers: { 'content-type': 'application/json; charset=utf-8' } },
  ];
}

function gatewayMetrics(engine: SubscriptionEngine): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  gauge('gateway_subscriptions_active', 'Client subscriptions open now.', () => engine.stats().subscribers);
  gauge('gateway_subscriptions_shared', 'Distinct subscriptions (one upstream subscription each) open now.', () => engine.stats().shared);
  gauge(
    'gateway_upstream_subscriptions_opened',
    'Upstream subscriptions opened since start (reopenings and private replays included).',
    () => engine.stats().upstreamOpened,
  );
  return registry;
}
