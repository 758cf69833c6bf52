/**
 * The usage record on the gateway's request paths and ops listener. Every operation that runs is
 * counted once: what Apollo Server executes (HTTP, and queries and mutations over graphql-ws and
 * Server-Sent Events, which run through its `executeOperation`) by a plugin, and subscriptions
 * (the subscription engine) when they start. What an operation uses is worked out once per
 * document (usage/extract.ts); a request then costs a lookup and a count.
 *
 * The ops listener serves what `interchange check` compares against: `GET /supergraph` (the
 * supergraph's text as the gateway loaded it, its SHA-256 as the ETag) and `GET /usage` (the record).
 */
import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import type { Express } from 'express';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import type { Logger } from '../../../lib/logger.ts';
import type { GatewayConfig } from '../config.ts';
import type { LoadedSupergraph } from '../gateway.ts';
import type { GatewayContext } from '../identity.ts';
import type { OperationHandlers } from '../operations.ts';
import { principalOf } from '../authorization/enforce.ts';
import { UsageExtractor } from './extract.ts';
import { ANONYMOUS_CLIENT, UsageRecord } from './record.ts';

export interface GatewayUsage {
  /** Counts what Apollo Server executes. */
  plugin: ApolloServerPlugin<GatewayContext>;
  /** The transports' handlers, with every subscription that starts counted (`schema`: the API schema it was validated against). */
  operations(handlers: OperationHandlers, schema: () => GraphQLSchema): OperationHandlers;
  /** `GET /supergraph` and `GET /usage`, for the ops listener. */
  routes(app: Express, supergraph: () => LoadedSupergraph): void;
  /** Writes the record one last time. */
  stop(): Promise<void>;
}

/** Loads the record a previous run left (USAGE_FILE) and writes it every USAGE_FLUSH_MS while it changes. */
export async function startUsage(config: GatewayConfig, log: Logger): Promise<GatewayUsage> {
  const record = new UsageRecord({
    file: config.USAGE_FILE,
    maxOperations: config.USAGE_MAX_OPERATIONS,
    clientShare: config.USAGE_CLIENT_SHARE,
    flushMs: config.USAGE_FLUSH_MS,
    log,
  });
  await record.load();
  record.start();
  const extractor = new UsageExtractor();
  const count = (schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, context: unknown) => {
    const usage = extractor.usage(schema, document, operationName);
    if (usage) record.record(usage, clientOf(context));
  };
  // Called once the operation passed every check before execution (operationGuard's included).
  const listener: GraphQLRequestListener<GatewayContext> = {
    executionDidStart: async ({ schema, document, request, contextValue }) => count(schema, document, request.operationName, contextValue),
  };
  return {
    plugin: { requestDidStart: async () => listener },
    operations: (handlers, schema) => ({
      execute: (args) => handlers.execute(args),
      subscribe: (args) => {
        const result = handlers.subscribe(args);
        // A refused subscription is a single result, not a stream: it was not served.
        if (Symbol.asyncIterator in result) count(schema(), args.document, args.operationName, args.contextValue);
        return result;
      },
    }),
    routes: (app, supergraph) => {
      app.get('/supergraph', (req, res) => {
        const { text, hash } = supergraph();
        const etag = `"${hash}"`;
        res.set('etag', etag);
        // By hand: express would answer 200 to fetch's If-None-Match, which comes with Cache-Control: no-cache.
        const known = (req.headers['if-none-match'] ?? '').split(',').map((tag) => tag.trim().replace(/^W\//, ''));
        if (known.includes(etag)) return void res.status(304).end();
        res.type('text/plain; charset=utf-8').send(text);
      });
      app.get('/usage', (_req, res) => void res.json(record.snapshot()));
    },
    stop: () => record.stop(),
  };
}

/** Who the usage record counts an operation for: its token's subject, or the anonymous client. */
function clientOf(context: unknown): string {
  const { subject } = principalOf(context);
  return subject === null ? ANONYMOUS_CLIENT : `token:${subject}`;
}
