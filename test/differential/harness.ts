/**
 * The differential harness (issue 11, "Proven equal"): the same operation, with the same variables,
 * through stock `@apollo/gateway` and through Interchange, over the same subgraphs; the two responses
 * must be equal.
 *
 * - Subgraphs are built with `@apollo/subgraph` (`buildSubgraphSchema`) and served over real HTTP by
 *   one server on 127.0.0.1, port 0, at `/<supergraph>/<subgraph>/graphql`. Their data is
 *   deterministic: every resolver is a pure function of its arguments and parent.
 * - Faults are part of a subgraph's definition, so a case is a pure function of its inputs:
 *   `fault: 'down'` resets every connection (a subgraph that is down), `fault: 'hang'` never answers
 *   (the gateways' subgraph timeout fires), and a few more (`SubgraphDef.fault`). Field errors are
 *   resolvers that throw.
 * - Supergraphs are composed here with `@apollo/composition`, pointing at that server.
 * - Stock: `ApolloGateway({ supergraphSdl })` behind `ApolloServer`, run with `executeOperation`
 *   (in-process, the whole Apollo Server request pipeline). Its one configuration: each subgraph's
 *   `RemoteGraphQLDataSource` gets Node's `fetch` with the same deadline Interchange is given
 *   (`SUBGRAPH_TIMEOUT_MS`); stock's default client has none and would wait forever on a hung one.
 *   Stack traces are off in both (`includeStacktraceInErrorResponses: false`).
 * - Interchange: its real server (`startGateway` from gateway/src/server.ts, configured through
 *   `readGatewayConfig` as `main.ts` does) on 127.0.0.1 port 0, reached with HTTP POST /graphql:
 *   end to end, whatever executor is inside. What it adds and which could interfere is turned off:
 *   operation limits (`OPERATION_LIMITS=false`), rate limits (0), the supergraph file watch and
 *   probes. No supergraph here uses `@authenticated`/`@requiresScopes` (stock refuses them), so
 *   authorization has nothing to enforce; the signed identity header goes to subgraphs that ignore it.
 *
 * Only the response body is compared: stock runs without HTTP, so status codes and headers are not
 * (Interchange answers some request errors with 400 where stock's HTTP server would say 500).
 *
 * Normalisations (`normalise`), every one of them: the body is compared as JSON (key order of
 * `data` is kept: it is part of the response); top-level `extensions` are dropped (Interchange may
 * add its own there; nothing of the result is in them); `errors` are compared as a set, sorted by
 * their JSON (fetches that run in parallel add their errors in the order the subgraphs answer, which
 * differs from run to run in either gateway). Nothing else: `data`, every error's `message`,
 * `path`, `locations` and `extensions` (`code`, `serviceName`, ...) are compared as they are.
 *
 * Known differences are declared on the case (or on its supergraph, for all its cases), never
 * normalised away:
 * - `defect`: a query planner defect (issue 11). Stock's answer is asserted to be the known wrong
 *   one, and Interchange's to be the correct one: it corrects the planner's plans
 *   (gateway/src/executor/plan-corrections.ts).
 * - `interchange`: a difference Interchange makes on purpose: the case gives Interchange's expected
 *   answer as a function of stock's, saying why. There are two: SUBGRAPH_UNAVAILABLE, naming the
 *   subgraph, for a subgraph that gave no usable answer (gateway/src/executor/transport.ts;
 *   supergraphs/faults.ts), and BAD_REQUEST for an operation that cannot be chosen or a subscription
 *   sent as a plain HTTP request (gateway/src/operation-guard.ts; supergraphs/example.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import type { Fetcher } from '@apollo/utils.fetcher';
import { graphql, parse, type GraphQLSchema } from 'graphql';
import { apiSchemaOf } from '../../gateway/src/gateway.ts';
import { disableVendorTelemetry, readGatewayConfig } from '../../gateway/src/config.ts';
import { startGateway } from '../../gateway/src/server.ts';
import { createLogger } from '../../lib/logger.ts';
import { TEST_IDENTITY_SECRET } from '../support/identity.ts';

export type Resolvers = GraphQLResolverMap<unknown>;

export interface SubgraphDef {
  name: string;
  typeDefs: string;
  resolvers: Resolvers;
  /**
   * `down`: every connection is reset; `hang`: no answer ever comes (the gateways time out);
   * `status500`: HTTP 500 with a GraphQL error body; `html`: HTTP 200 with an HTML page;
   * `refuse`: HTTP 200 with request-level errors and no data (as a subgraph that rejects the request).
   */
  fault?: 'down' | 'hang' | 'status500' | 'html' | 'refuse';
}

