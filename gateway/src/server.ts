/**
 * The gateway process's server: the federation engine behind Apollo Server on the shared GraphQL
 * HTTP host, with the offline playground, health and readiness.
 */
import { ApolloServerPluginLandingPageDisabled, ApolloServerPluginSchemaReportingDisabled, ApolloServerPluginUsageReportingDisabled } from '@apollo/server/plugin/disabled';
import { GRAPHQL_PATH, startGraphQLHost, type GraphQLHost } from '../../lib/graphql-http.ts';
import type { Logger } from '../../lib/logger.ts';
import { disableVendorTelemetry, type GatewayConfig } from './config.ts';
import { createGateway, readSupergraph } from './gateway.ts';
import { playgroundHandler } from './playground.ts';

export async function startGateway(config: GatewayConfig, log: Logger): Promise<GraphQLHost> {
  disableVendorTelemetry();
  const supergraph = await readSupergraph(config.SUPERGRAPH, config.SUBGRAPH_URLS);
  const gateway = createGateway(supergraph, {
    supergraphPath: config.SUPERGRAPH,
    subgraphUrls: config.SUBGRAPH_URLS,
    subgraphTimeoutMs: config.SUBGRAPH_TIMEOUT_MS,
    log,
  });
  let serving = false;
  const host = await startGraphQLHost({
    name: 'gateway',
    log,
    host: config.HOST,
    port: config.PORT,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    apollo: {
      gateway,
      introspection: config.INTROSPECTION,
      csrfPrevention: config.CSRF_PREVENTION,
      includeStacktraceInErrorResponses: false,
      plugins: [
        ApolloServerPluginUsageReportingDisabled(),
        ApolloServerPluginSchemaReportingDisabled(),
        ApolloServerPluginLandingPageDisabled(),
      ],
    },
    context: async () => ({}),
    readiness: () => ({ ready: serving, supergraph: config.SUPERGRAPH, subgraphs: supergraph.subgraphs }),
    routes: (app) => {
      if (config.PLAYGROUND) app.get(['/', GRAPHQL_PATH], playgroundHandler(GRAPHQL_PATH));
    },
  });
  serving = true;
  log.info({ playground: config.PLAYGROUND ? `http://${config.HOST}:${host.port}/` : undefined, subgraphs: supergraph.subgraphs }, 'gateway ready');
  return {
    ...host,
    stop: async () => {
      serving = false;
      await host.stop();
    },
  };
}
