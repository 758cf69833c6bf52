/**
 * The customers REST API (schema/openapi/customers.yaml) as an express app, plus /healthz and
 * /metrics. `main.ts` only listens; tests mount the app on port 0 in-process.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { Counter, Gauge, Registry } from 'prom-client';
import { createLogger, type Logger } from '../../lib/logger.ts';
import { Collection, InvalidCursorError } from '../collection.ts';
import { handleOpsRequest, problem, sendJson, sendProblem, type Problem } from '../http.ts';
import { processName } from './config.ts';
import type { Customer } from './data.ts';

/** The `operation` label of `customers_http_requests_total` (the OpenAPI operation; a batch read is told apart). */
export type CustomersOperation = 'listCustomers' | 'batchCustomers' | 'getCustomer';

export interface CustomersAppDeps {
  /** The customers to serve, in the order pages list them (id order), with unique ids. */
  customers: readonly Customer[];
  /** Where the app registers its metrics and which /metrics exposes. Default: a new `Registry`. */
  registry?: Registry;
  /** Wait this long before every API answer (not /healthz or /metrics), ms. Default 0. */
  responseDelayMs?: number;
  /** Default: silent. */
  log?: Logger;
}

export interface CustomersApp {
  app: Express;
  registry: Registry;
}

export const defaultLimit = 20;
export const maxLimit = 100;
export const maxBatchIds = 100;

/** A query parameter the contract does not allow; answered 400, naming the parameter. */
class ParameterError extends Error {
  readonly parameter: string;

  constructor(parameter: string, detail: string) {
    super(detail);
    this.parameter = parameter;
  }
}

function queryParam(req: Request, name: string): string | undefined {
  const value: unknown = req.query[name];
  if (value === undefined || typeof value === 'string') return value;
  throw new ParameterError(name, `${name} must be given at most once`);
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return defaultLimit;
  const limit = /^[0-9]{1,3}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(limit >= 1 && limit <= maxLimit)) {
    throw new ParameterError('limit', `limit must be a whole number from 1 to ${maxLimit} (got ${JSON.stringify(raw)})`);
  }
  return limit;
}

function parseIds(raw: string): string[] {
  const ids = raw.split(',');
  if (ids.length > maxBatchIds) {
    throw new ParameterError('ids', `ids lists ${ids.length} ids; at most ${maxBatchIds} are allowed`);
  }
  if (ids.includes('')) throw new ParameterError('ids', 'ids must be customer ids separated by commas, with no empty entries');
  return ids;
}

/** An error that carries an HTTP status (express's router sets one, e.g. 400 for a malformed `%` escape). */
function clientErrorStatus(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

export function createCustomersApp(deps: CustomersAppDeps): CustomersApp {
  const customers = new Collection(deps.customers);
  const registry = deps.registry ?? new Registry();
  const log = deps.log ?? createLogger(processName, 'silent');
  const delayMs = deps.responseDelayMs ?? 0;

  const requests = new Counter({
    name: 'customers_http_requests_total',
    help: 'Customers API requests answered, by operation and HTTP status code.',
    labelNames: ['operation', 'status'] as const,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'customers_http_requests_in_flight',
    help: 'Customers API requests received and not yet answered.',
    registers: [registry],
  });
  const operations = new WeakMap<Response, CustomersOperation>();

  // Every API answer goes through one of these two, so each request is counted exactly once, at
  // the moment it is answered (before the client can see the answer).
  const count = (res: Response, status: number) => {
    const operation = operations.get(res);
    if (operation) requests.inc({ operation, status: String(status) });
  };
  const reply = (res: Response, body: unknown) => {
    count(res, 200);
    sendJson(res, 200, body);
  };
  const replyProblem = (res: Response, body: Problem) => {
    count(res, body.status);
    sendProblem(res, body);
  };

  /** Names the request's operation (for the counter), then applies the artificial delay. */
  const api = (operationOf: (req: Request) => CustomersOperation) => async (req: Request, res: Response, next: NextFunction) => {
    operations.set(res, operationOf(req));
    inFlight.inc();
    res.once('close', () => inFlight.dec());
    if (delayMs > 0) await sleep(delayMs);
    next();
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    if (!handleOpsRequest(registry, req, res)) next();
  });

  // With `ids` a batch read (limit and cursor are ignored, not even checked); without, a page.
  app.get(
    '/customers',
    api((req) => (req.query.ids === undefined ? 'listCustomers' : 'batchCustomers')),
    (req, res) => {
      const ids = queryParam(req, 'ids');
      if (ids !== undefined) return reply(res, { items: customers.getMany(parseIds(ids)) });
      const limit = parseLimit(queryParam(req, 'limit'));
      const cursor = queryParam(req, 'cursor');
      try {
        reply(res, customers.page(limit, cursor));
      } catch (err) {
        if (!(err instanceof InvalidCursorError)) throw err;
        throw new ParameterError('cursor', 'cursor must be the nextCursor of a previous page');
      }
    },
  );

  app.get(
    '/customers/:id',
    api(() => 'getCustomer'),
    (req, res) => {
      const id = String(req.params.id);
      const customer = customers.get(id);
      if (!customer) return replyProblem(res, problem(404, `no customer with id ${JSON.stringify(id)}`));
      reply(res, customer);
    },
  );

  app.all(['/customers', '/customers/:id'], (req, res) => {
    sendProblem(res, problem(405, `${req.path} answers GET only`), { allow: 'GET, HEAD' });
  });

  app.use((req, res) => {
    sendProblem(res, problem(404, `no route for ${req.method} ${req.path}`));
  });

  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (err instanceof ParameterError) return replyProblem(res, problem(400, err.message, { parameter: err.parameter }));
    const status = clientErrorStatus(err);
    if (status !== undefined) return replyProblem(res, problem(status, (err as Error).message));
    log.error({ err, method: req.method, url: req.originalUrl }, 'request failed');
    replyProblem(res, problem(500, 'internal error'));
  });

  return { app, registry };
}