/** A GraphQL response as a client reads it (JSON). */
export interface Result {
  data?: unknown;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown>; [k: string]: unknown }[];
  [k: string]: unknown;
}

export interface Case {
  /** Short description; the subtest is named by it (after its supergraph's name). */
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  /** The operation is refused before execution (no `data` in the response): a request error case. */
  requestError?: boolean;
  /** A known planner defect: stock answers `stockGives(result)` true, Interchange should answer `correct`. */
  defect?: { why: string; correct: Result; stockGives: (stock: Result) => boolean };
  /** A difference Interchange makes on purpose: its expected answer, from stock's. */
  interchange?: { why: string; expected: (stock: Result) => Result };
}

/** What the generator may pass to arguments it cannot invent (ids that exist, by argument type or coordinate). */
export interface GeneratorHints {
  /** Values by `Type.field.argument` or by argument type name (`ID`, `String`, `Int`). */
  values: Record<string, unknown[]>;
  /** How many operations to generate. */
  count: number;
  /** Deepest selection (root field at 1). */
  depth?: number;
  /** Operations not to generate: those that hit a planner defect stock answers wrongly (a hand-written `defect` case covers it). */
  skip?: (query: string) => boolean;
}

export interface SupergraphDef {
  name: string;
  /** What this supergraph covers (for the report). */
  covers: string;
  subgraphs: SubgraphDef[];
  cases: Case[];
  generate?: GeneratorHints;
  /** Known problems without a case yet (no supergraph reproduces them): `test.todo`s, named here. */
  todo?: string[];
  /** A difference Interchange makes on purpose in every case of this supergraph (a no-op where it does not apply). */
  interchange?: Case['interchange'];
  /**
   * Both gateways' subgraph deadline, in ms (default 5,000). Generous enough that a loaded machine
   * never makes a healthy subgraph miss it: a miss shows as a spurious SUBGRAPH_UNAVAILABLE.
   */
  timeoutMs?: number;
  /** Cases run at once (default 1): where cases wait out a deadline, they wait together. */
  concurrency?: number;
}

const log = createLogger('differential', 'silent');

/** What a subgraph with the `html` fault answers. */
export const HTML_PAGE = '<html><body>Bad Gateway</body></html>';

