/**
 * The gateway's configuration: environment variables, overridden by command-line flags. This is the
 * only module of the gateway that reads `process.env` or `process.argv`.
 */
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_DATA_DIR, listenFlags, loadConfig, setting, withFlags, type Settings } from '../../lib/config.ts';
import { authSettings, checkAuthSettings } from './auth/settings.ts';
import { edgeSettings } from '../../lib/edge.ts';
import { validProxies } from './edge/client.ts';

/** A comma-separated list, trimmed, empty items dropped. */
const commaList = z
  .string()
  .default('')
  .transform((text) =>
    text
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );

export const gatewaySettings = z.object({
  /** Path of the supergraph SDL to serve. */
  SUPERGRAPH: z
    .string()
    .min(1)
    .default('schema/supergraph.graphql')
    .transform((p) => resolve(p)),
  /** Poll this URL for the supergraph (with If-None-Match) instead of reading SUPERGRAPH. */
  SUPERGRAPH_URL: setting.url().optional(),
  /** How often SUPERGRAPH_URL is polled, in ms. */
  SUPERGRAPH_POLL_MS: setting.millis(10_000),
  /** Reload the supergraph when its file changes (POST /reload on the ops listener reloads it either way). */
  SUPERGRAPH_WATCH: setting.flag(true),
  /** How often /readyz checks that each subgraph answers, in ms. */
  SUBGRAPH_PROBE_MS: setting.millis(10_000),
  /** Port of the HTTP endpoint (GraphQL at /graphql, playground at /); 0 picks a free one. */
  PORT: setting.port(4000),
  HOST: setting.host('127.0.0.1'),
  LOG_LEVEL: setting.logLevel(),
  SUBGRAPH_URLS: setting.subgraphUrls(),
  /** How long one subgraph request may take, in ms. */
  SUBGRAPH_TIMEOUT_MS: setting.millis(10_000),
  /** Connections to each subgraph at most (keep-alive, pooled); requests beyond wait in a queue. */
  SUBGRAPH_MAX_CONNECTIONS: setting.count(128),
  /** Largest subgraph answer read, in bytes: a larger one is cut off and the subgraph counts as unavailable. */
  SUBGRAPH_MAX_RESPONSE_BYTES: setting.count(64_000_000),
  /**
   * Identical queries in flight (same document, variables, caller identity and forwarded headers)
   * run once, and every caller gets the answer. Off by default: each request runs on its own.
   */
  DEDUPLICATE_REQUESTS: setting.flag(false),
  /** Largest accepted request body, in bytes. */
  BODY_LIMIT_BYTES: setting.count(1_000_000),
  /** Serve the GraphiQL playground at / (and at /graphql to browsers). */
  PLAYGROUND: setting.flag(true),
  /** Answer introspection queries (the playground needs them for docs and autocompletion). */
  INTROSPECTION: setting.flag(true),
  /**
   * Request headers passed on to subgraphs (over WebSocket: taken from the connection_init payload);
   * none by default: subgraphs learn who is calling from the gateway's signed identity header.
   */
  FORWARD_HEADERS: z
    .string()
    .default('')
    .transform((text) =>
      text
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    ),
  /** Results a subscriber may fall behind before its subscription ends with SUBSCRIBER_TOO_SLOW. */
  SUBSCRIPTION_BUFFER_EVENTS: setting.count(1_000),
  /**
   * Upstream events that may wait to be resolved per shared subscription; beyond it the gateway drops
   * them and reopens the upstream subscription from its position (a `@resumable` field: clients see
   * only RECONNECTING), or ends the clients with SUBSCRIBER_TOO_SLOW (a field without positions).
   */
  UPSTREAM_BACKLOG_EVENTS: setting.count(10_000),
  /**
   * Subscription events resolved at once across the subgraphs, gateway-wide; more wait their turn
   * (a burst of resuming clients is paced instead of overwhelming the subgraphs).
   */
  SUBSCRIPTION_RESOLVE_CONCURRENCY: setting.count(64),
  /**
   * Extra attempts, after a back-off, for a subscription event whose entity fetches failed only
   * because a subgraph did not answer (SUBGRAPH_UNAVAILABLE); then it is delivered with its errors.
   */
  SUBSCRIPTION_RESOLVE_RETRIES: z.coerce.number().int().min(0).default(2),
  /**
   * Reopenings in a row of an interrupted upstream subscription (socket lost, subgraph restarted,
   * backlog overflow) before its clients get SUBGRAPH_UNAVAILABLE; a message from the reopened
   * stream starts the count again.
   */
  UPSTREAM_SUBSCRIPTION_RETRIES: z.coerce.number().int().min(0).default(10),
  /** Time an interrupted upstream subscription has to be open again before its clients get SUBGRAPH_UNAVAILABLE, in ms. */
  UPSTREAM_RECOVERY_MS: setting.millis(60_000),
  /**
   * Records a subscription's source may be behind its log (as its checkpoints report) before the
   * results say `PROJECTION_BEHIND` in `extensions.stream`: a few records in flight are normal.
   */
  STREAM_LAG_THRESHOLD_EVENTS: setting.count(1_000),
  /** Bound on each step of opening an upstream subscription socket (WebSocket handshake, then connection_ack), in ms. */
  UPSTREAM_CONNECT_TIMEOUT_MS: setting.millis(5_000),
  /** How long a WebSocket client may take to send connection_init, in ms. */
  CONNECTION_INIT_TIMEOUT_MS: setting.millis(3_000),
  /**
   * Interval of the WebSocket pings that find dead client connections, in ms: a client that has not
   * answered one ping by the next is disconnected.
   */
  WEBSOCKET_KEEP_ALIVE_MS: setting.millis(12_000),
  /**
   * Refuse GET and simple POST requests that a browser could send cross-site without a preflight,
   * unless they carry a non-simple header (Content-Type: application/json, or apollo-require-preflight).
   */
  CSRF_PREVENTION: setting.flag(true),
  ...authSettings,
  /** Check the operation limits below before validation and planning (false: the benchmark's baseline). */
  OPERATION_LIMITS: setting.flag(true),
  /** Deepest field nesting an operation may have (a root field is at depth 1). */
  MAX_DEPTH: setting.count(15),
  /** Aliases an operation may use, counted through its fragments. */
  MAX_ALIASES: setting.count(30),
  /** Fields an operation may select at its root. */
  MAX_ROOT_FIELDS: setting.count(20),
  /**
   * Field selections an operation may have with every fragment expanded where it is spread (a
   * fragment spread twice counts twice): bounds what validation and planning walk, which a fragment
   * bomb of scalar fields would otherwise double per fragment. Counted without expanding anything.
   */
  MAX_FIELDS: setting.count(500),
  /** Directives an operation may use, counted through its fragments. */
  MAX_DIRECTIVES: setting.count(50),
  /**
   * Tokens the parser reads before it gives up on a document. It also bounds the one part of
   * standard validation that is worse than linear even without aliases: repeated selections of the
   * same field, which OverlappingFieldsCanBeMerged compares pairwise (up to graphql-js's own budget).
   */
  MAX_TOKENS: setting.count(2_000),
  /** Largest document (the query text), in bytes, checked before it is parsed. */
  MAX_DOCUMENT_BYTES: setting.count(65_536),
  /** Largest estimated cost (README: "Operation limits"). */
  MAX_COST: setting.count(10_000),
  /** Size assumed for a list field without a slicing argument or `@listSize(assumedSize)`. */
  DEFAULT_LIST_SIZE: setting.count(10),
  /** Path of an Apollo persisted query manifest: its operations can be run by id. */
  TRUSTED_DOCUMENTS: z
    .string()
    .min(1)
    .optional()
    .transform((p) => (p === undefined ? undefined : resolve(p))),
  /** Run only the operations in the TRUSTED_DOCUMENTS manifest. */
  TRUSTED_DOCUMENTS_REQUIRED: setting.flag(false),
  /** Memory the cache of query and mutation plans (and their compiled response shapers) may take, in bytes (estimated). */
  QUERY_PLAN_CACHE_BYTES: setting.count(50_000_000),
  /** Memory the cache of subscription plans may take, in bytes (estimated from each document's size). */
  SUBSCRIPTION_PLAN_CACHE_BYTES: setting.count(50_000_000),
  /** Where the gateway keeps its data (the usage record, unless USAGE_FILE says otherwise); one directory per gateway. */
  DATA_DIR: setting.directory(DEFAULT_DATA_DIR),
  /**
   * The usage record (the operations served, what they use of the schema, how often, when last):
   * what `interchange check` checks a schema change against. Default: `gateway-usage.json` in DATA_DIR.
   */
  USAGE_FILE: z
    .string()
    .min(1)
    .optional()
    .transform((p) => (p === undefined ? undefined : resolve(p))),
  /** Operations the usage record keeps; beyond it the one seen least recently goes. */
  USAGE_MAX_OPERATIONS: setting.count(10_000),
  /**
   * The part of USAGE_MAX_OPERATIONS (above 0, at most 1) one client (a token's subject; every caller
   * without a token is one) may hold with operations no other client ran: at its share, a new one
   * drops its own seen least recently, never another client's (usage/record.ts). Default 0.1.
   */
  USAGE_CLIENT_SHARE: z.coerce.number().gt(0).max(1).default(0.1),
  /** Time between writes of the usage record while it changes, in ms (and one more on a graceful stop). */
  USAGE_FLUSH_MS: setting.millis(30_000),
  // The edge (gateway/src/edge/): per-client rates and caps, origins. A client is its token's
  // subject, else its remote address. A rate of 0 turns that limit off; a rate below 1 is one per
  // so many seconds (0.1: one every 10 s).
  /** Operations (HTTP, WebSocket, SSE) a client may start per second, sustained. */
  RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).default(500),
  /** Operations a client may start beyond the per-second rate, refilled at that rate. */
  RATE_LIMIT_BURST: z.coerce.number().int().min(0).default(1_000),
  /** Subscription results a client may be delivered per second (all its subscriptions together), sustained. */
  SUBSCRIPTION_EVENTS_PER_SECOND: z.coerce.number().min(0).default(10_000),
  /** Subscription results a client may be delivered beyond the per-second rate, refilled at that rate. */
  SUBSCRIPTION_EVENTS_BURST: z.coerce.number().int().min(0).default(100_000),
  /** WebSocket connections one client may hold open (counted from the upgrade, by address until connection_init names a subject). */
  MAX_WEBSOCKETS_PER_CLIENT: setting.count(100),
  /** WebSocket connections open at once, for all clients. */
  MAX_WEBSOCKETS: setting.count(10_000),
  /** Operations (subscriptions, and queries in flight) open at once on one WebSocket. */
  MAX_SUBSCRIPTIONS_PER_SOCKET: setting.count(100),
  /** Distinct shared (upstream) subscriptions one client may have opened that are still open (joining an open one is free). */
  MAX_UPSTREAM_SUBSCRIPTIONS_PER_CLIENT: setting.count(500),
  /** Server-Sent Events responses open at once, for all clients. */
  MAX_SSE_STREAMS: setting.count(1_000),
  /** Server-Sent Events responses one client may have open at once. */
  MAX_SSE_STREAMS_PER_CLIENT: setting.count(100),
  /** graphql-sse single-connection reservations (PUT) not yet streamed, for all clients. */
  MAX_SSE_RESERVATIONS: setting.count(100),
  /** graphql-sse reservations one client may have waiting to be streamed. */
  MAX_SSE_RESERVATIONS_PER_CLIENT: setting.count(10),
  /** Time a reservation has to be streamed (GET) before it expires and what was posted to it is released, in ms. */
  SSE_RESERVATION_TTL_MS: setting.millis(10_000),
  /** Origins (`https://app.example.com`, comma-separated) allowed to open a WebSocket besides same-origin pages and clients that send none. */
  ALLOWED_ORIGINS: commaList,
  /** Origins CORS allows on /graphql and /graphql/stream (comma-separated, `*` for any); empty: CORS off. */
  CORS_ORIGINS: commaList,
  /**
   * Proxies whose `X-Forwarded-For` names the client (addresses, CIDR ranges, or `loopback`,
   * `linklocal`, `uniquelocal`; comma-separated); empty: the client is the socket's address.
   */
  TRUSTED_PROXIES: commaList.refine(
    (list) => validProxies(list),
    'must be IP addresses or CIDR ranges (or loopback, linklocal, uniquelocal), comma-separated',
  ),
  ...edgeSettings,
  /**
   * Production: no introspection, no "Did you mean" suggestions, no playground, and subgraph error
   * messages whose code is not documented are masked (the original goes to the log).
   */
  PRODUCTION: setting.flag(false),
});

/** The settings, with those whose default depends on another filled in. */
const gatewayConfig = gatewaySettings.transform((config) => ({
  ...config,
  USAGE_FILE: config.USAGE_FILE ?? join(config.DATA_DIR, 'gateway-usage.json'),
}));

export type GatewayConfig = z.output<typeof gatewayConfig>;

/** Reads the gateway's settings from the environment and `argv` (flags win). */
export function readGatewayConfig(env: Settings = process.env, argv: readonly string[] = process.argv.slice(2)): GatewayConfig {
  const flags = { ...listenFlags, supergraph: 'SUPERGRAPH', subgraph: { setting: 'SUBGRAPH_URLS', repeatable: true } } as const;
  const config = loadConfig('gateway', gatewayConfig, withFlags('gateway', env, argv, flags));
  checkAuthSettings(config);
  return config;
}

/**
 * `@apollo/gateway` reports usage to its vendor unless this variable is set; Interchange never lets
 * it. Called before any gateway is constructed.
 */
export function disableVendorTelemetry(): void {
  process.env['APOLLO_TELEMETRY_DISABLED'] = '1';
}
