/**
 * What the edge refuses, and how it says so: every refusal is a coded InterchangeError naming the
 * limit (`extensions.limit`), and is counted in `gateway_edge_refusals_total{limit}`.
 */
import { Counter, type Registry } from 'prom-client';
import { ErrorCode, InterchangeError } from '../../../lib/errors.ts';

/** The edge's limits, as `extensions.limit` and the metric's `limit` label name them. */
export const EdgeLimit = {
  OPERATION_RATE: 'operationRate',
  SUBSCRIPTION_EVENTS: 'subscriptionEvents',
  WEBSOCKETS: 'websockets',
  WEBSOCKETS_PER_CLIENT: 'websocketsPerClient',
  SUBSCRIPTIONS_PER_SOCKET: 'subscriptionsPerSocket',
  UPSTREAM_SUBSCRIPTIONS_PER_CLIENT: 'upstreamSubscriptionsPerClient',
  SSE_STREAMS: 'sseStreams',
  SSE_STREAMS_PER_CLIENT: 'sseStreamsPerClient',
  SSE_RESERVATIONS: 'sseReservations',
  SSE_RESERVATIONS_PER_CLIENT: 'sseReservationsPerClient',
  ORIGIN: 'origin',
} as const;

export type EdgeLimit = (typeof EdgeLimit)[keyof typeof EdgeLimit];

export class Refusals {
  private readonly counter: Counter<'limit'>;

  constructor(registry: Registry) {
    this.counter = new Counter({
      name: 'gateway_edge_refusals_total',
      help: 'Requests, operations, connections and subscriptions the edge refused, by the limit that refused them.',
      labelNames: ['limit'],
      registers: [registry],
    });
    // Every series exists from the start, so a dashboard's rate() has a zero to start from.
    for (const limit of Object.values(EdgeLimit)) this.counter.inc({ limit }, 0);
  }

  /** RATE_LIMITED: the client may try again in `retryAfterMs`. */
  rateLimited(limit: EdgeLimit, retryAfterMs: number): InterchangeError {
    this.counter.inc({ limit });
    return new InterchangeError(ErrorCode.RATE_LIMITED, `too many requests from this client; retry in ${retryAfterMs} ms`, {
      limit,
      retryAfterMs,
    });
  }

  /** CAPACITY_EXCEEDED: `max` of this limit are open already. */
  capacityExceeded(limit: EdgeLimit, max: number, what: string): InterchangeError {
    this.counter.inc({ limit });
    return new InterchangeError(ErrorCode.CAPACITY_EXCEEDED, `${what}: at most ${max} may be open at once`, { limit, max });
  }

  /** ORIGIN_NOT_ALLOWED (HTTP 403). */
  originNotAllowed(origin: string): InterchangeError {
    this.counter.inc({ limit: EdgeLimit.ORIGIN });
    return new InterchangeError(ErrorCode.ORIGIN_NOT_ALLOWED, `origin ${JSON.stringify(origin)} is not allowed to open a WebSocket here`, {
      limit: EdgeLimit.ORIGIN,
    });
  }

  /** Counts a refusal whose error is made elsewhere (a subscription ended over its event budget). */
  count(limit: EdgeLimit): void {
    this.counter.inc({ limit });
  }
}

/** The JSON body of a refused HTTP request: the error as GraphQL sends errors. */
export const errorBody = (error: InterchangeError): string => JSON.stringify({ errors: [error.toJSON()] });

/** The `Retry-After` header for a wait in ms: whole seconds, at least 1. */
export const retryAfterSeconds = (ms: number): string => String(Math.max(1, Math.ceil(ms / 1000)));
