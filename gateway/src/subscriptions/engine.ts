/**
 * Federated subscriptions: plans a validated subscription, shares one upstream subscription and one
 * resolution per event among all clients that sent the same operation, variables and identity, and
 * hands each client a bounded stream of results.
 */
import { createHash } from 'node:crypto';
import { GraphQLError, print, validate, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Principal } from '../../../lib/auth/principal.ts';
import { IDENTITY_HEADER, signIdentity } from '../../../lib/auth/signed-identity.ts';
import { ErrorCode, InterchangeError } from '../../../lib/errors.ts';
import { withoutSuggestions } from '../../../lib/graphql-validation.ts';
import type { Logger } from '../../../lib/logger.ts';
import { RESUMABLE_EXTENSION, STREAM_EXTENSION } from '../../../lib/resumable.ts';
import { SubscriptionPlanner, type SubscriptionPlan } from './plan.ts';
import { variableErrors } from './variables.ts';
import { resolveEvent } from './resolve-event.ts';
import type { FederatedSchema } from '../executor/federated-schema.ts';
import { fetchSender, type SubgraphSenders } from '../executor/operations.ts';
import { eventResolution, type EventResolution, type EventResolutionOptions } from './resolution.ts';
import { SharedSubscription } from './shared.ts';
import type { EventBudget } from './subscriber.ts';
import { systemClock, type Clock, type OpenStream } from './stream.ts';
import { UpstreamConnections, type UpstreamRequest } from './upstream.ts';

export interface SubscriptionEngineOptions {
  /** The supergraph served (its schemas and planner, shared with queries). */
  schema: FederatedSchema;
  /** Subgraph name -> HTTP GraphQL URL (upstream subscriptions use the same URL over WebSocket). */
  urls: Map<string, string>;
  /** Clients for the entity fetches of each event (the gateway's subgraph transport). */
  senders: SubgraphSenders;
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
  /** Events resolved at once, gateway-wide, and the extra attempts of one whose subgraphs did not answer (resolution.ts). */
  resolution: EventResolutionOptions;
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
   * Asked before the client's subscription opens an upstream subscription (a new shared one, or
   * a private replay when it resumes): the release to call once that closes (a replay: once it
   * ends or merges into the shared stream), or the refusal the client gets instead.
   */
  openUpstream(): (() => void) | GraphQLError;
  /** The client's event budget. */
  budget?: EventBudget | undefined;
}

/** The edge's release of one more upstream subscription (none without an edge), or its refusal. */
const openUpstream = (edge: SubscriptionEdge | undefined): (() => void) | GraphQLError => edge?.openUpstream() ?? (() => {});

export interface SubscriptionStats {
  /** Distinct subscriptions (= upstream subscriptions) open now. */
  shared: number;
  /** Client subscriptions open now. */
  subscribers: number;
  /** Upstream subscriptions opened since start (private replays and reopenings included). */
  upstreamOpened: number;
}

/** A new supergraph for the subscription engine (`reload`). */
export interface EngineSupergraph {
  schema: FederatedSchema;
  urls: Map<string, string>;
  senders: SubgraphSenders;
}

/** What a reload did to the open subscriptions. */
export interface ReloadOutcome {
  /** Shared subscriptions that go on, resolved with the new plan. */
  kept: number;
  /** Of those, the ones whose upstream subscription was reopened from its position (it changed). */
  reopened: number;
  /** Shared subscriptions ended with SUBSCRIPTION_SCHEMA_RELOAD: what they select is gone. */
  ended: number;
}

/** A shared subscription and what it was planned from, to plan it again on a new supergraph. */
interface Planned {
  shared: SharedSubscription;
  args: SubscribeArgs;
  query: string;
  plan: SubscriptionPlan;
}

export class SubscriptionEngine {
  private planner: SubscriptionPlanner;
  private readonly upstream: UpstreamConnections;
  private readonly resolution: EventResolution;
  private readonly shared = new Map<string, Planned>();
  private closed = false;
  private opened = 0;

  private options: SubscriptionEngineOptions;

