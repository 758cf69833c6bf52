/**
 * The edge on plain HTTP: the client's address, CORS when configured, authentication with its
 * refusals charged, and each operation charged to its client's rate.
 */
import cors from 'cors';
import type { IncomingMessage } from 'node:http';
import type { RequestHandler, Response } from 'express';
import { ANONYMOUS } from '../../../lib/auth/principal.ts';
import type { InterchangeError } from '../../../lib/errors.ts';
import type { TokenCharge } from '../auth/authenticate.ts';
import { clientAddress, clientKey, httpClient, identifyClient, type ProxyTrust } from './client.ts';
import type { ClientRate } from './rate.ts';
import { EdgeLimit, errorBody, retryAfterSeconds, type Refusals } from './refusals.ts';
import { wantsEventStream } from './sse.ts';

/** 429 with `Retry-After` for a RATE_LIMITED error (it carries `extensions.retryAfterMs`). */
function rateLimited(res: Response, error: InterchangeError): void {
  res
    .status(429)
    .set('retry-after', retryAfterSeconds(Number(error.extensions['retryAfterMs'])))
    .type('application/json')
    .send(errorBody(error));
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
    // A GET without parameters is no operation (the playground page); any other is charged, read
    // from the raw URL: Express's parsed query stops at 1,000 parameters, Apollo Server reads them all.
    const query = req.url.indexOf('?');
    if (req.method === 'GET' && (query < 0 || query === req.url.length - 1)) return next();
    // GraphQL over SSE at the GraphQL path: the SSE binding charges it (edge/sse.ts).
    if (wantsEventStream(req)) return next();
    const retryAfterMs = await rate.take(httpClient(req, res));
    if (retryAfterMs === undefined) return next();
    rateLimited(res, refusals.rateLimited(EdgeLimit.OPERATION_RATE, retryAfterMs));
  };
}

/**
 * Tokens refused, charged to the caller's address (the token named no one the gateway believes),
 * in a bucket of their own: once an address has spent that rate, whatever it sends with a token
 * is refused with RATE_LIMITED before the token costs a verification, over HTTP, SSE and WebSocket
 * alike. Only a token found bad is charged; the keys being unavailable is not the caller's doing.
 * Requests checked at once before any of them is charged all get their verification: the bucket
 * bounds the rate, the connection caps bound that burst.
 */
export class RefusedTokens implements TokenCharge {
  private readonly rate: ClientRate;
  private readonly refusals: Refusals;

  constructor(rate: ClientRate, refusals: Refusals) {
    this.rate = rate;
    this.refusals = refusals;
  }

  private key = (req: IncomingMessage) => clientKey(ANONYMOUS, clientAddress(req));

  async over(req: IncomingMessage): Promise<InterchangeError | undefined> {
    const retryAfterMs = await this.rate.spent(this.key(req));
    return retryAfterMs === undefined ? undefined : this.refusals.rateLimited(EdgeLimit.OPERATION_RATE, retryAfterMs);
  }

  async refused(req: IncomingMessage): Promise<void> {
    await this.rate.take(this.key(req));
  }
}

/** `authenticate` with the requests it refuses for their token charged to `charge` (see RefusedTokens). Requests without a token pass as they are. */
export function chargedAuthentication(authenticate: RequestHandler, charge: RefusedTokens): RequestHandler {
  return async (req, res, next) => {
    if (req.headers.authorization === undefined) return authenticate(req, res, next);
    const over = await charge.over(req);
    if (over) return rateLimited(res, over);
    let passed = false;
    await authenticate(req, res, (err?: unknown) => {
      passed = true;
      next(err);
    });
    if (!passed && res.statusCode === 401) await charge.refused(req);
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
