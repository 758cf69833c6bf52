/**
 * Resolves one subscription event across the subgraphs with the gateway's executor
 * (executor/execute-plan.ts): the event the owning subgraph sent is the answer of the plan's primary
 * fetch, the plan's `rest` (its entity fetches) runs after it, and the subscription's compiled
 * shaper writes the result, so aliases, fragments, nulls, entity batching and error paths come out
 * exactly as for a query.
 */
import type { FetchNode } from '@apollo/query-planner';
import { GraphQLError, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { ErrorCode } from '../../../lib/errors.ts';
import { executePlan, type SendFetch } from '../executor/execute-plan.ts';
import type { Caller } from '../executor/transport.ts';
import type { SubscriptionPlan } from './plan.ts';

export interface ResolveDeps {
  /** Sends the plan's entity fetches for the subscription's caller. */
  send: SendFetch;
  supergraphSchema: GraphQLSchema;
}

export async function resolveEvent(
  plan: SubscriptionPlan,
  event: ExecutionResult,
  request: { variables: Record<string, unknown>; caller: Caller },
  deps: ResolveDeps,
): Promise<ExecutionResult> {
  const serviceName = plan.primary.serviceName;
  const upstreamErrors = (event.errors ?? []).map((e) => asGraphQLError(e, serviceName));
  if (!event.data) return { errors: upstreamErrors.length ? upstreamErrors : [withoutData(serviceName)] };

  // The executor writes into the primary fetch's answer: each resolution gets its own copy. The
  // event's extensions (its position) stay behind: clients see positions only as selected fields.
  const primary: FetchNode = plan.primary;
  const send: SendFetch = (fetch, variables) =>
    fetch === primary ? Promise.resolve({ data: structuredClone(event.data) as Record<string, unknown> }) : deps.send(fetch, variables);
  const errors: GraphQLError[] = [];
  const data: Record<string, unknown> = {};
  await executePlan(
    { supergraphSchema: deps.supergraphSchema, variables: request.variables, defaults: plan.defaults, send, errors },
    plan.rest ? { kind: 'Sequence', nodes: [primary, plan.rest] } : primary,
    data,
  );
  const shaped = plan.shape(data, request.variables);
  const all = [...upstreamErrors, ...errors.map((e) => asGraphQLError(e, serviceName))];
  return all.length ? { data: shaped.data ?? null, errors: all } : { data: shaped.data ?? null };
}

/** The owning subgraph sent an event with neither data nor errors: its answer is unusable. */
function withoutData(serviceName: string): GraphQLError {
  return new GraphQLError(`subgraph "${serviceName}" sent a subscription event without data`, {
    extensions: { code: ErrorCode.SUBGRAPH_UNAVAILABLE, serviceName },
  });
}

/**
 * Every error a client sees has a code: the event's own errors (plain, as they came over the wire)
 * name the owning subgraph; errors without a code get INTERNAL_SERVER_ERROR.
 */
function asGraphQLError(error: unknown, owningSubgraph: string): GraphQLError {
  const {
    message,
    path,
    extensions = {},
  } = error as { message?: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> };
  if (error instanceof GraphQLError && extensions['code'] !== undefined) return error;
  // The gateway's own errors name a subgraph where one is to blame; the event's errors are the owning subgraph's.
  const serviceName = error instanceof GraphQLError ? extensions['serviceName'] : (extensions['serviceName'] ?? owningSubgraph);
  return new GraphQLError(message ?? String(error), {
    path,
    extensions: {
      ...extensions,
      code: extensions['code'] ?? ErrorCode.INTERNAL_SERVER_ERROR,
      ...(serviceName !== undefined && { serviceName }),
    },
  });
}
