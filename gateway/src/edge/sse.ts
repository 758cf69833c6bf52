/**
 * GraphQL over Server-Sent Events at `/graphql/stream`: graphql-sse's protocol core bound to
 * express, with the edge's limits around it. graphql-sse keeps a single-connection reservation
 * (PUT) until it is streamed (GET), and the operations posted to it run and queue their results
 * meanwhile, with no bound and no expiry; so here:
 *
 * - a reservation not streamed within SSE_RESERVATION_TTL_MS expires: the gateway connects to it
 *   itself and closes it at once, which is how graphql-sse disposes of a stream (every operation
 *   posted to it is returned, so its subscriptions are released upstream);
 * - at most MAX_SSE_RESERVATIONS wait to be streamed and MAX_SSE_STREAMS responses stream at once
 *   (503 CAPACITY_EXCEEDED beyond), and of those at most MAX_SSE_RESERVATIONS_PER_CLIENT and
 *   MAX_SSE_STREAMS_PER_CLIENT are one client's (429 CAPACITY_EXCEEDED beyond), so one client
 *   cannot take them all;
 * - each reservation and each operation is charged to its client's rate (429 RATE_LIMITED with
 *   Retry-After);
 * - a subscription ends with UNAUTHENTICATED when the token it was sent with expires.
 *
 * The binding to express (lib/graphql-sse.ts) is graphql-sse's express adapter with coded errors;
 * the adapter itself hides the handler this needs to reach reservations.
 */
import { randomUUID } from 'node:crypto';
import { TOKEN_HEADER_KEY, TOKEN_QUERY_KEY, createHandler, type OperationContext } from 'graphql-sse';
import type { ResponseInit, Request as SseRequest } from 'graphql-sse';
import type { Request, RequestHandler } from 'express';
import type { RequestContext } from 'graphql-sse/lib/use/express';
import { sendSse, sseRequest, type SseHandlerOptions } from '../../../lib/graphql-sse.ts';
import type { Logger } from '../../../lib/logger.ts';
import type { InterchangeError } from '../../../lib/errors.ts';
import { requestTokenExpiry } from '../auth/authenticate.ts';
import { untilTokenExpiry } from '../auth/expiry.ts';
import { httpClient } from './client.ts';
import { CappedCounts, type CountRefusal } from './counts.ts';
import type { ClientRate } from './rate.ts';
import { EdgeLimit, errorBody, retryAfterSeconds, type Refusals } from './refusals.ts';

/** What graphql-sse's hooks see of the express request: the response, for `res.locals`. */
export type SseOptions<C extends OperationContext> = SseHandlerOptions<C>;

export interface SseLimits {
  rate: ClientRate;
  refusals: Refusals;
  /** Responses streaming at once, all clients together. */
  maxStreams: number;
  /** Responses streaming at once, per client. */
  maxStreamsPerClient: number;
  /** Reservations waiting to be streamed, all clients together. */
  maxReservations: number;
  /** Reservations waiting to be streamed, per client. */
  maxReservationsPerClient: number;
  reservationTtlMs: number;
  log: Logger;
}

const EVENT_STREAM = 'text/event-stream';

const STREAM_LIMITS = { total: EdgeLimit.SSE_STREAMS, perClient: EdgeLimit.SSE_STREAMS_PER_CLIENT };
const RESERVATION_LIMITS = { total: EdgeLimit.SSE_RESERVATIONS, perClient: EdgeLimit.SSE_RESERVATIONS_PER_CLIENT };

/** A request for an event stream, as graphql-sse tells one (its `accept` is exactly that type). */
export const wantsEventStream = (req: { headers: { accept?: string | undefined } }): boolean => req.headers.accept === EVENT_STREAM;

const isAsyncIterable = <T>(value: object): value is AsyncIterable<T> => Symbol.asyncIterator in value;

/** The reservation token a request names (header or query), as graphql-sse reads it. */
function tokenOf(req: SseRequest<unknown, unknown>): string | undefined {
  const header = req.headers.get(TOKEN_HEADER_KEY);
  if (header) return header;
  return new URL(req.url, 'http://localhost/').searchParams.get(TOKEN_QUERY_KEY) ?? undefined;
}

/** A refusal as graphql-sse's hooks answer: the error as JSON with its status. */
function refusal(error: InterchangeError, status: number, headers: Record<string, string> = {}): readonly [string, ResponseInit] {
  return [
    errorBody(error),
    {
      status,
      statusText: status === 429 ? 'Too Many Requests' : 'Service Unavailable',
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    },
  ];
}

