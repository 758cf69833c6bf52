/**
 * What the edge tests share: a small subgraph of their own (a `ticks(topic)` subscription the test
 * drives, and a `ping` query), a gateway started in this process on its supergraph with the
 * settings a test asks for, and clients that connect from a chosen loopback address, so that each
 * test is a different client of the gateway's rates and caps (a client is its remote address
 * until it has a token).
 */
import { EventEmitter, on } from 'node:events';
import { request } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, parse } from 'graphql';
import WebSocket from 'ws';
import { startGraphQLHost, type GraphQLHost } from '../../lib/graphql-http.ts';
import { DEFAULT_EDGE } from '../../lib/edge.ts';
import { serveGraphQLOverWebSocket, type WebSocketHost } from '../../lib/graphql-ws.ts';
import { createLogger } from '../../lib/logger.ts';
import { readGatewayConfig } from '../../gateway/src/config.ts';
import { startGateway } from '../../gateway/src/server.ts';
import { devAuth, type DevAuth } from '../../scripts/dev-auth.ts';
import { readCounter } from '../support/metrics.ts';
import { TEST_IDENTITY_SECRET } from '../support/identity.ts';

const log = createLogger('edge-test', 'silent');

/** The ticks subgraph's SDL. A tick's `detail` always fails, with TICK_DETAIL_ERROR. */
export const TICKS_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query { ping: String! }
  type Subscription { ticks(topic: String!): Tick! }
  type Tick { detail: String n: Int! topic: String! }
`;
const typeDefs = parse(TICKS_SDL);

export const TICKS = 'subscription Ticks($topic: String!) { ticks(topic: $topic) { n topic } }';

/** What a subgraph must never get to tell a client: an undocumented code, a path, its stack and its query. */
export const TICK_DETAIL_ERROR = {
  message: 'relation "ticks" failed at /srv/ticks/db.ts:3:4',
  extensions: { code: 'SQL_ERROR', stacktrace: ['at query (/srv/ticks/db.ts:3:4)'], sql: 'SELECT detail FROM ticks' },
};

/** The ticks subgraph: `tick(topic, n)` sends one event to every subscription of `topic`. */
export interface TicksSubgraph {
  url: string;
  tick(topic: string, n: number): void;
  /** Upstream subscriptions of `topic` open in the subgraph now. */
  listeners(topic: string): number;
  stop(): Promise<void>;
}

export async function startTicksSubgraph(): Promise<TicksSubgraph> {
  const bus = new EventEmitter().setMaxListeners(0);
  const schema = buildSubgraphSchema([
    {
      typeDefs,
      resolvers: {
        Query: { ping: () => 'pong' },
        Tick: {
          detail: () => {
            throw new GraphQLError(TICK_DETAIL_ERROR.message, { extensions: TICK_DETAIL_ERROR.extensions });
          },
        },
        Subscription: {
          ticks: {
            // An iterator whose return() ends the wait for the next event at once (an async
            // generator's would wait for that event), so a released subscription leaves the bus.
            subscribe: (_root: unknown, { topic }: { topic: string }): AsyncIterableIterator<unknown> => {
              const events = on(bus, topic);
              const iterator: AsyncIterableIterator<unknown> = {
                next: async () => {
                  const event = await events.next();
                  return event.done ? event : { done: false, value: { ticks: { n: event.value[0] as number, topic } } };
                },
                return: async () => (await events.return?.()) ?? { done: true, value: undefined },
                [Symbol.asyncIterator]: () => iterator,
              };
              return iterator;
            },
          },
        },
      },
    },
  ]);
  const host: GraphQLHost = await startGraphQLHost({
    name: 'ticks',
    log,
    host: '127.0.0.1',
    port: 0,
    bodyLimitBytes: 100_000,
    edge: DEFAULT_EDGE,
    apollo: { schema, plugins: [ApolloServerPluginInlineTraceDisabled()] },
    context: async () => ({}),
    readiness: () => ({ ready: true }),
  });
  const ws: WebSocketHost = serveGraphQLOverWebSocket({ httpServer: host.httpServer, path: '/graphql', log, graphql: { schema } });
  return {
    url: host.url,
    tick: (topic, n) => bus.emit(topic, n),
    listeners: (topic) => bus.listenerCount(topic),
    stop: async () => {
      await ws.stop();
      await host.stop();
    },
  };
}

export interface EdgeGateway {
  /** `http://127.0.0.1:<port>`. */
  baseUrl: string;
  wsUrl: string;
  /** `gateway_edge_refusals_total` for one limit. */
  refusals(limit: string): Promise<number>;
  /** The gateway's subscription counts (the ops listener's /readyz). */
  subscriptions(): Promise<{ shared: number; subscribers: number; upstreamOpened: number }>;
  stop(): Promise<void>;
}

