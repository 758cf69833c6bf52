/**
 * Resolves one subscription event across the subgraphs: the primary fetch's answer (the event the
 * owning subgraph sent) is served by a local data source, and the plan's `rest` runs after it with
 * federation's own executor, so aliases, fragments, nulls, entity batching and error paths come out
 * exactly as for a query.
 */
import { executeQueryPlan, type GraphQLDataSource, type ServiceMap } from '@apollo/gateway';
import type { Schema } from '@apollo/federation-internals';
import type { QueryPlan } from '@apollo/query-planner';
import { GraphQLError, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { ErrorCode } from '../../../lib/errors.ts';
import type { Logger } from '../../../lib/logger.ts';
import type { SubscriptionPlan } from './plan.ts';

/** The name the event's local data source goes by inside the per-event plan. */
const EVENT_SOURCE = '__subscription_event__';

export interface ResolveDeps {
  serviceMap: ServiceMap;
  supergraphSchema: GraphQLSchema;
  apiSchema: Schema;
  log: Logger;
}

export async function resolveEvent(
  plan: SubscriptionPlan,
  event: ExecutionResult,
  request: { query: string; variables: Record<string, unknown>; operationName?: string | undefined; context: Record<string, unknown> },
  deps: ResolveDeps,
): Promise<ExecutionResult> {
  const serviceName = plan.primary.serviceName;
  const upstreamErrors = (event.errors ?? []).map((e) => asGraphQLError(e, serviceName));
  if (!event.data) return { errors: upstreamErrors.length ? upstreamErrors : [new GraphQLError('subscription event without data')] };

  // The executor writes into what the data source returns: each event gets its own copy. The
  // event's extensions (its position) stay behind: clients see positions only as selected fields.
  const local: GraphQLDataSource = { process: async () => ({ data: structuredClone(event.data) as Record<string, unknown> }) };
  const primary = { ...plan.primary, serviceName: EVENT_SOURCE };
  const queryPlan: QueryPlan = { kind: 'QueryPlan', node: plan.rest ? { kind: 'Sequence', nodes: [primary, plan.rest] } : primary };
  const requestContext = {
    request: { query: request.query, variables: request.variables, operationName: request.operationName },
    context: request.context,
    metrics: {},
    logger: deps.log,
    overallCachePolicy: undefined,
  };
  const executed = await executeQueryPlan(
    queryPlan,
    { ...deps.serviceMap, [EVENT_SOURCE]: local },
    requestContext as unknown as Parameters<typeof executeQueryPlan>[2],
    plan.operationContext,
    deps.supergraphSchema,
    deps.apiSchema,
  );
  const errors = [...upstreamErrors, ...(executed.errors ?? []).map((e) => asGraphQLError(e, serviceName))];
  const data = executed.data ?? null;
  return errors.length ? { data, errors } : { data };
}

/**
 * The executor can hand back plain `Error`s (graphql-ws needs GraphQLErrors), and errors of the
 * primary fetch would carry the local source's name: name the owning subgraph instead.
 */
function asGraphQLError(error: unknown, owningSubgraph: string): GraphQLError {
  if (error instanceof GraphQLError) {
    if (error.extensions['serviceName'] !== EVENT_SOURCE) return error;
    return new GraphQLError(error.message, { path: error.path, extensions: { ...error.extensions, serviceName: owningSubgraph } });
  }
  const { message, path, extensions } = error as { message?: string; path?: (string | number)[]; extensions?: Record<string, unknown> };
  return new GraphQLError(message ?? String(error), {
    path,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, ...extensions, serviceName: extensions?.['serviceName'] ?? owningSubgraph },
  });
}
