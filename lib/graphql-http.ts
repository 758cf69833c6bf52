/**
 * The HTTP host that every GraphQL process (gateway and subgraphs) runs on: one express app with
 * `/healthz` (alive), `/readyz` (ready to serve), JSON body limits with GraphQL-shaped errors for
 * malformed bodies, and an Apollo Server mounted at `/graphql`; stopping drains in-flight requests.
 */
import { createServer, type Server } from 'node:http';
import { ApolloServer, type ApolloServerOptions, type BaseContext, type ContextFunction } from '@apollo/server';
import { expressMiddleware, type ExpressContextFunctionArgument } from '@as-integrations/express5';
import type { Registry } from 'prom-client';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { ErrorCode } from './errors.ts';
import { announceListening, closeServer, listen, type Stoppable } from './lifecycle.ts';
import type { Logger } from './logger.ts';

export const GRAPHQL_PATH = '/graphql';

/** What `/readyz` reports: `ready` decides the status code (200 or 503); the rest is shown as is. */
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
  apollo: Omit<ApolloServerOptions<Ctx>, 'plugins'> & { plugins?: ApolloServerOptions<Ctx>['plugins'] };
  context: ContextFunction<[ExpressContextFunctionArgument], Ctx>;
  readiness: () => Readiness;
  /** Prometheus metrics to serve on /metrics. */
  registry?: Registry | undefined;
  /**
   * Middleware between the body parser and Apollo Server on the GraphQL path: it sees the parsed
   * request (body, or query string for GET) before Apollo Server parses or validates anything.
   */
  beforeGraphQL?: RequestHandler[] | undefined;
  /** Routes to add before the GraphQL endpoint (for example a playground at `/`). */
  routes?: (app: Express, apollo: ApolloServer<Ctx>) => void;
}

export interface GraphQLHost<Ctx extends BaseContext = BaseContext> extends Stoppable {
  port: number;
  url: string;
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

const graphQLError = (message: string, code: string) => ({ errors: [{ message, extensions: { code } }] });

/**
 * Answers every error of reading a request body (express.json's) as a GraphQL error with its 4xx
 * status: malformed or oversized JSON, an unsupported charset or content encoding, a body cut
 * short. Anything else goes on to `lastResortErrors`.
 */
export const bodyErrors: ErrorRequestHandler = (err: BodyError, _req, res, next) => {
  const status = err.status ?? 0;
  if (err.type === 'entity.parse.failed') {
    res.status(400).json(graphQLError(`malformed JSON body: ${err.message}`, ErrorCode.BAD_REQUEST));
  } else if (err.type === 'entity.too.large') {
    res.status(413).json(graphQLError('request body is too large', ErrorCode.PAYLOAD_TOO_LARGE));
  } else if (status >= 400 && status < 500) {
    // body-parser's 4xx messages name what was refused (`unsupported charset "LATIN1"`) and nothing internal.
    res
      .status(status)
      .json(graphQLError(err.expose && err.message ? err.message : 'the request body could not be read', ErrorCode.BAD_REQUEST));
  } else {
    next(err);
  }
};

/**
 * The terminal error handler: whatever went wrong, the answer is GraphQL-shaped JSON with a code,
 * never express's HTML page with a stack trace; the error itself goes to the log.
 */
function lastResortErrors(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    log.error({ err, method: req.method, path: req.path }, 'unhandled error while serving a request');
    if (res.headersSent) return next(err); // express ends the response
    res.status(500).json(graphQLError('internal error', ErrorCode.INTERNAL_SERVER_ERROR));
  };
}

export async function startGraphQLHost<Ctx extends BaseContext>(options: GraphQLHostOptions<Ctx>): Promise<GraphQLHost<Ctx>> {
  const { log, apollo: apolloOptions } = options;
  const app = express();
  app.disable('x-powered-by');
  const httpServer = createServer(app);
  const apollo = new ApolloServer<Ctx>({
    ...apolloOptions,
    // lib/lifecycle.ts owns signal handling for the whole process.
    stopOnTerminationSignals: false,
    plugins: apolloOptions.plugins ?? [],
  } as ApolloServerOptions<Ctx>);
  await apollo.start();

  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', (_req, res) => {
    const readiness = options.readiness();
    res.status(readiness.ready ? 200 : 503).json(readiness);
  });
  const { registry } = options;
  if (registry) {
    app.get('/metrics', async (_req, res) => void res.type(registry.contentType).send(await registry.metrics()));
  }
  options.routes?.(app, apollo);
  app.use(
    GRAPHQL_PATH,
    express.json({ limit: options.bodyLimitBytes }),
    bodyErrors,
    ...(options.beforeGraphQL ?? []),
    expressMiddleware(apollo, { context: options.context }),
  );
  app.use(lastResortErrors(log));

  const port = await listen(httpServer, options.port, options.host);
  announceListening(log, 'http', options.host, port);
  let stopped: Promise<void> | undefined;
  return {
    port,
    url: `http://${options.host}:${port}${GRAPHQL_PATH}`,
    httpServer,
    apollo,
    // Stop accepting and drain in-flight requests first, then release the server's resources.
    stop: () => (stopped ??= closeServer(httpServer).then(() => apollo.stop())),
  };
}
