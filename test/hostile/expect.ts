/**
 * The documented answers, as the corpus states them: one place that says what "refused with
 * OPERATION_LIMIT_EXCEEDED" means over each transport, so the corpus itself stays one line per case.
 */
import type { Expectation } from './types.ts';

/** Deadlines (ms, stretched by TEST_TIME_SCALE): generous upper bounds, not timings (limits answer in < 100 ms). */
export const DEADLINE = {
  /** A refusal: before planning, before a body is read, at the handshake. */
  refusal: 2_000,
  /** An input that runs (a control, an error from a resolver), or a refusal that needs a subgraph's answer. */
  run: 5_000,
  /** A slow client cut by HEADERS_TIMEOUT_MS / REQUEST_TIMEOUT_MS (set low in HOSTILE_GATEWAY_ENV). */
  slowClient: 10_000,
} as const;

/** The gateway settings the corpus is written for (everything else at its default). */
export const HOSTILE_GATEWAY_ENV: Record<string, string> = {
  // The operation limits at their documented defaults, pinned: the corpus's sizes are chosen above them.
  OPERATION_LIMITS: 'true',
  MAX_DEPTH: '15',
  MAX_ALIASES: '30',
  MAX_ROOT_FIELDS: '20',
  MAX_DIRECTIVES: '50',
  MAX_TOKENS: '2000',
  MAX_DOCUMENT_BYTES: '65536',
  MAX_COST: '10000',
  MAX_FIELDS: '500',
  // Per client; every input is a client of its own (its own source address and token subject).
  RATE_LIMIT_PER_SECOND: '50',
  RATE_LIMIT_BURST: '20',
  // The canary subscriber gets about 25 events a second (test/hostile/canary.ts); the event-budget
  // scenario, a dozen times as many.
  SUBSCRIPTION_EVENTS_PER_SECOND: '60',
  SUBSCRIPTION_EVENTS_BURST: '120',
  MAX_WEBSOCKETS_PER_CLIENT: '3',
  MAX_SUBSCRIPTIONS_PER_SOCKET: '4',
  MAX_UPSTREAM_SUBSCRIPTIONS_PER_CLIENT: '3',
  MAX_SSE_STREAMS: '40',
  MAX_SSE_RESERVATIONS: '40',
  MAX_SSE_RESERVATIONS_PER_CLIENT: '10',
  MAX_SSE_STREAMS_PER_CLIENT: '100',
  SSE_RESERVATION_TTL_MS: '1000',
  ALLOWED_ORIGINS: 'https://shop.example',
  HEADERS_TIMEOUT_MS: '1000',
  REQUEST_TIMEOUT_MS: '2000',
};

/** The origin HOSTILE_GATEWAY_ENV allows. */
export const ALLOWED_ORIGIN = 'https://shop.example';

/** Refused over HTTP (or an SSE request refused before it streams) with this status and code. */
export const refused = (status: number | readonly number[], code: string | readonly string[], limit?: readonly string[]): Expectation => ({
  status,
  code,
  ...(limit && { limit }),
});

/** Refused over SSE: as a 4xx response, or (once streaming) as an error in the stream. */
export const sseRefused = (
  code: string | readonly string[],
  limit?: readonly string[],
  status: readonly number[] = [400],
): Expectation[] => [refused(status, code, limit), { status: 200, code, ...(limit && { limit }) }];

/** An operation-level error over graphql-ws (an `error` message, or a `next` with errors): the socket stays open. */
export const wsError = (code: string | readonly string[], limit?: readonly string[]): Expectation => ({
  code,
  open: true,
  ...(limit && { limit }),
});

/** The server closed the socket with this code. */
export const closed = (code: number | readonly number[]): Expectation => ({ close: code });

/** A result with data and no errors. */
export const ok = (status = 200): Expectation => ({ status, ok: true });

/** A result with errors of this code and (partial) data, HTTP 200: e.g. an unauthorized field. */
export const partial = (code: string | readonly string[]): Expectation => ({ status: 200, code });

export const LIMIT = 'OPERATION_LIMIT_EXCEEDED';
/** A document too big for the body limit may be refused by it or by the document size limit. */
export const TOO_BIG = [LIMIT, 'PAYLOAD_TOO_LARGE'] as const;
