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
  if (!event.data) return { errors: upstreamErrors.length ? upstreamErrors : [withoutData(serviceName)] };

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

/** The owning subgraph sent an event with neither data nor errors: its answer is unusable. */
function withoutData(serviceName: string): GraphQLError {
  return new GraphQLError(`subgraph "${serviceName}" sent a subscription event without data`, {
    extensions: { code: ErrorCode.SUBGRAPH_UNAVAILABLE, serviceName },
  });
}

/**
 * Every error a client sees has a code: the executor can hand back plain `Error`s (graphql-ws
 * needs GraphQLErrors) and GraphQLErrors without a code (both get INTERNAL_SERVER_ERROR); errors
 * of the primary fetch would carry the local source's name, and the event's own errors (plain, as
 * they came over the wire) none: name the owning subgraph instead.
 */
function asGraphQLError(error: unknown, owningSubgraph: string): GraphQLError {
  const {
    message,
    path,
    extensions = {},
  } = error as { message?: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> };
  const named = extensions['serviceName'];
  if (error instanceof GraphQLError && named !== EVENT_SOURCE && extensions['code'] !== undefined) return error;
  const serviceName = named === EVENT_SOURCE ? owningSubgraph : error instanceof GraphQLError ? named : (named ?? owningSubgraph);
  return new GraphQLError(message ?? String(error), {
    path,
    extensions: {
      ...extensions,
      code: extensions['code'] ?? ErrorCode.INTERNAL_SERVER_ERROR,
      ...(serviceName !== undefined && { serviceName }),
    },
  });
}
