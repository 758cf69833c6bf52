/**
 * The production switch (PRODUCTION): what a gateway on the internet does not tell its clients.
 * No introspection, no "Did you mean" suggestions, no playground; and an error whose code is not
 * in the documented registry (lib/errors.ts, or Apollo Server's own codes) reaches the client as
 * INTERNAL_SERVER_ERROR with a generic message, because a subgraph's undocumented error may say
 * anything (a SQL statement, a host name, a path); the original goes to the log.
 */
import { ApolloServerErrorCode } from '@apollo/server/errors';
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../../lib/errors.ts';
import type { ValidationPolicy } from '../../lib/graphql-validation.ts';
import type { Logger } from '../../lib/logger.ts';

export interface ProductionSettings {
  PRODUCTION: boolean;
  INTROSPECTION: boolean;
  PLAYGROUND: boolean;
}

export interface EdgePolicy extends ValidationPolicy {
  playground: boolean;
  /** Mask errors whose code is not documented. */
  maskErrors: boolean;
}

/** Without PRODUCTION, INTROSPECTION and PLAYGROUND decide as they always did. */
export function edgePolicy(config: ProductionSettings): EdgePolicy {
  return {
    introspection: config.INTROSPECTION && !config.PRODUCTION,
    playground: config.PLAYGROUND && !config.PRODUCTION,
    hideSuggestions: config.PRODUCTION,
    maskErrors: config.PRODUCTION,
  };
}

const documented = new Set<string>([...Object.values(ErrorCode), ...Object.values(ApolloServerErrorCode)]);
documented.delete(ErrorCode.INTERNAL_SERVER_ERROR);

export const GENERIC_MESSAGE = 'internal error';

/** Whether the client may see this error's message as it is. */
const shown = (code: unknown) => typeof code === 'string' && documented.has(code);

/** Apollo Server's `formatError` in production: undocumented errors masked, and logged. */
export function maskUndocumented(log: Logger): (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError {
  return (formatted, error) => {
    if (shown(formatted.extensions?.['code'])) return formatted;
    log.error({ err: error, code: formatted.extensions?.['code'], path: formatted.path }, 'masked an undocumented error');
    return {
      message: GENERIC_MESSAGE,
      ...(formatted.path && { path: formatted.path }),
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}

/** The same masking for the results of a subscription (they do not pass through Apollo Server). */
export function maskResult(log: Logger): (result: ExecutionResult) => ExecutionResult {
  const format = maskUndocumented(log);
  return (result) => {
    if (!result.errors?.some((e) => !shown(e.extensions?.['code']))) return result;
    const errors = result.errors.map((e) => {
      if (shown(e.extensions?.['code'])) return e;
      const masked = format(e.toJSON(), e);
      return new GraphQLError(masked.message, { path: masked.path, extensions: masked.extensions });
    });
    return { ...result, errors };
  };
}
