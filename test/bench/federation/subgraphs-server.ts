/**
 * The benchmark's four subgraphs in one Node HTTP server, as the published benchmark's measured
 * set-up has them: `POST /<name>/graphql` for accounts, inventory, products and reviews, and
 * `GET /counts`, the requests each has answered so far (the bench divides their growth over a round
 * by the requests the gateway served: subgraph requests per query).
 *
 * Lean on purpose, so that the gateway, not the subgraphs, is what is measured: graphql-js executes
 * over in-memory data, and each subgraph keeps the documents it has parsed and validated (a gateway
 * sends a handful of distinct ones).
 *
 * Subscriptions: the reviews subgraph's `reviewAdded` over graphql-ws at its own URL
 * (`ws://.../reviews/graphql`, where a gateway subscribes upstream), and two routes for the bench:
 *
 *   POST /publish?rate=R&count=N   publishes N review events, R per second (evenly spaced, from now),
 *                                  then answers `{ published, subscriptions, seconds }`
 *   GET  /subscriptions            `{ subscriptions, published }`: open `reviewAdded` subscriptions,
 *                                  and the events published so far
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { execute, parse, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { SUBGRAPH_NAMES, ReviewEvents, buildBenchSubgraphs, type BenchSubgraphName } from './subgraphs.ts';

/** Documents kept per subgraph; past it the cache starts again (a gateway sends far fewer). */
const MAX_DOCUMENTS = 1_000;

export type SubgraphCounts = Record<BenchSubgraphName, number>;

export interface BenchSubgraphsServer {
  server: Server;
  counts: SubgraphCounts;
  events: ReviewEvents;
  /** Closes the graphql-ws sockets (the HTTP server is the caller's to close). */
  closeSockets(): Promise<void>;
}

/** What `POST /publish` answers once it has published. */
export interface PublishResult {
  published: number;
  /** Open `reviewAdded` subscriptions when publishing began. */
  subscriptions: number;
  seconds: number;
}

/** Bounds of one `POST /publish`: events per second, events, and how long it may take (under the 300 s a fetch waits for an answer by default). */
const MAX_RATE = 10_000;
const MAX_EVENTS = 1_000_000;
const MAX_PUBLISH_SECONDS = 280;

interface GraphQLBody {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

export function createBenchSubgraphsServer(): BenchSubgraphsServer {
  const events = new ReviewEvents();
  const schemas = buildBenchSubgraphs(events);
  const documents = new Map<BenchSubgraphName, Map<string, DocumentNode | readonly Error[]>>(SUBGRAPH_NAMES.map((n) => [n, new Map()]));
  const counts = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, 0])) as SubgraphCounts;

  const documentOf = (name: BenchSubgraphName, schema: GraphQLSchema, query: string): DocumentNode | readonly Error[] => {
    const cache = documents.get(name)!;
    let document = cache.get(query);
    if (!document) {
      try {
        const parsed = parse(query);
        const errors = validate(schema, parsed);
        document = errors.length > 0 ? errors : parsed;
      } catch (err) {
        document = [err as Error];
      }
      if (cache.size >= MAX_DOCUMENTS) cache.clear();
      cache.set(query, document);
    }
    return document;
  };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    if (req.method === 'GET' && path === '/counts') return send(res, 200, counts);
    if (req.method === 'GET' && path === '/subscriptions')
      return send(res, 200, { subscriptions: events.subscriptions, published: events.published });
    if (req.method === 'POST' && path === '/publish') {
      const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
      const rate = Number(query.get('rate'));
      const count = Number(query.get('count'));
      if (
        !(rate > 0 && rate <= MAX_RATE) ||
        !Number.isInteger(count) ||
        count < 0 ||
        count > MAX_EVENTS ||
        count / rate > MAX_PUBLISH_SECONDS
      )
        return send(res, 400, {
          errors: [
            { message: `rate (0-${MAX_RATE}/s) and count (0-${MAX_EVENTS}) must be numbers, at most ${MAX_PUBLISH_SECONDS} s of events` },
          ],
        });
      return send(res, 200, await publish(rate, count));
    }
    const name = SUBGRAPH_NAMES.find((n) => path === `/${n}/graphql`);
    if (!name || req.method !== 'POST') return send(res, 404, { errors: [{ message: `no subgraph at ${req.method} ${path}` }] });
    counts[name]++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: GraphQLBody;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as GraphQLBody;
    } catch {
      return send(res, 400, { errors: [{ message: 'the body is not JSON' }] });
    }
    if (typeof body.query !== 'string') return send(res, 400, { errors: [{ message: 'no query' }] });
    const schema = schemas[name];
    const document = documentOf(name, schema, body.query);
    if (!('kind' in document)) return send(res, 400, { errors: document.map((e) => ({ message: e.message })) });
    const result = await execute({
      schema,
      document,
      variableValues: (body.variables ?? undefined) as Record<string, unknown> | undefined,
      operationName: typeof body.operationName === 'string' ? body.operationName : undefined,
    });
    send(res, 200, result);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { errors: [{ message: err instanceof Error ? err.message : String(err) }] });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;

  // Event i is due at start + i / rate: a late one does not push back those after it.
  const publish = async (rate: number, count: number): Promise<PublishResult> => {
    const subscriptions = events.subscriptions;
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const wait = start + (i * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      events.publish();
    }
    return { published: count, subscriptions, seconds: (performance.now() - start) / 1000 };
  };

  // The reviews subgraph's subscriptions, at its HTTP URL.
  const wss = new WebSocketServer({ server, path: '/reviews/graphql' });
  useServer({ schema: schemas.reviews }, wss);
  const closeSockets = () =>
    new Promise<void>((resolve) => {
      for (const socket of wss.clients) socket.terminate();
      wss.close(() => resolve());
    });
  return { server, counts, events, closeSockets };
}

/** The subgraph requests a server has answered so far. */
export async function readSubgraphCounts(baseUrl: string): Promise<SubgraphCounts> {
  const response = await fetch(`${baseUrl}/counts`);
  if (!response.ok) throw new Error(`${baseUrl}/counts answered ${response.status}`);
  return (await response.json()) as SubgraphCounts;
}
