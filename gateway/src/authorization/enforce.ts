/**
 * Where the gateway enforces the supergraph's `@authenticated` and `@requiresScopes`: around the
 * federation engine's executor (every query and mutation, whichever transport brought it: HTTP,
 * and WebSocket and SSE through Apollo Server's `executeOperation`) and around the subscription
 * engine. Each plans and runs the filtered document, so a subgraph is never asked for a field the
 * caller may not see, then patches the result; when every root field was removed nothing runs.
 */
import { createHash } from 'node:crypto';
import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { Kind, print, type ExecutionResult, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { ANONYMOUS, type Principal } from '../../../lib/auth/principal.ts';
import type { OperationHandlers } from '../operations.ts';
import { filterOperation } from './filter.ts';
import { patchResult } from './patch.ts';
import type { AuthorizationPolicy } from './policy.ts';

/** What Apollo Server uses of a gateway. */
export type Gateway = GatewayInterface;
type Executor = GatewayExecutor;

/**
 * The caller, as the authentication middleware put it in the context; anonymous when there is
 * none, so a missing principal can only ever mean less access.
 */
export function principalOf(context: unknown): Principal {
  const principal = (context as { principal?: unknown } | undefined)?.principal;
  return typeof principal === 'object' && principal !== null && Array.isArray((principal as Principal).scopes)
    ? (principal as Principal)
    : ANONYMOUS;
}

/**
 * The gateway with an executor that runs only what the caller may see. `policy` is the policy of the
 * supergraph being served; each request is held to the policy of the supergraph it was validated
 * against (a request in flight across a reload keeps its own).
 */
export function authorizingGateway(gateway: Gateway, policy: () => AuthorizationPolicy): Gateway {
  const policies = new WeakMap<GraphQLSchema, AuthorizationPolicy>();
  // Called as each supergraph is swapped in, while `policy()` already gives its policy.
  gateway.onSchemaLoadOrUpdate(({ apiSchema }) => policies.set(apiSchema, policy()));
  return {
    load: async (options) => {
      const loaded = await gateway.load(options);
      return { ...loaded, executor: loaded.executor && authorizingExecutor(loaded.executor, (schema) => policies.get(schema) ?? policy()) };
    },
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    stop: () => gateway.stop(),
  };
}

function authorizingExecutor(executor: Executor, policyOf: (schema: GraphQLSchema) => AuthorizationPolicy): Executor {
  return async (requestContext) => {
    const policy = policyOf(requestContext.schema);
    if (policy.empty) return executor(requestContext);
    const { document, removals } = filterOperation(
      requestContext.schema,
      policy,
      requestContext.document,
      requestContext.operationName,
      principalOf(requestContext.context),
      requestContext.request.variables,
    );
    if (!removals) return executor(requestContext);
    if (!document) return patchResult({ data: {} }, removals);
    const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
    // The engine caches query plans by `queryHash`: the filtered document needs its own key.
    const queryHash = createHash('sha256').update(print(document)).digest('hex');
    const result = await executor({ ...requestContext, document, operation, queryHash });
    // The executor's data may be shared with other callers of the same query (DEDUPLICATE_REQUESTS): patch a copy.
    return patchResult(result.data ? { ...result, data: structuredClone(result.data) } : result, removals);
  };
}

/** The transports' operation handlers, with subscriptions filtered before they subscribe and every event patched. */
export function authorizingOperations(
  handlers: OperationHandlers,
  schema: () => Parameters<typeof filterOperation>[0],
  policy: () => AuthorizationPolicy,
): OperationHandlers {
  return {
    execute: (args) => handlers.execute(args),
    subscribe: (args) => {
      if (policy().empty) return handlers.subscribe(args);
      const { document, removals } = filterOperation(
        schema(),
        policy(),
        args.document,
        args.operationName,
        principalOf(args.contextValue),
        args.variableValues ?? {},
      );
      if (!removals) return handlers.subscribe(args);
      if (!document) return patchResult({ data: {} }, removals);
      const events = handlers.subscribe({ ...args, document });
      // An event's data may be shared with other subscribers of the same upstream: patch a copy.
      const patch = (result: ExecutionResult) =>
        result.data ? patchResult({ ...result, data: structuredClone(result.data) }, removals) : result;
      return Symbol.asyncIterator in events ? mapEvents(events, patch) : patch(events);
    },
  };
}

function mapEvents(
  source: AsyncIterableIterator<ExecutionResult>,
  map: (result: ExecutionResult) => ExecutionResult,
): AsyncIterableIterator<ExecutionResult> {
  const finished = { done: true, value: undefined } as const;
  return {
    next: async () => {
      const step = await source.next();
      return step.done ? step : { done: false, value: map(step.value) };
    },
    return: async () => (source.return ? source.return() : finished),
    throw: async (error?: unknown) => (source.throw ? source.throw(error) : finished),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