  /** Throws when the supergraph cannot be loaded, or declares `@resumable` wrongly. */
  constructor(options: SubscriptionEngineOptions) {
    this.options = options;
    this.planner = new SubscriptionPlanner(options.schema, options.planCacheBytes);
    this.upstream = new UpstreamConnections({ urls: options.urls, log: options.log, connectTimeoutMs: options.upstreamConnectTimeoutMs });
    this.resolution = eventResolution(options.resolution);
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
    const after = plan.resumable ? plan.resumeFrom(args.variables) : undefined;
    // A client resuming gets a private replay, an upstream stream of its own: it counts as one.
    const replayed = after === undefined ? undefined : openUpstream(args.edge);
    if (replayed instanceof GraphQLError) return { errors: [replayed] };
    let shared = this.shared.get(key)?.shared;
    if (!shared) {
      const release = openUpstream(args.edge);
      if (release instanceof GraphQLError) {
        replayed?.();
        return { errors: [release] };
      }
      shared = this.share(key, plan, query, args, release);
    }
    const stream = args.extensions?.[STREAM_EXTENSION] as { status?: unknown } | undefined;
    return shared.join({ after, status: stream?.status === true, budget: args.edge?.budget, replayEnded: replayed });
  }

  /** A new shared subscription, sending the first client's operation and variables upstream unchanged. */
  /** `release` is called once it closes (the edge's count of the client's upstream subscriptions). */
  private share(key: string, plan: SubscriptionPlan, query: string, args: SubscribeArgs, release: () => void): SharedSubscription {
    const shared = new SharedSubscription({
      key,
      open: this.opener(plan, args),
      resumeArgument: plan.resumable?.argument,
      resolve: this.resolver(plan, args),
      subscriberCapacity: this.options.subscriberBufferEvents,
      lagThresholdEvents: this.options.lagThresholdEvents,
      policy: { attempts: this.options.upstreamRetryAttempts, budgetMs: this.options.upstreamRecoveryMs },
      clock: this.options.clock ?? systemClock,
      log: this.options.log.child({ subgraph: plan.primary.serviceName }),
      serviceName: plan.primary.serviceName,
      onClose: (closedKey) => {
        this.shared.delete(closedKey);
        release();
      },
    });
    this.shared.set(key, { shared, args, query, plan });
    return shared;
  }

  /** Opens the plan's primary fetch as an upstream subscription, from where `resume` says. */
  private opener(plan: SubscriptionPlan, args: SubscribeArgs): OpenStream {
    const { primary } = plan;
    const upstreamVariables = Object.fromEntries(
      (primary.variableUsages ?? []).filter((v) => v in args.variables).map((v) => [v, args.variables[v]]),
    );
    const { identity, principal } = args;
    // Signed at each connect: a socket opened again after a loss must not carry a stale signature.
    const caller = {
      key: JSON.stringify([identity, principal]),
      connectionParams: () => ({ headers: { ...identity, [IDENTITY_HEADER]: signIdentity(principal, this.options.identitySecret) } }),
    };
    return (resume) => {
      this.opened++;
      const request = {
        query: primary.operation,
        variables: upstreamVariables,
        operationName: primary.operationName,
        ...(resume && { extensions: { [RESUMABLE_EXTENSION]: resume } }),
      };
      if (this.options.openUpstream) return this.options.openUpstream(primary.serviceName, request, identity);
      return this.upstream.subscribe(primary.serviceName, request, caller, this.options.upstreamBacklogEvents);
    };
  }

  /** Resolves an event with the plan's entity fetches, on the supergraph the plan was made on. */
  private resolver(plan: SubscriptionPlan, args: SubscribeArgs): (event: ExecutionResult) => Promise<ExecutionResult> {
    const caller = { headers: args.identity, principal: args.principal };
    const request = { variables: args.variables, caller };
    // The entity fetches of events that arrive together go as one `_entities` call per subgraph and
    // selection, each entity once (executor/entity-batch.ts).
    const deps = { send: fetchSender(this.options.senders, caller, 'batch'), supergraphSchema: this.planner.supergraphSchema };
    // Only an event that came whole can be helped by asking the other subgraphs again.
    return (event) => this.resolution.run(() => resolveEvent(plan, event, request, deps), Boolean(event.data) && !event.errors?.length);
  }

