/**
 * The HTTP host that every GraphQL process (gateway and subgraphs) runs on: one express app with
 * `/healthz` (alive), a minimal `/readyz` (ready to serve, nothing else), JSON body limits with
 * GraphQL-shaped errors for malformed bodies, and an Apollo Server mounted at `/graphql`; and an
 * ops listener of its own (loopback by default) with `/metrics` and the detailed `/readyz`, which
 * name files, internal URLs and load that clients have no business seeing. Stopping drains
 * in-flight requests.
 */
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { ApolloServer, type ApolloServerOptions, type BaseContext, type ContextFunction } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { expressMiddleware, type ExpressContextFunctionArgument } from '@as-integrations/express5';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Registry } from 'prom-client';
import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler, type Response } from 'express';
import type { EdgeOptions } from './edge.ts';
import { answerClientErrors, errorBody } from './client-errors.ts';
import { ErrorCode } from './errors.ts';
import { announceListening, closeServer, listen, type Stoppable } from './lifecycle.ts';
import type { Logger } from './logger.ts';

export const GRAPHQL_PATH = '/graphql';

/**
 * What the ops listener's `/readyz` reports: `ready` decides the status code (200 or 503); the rest
 * is shown as is. The client port's `/readyz` shows `ready` alone.
 */
export interface Readiness {
  ready: boolean;
  [detail: string]: unknown;
}

export interface GraphQLHostOptions<Ctx extends BaseContext> {
  name: string;
  log: Logger;
  host: string;
  port: number;
  /** Largest accepted request body, in bytes. */
  bodyLimitBytes: number;
  /** The ops listener and the slow-client timeouts. */
  edge: EdgeOptions;
  apollo: Omit<ApolloServerOptions<Ctx>, 'plugins'> & { plugins?: ApolloServerOptions<Ctx>['plugins'] };
  context: ContextFunction<[ExpressContextFunctionArgument], Ctx>;
  readiness: () => Readiness;
  /** Prometheus metrics to serve on the ops listener's /metrics. */
  registry?: Registry | undefined;
  /**
   * Middleware between the body parser and Apollo Server on the GraphQL path: it sees the parsed
   * request (body, or query string for GET) before Apollo Server parses or validates anything.
   */
  beforeGraphQL?: RequestHandler[] | undefined;
  /** Routes to add before the GraphQL endpoint (for example a playground at `/`). */
  routes?: (app: Express, apollo: ApolloServer<Ctx>) => void;
  /** Routes to add to the ops listener (for example the gateway's `POST /reload`). */
  opsRoutes?: ((app: Express) => void) | undefined;
}

export interface GraphQLHost<Ctx extends BaseContext = BaseContext> extends Stoppable {
  port: number;
  url: string;
  /** `http://host:port` of the ops listener (`/metrics`, detailed `/readyz`). */
  opsUrl: string;
  httpServer: Server;
  apollo: ApolloServer<Ctx>;
}

/** What express.json's errors carry (http-errors): a type, a 4xx status, and whether the message is safe to show. */
interface BodyError {
  type?: string;
  message?: string;
  status?: number;
  expose?: boolean;
}

/**
 * Answers every error of reading a request body (express.json's) as a GraphQL error with its 4xx
 * status: malformed or oversized JSON, an unsupported charset or content encoding, a body cut
 * short. Anything else goes on to `lastResortErrors`.
 */
export const bodyErrors: ErrorRequestHandler = (err: BodyError, _req, res, next) => {
  const status = err.status ?? 0;
  if (err.type === 'entity.parse.failed') {
    res.status(400).json(errorBody(`malformed JSON body: ${err.message}`, ErrorCode.BAD_REQUEST));
  } else if (err.type === 'entity.too.large') {
    res.status(413).json(errorBody('request body is too large', ErrorCode.PAYLOAD_TOO_LARGE));
  } else if (status >= 400 && status < 500) {
    // body-parser's 4xx messages name what was refused (`unsupported charset "LATIN1"`) and nothing internal.
    res
      .status(status)
      .json(errorBody(err.expose && err.message ? err.message : 'the request body could not be read', ErrorCode.BAD_REQUEST));
  } else {
    next(err);
  }
};

/**
 * Refuses a request whose declared `Content-Length` is over the limit before a byte of its body is
 * read, and closes the connection after the answer, so Node does not read (and discard) the body
 * the client may still be sending.
 */
function declaredLengthLimit(limitBytes: number): RequestHandler {
  return (req, res, next) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (!(declared > limitBytes)) return next();
    res.setHeader('connection', 'close');
    res.status(413).json(errorBody('request body is too large', ErrorCode.PAYLOAD_TOO_LARGE));
  };
}

/**
 * Apollo Server refuses some requests with a 400 whose error has no code (an automatic persisted
 * query whose hash does not match its query, or of another version), which it would then send as
 * INTERNAL_SERVER_ERROR: a client error is BAD_REQUEST.
 */
function codedClientError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  const status = original instanceof GraphQLError ? (original.extensions['http'] as { status?: unknown } | undefined)?.status : undefined;
  const clientError = typeof status === 'number' && status >= 400 && status < 500;
  if (!clientError || formatted.extensions?.['code'] !== ErrorCode.INTERNAL_SERVER_ERROR) return formatted;
  return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.BAD_REQUEST } };
}

