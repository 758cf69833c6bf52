/**
 * For tests of authorization rules: principals (a customer's token, a staff token, nobody), and
 * running an operation against a subgraph's schema with a context that carries one.
 */
import { graphql, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { ANONYMOUS, type Principal } from '../../lib/auth/principal.ts';

export { ANONYMOUS };

/** A token that acts for `customerId`, with these scopes. */
export const customerPrincipal = (customerId: string, scopes: readonly string[] = []): Principal => ({
  subject: `user-${customerId}`,
  customerId,
  scopes,
});

/** A token of someone who is not a customer (support staff, a back office), with these scopes. */
export const staffPrincipal = (scopes: readonly string[]): Principal => ({ subject: 'staff-1', customerId: null, scopes });

/** Runs an operation with this context; `data` as plain JSON (graphql builds it of null-prototype objects). */
export async function runWith(
  schema: GraphQLSchema,
  contextValue: unknown,
  source: string,
  variableValues?: Record<string, unknown>,
): Promise<ExecutionResult> {
  const result = await graphql({ schema, source, variableValues, contextValue });
  return { ...result, data: JSON.parse(JSON.stringify(result.data ?? null)) as ExecutionResult['data'] };
}

/** Each error's code and path (joined with dots), in order. */
export const errorsAt = (result: Pick<ExecutionResult, 'errors'>): { code: unknown; path: string | undefined }[] =>
  (result.errors ?? []).map((e) => ({ code: e.extensions['code'], path: e.path?.join('.') }));
