/**
 * Interchange's executor of queries and mutations on one supergraph: each operation is planned by
 * `@apollo/query-planner` once, and its plan kept with a response shaper compiled for it (shape.ts)
 * in a cache bounded by memory; each request then checks its variables, runs the plan's fetches
 * (execute-plan.ts) over the pooled subgraph clients (transport.ts), and shapes the response.
 *
 * Optionally (`DEDUPLICATE_REQUESTS`), identical queries in flight (same document, operation,
 * variables, caller and forwarded headers) run once and every caller gets the answer.
 */
import { operationFromDocument, type Supergraph } from '@apollo/federation-internals';
import type { FederatedSchema } from './federated-schema.ts';
import type { GatewayExecutionResult, GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import type { QueryPlanner, QueryPlan } from '@apollo/query-planner';
import { LRUCache } from 'lru-cache';
import {
  GraphQLError,
  Kind,
  getVariableValues,
  type DirectiveNode,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
} from 'graphql';
import { ErrorCode } from '../../../lib/errors.ts';
import type { Principal } from '../../../lib/auth/principal.ts';
import { correctPlan } from './plan-corrections.ts';
import { executePlan, type SendFetch, type SubgraphAnswer } from './execute-plan.ts';
import { compileShaper, variableDefaults, type Shaper } from './shape.ts';
import type { Caller, SendMode, SubgraphRequest } from './transport.ts';

/** What sends requests to one subgraph (transport.ts's `SubgraphClient`; tests pass fakes). */
export interface SubgraphSender {
  send(request: SubgraphRequest, caller: Caller, mode: SendMode): Promise<SubgraphAnswer>;
}

/** The subgraphs of a supergraph, by name. */
export type SubgraphSenders = Record<string, SubgraphSender>;

export interface OperationsOptions {
  /** Memory the plan cache may take, in bytes (estimated). */
  planCacheBytes: number;
  /** Identical queries in flight run once. */
  deduplicate: boolean;
}

/** A planned operation: its plan, its shaper, and what its variables need. */
export interface PreparedOperation {
  plan: QueryPlan;
  shape: Shaper;
  operation: OperationDefinitionNode;
  /** Default values of its variables (for the plan's `Condition` nodes). */
  defaults: Record<string, unknown>;
  /** Whether its fetches may share identical requests in flight (queries; never mutations). */
  query: boolean;
}

/**
 * Memory a prepared operation is estimated to keep: its document and its fetches' documents, times
 * what each character costs once parsed, planned and compiled (about 40 bytes was measured).
 */
const BYTES_PER_CHARACTER = 40;

export class Operations {
  readonly apiSchema: GraphQLSchema;
  readonly supergraphSchema: GraphQLSchema;
  private readonly supergraph: Supergraph;
  private readonly planner: QueryPlanner;
  private readonly senders: SubgraphSenders;
  private readonly options: OperationsOptions;
  private readonly cache: LRUCache<string, PreparedOperation>;
  private readonly inFlight = new Map<string, Promise<GatewayExecutionResult>>();

  constructor(schema: FederatedSchema, senders: SubgraphSenders, options: OperationsOptions) {
    this.supergraph = schema.supergraph;
    this.apiSchema = schema.apiSchema;
    this.supergraphSchema = schema.supergraphSchema;
    this.planner = schema.planner;
    this.senders = senders;
    this.options = options;
    this.cache = new LRUCache({ maxSize: options.planCacheBytes });
  }

  /** Plans (or finds the plan of) a validated operation. `key` identifies the document (its hash). */
  prepare(document: DocumentNode, operationName: string | undefined, key: string, documentLength: number): PreparedOperation {
    const cacheKey = `${key}\u0000${operationName ?? ''}`;
    const cached = this.cache.get(cacheKey);
    if (cached) return cached;
    const operation = document.definitions.find(
      (d): d is OperationDefinitionNode =>
        d.kind === Kind.OPERATION_DEFINITION && (operationName === undefined || d.name?.value === operationName),
    );
    if (!operation) throw new GraphQLError(operationName ? `Unknown operation named "${operationName}".` : 'No operation in the document.');
    const planned = operationFromDocument(this.supergraph.apiSchema(), document, { operationName });
    // The planner's known defects corrected (plan-corrections.ts): what runs is the corrected plan.
    const plan = correctPlan(this.planner.buildQueryPlan(planned), this.supergraph, planned);
    const unplanned = unplannedFields(plan, document, operation);
    // The planner's fourth known defect: a field it cannot reach planned as nothing (null, no error).
    if (unplanned.length > 0) {
      throw new GraphQLError(`the query planner found no way to fetch ${unplanned.map((f) => `"${f}"`).join(', ')} from the subgraphs`, {
        extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
      });
    }
    const prepared: PreparedOperation = {
      plan,
      shape: compileShaper(this.apiSchema, document, operation),
      operation,
      defaults: variableDefaults(operation),
      query: operation.operation === 'query',
    };
    this.cache.set(cacheKey, prepared, { size: Math.max(1, BYTES_PER_CHARACTER * (documentLength + fetchCharacters(plan))) });
    return prepared;
  }

  /** Apollo Server's gateway executor: runs a validated query or mutation. */
  execute = async (requestContext: GatewayGraphQLRequestContext): Promise<GatewayExecutionResult> => {
    const { request, document, queryHash } = requestContext;
    const prepared = this.prepare(document, request.operationName ?? undefined, queryHash, request.query?.length ?? 0);
    const variables = request.variables ?? {};
    if (prepared.operation.variableDefinitions?.length) {
      const { errors } = getVariableValues(this.apiSchema, prepared.operation.variableDefinitions, variables);
      if (errors) return { errors };
    }
    const caller = callerOf(requestContext.context);
    if (!this.options.deduplicate || !prepared.query) return this.run(prepared, variables, caller);
    const key = JSON.stringify([queryHash, request.operationName ?? null, variables, caller.headers ?? {}, caller.principal ?? null]);
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.run(prepared, variables, caller).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    // Each caller its own result object; the data is shared (the authorization patch writes into a copy: authorization/enforce.ts).
    return { ...(await pending) };
  };

  /** Runs a prepared operation's plan and shapes its response. */
  async run(prepared: PreparedOperation, variables: Record<string, unknown>, caller: Caller): Promise<GatewayExecutionResult> {
    const errors: GraphQLError[] = [];
    const data: Record<string, unknown> = {};
    const node = prepared.plan.node;
    if (node && node.kind !== 'Subscription') {
      await executePlan(
        {
          supergraphSchema: this.supergraphSchema,
          variables,
          defaults: prepared.defaults,
          send: this.sender(caller, prepared.query),
          errors,
        },
        node,
        data,
      );
    }
    const shaped = prepared.shape(data, variables);
    // As federation's gateways do: errors of shaping (nulls where the schema says non-null, invalid
    // values) go in `extensions.valueCompletion` when nothing failed before; otherwise they are
    // consequences of errors already reported, and left out.
    if (errors.length === 0 && shaped.errors.length > 0) return { data: shaped.data, extensions: { valueCompletion: shaped.errors } };
    return errors.length === 0 ? { data: shaped.data } : { errors, data: shaped.data };
  }

  private sender(caller: Caller, share: boolean): SendFetch {
    return fetchSender(this.senders, caller, share ? 'share' : 'own');
  }
}

/**
 * Sends a plan's fetches for one caller: mutations on their own; query fetches as `queries` says
 * (`share`: identical requests in flight are shared; `batch`, for subscription events: entity
 * fetches are batched too, transport.ts).
 */
export function fetchSender(senders: SubgraphSenders, caller: Caller, queries: SendMode): SendFetch {
  return async (fetch, variables) => {
    const sender = senders[fetch.serviceName];
    if (!sender) throw new GraphQLError(`Couldn't find service with name "${fetch.serviceName}"`);
    const mode: SendMode = fetch.operationKind !== 'query' ? 'own' : queries === 'batch' && !fetch.requires ? 'share' : queries;
    return sender.send({ query: fetch.operation, variables, operationName: fetch.operationName }, caller, mode);
  };
}

/**
 * The root fields an empty plan leaves unanswered: every one the operation selects but the
 * introspection fields and those skipped by a literal `@skip(if: true)` or `@include(if: false)`
 * (a plan always has a node when a root field needs a subgraph and a variable decides).
 */
export function unplannedFields(plan: QueryPlan, document: DocumentNode, operation: OperationDefinitionNode): string[] {
  if (plan.node) return [];
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  const literallySkipped = (directives: readonly DirectiveNode[] | undefined) =>
    (directives ?? []).some((d) => {
      const value = d.arguments?.find((a) => a.name.value === 'if')?.value;
      return value?.kind === Kind.BOOLEAN && ((d.name.value === 'skip' && value.value) || (d.name.value === 'include' && !value.value));
    });
  const fields: string[] = [];
  const visit = (selections: readonly SelectionNode[]): void => {
    for (const selection of selections) {
      if (literallySkipped(selection.directives)) continue;
      if (selection.kind === Kind.FIELD) {
        if (!selection.name.value.startsWith('__')) fields.push(selection.alias?.value ?? selection.name.value);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet.selections);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (fragment) visit(fragment.selectionSet.selections);
      }
    }
  };
  visit(operation.selectionSet.selections);
  return fields;
}

/** The characters of a plan's fetch documents. */
function fetchCharacters(plan: QueryPlan): number {
  let total = 0;
  const visit = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    const n = node as { kind?: string; operation?: string; nodes?: unknown[]; node?: unknown; primary?: unknown; rest?: unknown };
    if (n.kind === 'Fetch') total += n.operation?.length ?? 0;
    for (const child of [...(n.nodes ?? []), n.node, n.primary, n.rest]) visit(child);
    const condition = node as { ifClause?: unknown; elseClause?: unknown };
    visit(condition.ifClause);
    visit(condition.elseClause);
  };
  visit(plan.node);
  return total;
}

/** The caller of a request, from the context the gateway gives every operation (identity.ts). */
export function callerOf(context: unknown): Caller {
  const { headers, principal } = (context ?? {}) as { headers?: Record<string, string>; principal?: Principal };
  return { headers, principal };
}
