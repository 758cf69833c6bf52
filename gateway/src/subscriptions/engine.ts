/**
 * Federated subscriptions: plans a validated subscription, shares one upstream subscription and one
 * resolution per event among all clients that sent the same operation, variables and identity, and
 * hands each client a bounded stream of results.
 */
import { createHash } from 'node:crypto';
import type { ServiceMap } from '@apollo/gateway';
import type { Schema } from '@apollo/federation-internals';
import { GraphQLError, print, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Principal } from '../../../lib/auth/principal.ts';
import { IDENTITY_HEADER, signIdentity } from '../../../lib/auth/signed-identity.ts';
import { ErrorCode } from '../../../lib/errors.ts';
import type { Logger } from '../../../lib/logger.ts';
import { RESUMABLE_EXTENSION, STREAM_EXTENSION } from '../../../lib/resumable.ts';
import { SubscriptionPlanner, type SubscriptionPlan } from './plan.ts';
import { variableErrors } from './variables.ts';
import { resolveEvent } from './resolve-event.ts';
import { SharedSubscription } from './shared.ts';
import type { EventBudget } from './subscriber.ts';
import { systemClock, type Clock, type OpenStream } from './stream.ts';
import { UpstreamConnections, type UpstreamRequest } from './upstream.ts';

export interface SubscriptionEngineOptions {
  supergraphSdl: string;
  /** Subgraph name -> HTTP GraphQL URL (upstream subscriptions use the same URL over WebSocket). */
  urls: Map<string, string>;
  /** Data sources for the entity fetches of each event (the gateway's subgraph transport). */
  serviceMap: ServiceMap;
  log: Logger;
  /** Results a client may fall behind before its subscription ends with SUBSCRIBER_TOO_SLOW. */
  subscriberBufferEvents: number;
  /** Reopenings in a row of an interrupted upstream subscription before its clients get an error. */
  upstreamRetryAttempts: number;
  /** Time an interrupted upstream subscription has to be open again before its clients get an error, in ms. */
  upstreamRecoveryMs: number;
  /** Records an upstream stream's source may be behind its log before clients are told PROJECTION_BEHIND. */
  lagThresholdEvents: number;
  /** Bound on the WebSocket handshake and on the wait for connection_ack of an upstream socket, in ms. */
  upstreamConnectTimeoutMs: number;
  /** Upstream events that may wait to be resolved before the gateway reopens the upstream from its position (bounded memory). */
  upstreamBacklogEvents: number;
  /** The secret upstream sockets sign the caller's identity with (lib/auth/signed-identity.ts). */
  identitySecret: string;
  /** Memory the cache of subscription plans may take, in bytes. Default 50 MB. */
  planCacheBytes?: number | undefined;
  /** Time for the subscriptions (tests pass a fake one). Default: the system's. */
  clock?: Clock | undefined;
  /** How upstream subscriptions are opened (tests pass a fake). Default: graphql-ws to the subgraph's URL. */
  openUpstream?: ((serviceName: string, request: UpstreamRequest, identity: Record<string, string>) => ReturnType<OpenStream>) | undefined;
}

export interface SubscribeArgs {
  document: DocumentNode;
  variables: Record<string, unknown>;
  operationName: string | undefined;
  /** What identifies the caller to subgraphs (forwarded headers): part of the sharing key. */
  identity: Record<string, string>;
  /** Who is calling (verified by the gateway; signed for the subgraph): part of the sharing key. */
  principal: Principal;
  /** The subscribe message's `extensions`: `{ stream: { status: true } }` asks for status-only results. */
  extensions?: Readonly<Record<string, unknown>> | undefined;
  /** The client's limits; none: unlimited. */
  edge?: SubscriptionEdge | undefined;
}

/** What the edge holds a client's subscription to (gateway/src/edge/). */
export interface SubscriptionEdge {
  /**
   * Asked before the client's subscription opens a new shared (upstream) subscription: the release
   * to call once that closes, or the refusal the client gets instead.
   */
  openUpstream(): (() => void) | GraphQLError;
  /** The client's event budget. */
  budget?: EventBudget | undefined;
}

export interface SubscriptionStats {
  /** Distinct subscriptions (= upstream subscriptions) open now. */
  shared: number;
  /** Client subscriptions open now. */
  subscribers: number;
  /** Upstream subscriptions opened since start (private replays and reopenings included). */
  upstreamOpened: number;
}

export class SubscriptionEngine {
  private readonly planner: SubscriptionPlanner;
  private readonly upstream: UpstreamConnections;
  private readonly shared = new Map<string, SharedSubscription>();
  private readonly fedApiSchema: Schema;
  private closed = false;
  private opened = 0;

  private readonly options: SubscriptionEngineOptions;

