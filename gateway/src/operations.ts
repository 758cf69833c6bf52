/**
 * How operations that arrive over WebSocket (graphql-ws) or Server-Sent Events (graphql-sse) run:
 * queries and mutations through the same Apollo Server pipeline as HTTP, subscriptions through the
 * subscription engine. Both transports validate against the API schema before calling these.
 */
import type { ApolloServer } from '@apollo/server';
import {
  GraphQLError,
  print,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import type { GatewayContext } from './identity.ts';
import type { SubscriptionEdge, SubscriptionEngine } from './subscriptions/engine.ts';

/** `schema`: the API schema the transport validated the document against, when it says. */
export type OperationArgs = Pick<ExecutionArgs, 'document' | 'variableValues' | 'operationName' | 'contextValue'> & {
  schema?: GraphQLSchema | undefined;
};

export interface OperationHandlers {
  execute(args: OperationArgs): Promise<ExecutionResult>;
  subscribe(args: OperationArgs): AsyncIterableIterator<ExecutionResult> | ExecutionResult;
}

/**
 * Apollo Server hands back errors already formatted (plain objects); graphql-ws serialises the
 * errors of a result with `toJSON`, and closes the socket with 4500 on one that has none. The
 * formatted error is what the client gets, exactly as over HTTP.
 */
export function sendable(formatted: GraphQLFormattedError): GraphQLError {
  const error = new GraphQLError(formatted.message, { path: formatted.path, extensions: formatted.extensions });
  error.toJSON = () => formatted;
  return error;
}

/**
 * `edge` gives the limits a client's subscription is held to (edge/edge.ts). `results` rewrites each
 * result of a subscription (production.ts's `clientResults`: the errors a client may see); queries
 * and mutations get Apollo Server's `formatError` instead.
 */
export function operationHandlers(
  engine: SubscriptionEngine,
  apollo: () => ApolloServer<GatewayContext>,
  edge?: (client: string) => SubscriptionEdge,
  results: (result: ExecutionResult) => ExecutionResult = (result) => result,
): OperationHandlers {
  return {
    execute: async (args) => {
      const response = await apollo().executeOperation(
        { query: print(args.document), variables: { ...args.variableValues }, operationName: args.operationName ?? undefined },
        { contextValue: args.contextValue as GatewayContext },
      );
      if (response.body.kind !== 'single') return { errors: [new GraphQLError('incremental delivery is not supported on this transport')] };
      const { data, errors, extensions } = response.body.singleResult;
      return { data: data as ExecutionResult['data'], ...(errors && { errors: errors.map(sendable) }), ...(extensions && { extensions }) };
    },
    subscribe: (args) => {
      const context = args.contextValue as GatewayContext;
      return mapResults(
        engine.subscribe({
          document: args.document,
          variables: { ...args.variableValues },
          operationName: args.operationName ?? undefined,
          identity: context.headers,
          principal: context.principal,
          extensions: context.extensions,
          edge: context.client === undefined ? undefined : edge?.(context.client),
        }),
        results,
      );
    },
  };
}

/**
 * Subscriptions on the supergraph served when they subscribe. A transport validates an operation,
 * then awaits (its context, the edge's checks) before it subscribes, and a reload may fall in
 * between: a subscription validated against an API schema no longer served is validated again
 * against the served one, so that it is validated, authorized and planned on one generation (it
 * gets the errors of the served one when it no longer applies). Subscriptions already open move to
 * a new supergraph with the reload itself (SubscriptionEngine). Queries and mutations need nothing
 * here: Apollo Server validates them again and runs them on the generation it validated them on.
 */
export function onServedSchema(
  handlers: OperationHandlers,
  schema: () => GraphQLSchema,
  validate: (schema: GraphQLSchema, document: DocumentNode) => readonly GraphQLError[],
): OperationHandlers {
  return {
    execute: (args) => handlers.execute(args),
    subscribe: (args) => {
      const served = schema();
      if (args.schema === undefined || args.schema === served) return handlers.subscribe(args);
      const errors = validate(served, args.document);
      return errors.length > 0 ? { errors } : handlers.subscribe({ ...args, schema: served });
    },
  };
}

function mapResults(
  source: AsyncIterableIterator<ExecutionResult> | ExecutionResult,
  map: (result: ExecutionResult) => ExecutionResult,
): AsyncIterableIterator<ExecutionResult> | ExecutionResult {
  if (!(Symbol.asyncIterator in source)) return map(source);
  // By hand, not an async generator: a generator's `return` waits for a pending `next`, which for
  // a quiet subscription would hold its upstream open until the next event.
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    next: async () => {
      const step = await source.next();
      return step.done ? step : { done: false, value: map(step.value) };
    },
    return: async (value?: unknown) => (await source.return?.(value)) ?? { done: true, value: undefined },
    throw: async (err?: unknown) => {
      if (source.throw) return source.throw(err);
      throw err;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
