/**
 * What the gateway tells its clients about errors, and the production switch (PRODUCTION): what a
 * gateway on the internet does not tell them.
 *
 * In every mode, over HTTP, graphql-ws and SSE alike, an error loses its `stacktrace` and
 * `exception` extensions (which a subgraph may send), and a message that looks like a stack frame or
 * a file path (a subgraph's, whatever its code) is withheld, its code kept. With PRODUCTION there is
 * also no introspection, no playground, and each error a client gets:
 * - loses its "Did you mean ...?" suggestions (the gateway's validation and variable errors, a
 *   subgraph's messages);
 * - is INTERNAL_SERVER_ERROR with a generic message unless its code is one of PRODUCTION_CODES,
 *   because a subgraph's undocumented error may say anything (a SQL statement, a host name);
 * - keeps only the extensions of KEPT_EXTENSIONS (outside production, others pass).
 * The original of anything masked or withheld goes to the log.
 */
import { ApolloServerErrorCode } from '@apollo/server/errors';
import type { ExecutionResult, GraphQLError, GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../../lib/errors.ts';
import { withoutSuggestions, type ValidationPolicy } from '../../lib/graphql-validation.ts';
import type { Logger } from '../../lib/logger.ts';
import { sendable } from './operations.ts';

export interface ProductionSettings {
  PRODUCTION: boolean;
  INTROSPECTION: boolean;
  PLAYGROUND: boolean;
}

export interface EdgePolicy extends ValidationPolicy {
  playground: boolean;
  /** Mask errors whose code is not one of PRODUCTION_CODES; keep only KEPT_EXTENSIONS. */
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

/**
 * The codes whose messages a client sees in production: the registry's (lib/errors.ts) and Apollo
 * Server's own, all but INTERNAL_SERVER_ERROR. The README's table of errors lists each of them.
 */
export const PRODUCTION_CODES: readonly string[] = [
  ...new Set<string>([...Object.values(ErrorCode), ...Object.values(ApolloServerErrorCode)]),
].filter((code) => code !== ErrorCode.INTERNAL_SERVER_ERROR);

/** The extensions an error keeps in production, each documented with the codes that carry it. */
export const KEPT_EXTENSIONS: readonly string[] = [
  'code',
  // Which subgraph the error is from (every subgraph error).
  'serviceName',
  // Apollo Server's name for the rule a document broke (GRAPHQL_VALIDATION_FAILED: INTROSPECTION_DISABLED).
  'validationErrorCode',
  // The argument (BAD_USER_INPUT, INVALID_CURSOR, CURSOR_EXPIRED) or forwarded header (BAD_REQUEST) at fault.
  'argument',
  'header',
  // OPERATION_LIMIT_EXCEEDED, RATE_LIMITED, CAPACITY_EXCEEDED: which limit, and its setting.
  'limit',
  'max',
  // RATE_LIMITED; SUBSCRIBER_TOO_SLOW and RATE_LIMITED for a subscription: where to resume.
  'retryAfterMs',
  'lastDeliveredCursor',
  // SUBGRAPH_UNAVAILABLE of a subscription: the close code the subgraph ended it with.
  'closeCode',
  // The orders subgraph: the order concerned, its status (INVALID_STATE), the product short of stock.
  'orderId',
  'status',
  'productId',
  'stock',
];

/** Extensions no client ever gets, at any depth, in any mode: where a subgraph's code failed. */
const NEVER_SENT = new Set(['stacktrace', 'exception', 'stack']);
/** Extensions passed as they are: a subgraph's position, which the client needs to resume, may be any string. */
const VERBATIM = new Set(['lastDeliveredCursor']);
/** How deep a subgraph's extension values are kept: deeper ones are dropped, not walked. */
const MAX_EXTENSION_DEPTH = 8;
/** How many values of one error's extensions are kept at most, all levels together. */
const MAX_EXTENSION_NODES = 1_000;

export const GENERIC_MESSAGE = 'internal error';
export const WITHHELD_MESSAGE = 'the details of this error are withheld (they are in the server log)';

const production = new Set(PRODUCTION_CODES);
const kept = new Set(KEPT_EXTENSIONS);

/** Where a path may start: the start of a line, a space, a quote, a bracket. */
const BEFORE_PATH = String.raw`(?:^|[\s"'\x60(=,;[])`;

/**
 * A stack frame (`at fn (`, `at new C (`, `    at file:1:2`), a source position (`x.ts:3`), an
 * absolute path under a usual root (`/srv/…`, `/var/…`) or three levels deep (`/a/b/c`), a Windows
 * path (`C:\`), or a file URL. Not an API path such as `/graphql/stream`.
 */
const STACK_OR_PATH = new RegExp(
  [
    String.raw`\bat (?:new |async )?\S+ \(`,
    String.raw`^\s+at \S+:\d+`,
    String.raw`\.(?:[cm]?[jt]sx?|py|rb|go|java|kt|rs|php|cs):\d+`,
    String.raw`${BEFORE_PATH}\/(?:app|bin|boot|data|dev|etc|home|lib|lib64|mnt|nix|opt|private|proc|root|run|sbin|srv|sys|tmp|usr|var|work|Users|Volumes)\/`,
    String.raw`${BEFORE_PATH}\/(?:[\w.@~-]+\/){2,}`,
    String.raw`\b[A-Za-z]:\\`,
    String.raw`\bfile:\/\/`,
  ].join('|'),
  'm',
);

/** Whether a message looks like it carries a stack frame or a file path. */
export const leaksInternals = (message: string): boolean => STACK_OR_PATH.test(message);

type Format = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

/**
 * The one rewrite of every error a client gets: Apollo Server's `formatError` (queries and
 * mutations on every transport), and through `clientResults` the results of subscriptions.
 */
export function clientErrorFormat(policy: Pick<EdgePolicy, 'hideSuggestions' | 'maskErrors'>, log: Logger): Format {
  return (formatted, error) => {
    const code = formatted.extensions?.['code'];
    if (policy.maskErrors && !(typeof code === 'string' && production.has(code))) {
      log.error({ err: error, code, path: formatted.path }, 'masked an undocumented error');
      return {
        message: GENERIC_MESSAGE,
        ...(formatted.path && { path: formatted.path }),
        extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
      };
    }
    let message = policy.hideSuggestions ? withoutSuggestions(formatted.message) : formatted.message;
    if (leaksInternals(message)) {
      log.error({ err: error, code, path: formatted.path }, 'withheld an error message that names a file or a stack frame');
      message = WITHHELD_MESSAGE;
    }
    const extensions = sentExtensions(formatted.extensions ?? {}, policy.maskErrors);
    return {
      ...formatted,
      message,
      extensions: { ...extensions, code: typeof code === 'string' ? code : ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}

/** The extensions sent: in production only KEPT_EXTENSIONS; in any mode none of NEVER_SENT, and no value naming a file or a stack frame. */
function sentExtensions(extensions: Readonly<Record<string, unknown>>, allowListed: boolean): Record<string, unknown> {
  const sent = Object.entries(extensions).filter(([key]) => !allowListed || kept.has(key));
  const verbatim = ([key, value]: [string, unknown]) => VERBATIM.has(key) && (typeof value === 'string' || value === null);
  const clean = scrubbed(Object.fromEntries(sent.filter((entry) => !verbatim(entry))), { left: MAX_EXTENSION_NODES }, 0);
  const result = clean === DROPPED ? {} : (clean as Record<string, unknown>);
  for (const entry of sent) if (verbatim(entry)) result[entry[0]] = entry[1];
  return result;
}

/**
 * `value` without NEVER_SENT keys, strings that leak internals, anything nested deeper than
 * MAX_EXTENSION_DEPTH, anything past MAX_EXTENSION_NODES values in all, and anything JSON does not
 * carry as it is (objects that are not plain, functions, symbols, bigints, a property that throws):
 * those are DROPPED. Extensions come from a subgraph's JSON or the gateway's own code; neither is
 * trusted to be small or plain.
 */
const DROPPED = Symbol('dropped');
function scrubbed(value: unknown, budget: { left: number }, depth: number): unknown {
  if (--budget.left < 0) return DROPPED;
  if (typeof value === 'string') return leaksInternals(value) ? DROPPED : value;
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value !== 'object' || depth >= MAX_EXTENSION_DEPTH) return DROPPED;
  try {
    if (Array.isArray(value)) return value.map((item) => scrubbed(item, budget, depth + 1)).filter((item) => item !== DROPPED);
    const prototype = Object.getPrototypeOf(value) as unknown;
    if (prototype !== Object.prototype && prototype !== null) return DROPPED;
    const kept: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (NEVER_SENT.has(key)) continue;
      const clean = scrubbed(item, budget, depth + 1);
      if (clean !== DROPPED) Object.defineProperty(kept, key, { value: clean, enumerable: true, writable: true, configurable: true });
    }
    return kept;
  } catch {
    return DROPPED;
  }
}

/** The same rewrite for the results of subscriptions, which do not pass through Apollo Server. */
export function clientResults(format: Format): (result: ExecutionResult) => ExecutionResult {
  return (result) => {
    if (!result.errors?.length) return result;
    const errors = result.errors.map((e: GraphQLError) => sendable(format(typeof e.toJSON === 'function' ? e.toJSON() : e, e)));
    return { ...result, errors };
  };
}
