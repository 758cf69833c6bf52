/**
 * Plans subscriptions with federation's query planner. `@apollo/gateway` plans a subscription as
 * `Subscription { primary: Fetch(owning subgraph), rest: entity fetches }` but refuses to run it; the
 * gateway runs the primary fetch as an upstream subscription and the rest once per event.
 *
 * Cursor convention: when the subscription field's type has a `cursor: String!` field, the plan
 * also asks for it under a private alias, so the gateway always knows the last delivered cursor
 * (a slow client is told where to resume) whether or not the client selected it.
 */
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { buildOperationContext } from '@apollo/gateway';
import { QueryPlanner, type FetchNode, type PlanNode } from '@apollo/query-planner';
import {
  GraphQLError,
  Kind,
  getNamedType,
  isObjectType,
  parse,
  print,
  visit,
  type DocumentNode,
  type FieldNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';

export type OperationContext = ReturnType<typeof buildOperationContext>;

export const CURSOR_ALIAS = '__interchangeCursor';

export interface SubscriptionPlan {
  /** The fetch that opens the upstream subscription. */
  primary: FetchNode;
  /** Entity fetches to run for every event; absent when one subgraph owns every field. */
  rest: PlanNode | undefined;
  operationContext: OperationContext;
  /** The response key of the subscription field (its alias, or its name). */
  responseKey: string;
  /** Whether the plan carries the private cursor alias. */
  tracksCursor: boolean;
  /** Where the client asked to resume from: the subscription field's `after` argument, if any. */
  resumeFrom: (variables: Record<string, unknown>) => string | undefined;
  /**
   * The primary operation asking for events after a cursor (`after: $__interchangeAfter`), when the
   * subscription field takes `after` and the plan tracks cursors: how the gateway resumes its own
   * upstream subscription without a gap after the upstream socket dropped.
   */
  resumeOperation: string | undefined;
}

export const AFTER_VARIABLE = '__interchangeAfter';

export class SubscriptionPlanner {
  readonly supergraph: Supergraph;
  readonly apiSchema: GraphQLSchema;
  readonly supergraphSchema: GraphQLSchema;
  private readonly planner: QueryPlanner;
  private readonly cache = new Map<string, SubscriptionPlan>();

  private readonly maxCachedPlans: number;

  constructor(supergraphSdl: string, maxCachedPlans: number = 1_000) {
    this.maxCachedPlans = maxCachedPlans;
    this.supergraph = Supergraph.build(supergraphSdl);
    this.apiSchema = this.supergraph.apiSchema().toGraphQLJSSchema();
    this.supergraphSchema = this.supergraph.schema.toGraphQLJSSchema();
    this.planner = new QueryPlanner(this.supergraph);
  }

  /** Plans (or returns the cached plan of) a validated subscription operation. */
  plan(document: DocumentNode, operationName: string | undefined, cacheKey: string): SubscriptionPlan {
    const cached = this.cache.get(cacheKey);
    if (cached) return cached;
    const { document: planned, responseKey, tracksCursor, root } = this.withCursor(document, operationName);
    const operation = operationFromDocument(this.supergraph.apiSchema(), planned, { operationName });
    const queryPlan = this.planner.buildQueryPlan(operation);
    if (queryPlan.node?.kind !== 'Subscription') throw new GraphQLError('not a subscription operation');
    const plan: SubscriptionPlan = {
      primary: queryPlan.node.primary,
      rest: queryPlan.node.rest,
      operationContext: buildOperationContext({ schema: this.apiSchema, operationDocument: planned, operationName }),
      responseKey,
      tracksCursor,
      resumeFrom: afterArgument(root),
      resumeOperation: undefined,
    };
    const fieldArgs = this.apiSchema.getSubscriptionType()?.getFields()[root.name.value]?.args ?? [];
    if (tracksCursor && fieldArgs.some((a) => a.name === 'after')) plan.resumeOperation = withAfterVariable(plan.primary.operation);
    if (this.cache.size >= this.maxCachedPlans) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(cacheKey, plan);
    return plan;
  }

  /** Adds `__interchangeCursor: cursor` to the subscription field when its type has a cursor. */
  private withCursor(document: DocumentNode, operationName: string | undefined) {
    const operation = document.definitions.find(
      (d): d is OperationDefinitionNode =>
        d.kind === Kind.OPERATION_DEFINITION && (operationName === undefined || d.name?.value === operationName),
    );
    const root = operation?.selectionSet.selections.find((s): s is FieldNode => s.kind === Kind.FIELD);
    if (!operation || !root) throw new GraphQLError('a subscription selects exactly one field');
    const responseKey = root.alias?.value ?? root.name.value;
    const fieldType = this.apiSchema.getSubscriptionType()?.getFields()[root.name.value]?.type;
    const named = fieldType && getNamedType(fieldType);
    const tracksCursor = !!named && isObjectType(named) && 'cursor' in named.getFields() && !!root.selectionSet;
    if (!tracksCursor) return { document, responseKey, tracksCursor, root };
    const cursorField: FieldNode = {
      kind: Kind.FIELD,
      alias: { kind: Kind.NAME, value: CURSOR_ALIAS },
      name: { kind: Kind.NAME, value: 'cursor' },
    };
    const planned = visit(document, {
      Field: (node) =>
        node === root
          ? { ...node, selectionSet: { ...node.selectionSet!, selections: [...node.selectionSet!.selections, cursorField] } }
          : undefined,
    });
    return { document: planned, responseKey, tracksCursor, root };
  }
}

/** Rewrites a subscription operation so its root field's `after` is `$__interchangeAfter`. */
function withAfterVariable(operation: string): string {
  const variable = { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: AFTER_VARIABLE } } as const;
  let rootDone = false;
  return print(
    visit(parse(operation), {
      OperationDefinition: (node) => ({
        ...node,
        variableDefinitions: [
          ...(node.variableDefinitions ?? []),
          { kind: Kind.VARIABLE_DEFINITION, variable, type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'String' } } },
        ],
      }),
      Field: (node) => {
        if (rootDone) return false;
        rootDone = true;
        const args = (node.arguments ?? []).filter((a) => a.name.value !== 'after');
        return { ...node, arguments: [...args, { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'after' }, value: variable }] };
      },
    }),
  );
}

/** Reads the `after` argument of the subscription field, a literal or a variable. */
function afterArgument(root: FieldNode): SubscriptionPlan['resumeFrom'] {
  const value = root.arguments?.find((a) => a.name.value === 'after')?.value;
  if (value?.kind === Kind.STRING) return () => value.value;
  if (value?.kind === Kind.VARIABLE) {
    const name = value.name.value;
    return (variables) => (typeof variables[name] === 'string' ? (variables[name] as string) : undefined);
  }
  return () => undefined;
}