export function serveGraphQLOverSse<C extends OperationContext>(options: SseOptions<C>, limits: SseLimits): RequestHandler {
  const { rate, refusals } = limits;
  /** Reservations not streamed yet, with what ends one (its expiry cancelled, its count released). */
  const reservations = new Map<string, () => void>();
  const reserved = new CappedCounts(limits.maxReservationsPerClient, limits.maxReservations);
  const streams = new CappedCounts(limits.maxStreamsPerClient, limits.maxStreams);

  const rateLimited = (retryAfterMs: number) =>
    refusal(refusals.rateLimited(EdgeLimit.OPERATION_RATE, retryAfterMs), 429, { 'retry-after': retryAfterSeconds(retryAfterMs) });

  /** A cap's refusal: 503 when the gateway's total is reached, 429 when the client's own cap is. */
  const capped = (refused: CountRefusal, limit: { total: EdgeLimit; perClient: EdgeLimit }, what: string) =>
    refused.full === 'total'
      ? refusal(refusals.capacityExceeded(limit.total, refused.max, what), 503)
      : refusal(refusals.capacityExceeded(limit.perClient, refused.max, `${what} of this client`), 429);

  const { bodyLimitBytes: bodyLimitBytes, ...handlerOptions } = options;
  const handler = createHandler<Request, RequestContext, C>({
    ...handlerOptions,
    // graphql-sse's own token rule, but a token it makes up is one this module can name.
    authenticate: (req) => tokenOf(req) ?? randomUUID(),
    onSubscribe: async (req, params) => {
      const retryAfterMs = await rate.take(httpClient(req.raw, req.context.res));
      if (retryAfterMs !== undefined) return rateLimited(retryAfterMs);
      return options.onSubscribe?.(req, params);
    },
    // A subscription lasts only as long as the token of the request that started it (in either mode).
    onOperation: async (ctx, req, args, result) => {
      const chosen = (await options.onOperation?.(ctx, req, args, result)) ?? result;
      const expiresAtMs = requestTokenExpiry(req.context.res.locals);
      return isAsyncIterable(chosen) ? untilTokenExpiry(chosen, expiresAtMs) : chosen;
    },
  });

  /** Connects to a reservation and closes it at once: graphql-sse disposes of it and returns every operation posted to it. */
  const expire = async (token: string) => {
    reservations.get(token)?.();
    reservations.delete(token);
    // A GET of a reservation calls none of the hooks that read `raw` or `context`.
    const [body] = await handler({
      method: 'GET',
      url: `/?${TOKEN_QUERY_KEY}=${encodeURIComponent(token)}`,
      headers: { get: (key) => (key === 'accept' ? EVENT_STREAM : undefined) },
      body: null,
      raw: undefined as unknown as Request,
      context: undefined as unknown as RequestContext,
    });
    if (body && typeof body !== 'string') await body.return(undefined);
    limits.log.info({ ttlMs: limits.reservationTtlMs }, 'an SSE reservation was not streamed in time; released it');
  };

  /** A new reservation: it holds its client's count (`release`) until it is streamed or expires. */
  const reserve = (token: string, release: () => void) => {
    const timer = setTimeout(
      () => void expire(token).catch((err: unknown) => limits.log.warn({ err }, 'could not release an SSE reservation')),
      limits.reservationTtlMs,
    );
    timer.unref();
    reservations.set(token, () => {
      clearTimeout(timer);
      release();
    });
  };

  /**
   * What the request holds of its client's caps (a reservation, a response that may stream) from
   * now, so concurrent requests cannot overshoot them; or the refusal it gets instead.
   */
  const admit = async (req: Request, client: string): Promise<{ release: () => void } | { refused: readonly [string, ResponseInit] }> => {
    if (req.method === 'PUT') {
      const release = reserved.acquire(client);
      if (typeof release !== 'function')
        return { refused: capped(release, RESERVATION_LIMITS, 'event stream reservations waiting to be streamed') };
      // A reservation is charged to its client's rate, as each operation posted to it is.
      const retryAfterMs = await rate.take(client);
      if (retryAfterMs === undefined) return { release };
      release();
      return { refused: rateLimited(retryAfterMs) };
    }
    if (!wantsEventStream(req)) return { release: () => {} };
    const release = streams.acquire(client);
    return typeof release === 'function' ? { release } : { refused: capped(release, STREAM_LIMITS, 'event streams') };
  };

  return async (req, res) => {
    const request = sseRequest(req, res, bodyLimitBytes);
    const admitted = await admit(req, httpClient(req, res));
    if ('refused' in admitted) return sendSse(res, ...admitted.refused);
    let held = admitted.release;
    try {
      const [body, init] = await handler(request);
      if (req.method === 'PUT' && init.status === 201 && typeof body === 'string') {
        reserve(body, held);
        held = () => {};
      }
      if (body && typeof body !== 'string') {
        // A reservation being streamed no longer expires, nor counts as waiting.
        const token = tokenOf(request);
        if (token !== undefined) {
          reservations.get(token)?.();
          reservations.delete(token);
        }
      }
      await sendSse(res, body, init);
    } finally {
      held();
    }
  };
}