/** A gateway in this process on the ticks subgraph, with these settings (environment variable names). */
export async function startEdgeGateway(subgraph: TicksSubgraph, env: Record<string, string> = {}): Promise<EdgeGateway> {
  const composed = composeServices([{ name: 'ticks', typeDefs, url: subgraph.url }]);
  if (!composed.supergraphSdl) throw new Error(`composition failed: ${String(composed.errors)}`);
  const dir = await mkdtemp(join(tmpdir(), 'interchange-edge-'));
  const supergraph = join(dir, 'supergraph.graphql');
  await writeFile(supergraph, composed.supergraphSdl);
  const config = readGatewayConfig(
    {
      SUPERGRAPH: supergraph,
      DATA_DIR: dir,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      IDENTITY_SECRET: TEST_IDENTITY_SECRET,
      ...env,
    },
    [],
  );
  const host = await startGateway(config, log);
  const baseUrl = `http://127.0.0.1:${host.port}`;
  return {
    baseUrl,
    wsUrl: `ws://127.0.0.1:${host.port}/graphql`,
    refusals: (limit) => readCounter(`${host.opsUrl}/metrics`, 'gateway_edge_refusals_total', { limit }),
    subscriptions: async () =>
      (
        (await (await fetch(`${host.opsUrl}/readyz`)).json()) as {
          subscriptions: { shared: number; subscribers: number; upstreamOpened: number };
        }
      ).subscriptions,
    stop: async () => {
      await host.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A development key set in a directory of its own, the gateway settings that verify its tokens, and its removal. */
export interface EdgeKeys {
  auth: DevAuth;
  env: Record<string, string>;
  remove(): Promise<void>;
}

export async function edgeKeys(): Promise<EdgeKeys> {
  const dir = await mkdtemp(join(tmpdir(), 'interchange-keys-'));
  const auth = await devAuth(dir);
  return {
    auth,
    env: { JWKS_FILE: auth.jwksFile, JWT_ISSUER: auth.issuer, JWT_AUDIENCE: auth.audience },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = { errors?: { message: string; extensions?: Record<string, unknown> }[]; data?: unknown }>(): T;
}

/** One HTTP request from `from` (a loopback address: which client the gateway sees). */
export function send(
  url: string,
  options: { from: string; method?: string; headers?: Record<string, string>; body?: unknown },
): Promise<HttpAnswer> {
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        localAddress: options.from,
        headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...options.headers },
        signal: AbortSignal.timeout(30_000),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A GraphQL POST to the gateway's /graphql from `from`. */
export const postQuery = (gateway: EdgeGateway, from: string, query = '{ ping }') =>
  send(`${gateway.baseUrl}/graphql`, { from, body: { query } });

/** An HTTP response that streams (Server-Sent Events), read as it arrives; `close` aborts it. */
export interface OpenStream {
  status: number;
  /** Everything received so far. */
  text(): string;
  /** Settles once the response ended (either side). */
  ended: Promise<void>;
  close(): void;
}

export function openStream(
  url: string,
  options: { from: string; method?: string; headers?: Record<string, string>; body?: unknown },
): Promise<OpenStream> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const abort = new AbortController();
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        localAddress: options.from,
        headers: { accept: 'text/event-stream', ...(body !== undefined && { 'content-type': 'application/json' }), ...options.headers },
        signal: abort.signal,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        const ended = new Promise<void>((done) => {
          res.once('close', done);
          res.once('error', () => done());
        });
        resolve({ status: res.statusCode ?? 0, text: () => text, ended, close: () => abort.abort() });
      },
    );
    req.on('error', (err) => (abort.signal.aborted ? undefined : reject(err)));
    req.end(body);
  });
}

/** The answer to a WebSocket upgrade: 101 with the open socket, else the status and body of the refusal. */
export interface UpgradeAnswer {
  status: number;
  text: string;
  /** The upgraded socket (101), open until the test closes it. */
  socket?: WebSocket;
}

/** A WebSocket upgrade from `from` (a loopback address), with `origin` when given; sends nothing after it. */
export function upgrade(gateway: EdgeGateway, options: { from?: string; origin?: string } = {}): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(gateway.wsUrl, 'graphql-transport-ws', {
      ...(options.origin !== undefined && { origin: options.origin }),
      ...(options.from !== undefined && { localAddress: options.from }),
      handshakeTimeout: 30_000,
    });
    socket.once('open', () => resolve({ status: 101, text: '', socket }));
    socket.once('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    socket.once('error', reject);
  });
}
