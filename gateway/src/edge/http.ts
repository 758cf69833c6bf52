/** The edge on plain HTTP: each operation charged to its client's rate, and CORS when configured. */
import cors from 'cors';
import type { RequestHandler } from 'express';
import { httpClient } from './client.ts';
import type { ClientRate } from './rate.ts';
import { EdgeLimit, errorBody, retryAfterSeconds, type Refusals } from './refusals.ts';
import { wantsEventStream } from './sse.ts';

/** 429 RATE_LIMITED with `Retry-After` for a client over its operation rate, before the body is read; anything else goes on. */
export function operationRateLimit(rate: ClientRate, refusals: Refusals): RequestHandler {
  return async (req, res, next) => {
    // A GET with neither a query nor extensions (a persisted query's hash, a trusted document's id)
    // is no operation: the playground page, for one.
    if (req.method === 'GET' && req.query['query'] === undefined && req.query['extensions'] === undefined) return next();
    // GraphQL over SSE at the GraphQL path: the SSE binding charges it (edge/sse.ts).
    if (wantsEventStream(req)) return next();
    const retryAfterMs = await rate.take(httpClient(req, res));
    if (retryAfterMs === undefined) return next();
    res
      .status(429)
      .set('retry-after', retryAfterSeconds(retryAfterMs))
      .type('application/json')
      .send(errorBody(refusals.rateLimited(EdgeLimit.OPERATION_RATE, retryAfterMs)));
  };
}

/**
 * CORS for browsers on other origins (`cors`): the listed origins (or any, for `*`) may call the
 * GraphQL endpoints and read `Retry-After`; none are allowed when the list is empty.
 */
export function corsFor(origins: readonly string[]): RequestHandler | undefined {
  if (origins.length === 0) return undefined;
  return cors({
    origin: origins.includes('*') ? '*' : [...origins],
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    exposedHeaders: ['retry-after'],
    maxAge: 600,
  });
}
