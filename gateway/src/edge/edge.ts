/**
 * The gateway's edge: per-client rates and caps, and which origins may connect, for every
 * transport. server.ts makes one at start and calls it from each transport's hooks; the limits
 * themselves live in the modules next to this one.
 */
import type { IncomingMessage } from 'node:http';
import type { Express, RequestHandler } from 'express';
import type { OperationContext } from 'graphql-sse';
import type { Registry } from 'prom-client';
import { GRAPHQL_PATH } from '../../../lib/graphql-http.ts';
import type { Logger } from '../../../lib/logger.ts';
import type { GatewayConfig } from '../config.ts';
import type { SubscriptionEdge } from '../subscriptions/engine.ts';
import { KeyedCounts } from './counts.ts';
import { identifyClient, proxyTrust, type ProxyTrust } from './client.ts';
import { RefusedTokens, chargedAuthentication, clientAddresses, corsFor, operationRateLimit } from './http.ts';
import { refusedOrigin } from './origin.ts';
import { ClientRate } from './rate.ts';
import { EdgeLimit, errorBody, Refusals } from './refusals.ts';
import { serveGraphQLOverSse, type SseOptions } from './sse.ts';
import { WebSocketEdge } from './websocket.ts';

/** A raw HTTP answer to an upgrade request the edge refuses. */
export interface UpgradeRefusal {
  status: number;
  body: string;
}

export type EdgeConfig = Pick<
  GatewayConfig,
  | 'RATE_LIMIT_PER_SECOND'
  | 'RATE_LIMIT_BURST'
  | 'SUBSCRIPTION_EVENTS_PER_SECOND'
  | 'SUBSCRIPTION_EVENTS_BURST'
  | 'MAX_WEBSOCKETS_PER_CLIENT'
  | 'MAX_WEBSOCKETS'
  | 'MAX_SUBSCRIPTIONS_PER_SOCKET'
  | 'MAX_UPSTREAM_SUBSCRIPTIONS_PER_CLIENT'
  | 'MAX_SSE_STREAMS'
  | 'MAX_SSE_STREAMS_PER_CLIENT'
  | 'MAX_SSE_RESERVATIONS'
  | 'MAX_SSE_RESERVATIONS_PER_CLIENT'
  | 'SSE_RESERVATION_TTL_MS'
  | 'ALLOWED_ORIGINS'
  | 'CORS_ORIGINS'
  | 'TRUSTED_PROXIES'
>;

export class Edge {
  readonly webSocket: WebSocketEdge;
  private readonly refusals: Refusals;
  private readonly operations: ClientRate;
  /** Requests refused by authentication, per address: at the operation rate, a bucket of their own. */
  readonly refusedTokens: RefusedTokens;
  private readonly trust: ProxyTrust;
  private readonly events: ClientRate;
  private readonly upstream: KeyedCounts;
  private readonly config: EdgeConfig;
  private readonly log: Logger;

  constructor(config: EdgeConfig, registry: Registry, log: Logger) {
    this.config = config;
    this.log = log;
    this.refusals = new Refusals(registry);
    this.operations = new ClientRate('operations', config.RATE_LIMIT_PER_SECOND, config.RATE_LIMIT_BURST);
    this.refusedTokens = new RefusedTokens(
      new ClientRate('refused-tokens', config.RATE_LIMIT_PER_SECOND, config.RATE_LIMIT_BURST),
      this.refusals,
    );
    this.trust = proxyTrust(config.TRUSTED_PROXIES);
    this.events = new ClientRate('events', config.SUBSCRIPTION_EVENTS_PER_SECOND, config.SUBSCRIPTION_EVENTS_BURST);
    this.upstream = new KeyedCounts(config.MAX_UPSTREAM_SUBSCRIPTIONS_PER_CLIENT);
    this.webSocket = new WebSocketEdge({
      sockets: new KeyedCounts(config.MAX_WEBSOCKETS_PER_CLIENT),
      maxSockets: config.MAX_WEBSOCKETS,
      maxOperations: config.MAX_SUBSCRIPTIONS_PER_SOCKET,
      rate: this.operations,
      refusals: this.refusals,
    });
  }

  /**
   * Everything on `/graphql` and below (`ssePath`) before the operation is read, in this order: the
   * client's address; CORS (so a browser can read every refusal after it, a 401 included);
   * `authenticate`, with the requests it refuses charged to their address; the operation rate,
   * charged to the verified client.
   */
  routes(app: Express, ssePath: string, authenticate: RequestHandler): void {
    app.use(GRAPHQL_PATH, clientAddresses(this.trust));
    const cors = corsFor(this.config.CORS_ORIGINS);
    if (cors) app.use([GRAPHQL_PATH, ssePath], cors);
    app.use(GRAPHQL_PATH, chargedAuthentication(authenticate, this.refusedTokens));
    const limit = operationRateLimit(this.operations, this.refusals);
    app.post(GRAPHQL_PATH, limit);
    app.get(GRAPHQL_PATH, limit);
  }

  /**
   * Called for every WebSocket upgrade: finds its client address (TRUSTED_PROXIES), then answers one
   * refused: an origin that is not allowed (403 ORIGIN_NOT_ALLOWED), a socket cap reached (websocket.ts).
   */
  upgrade(request: IncomingMessage): UpgradeRefusal | undefined {
    identifyClient(request, this.trust);
    const origin = refusedOrigin(request, this.config.ALLOWED_ORIGINS);
    return origin === undefined
      ? this.webSocket.upgrade(request)
      : { status: 403, body: errorBody(this.refusals.originNotAllowed(origin)) };
  }

  /** What a client's subscription is held to: its upstream subscriptions counted, its events charged. */
  subscription(client: string): SubscriptionEdge {
    return {
      openUpstream: () =>
        this.upstream.acquire(client) ??
        this.refusals.capacityExceeded(
          EdgeLimit.UPSTREAM_SUBSCRIPTIONS_PER_CLIENT,
          this.upstream.max,
          'distinct subscriptions this client holds open upstream',
        ),
      budget: this.events.limited
        ? {
            take: async () => {
              const retryAfterMs = await this.events.take(client);
              if (retryAfterMs !== undefined) this.refusals.count(EdgeLimit.SUBSCRIPTION_EVENTS);
              return retryAfterMs;
            },
          }
        : undefined,
    };
  }

  /** The SSE endpoint's handler, graphql-sse with reservations that expire, stream caps and the operation rate. */
  sse<C extends OperationContext>(options: SseOptions<C>): ReturnType<typeof serveGraphQLOverSse> {
    return serveGraphQLOverSse(options, {
      rate: this.operations,
      refusals: this.refusals,
      maxStreams: this.config.MAX_SSE_STREAMS,
      maxStreamsPerClient: this.config.MAX_SSE_STREAMS_PER_CLIENT,
      maxReservations: this.config.MAX_SSE_RESERVATIONS,
      maxReservationsPerClient: this.config.MAX_SSE_RESERVATIONS_PER_CLIENT,
      reservationTtlMs: this.config.SSE_RESERVATION_TTL_MS,
      log: this.log,
    });
  }
}
