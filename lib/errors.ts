/**
 * The closed registry of error codes that Interchange puts in `extensions.code`. Every error a
 * client sees from the gateway or a subgraph carries one of these (GraphQL's own validation codes,
 * such as GRAPHQL_VALIDATION_FAILED, come from Apollo Server and are passed through unchanged).
 * In production a client gets only the extensions named here, `serviceName` and Apollo Server's
 * `validationErrorCode` (KEPT_EXTENSIONS in gateway/src/production.ts).
 */
import { GraphQLError } from 'graphql';

export const ErrorCode = {
  /** An argument or input is out of range or malformed. Fix the request. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /**
   * The HTTP request itself is malformed (bad JSON, wrong content type), or a header the gateway
   * forwards has a value it cannot send on (`extensions.header` names it).
   */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The request body is larger than the configured limit. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** A backend service did not answer within its timeout (REST) or deadline (gRPC). Safe to retry. */
  UPSTREAM_TIMEOUT: 'UPSTREAM_TIMEOUT',
  /**
   * A backend service could not be reached, or its circuit breaker is open; or the identity
   * provider's keys could not be fetched to verify a token (HTTP 503). Safe to retry later.
   */
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
  /** Too many calls to a backend service are in flight already (bulkhead full). Retry later. */
  UPSTREAM_OVERLOADED: 'UPSTREAM_OVERLOADED',
  /** A backend service answered with something its contract does not allow. */
  UPSTREAM_BAD_RESPONSE: 'UPSTREAM_BAD_RESPONSE',
  /** The thing named does not exist (for example cancelling an unknown order). */
  NOT_FOUND: 'NOT_FOUND',
  /**
   * The request conflicts with the current state (for example cancelling a shipped order).
   * `extensions.orderId` names the order; `extensions.status` its status when a concurrent change won.
   */
  INVALID_STATE: 'INVALID_STATE',
  /** Not enough stock for an order line: `extensions.productId` names the product, `extensions.stock` what is left. */
  INSUFFICIENT_STOCK: 'INSUFFICIENT_STOCK',
  /**
   * The event log (Kafka, or the embedded log) did not answer in time. For a mutation the event may
   * still be accepted later: `extensions.orderId` names the order; query it before trying again.
   */
  EVENT_LOG_UNAVAILABLE: 'EVENT_LOG_UNAVAILABLE',
  /**
   * The event was accepted, but the projection had not applied it within the read-your-writes wait.
   * The change will show up; `extensions.orderId` names the order.
   */
  PROJECTION_BEHIND: 'PROJECTION_BEHIND',
  /**
   * The request's time budget (the gateway's `interchange-timeout-ms`, or the subgraph's own limit)
   * ran out, or was too small, before the change was made: nothing was published. Safe to retry.
   */
  DEADLINE_EXCEEDED: 'DEADLINE_EXCEEDED',
  /**
   * An idempotency key came back with a different input than the one it was first used with
   * (`extensions.orderId` names the order it made). Use a new key for a new order.
   */
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  /**
   * A subscription's `after` cursor cannot be decoded, or names more partitions than the topic
   * has. `extensions.argument` names the argument. Resubscribe with a cursor this API issued.
   */
  INVALID_CURSOR: 'INVALID_CURSOR',
  /**
   * A subscription's `after` cursor needs events the server no longer retains (its journal keeps
   * only the newest events). Re-read the current state with a query and resubscribe without `after`.
   */
  CURSOR_EXPIRED: 'CURSOR_EXPIRED',
  /**
   * A subscription's consumer fell too far behind (its buffer filled up), so the server ended it
   * instead of growing memory. `extensions.lastDeliveredCursor` names the last event delivered (or
   * the subscription's starting point when none was): resubscribe with it as `after` to resume.
   */
  SUBSCRIBER_TOO_SLOW: 'SUBSCRIBER_TOO_SLOW',
  /**
   * The gateway loaded a new supergraph in which this open subscription no longer validates (a
   * field it selects is gone, an argument changed type), or whose authorization rules differ: it
   * ended, and the message names why. Subscribe again from the last cursor. Subscriptions that still
   * validate go on across a reload without this error.
   */
  SUBSCRIPTION_SCHEMA_RELOAD: 'SUBSCRIPTION_SCHEMA_RELOAD',
  /**
   * The request carries a token that is not valid (bad signature, expired, wrong issuer or
   * audience, unknown key, no subject), or a subgraph got a request without the gateway's valid identity
   * signature. HTTP 401; WebSocket close 4401. Get a new token.
   */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /**
   * The caller may not see this field or take this action (`@authenticated`, `@requiresScopes`, or
   * the subgraph's own rule, e.g. another customer's orders). The rest of the data still comes back.
   */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /**
   * The operation exceeds one of the gateway's operation limits before it is planned:
   * `extensions.limit` names it (depth, aliases, rootFields, directives, tokens, documentBytes, fields,
   * cost), `extensions.max` its setting. Make the operation smaller.
   */
  OPERATION_LIMIT_EXCEEDED: 'OPERATION_LIMIT_EXCEEDED',
  /**
   * The client sent more operations (or its subscriptions got more events) than its rate allows.
   * `extensions.retryAfterMs` says when to try again; a subscription ended this way resumes from
   * `extensions.lastDeliveredCursor`. HTTP 429.
   */
  RATE_LIMITED: 'RATE_LIMITED',
  /**
   * A cap on open things was reached: WebSocket connections per client, subscriptions per socket,
   * distinct upstream subscriptions per client, open SSE streams or reservations.
   * `extensions.limit` names it. Close something first.
   */
  CAPACITY_EXCEEDED: 'CAPACITY_EXCEEDED',
  /** A WebSocket upgrade or a cross-origin request came from an `Origin` not on the allow-list. HTTP 403. */
  ORIGIN_NOT_ALLOWED: 'ORIGIN_NOT_ALLOWED',
  /** Trusted documents are required and the operation is not in the manifest (by hash or id). */
  PERSISTED_QUERY_NOT_IN_LIST: 'PERSISTED_QUERY_NOT_IN_LIST',
  /**
   * The gateway could not reach a subgraph or the subgraph failed. `extensions.serviceName` names it;
   * `extensions.closeCode` is the close code a subgraph ended a subscription's socket with, if it did.
   */
  SUBGRAPH_UNAVAILABLE: 'SUBGRAPH_UNAVAILABLE',
  /** A bug; the details are in the server log, not in the response. */
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A GraphQL error that always carries a registered code. */
export class InterchangeError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}, cause?: unknown) {
    super(message, { extensions: { ...extensions, code }, originalError: cause instanceof Error ? cause : undefined });
    this.name = 'InterchangeError';
  }

  get code(): ErrorCode {
    return this.extensions['code'] as ErrorCode;
  }
}

/**
 * The same error for an HTTP response with this status: Apollo Server answers with
 * `extensions.http.status` and strips `extensions.http` before sending.
 */
export function withHttpStatus(error: InterchangeError, status: number): InterchangeError {
  const { code: _code, ...extensions } = error.extensions;
  return new InterchangeError(error.code, error.message, { ...extensions, http: { status } });
}

export const badUserInput = (message: string, argument?: string) =>
  new InterchangeError(ErrorCode.BAD_USER_INPUT, message, argument ? { argument } : {});

/** The most telling short description of a transport failure: the cause's errno code, else its message. */
export function causeOf(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : String(cause);
}