/** An HTTP/1.1 request must name its Host (RFC 9112, 3.2): 400 BAD_REQUEST without one. */
const hostRequired: RequestHandler = (req, res, next) => {
  if (req.headers.host !== undefined || req.httpVersion === '1.0') return next();
  res.setHeader('connection', 'close');
  res.status(400).json(errorBody('the request has no Host header', ErrorCode.BAD_REQUEST));
};

/** Anything no route answered: a coded 404, not express's HTML page. */
const notFound: RequestHandler = (req, res) => {
  res.status(404).json(errorBody(`nothing here answers ${req.method} requests at this path`, ErrorCode.NOT_FOUND));
};

/**
 * The terminal error handler: whatever went wrong, the answer is GraphQL-shaped JSON with a code,
 * never express's HTML page with a stack trace; the error itself goes to the log.
 */
function lastResortErrors(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    log.error({ err, method: req.method, path: req.path }, 'unhandled error while serving a request');
    if (res.headersSent) return next(err); // express ends the response
    res.status(500).json(errorBody('internal error', ErrorCode.INTERNAL_SERVER_ERROR));
  };
}

/**
 * The app with a final answer of its own where express would send its HTML page: a request no route
 * took gets the coded 404 (also one whose target express cannot read a path from, such as
 * `http://[x/graphql`, which skips every route), an error the coded 500.
 */
function codedFinalAnswer(app: Express, log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  const lastResort = lastResortErrors(log);
  return (req, res) =>
    app(req as Request, res as Response, (err?: unknown) => {
      if (err === undefined || err === null) notFound(req as Request, res as Response, () => {});
      else lastResort(err, req as Request, res as Response, () => res.destroy());
    });
}

export async function startGraphQLHost<Ctx extends BaseContext>(options: GraphQLHostOptions<Ctx>): Promise<GraphQLHost<Ctx>> {
  const { log, apollo: apolloOptions, edge } = options;
  const app = express();
  app.disable('x-powered-by');
  const httpServer = createServer(slowClientTimeouts(edge), codedFinalAnswer(app, log));
  const apollo = new ApolloServer<Ctx>({
    ...apolloOptions,
    // lib/lifecycle.ts owns signal handling for the whole process.
    stopOnTerminationSignals: false,
    plugins: apolloOptions.plugins ?? [],
    formatError: (formatted: GraphQLFormattedError, error: unknown) =>
      (apolloOptions.formatError ?? ((f) => f))(codedClientError(formatted, error), error),
  } as ApolloServerOptions<Ctx>);
  await apollo.start();

  app.use(hostRequired, declaredLengthLimit(options.bodyLimitBytes));
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', (_req, res) => {
    const { ready } = options.readiness();
    res.status(ready ? 200 : 503).json({ ready });
  });
  options.routes?.(app, apollo);
  // At `/graphql` exactly (and `/graphql/`): Apollo Server would answer any path below it as well,
  // where the middleware mounted for `/graphql` (the gateway's operation rate) does not run.
  app.all(
    GRAPHQL_PATH,
    express.json({ limit: options.bodyLimitBytes }),
    bodyErrors,
    ...(options.beforeGraphQL ?? []),
    expressMiddleware(apollo, { context: options.context }),
  );
  answerClientErrors(httpServer);

  const ops = opsApp(options);
  const opsServer = createServer(slowClientTimeouts(edge), codedFinalAnswer(ops, log));
  answerClientErrors(opsServer);
  const port = await listen(httpServer, options.port, options.host);
  const opsPort = await listen(opsServer, edge.opsPort, edge.opsHost).catch(async (err: unknown) => {
    await closeServer(httpServer);
    throw err;
  });
  announceListening(log, 'http', options.host, port);
  announceListening(log, 'ops', edge.opsHost, opsPort);
  let stopped: Promise<void> | undefined;
  return {
    port,
    url: `http://${options.host}:${port}${GRAPHQL_PATH}`,
    opsUrl: `http://${edge.opsHost}:${opsPort}`,
    httpServer,
    apollo,
    // Stop accepting and drain in-flight requests first, then release the server's resources.
    stop: () => (stopped ??= Promise.all([closeServer(httpServer), closeServer(opsServer)]).then(() => apollo.stop())),
  };
}

/**
 * Node answers a client still sending its headers (or its request) after these with 408 and closes
 * the connection; it looks every `connectionsCheckingInterval`, 30 s unless told. The same on the
 * client port and the ops listener. Node would answer a missing Host itself, with a bare 400:
 * `hostRequired` answers it coded.
 */
function slowClientTimeouts(edge: EdgeOptions): ServerOptions {
  return {
    requireHostHeader: false,
    headersTimeout: edge.headersTimeoutMs,
    requestTimeout: edge.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(edge.headersTimeoutMs / 4))),
  };
}

/** The ops listener's app: liveness, the detailed readiness, and metrics. */
function opsApp(options: Pick<GraphQLHostOptions<BaseContext>, 'log' | 'readiness' | 'registry' | 'opsRoutes'>): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', (_req, res) => {
    const readiness = options.readiness();
    res.status(readiness.ready ? 200 : 503).json(readiness);
  });
  const { registry } = options;
  if (registry) {
    app.get('/metrics', async (_req, res) => void res.type(registry.contentType).send(await registry.metrics()));
  }
  options.opsRoutes?.(app);
  return app;
}