  /** Throws when the supergraph cannot be loaded, or declares `@resumable` wrongly. */
  constructor(options: SubscriptionEngineOptions) {
    this.options = options;
    this.planner = new SubscriptionPlanner(options.supergraphSdl, options.planCacheBytes);
    this.fedApiSchema = this.planner.supergraph.apiSchema();
    this.upstream = new UpstreamConnections({ urls: options.urls, log: options.log, connectTimeoutMs: options.upstreamConnectTimeoutMs });
  }

  /** The API schema clients validate against (with the Subscription type). */
  get schema() {
    return this.planner.apiSchema;
  }

  subscribe(args: SubscribeArgs): AsyncIterableIterator<ExecutionResult> | ExecutionResult {
    if (this.closed)
      return { errors: [new GraphQLError('the gateway is shutting down', { extensions: { code: ErrorCode.SUBGRAPH_UNAVAILABLE } })] };
    const invalid = variableErrors(this.schema, args.document, args.operationName, args.variables);
    if (invalid.length > 0) return { errors: invalid };
    const query = print(args.document);
    let plan;
    try {
      plan = this.planner.plan(args.document, args.operationName, `${args.operationName ?? ''}\u0000${query}`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return {
        errors: [new GraphQLError(`cannot plan this subscription: ${message}`, { extensions: { code: ErrorCode.BAD_USER_INPUT } })],
      };
    }
    // Clients that differ only in where they resume share the stream: each gets a private replay first.
    const key = createHash('sha256')
      .update(
        JSON.stringify([args.operationName ?? null, plan.sharedQuery, plan.sharedVariables(args.variables), args.identity, args.principal]),
      )
      .digest('base64url');
    let shared = this.shared.get(key);
    if (!shared) {
      const release = args.edge?.openUpstream() ?? (() => {});
      if (release instanceof GraphQLError) return { errors: [release] };
      shared = this.share(key, plan, query, args, release);
    }
    const stream = args.extensions?.[STREAM_EXTENSION] as { status?: unknown } | undefined;
    return shared.join({
      after: plan.resumable ? plan.resumeFrom(args.variables) : undefined,
      status: stream?.status === true,
      budget: args.edge?.budget,
    });
  }

  /** A new shared subscription, sending the first client's operation and variables upstream unchanged. */
  /** `release` is called once it closes (the edge's count of the client's upstream subscriptions). */
  private share(key: string, plan: SubscriptionPlan, query: string, args: SubscribeArgs, release: () => void): SharedSubscription {
    const { primary } = plan;
    const upstreamVariables = Object.fromEntries(
      (primary.variableUsages ?? []).filter((v) => v in args.variables).map((v) => [v, args.variables[v]]),
    );
    const open: OpenStream = (resume) => {
      this.opened++;
      const request = {
        query: primary.operation,
        variables: upstreamVariables,
        operationName: primary.operationName,
        ...(resume && { extensions: { [RESUMABLE_EXTENSION]: resume } }),
      };
      if (this.options.openUpstream) return this.options.openUpstream(primary.serviceName, request, args.identity);
      return this.upstream.subscribe(primary.serviceName, request, caller, this.options.upstreamBacklogEvents);
    };
    const { identity, principal } = args;
    // Signed at each connect: a socket opened again after a loss must not carry a stale signature.
    const caller = {
      key: JSON.stringify([identity, principal]),
      connectionParams: () => ({ headers: { ...identity, [IDENTITY_HEADER]: signIdentity(principal, this.options.identitySecret) } }),
    };
    const request = { query, variables: args.variables, operationName: args.operationName, context: { headers: identity, principal } };
    const deps = {
      serviceMap: this.options.serviceMap,
      supergraphSchema: this.planner.supergraphSchema,
      apiSchema: this.fedApiSchema,
      log: this.options.log,
    };
    const shared = new SharedSubscription({
      key,
      open,
      resumeArgument: plan.resumable?.argument,
      resolve: (event) => resolveEvent(plan, event, request, deps),
      subscriberCapacity: this.options.subscriberBufferEvents,
      lagThresholdEvents: this.options.lagThresholdEvents,
      policy: { attempts: this.options.upstreamRetryAttempts, budgetMs: this.options.upstreamRecoveryMs },
      clock: this.options.clock ?? systemClock,
      log: this.options.log.child({ subgraph: primary.serviceName }),
      serviceName: primary.serviceName,
      onClose: (closedKey) => {
        this.shared.delete(closedKey);
        release();
      },
    });
    this.shared.set(key, shared);
    return shared;
  }

  stats(): SubscriptionStats {
    let subscribers = 0;
    for (const shared of this.shared.values()) subscribers += shared.size;
    return { shared: this.shared.size, subscribers, upstreamOpened: this.opened };
  }

  /** Ends every subscription and closes the upstream sockets. */
  async close(): Promise<void> {
    this.closed = true;
    for (const shared of [...this.shared.values()]) shared.close();
    await this.upstream.close();
  }
}