  /**
   * Serves a new supergraph: new subscriptions are planned on it, and every open one is validated
   * and planned again. One that still validates goes on with no gap and no duplicate (its next
   * events are resolved with the new plan; when its upstream subscription changed, that is reopened
   * from its position); one that selects what is gone ends with SUBSCRIPTION_SCHEMA_RELOAD naming
   * why. `prepare` throws, changing nothing, when the supergraph cannot be planned on; the function
   * it returns makes the change and does not throw.
   */
  prepare(next: EngineSupergraph): () => ReloadOutcome {
    const planner = new SubscriptionPlanner(next.schema, this.options.planCacheBytes);
    return () => this.reload(planner, next);
  }

  private reload(planner: SubscriptionPlanner, next: EngineSupergraph): ReloadOutcome {
    const previousUrls = new Map(this.options.urls);
    this.planner = planner;
    this.options = { ...this.options, senders: next.senders };
    this.options.urls.clear();
    for (const [name, url] of next.urls) this.options.urls.set(name, url);
    const outcome: ReloadOutcome = { kept: 0, reopened: 0, ended: 0 };
    for (const [key, planned] of [...this.shared]) {
      const { args, query } = planned;
      const invalid = [
        ...validate(planner.apiSchema, args.document),
        ...variableErrors(planner.apiSchema, args.document, args.operationName, args.variables),
      ];
      let plan: SubscriptionPlan | undefined;
      // What is gone, named; never a suggestion of what else there is (production hides those).
      let why = invalid.map((e) => withoutSuggestions(e.message)).join('; ');
      if (invalid.length === 0) {
        try {
          plan = planner.plan(args.document, args.operationName, `${args.operationName ?? ''}\u0000${query}`);
        } catch (err) {
          this.options.log.warn({ err, operationName: args.operationName }, 'an open subscription cannot be planned on the new supergraph');
          why = 'it cannot be planned on the new supergraph';
        }
      }
      if (!plan) {
        outcome.ended++;
        planned.shared.fail(
          new InterchangeError(
            ErrorCode.SUBSCRIPTION_SCHEMA_RELOAD,
            `the supergraph was reloaded and this subscription no longer applies to it: ${why}`,
          ),
        );
        continue;
      }
      const { primary } = plan;
      const before = planned.plan.primary;
      const moved =
        primary.serviceName !== before.serviceName ||
        primary.operation !== before.operation ||
        next.urls.get(primary.serviceName) !== previousUrls.get(before.serviceName);
      if (moved && !plan.resumable) {
        // Without positions a stream cannot be reopened elsewhere without a gap: say so instead.
        outcome.ended++;
        planned.shared.fail(
          new InterchangeError(
            ErrorCode.SUBSCRIPTION_SCHEMA_RELOAD,
            'the supergraph was reloaded and this subscription now comes from elsewhere; its field is not resumable, so subscribe again',
          ),
        );
        continue;
      }
      planned.shared.replan(this.resolver(plan, args), moved ? this.opener(plan, args) : undefined);
      this.shared.set(key, { ...planned, plan });
      outcome.kept++;
      if (moved) outcome.reopened++;
    }
    return outcome;
  }

  /** Ends every open subscription with this error (their upstream subscriptions are released). */
  endAll(error: GraphQLError): number {
    const open = [...this.shared.values()];
    for (const { shared } of open) shared.fail(error);
    return open.length;
  }

  stats(): SubscriptionStats {
    let subscribers = 0;
    for (const { shared } of this.shared.values()) subscribers += shared.size;
    return { shared: this.shared.size, subscribers, upstreamOpened: this.opened };
  }

  /** Ends every subscription and closes the upstream sockets. */
  async close(): Promise<void> {
    this.closed = true;
    for (const { shared } of [...this.shared.values()]) shared.close();
    await this.upstream.close();
  }
}
