/**
 * Parse and validation errors with the codes Apollo Server gives them over HTTP
 * (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED), for the transports graphql-ws and graphql-sse
 * run themselves: their own errors carry no code, and graphql-ws closes the socket with 4500 on a
 * query it cannot parse. With `hideSuggestions` the "Did you mean ...?" hints go, as Apollo Server's
 * `hideSchemaDetailsFromClientErrors` does; without `introspection` schema queries are refused.
 */
import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import { ErrorCode, InterchangeError } from './errors.ts';

/** Apollo Server's codes for a document it cannot parse or validate. */
export const GRAPHQL_PARSE_FAILED = 'GRAPHQL_PARSE_FAILED';
export const GRAPHQL_VALIDATION_FAILED = 'GRAPHQL_VALIDATION_FAILED';

export interface ValidationPolicy {
  introspection: boolean;
  hideSuggestions: boolean;
}

const withCode = (error: GraphQLError, code: string, message = error.message) =>
  new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: { ...error.extensions, code },
  });

/** Apollo Server's own way of hiding suggestions (its DisableSuggestions plugin). */
export const withoutSuggestions = (message: string) => message.replace(/ ?Did you mean(.+?)\?$/, '');

/** The document, or the syntax error with GRAPHQL_PARSE_FAILED. */
export function codedParse(query: string): DocumentNode | GraphQLError {
  try {
    return parse(query);
  } catch (err) {
    return err instanceof GraphQLError
      ? withCode(err, GRAPHQL_PARSE_FAILED)
      : new GraphQLError('the query could not be parsed', { extensions: { code: GRAPHQL_PARSE_FAILED } });
  }
}

/** A `validate` for graphql-ws and graphql-sse whose errors carry GRAPHQL_VALIDATION_FAILED. */
export function codedValidate(policy: ValidationPolicy): (schema: GraphQLSchema, document: DocumentNode) => GraphQLError[] {
  const rules = policy.introspection ? specifiedRules : [...specifiedRules, NoSchemaIntrospectionCustomRule];
  return (schema, document) =>
    validate(schema, document, rules).map((error) =>
      withCode(error, GRAPHQL_VALIDATION_FAILED, policy.hideSuggestions ? withoutSuggestions(error.message) : error.message),
    );
}

/**
 * graphql-ws options whose `subscribe` messages are parsed and validated here, so a query that does
 * not parse, does not validate or names no single operation gets an `error` message with a code
 * and the socket stays open. A hook's own `onSubscribe` answer (errors or arguments) comes first.
 * An `error` message whose errors still have no code (graphql-ws wraps what a subscription's
 * iterator throws in a bare GraphQLError: a bug) says only INTERNAL_SERVER_ERROR.
 */
export function withCodedOperationErrors<P extends Record<string, unknown> | undefined, E>(
  options: ServerOptions<P, E>,
  policy: ValidationPolicy = { introspection: true, hideSuggestions: false },
): ServerOptions<P, E> {
  const check = options.validate ?? codedValidate(policy);
  return {
    ...options,
    onError: async (ctx, id, payload, errors) => {
      const formatted = (await options.onError?.(ctx, id, payload, errors)) ?? errors.map((e) => e.toJSON());
      return formatted.map((e) =>
        typeof e.extensions?.['code'] === 'string'
          ? e
          : { message: 'internal error', ...(e.path && { path: e.path }), extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } },
      );
    },
    onSubscribe: async (ctx, id, payload) => {
      const given = await options.onSubscribe?.(ctx, id, payload);
      if (given) return given;
      const document = codedParse(payload.query);
      if (document instanceof GraphQLError) return [document];
      const args = { operationName: payload.operationName, document, variableValues: payload.variables };
      const schema = typeof options.schema === 'function' ? await options.schema(ctx, id, payload, args) : options.schema;
      if (!schema) throw new Error('graphql-ws: no schema to validate against');
      const errors = check(schema, document);
      if (errors.length > 0) return errors;
      if (!getOperationAST(document, payload.operationName)) {
        const message = payload.operationName
          ? `no operation named "${payload.operationName}" in the document`
          : 'the document has several operations: name the one to run with operationName';
        return [new InterchangeError(ErrorCode.BAD_REQUEST, message)];
      }
      return { ...args, schema };
    },
  };
}