/** One HTTP server for every subgraph of every supergraph. */
export class SubgraphServer {
  private readonly schemas = new Map<string, { schema: GraphQLSchema; fault: SubgraphDef['fault'] }>();
  private readonly server: Server;
  private port = 0;

  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 2_000;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
  }

  url(supergraph: string, subgraph: string): string {
    return `http://127.0.0.1:${this.port}/${supergraph}/${subgraph}/graphql`;
  }

  add(supergraph: string, def: SubgraphDef): void {
    const schema = buildSubgraphSchema([{ typeDefs: parse(def.typeDefs), resolvers: def.resolvers }]);
    this.schemas.set(`/${supergraph}/${def.name}/graphql`, { schema, fault: def.fault });
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = this.schemas.get(req.url ?? '');
    if (!target) {
      res.writeHead(404).end();
      return;
    }
    if (target.fault === 'down') {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (target.fault === 'hang') return; // closed by the client's deadline, or by stop()
    if (target.fault === 'status500') {
      const body = { errors: [{ message: 'the subgraph failed', extensions: { code: 'SUBGRAPH_BROKEN' } }] };
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    if (target.fault === 'html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(HTML_PAGE);
      return;
    }
    if (target.fault === 'refuse') {
      const body = { errors: [{ message: 'request refused by the subgraph', extensions: { code: 'REFUSED' } }] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      query: string;
      variables?: Record<string, unknown>;
      operationName?: string;
    };
    const result = await graphql({
      schema: target.schema,
      source: body.query,
      variableValues: body.variables ?? null,
      operationName: body.operationName ?? null,
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
  }
}

/** A gateway under test: one operation in, the response as JSON out. */
export interface Runner {
  run(query: string, variables?: Record<string, unknown>, operationName?: string): Promise<Result>;
  stop(): Promise<void>;
}

/** Composes a supergraph of `def`'s subgraphs at `server`; throws with composition's errors. */
export function compose(def: SupergraphDef, server: SubgraphServer): string {
  const result = composeServices(
    def.subgraphs.map((s) => ({ name: s.name, url: server.url(def.name, s.name), typeDefs: parse(s.typeDefs) })),
  );
  if (!result.supergraphSdl) throw new Error(`${def.name} does not compose: ${result.errors?.map((e) => e.message).join('; ')}`);
  return result.supergraphSdl;
}

export { apiSchemaOf };

/** Stock `@apollo/gateway` + `@apollo/server`, in-process. */
export async function startStock(supergraphSdl: string, timeoutMs: number): Promise<Runner> {
  disableVendorTelemetry();
  const fetcher = ((url: string, init: RequestInit) =>
    fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) })) as unknown as Fetcher;
  const gateway = new ApolloGateway({
    supergraphSdl,
    logger: log,
    buildService: ({ url }) => new RemoteGraphQLDataSource({ url, fetcher }),
  });
  const server = new ApolloServer({ gateway, includeStacktraceInErrorResponses: false, logger: log });
  await server.start();
  return {
    run: async (query, variables, operationName) => {
      const response = await server.executeOperation({ query, ...(variables && { variables }), ...(operationName && { operationName }) });
      assert.equal(response.body.kind, 'single');
      return normalise(JSON.parse(JSON.stringify(response.body.kind === 'single' ? response.body.singleResult : {})) as Result);
    },
    stop: () => server.stop(),
  };
}

/** Interchange's own server, in-process, over HTTP. */
export async function startInterchange(supergraphSdl: string, timeoutMs: number): Promise<Runner> {
  const dir = await mkdtemp(join(process.env['DATA_DIR'] ?? tmpdir(), 'differential-'));
  const file = join(dir, 'supergraph.graphql');
  await writeFile(file, supergraphSdl);
  const config = readGatewayConfig(
    {
      SUPERGRAPH: file,
      SUPERGRAPH_WATCH: 'false',
      SUBGRAPH_PROBE_MS: '600000',
      DATA_DIR: dir,
      PORT: '0',
      OPS_PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      IDENTITY_SECRET: TEST_IDENTITY_SECRET,
      SUBGRAPH_TIMEOUT_MS: String(timeoutMs),
      OPERATION_LIMITS: 'false',
      RATE_LIMIT_PER_SECOND: '0',
      PLAYGROUND: 'false',
    },
    [],
  );
  const host = await startGateway(config, log).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  const url = `http://127.0.0.1:${host.port}/graphql`;
  return {
    run: async (query, variables, operationName) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
        body: JSON.stringify({ query, ...(variables && { variables }), ...(operationName && { operationName }) }),
      });
      return normalise((await response.json()) as Result);
    },
    stop: async () => {
      await host.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The header's normalisations, and nothing more. */
export function normalise(result: Result): Result {
  const { extensions: _dropped, ...rest } = result;
  if (!rest.errors) return rest;
  const key = (e: unknown) => JSON.stringify(e);
  return { ...rest, errors: [...rest.errors].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)) };
}

/** Equal as values, and in the order of their keys (a response's field order is part of it). */
export function assertSameResponse(actual: Result, expected: Result, message: string): void {
  assert.deepStrictEqual(actual, expected, message);
  assert.equal(JSON.stringify(actual), JSON.stringify(expected), `${message} (the order of keys differs)`);
}

/** Both gateways over one supergraph. */
export interface Pair {
  stock: Runner;
  interchange: Runner;
  apiSchema: GraphQLSchema;
  stop(): Promise<void>;
}

export async function startPair(def: SupergraphDef, server: SubgraphServer): Promise<Pair> {
  for (const s of def.subgraphs) server.add(def.name, s);
  const sdl = compose(def, server);
  const timeoutMs = def.timeoutMs ?? 5_000;
  const stock = await startStock(sdl, timeoutMs);
  const interchange = await startInterchange(sdl, timeoutMs).catch(async (err: unknown) => {
    await stock.stop();
    throw err;
  });
  return {
    stock,
    interchange,
    apiSchema: apiSchemaOf(sdl),
    stop: async () => {
      await Promise.allSettled([stock.stop(), interchange.stop()]);
    },
  };
}
