/**
 * A subscription's variables are coerced against the API schema at the gateway, as GraphQL does for
 * queries and mutations, so a bad value (an unknown enum value, a missing required variable) is the
 * client's BAD_USER_INPUT before any upstream subscription, not a subgraph's error after one.
 */
import { getOperationAST, getVariableValues, type DocumentNode, type GraphQLSchema } from 'graphql';
import { ErrorCode, InterchangeError } from '../../../lib/errors.ts';

/** The errors of the request's variables, or none. */
export function variableErrors(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown>,
): InterchangeError[] {
  const operation = getOperationAST(document, operationName);
  if (!operation) return [];
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 10 });
  return (coerced.errors ?? []).map((e) => new InterchangeError(ErrorCode.BAD_USER_INPUT, e.message));
}
