/**
 * The gateway's configuration: environment variables, overridden by command-line flags. This is the
 * only module of the gateway that reads `process.env` or `process.argv`.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { listenFlags, loadConfig, setting, withFlags, type Settings } from '../../lib/config.ts';
import { edgeSettings } from '../../lib/edge.ts';

/** `name=url,name=url`: where to reach subgraphs, overriding the URLs in the supergraph. */
const subgraphUrls = z
  .string()
  .default('')
  .transform((text, ctx) => {
    const urls: Record<string, string> = {};
    for (const pair of text
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const [name, url] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
      if (!pair.includes('=') || !name || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
        ctx.addIssue({ code: 'custom', message: `expected name=http(s)://url pairs separated by commas, got "${pair}"` });
        return z.NEVER;
      }
      urls[name] = url;
    }
    return urls;
  });

export const gatewaySettings = z.object({
  /** Path of the supergraph SDL to serve. */
  SUPERGRAPH: z
    .string()
    .min(1)
    .default('schema/supergraph.graphql')
    .transform((p) => resolve(p)),
  /** Port of the HTTP endpoint (GraphQL at /graphql, playground at /); 0 picks a free one. */
  PORT: setting.port(4000),
  HOST: setting.host('127.0.0.1'),
  LOG_LEVEL: setting.logLevel(),
  SUBGRAPH_URLS: subgraphUrls,
  /** How long one subgraph request may take, in ms. */
  SUBGRAPH_TIMEOUT_MS: setting.millis(10_000),
  /** Largest accepted request body, in bytes. */
  BODY_LIMIT_BYTES: setting.count(1_000_000),
  /** Serve the GraphiQL playground at / (and at /graphql to browsers). */
  PLAYGROUND: setting.flag(true),
  /** Answer introspection queries (the playground needs them for docs and autocompletion). */
  INTROSPECTION: setting.flag(true),
  /** Request headers passed on to subgraphs (over WebSocket: taken from the connection_init payload). */
  FORWARD_HEADERS: z
    .string()
    .default('authorization')
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
  ...edgeSettings,
  /**
   * Production: no introspection, no "Did you mean" suggestions, no playground, and subgraph error
   * messages whose code is not documented are masked (the original goes to the log).
   */
  PRODUCTION: setting.flag(false),
});

export type GatewayConfig = z.output<typeof gatewaySettings>;

/** Reads the gateway's settings from the environment and `argv` (flags win). */
export function readGatewayConfig(env: Settings = process.env, argv: readonly string[] = process.argv.slice(2)): GatewayConfig {
  const flags = { ...listenFlags, supergraph: 'SUPERGRAPH', subgraph: { setting: 'SUBGRAPH_URLS', repeatable: true } } as const;
  return loadConfig('gateway', gatewaySettings, withFlags('gateway', env, argv, flags));
}

/**
 * `@apollo/gateway` reports usage to its vendor unless this variable is set; Interchange never lets
 * it. Called before any gateway is constructed.
 */
export function disableVendorTelemetry(): void {
  process.env['APOLLO_TELEMETRY_DISABLED'] = '1';
}
