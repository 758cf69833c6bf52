/**
 * Federated subscriptions: plans a validated subscription, shares one upstream subscription and one
 * resolution per event among all clients that sent the same operation, variables and identity, and
 * hands each client a bounded stream of results.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ServiceMap } from '@apollo/gateway';
import type { Schema } from '@apollo/federation-internals';
import { GraphQLError, print, type DocumentNode, type ExecutionResult } from 'graphql';
import { ErrorCode } from '../../../lib/errors.ts';
import type { Logger } from '../../../lib/logger.ts';
import { AFTER_VARIABLE, CURSOR_ALIAS, SubscriptionPlanner } from './plan.ts';
import { resolveEvent } from './resolve-event.ts';
import { SharedSubscription } from './shared.ts';
import { UpstreamConnections } from './upstream.ts';

export interface SubscriptionEngineOptions {
  supergraphSdl: string;
  /** Subgraph name -> HTTP GraphQL URL (upstream subscriptions use the same URL over WebSocket). */
  urls: Map<string, string>;
  /** Data sources for the entity fetches of each event (the gateway's subgraph transport). */
  serviceMap: ServiceMap;
  log: Logger;
  /** Results a client may fall behind before its subscription ends with SUBSCRIBER_TOO_SLOW. */
  subscriberBufferEvents: number;
  /** Times an upstream subscription is reopened (from its last cursor where it can) after its socket dropped. */
  upstreamRetryAttempts: number;
  /** Upstream events that may wait to be resolved before the shared subscription gives up (bounded memory). */
  upstreamBacklogEvents: number;
}

export interface SubscribeArgs {
  document: DocumentNode;
  variables: Record<string, unknown>;
  operationName: string | undefined;
  /** What identifies the caller to subgraphs (forwarded headers): part of the sharing key. */
  identity: Record<string, string>;
}

export interface SubscriptionStats {
  /** Distinct subscriptions (= upstream subscriptions) open now. */
  shared: number;
  /** Client subscriptions open now. */
  subscribers: number;
  /** Upstream subscriptions opened since start. */
  upstreamOpened: number;
}

export class SubscriptionEngine {
  private readonly planner: SubscriptionPlanner;
  private readonly upstream: UpstreamConnections;
  private readonly shared = new Map<string, SharedSubscription>();
  private readonly fedApiSchema: Schema;
  private closed = false;

  private readonly options: SubscriptionEngineOptions;

  constructor(options: SubscriptionEngineOptions) {
    this.options = options;
    this.planner = new SubscriptionPlanner(options.supergraphSdl);
    this.fedApiSchema = this.planner.supergraph.apiSchema();
    this.upstream = new UpstreamConnections({ urls: options.urls, log: options.log });
  }

  /** The API schema clients validate against (with the Subscription type). */
  get schema() {
    return this.planner.apiSchema;
  }

  subscribe(args: SubscribeArgs): AsyncIterableIterator<ExecutionResult> | ExecutionResult {
    if (this.closed)
      return { errors: [new GraphQLError('the gateway is shutting down', { extensions: { code: ErrorCode.SUBGRAPH_UNAVAILABLE } })] };
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
    // A client resuming from a cursor needs its own replay: such subscriptions are never shared.
    const resumeFrom = plan.resumeFrom(args.variables);
    const key = createHash('sha256')
      .update(JSON.stringify([args.operationName ?? null, query, args.variables, args.identity, resumeFrom ? randomUUID() : null]))
      .digest('base64url');
    let shared = this.shared.get(key);
    if (!shared) {
      const upstreamVariables = Object.fromEntries(
        (plan.primary.variableUsages ?? []).filter((v) => v in args.variables).map((v) => [v, args.variables[v]]),
      );
      const openUpstream = (after: string | undefined) =>
        this.upstream.subscribe(
          plan.primary.serviceName,
          after !== undefined && plan.resumeOperation
            ? {
                query: plan.resumeOperation,
                variables: { ...upstreamVariables, [AFTER_VARIABLE]: after },
                operationName: plan.primary.operationName,
              }
            : { query: plan.primary.operation, variables: upstreamVariables, operationName: plan.primary.operationName },
          { headers: args.identity },
          this.options.upstreamBacklogEvents,
        );
      const request = { query, variables: args.variables, operationName: args.operationName, context: { headers: args.identity } };
      const deps = {
        serviceMap: this.options.serviceMap,
        supergraphSchema: this.planner.supergraphSchema,
        apiSchema: this.fedApiSchema,
        log: this.options.log,
      };
      shared = new SharedSubscription({
        key,
        openUpstream,
        resumable: plan.resumeOperation !== undefined,
        cursorOf: (event) => {
          const root = (event.data as Record<string, Record<string, unknown> | null> | null | undefined)?.[plan.responseKey];
          const cursor = root?.[CURSOR_ALIAS];
          return typeof cursor === 'string' ? cursor : undefined;
        },
        reopenAttempts: this.options.upstreamRetryAttempts,
        resolve: (event) => resolveEvent(plan, event, request, deps),
        subscriberCapacity: this.options.subscriberBufferEvents,
        startCursor: resumeFrom,
        log: this.options.log,
        onClose: (closedKey) => this.shared.delete(closedKey),
      });
      this.shared.set(key, shared);
    }
    return shared.join();
  }

  stats(): SubscriptionStats {
    let subscribers = 0;
    for (const shared of this.shared.values()) subscribers += shared.size;
    return { shared: this.shared.size, subscribers, upstreamOpened: this.upstream.subscriptionsOpened };
  }

  /** Ends every subscription and closes the upstream sockets. */
  async close(): Promise<void> {
    this.closed = true;
    for (const shared of [...this.shared.values()]) shared.close();
    await this.upstream.close();
  }
}
