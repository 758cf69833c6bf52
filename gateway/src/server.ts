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
import { InterchangeError, withHttpStatus } from '../../lib/errors.ts';
import { GRAPHQL_PATH, bodyErrors, startGraphQLHost, type GraphQLHost } from '../../lib/graphql-http.ts';
import { createSseHandler } from '../../lib/graphql-sse.ts';
import { codedValidate } from '../../lib/graphql-validation.ts';
import { serveGraphQLOverWebSocket } from '../../lib/graphql-ws.ts';
import type { Logger } from '../../lib/logger.ts';
import { disableVendorTelemetry, type GatewayConfig } from './config.ts';
import { createGateway, createSubgraphSources, readSupergraph } from './gateway.ts';
import { identityFrom, identityOrRefusal, type GatewayContext } from './identity.ts';
import { landingPageHandler } from './landing.ts';
import { operationGuard } from './operation-guard.ts';
import { operationHandlers } from './operations.ts';
import { playgroundHandler } from './playground.ts';
import { edgePolicy, maskResult, maskUndocumented } from './production.ts';
import { SubscriptionEngine } from './subscriptions/engine.ts';

export const SSE_PATH = `${GRAPHQL_PATH}/stream`;

export async function startGateway(config: GatewayConfig, log: Logger): Promise<GraphQLHost<GatewayContext>> {
  disableVendorTelemetry();
  const supergraph = await readSupergraph(config.SUPERGRAPH, config.SUBGRAPH_URLS);
  const sources = createSubgraphSources(supergraph, { subgraphTimeoutMs: config.SUBGRAPH_TIMEOUT_MS, log });
  const gateway = createGateway(supergraph, sources, log);
  const engine = new SubscriptionEngine({
    supergraphSdl: supergraph.sdl,
    urls: new Map(supergraph.subgraphs.map((s) => [s.name, s.url])),
    serviceMap: Object.fromEntries(sources),
    log,
    subscriberBufferEvents: config.SUBSCRIPTION_BUFFER_EVENTS,
    upstreamRetryAttempts: config.UPSTREAM_SUBSCRIPTION_RETRIES,
    upstreamRecoveryMs: config.UPSTREAM_RECOVERY_MS,
    lagThresholdEvents: config.STREAM_LAG_THRESHOLD_EVENTS,
    upstreamConnectTimeoutMs: config.UPSTREAM_CONNECT_TIMEOUT_MS,
    upstreamBacklogEvents: config.UPSTREAM_BACKLOG_EVENTS,
  });
  const registry = gatewayMetrics(engine);
  // Operations over graphql-ws and SSE run through Apollo Server, which the host creates below;
  // they are only ever called once it is listening.
  const policy = edgePolicy(config);
  const operations = operationHandlers(engine, () => host.apollo, policy.maskErrors ? maskResult(log) : undefined);
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
      introspection: policy.introspection,
      hideSchemaDetailsFromClientErrors: policy.hideSuggestions,
      ...(policy.maskErrors && { formatError: maskUndocumented(log) }),
      csrfPrevention: config.CSRF_PREVENTION,
      includeStacktraceInErrorResponses: false,
      plugins: [
        ApolloServerPluginUsageReportingDisabled(),
        ApolloServerPluginSchemaReportingDisabled(),
        ApolloServerPluginLandingPageDisabled(),
        operationGuard(SSE_PATH),
      ],
    },
    // Apollo Server answers an error thrown here as the response, with its HTTP status.
    context: async ({ req }) => {
      const identity = identityOrRefusal(req.headers, forward);
      if (identity instanceof InterchangeError) throw withHttpStatus(identity, 400);
      return { headers: identity };
    },
    readiness: () => ({ ready: serving, supergraph: config.SUPERGRAPH, subgraphs: supergraph.subgraphs, subscriptions: engine.stats() }),
    registry,
    routes: (app) => {
      app.use(
        SSE_PATH,
        express.json({ limit: config.BODY_LIMIT_BYTES }),
        bodyErrors,
        createSseHandler<GatewayContext>({
          schema: engine.schema,
          validate: codedValidate(policy),
          bodyLimitBytes: config.BODY_LIMIT_BYTES,
          onSubscribe: (req) => {
            const identity = identityOrRefusal(req.raw.headers, forward);
            return identity instanceof InterchangeError ? badRequest(identity) : undefined;
          },
          context: (req, params) => ({ headers: identityFrom(req.raw.headers, forward), extensions: params.extensions }),
          execute: (args) => operations.execute(args),
          subscribe: (args) => operations.subscribe(args),
        }),
      );
      if (policy.playground) app.get(['/', GRAPHQL_PATH], playgroundHandler(GRAPHQL_PATH));
      app.get('/', landingPageHandler({ graphqlPath: GRAPHQL_PATH, ssePath: SSE_PATH, playground: policy.playground }));
    },
  });
  const ws = serveGraphQLOverWebSocket<Record<string, unknown> | undefined, Record<PropertyKey, never>>({
    httpServer: host.httpServer,
    path: GRAPHQL_PATH,
    log,
    maxPayloadBytes: config.BODY_LIMIT_BYTES,
    keepAliveMs: config.WEBSOCKET_KEEP_ALIVE_MS,
    validation: policy,
    graphql: {
      schema: engine.schema,
      connectionInitWaitTimeout: config.CONNECTION_INIT_TIMEOUT_MS,
      // The operation gets the error; the socket stays open (an error thrown by `context` would close it).
      onSubscribe: (ctx) => {
        const identity = identityOrRefusal(ctx.connectionParams, forward);
        return identity instanceof InterchangeError ? [identity] : undefined;
      },
      context: (ctx, _id, payload) => ({
        headers: identityFrom(ctx.connectionParams, forward),
        extensions: payload.extensions ?? undefined,
      }),
      execute: (args) => operations.execute(args),
      subscribe: (args) => operations.subscribe(args),
    },
  });
  serving = true;
  log.info(
    { playground: policy.playground ? `http://${config.HOST}:${host.port}/` : undefined, subgraphs: supergraph.subgraphs },
    'gateway ready',
  );
  return {
    ...host,
    // Subscriptions end first (complete sent, upstream released), then sockets close with 1001.
    stop: async () => {
      serving = false;
      await engine.close();
      await ws.stop();
      await host.stop();
    },
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
