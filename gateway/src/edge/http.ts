/**
 * The edge on plain HTTP: the client's address, CORS when configured, authentication with its
 * refusals charged, and each operation charged to its client's rate.
 */
import cors from 'cors';
import type { RequestHandler, Response } from 'express';
import { ANONYMOUS } from '../../../lib/auth/principal.ts';
import { clientAddress, clientKey, httpClient, identifyClient, type ProxyTrust } from './client.ts';
import type { ClientRate } from './rate.ts';
import { EdgeLimit, errorBody, retryAfterSeconds, type Refusals } from './refusals.ts';
import { wantsEventStream } from './sse.ts';

/** 429 RATE_LIMITED with `Retry-After` (and `extensions.retryAfterMs`). */
function rateLimited(res: Response, refusals: Refusals, retryAfterMs: number): void {
  res
    .status(429)
    .set('retry-after', retryAfterSeconds(retryAfterMs))
    .type('application/json')
    .send(errorBody(refusals.rateLimited(EdgeLimit.OPERATION_RATE, retryAfterMs)));
}

/** Finds each request's client address first (TRUSTED_PROXIES), for every rate and cap after it. */
export function clientAddresses(trust: ProxyTrust): RequestHandler {
  return (req, _res, next) => {
    identifyClient(req, trust);
    next();
  };
}

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
    rateLimited(res, refusals, retryAfterMs);
  };
}

/**
 * `authenticate` with every request it refuses charged to `refused`, keyed by the caller's address
 * (the token named no one the gateway believes): once an address has spent that rate, its requests
 * that carry a token get 429 RATE_LIMITED before the token costs a verification. Requests without
 * a token, and those it lets through, are not charged here.
 */
export function chargedAuthentication(authenticate: RequestHandler, refused: ClientRate, refusals: Refusals): RequestHandler {
  return async (req, res, next) => {
    if (req.headers.authorization === undefined) return authenticate(req, res, next);
    const address = clientKey(ANONYMOUS, clientAddress(req));
    const retryAfterMs = await refused.spent(address);
    if (retryAfterMs !== undefined) return rateLimited(res, refusals, retryAfterMs);
    let passed = false;
    await authenticate(req, res, (err?: unknown) => {
      passed = true;
      next(err);
    });
    if (!passed) await refused.take(address);
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
