/**
 * Plans subscriptions with federation's query planner. `@apollo/gateway` plans a subscription as
 * `Subscription { primary: Fetch(owning subgraph), rest: entity fetches }` but refuses to run it; the
 * gateway runs the primary fetch as an upstream subscription and the rest once per event.
 *
 * The client's operation is planned as it is: the gateway never adds fields or arguments to it.
 * Whether the subscription field is resumable comes from the supergraph's `@resumable` directive
 * (resumable-field.ts).
 */
import { operationFromDocument, type Supergraph } from '@apollo/federation-internals';
import { LRUCache } from 'lru-cache';
import type { FetchNode, PlanNode, QueryPlanner } from '@apollo/query-planner';
import {
  GraphQLError,
  Kind,
  print,
  visit,
  type DocumentNode,
  type FieldNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValueNode,
} from 'graphql';
import type { FederatedSchema } from '../executor/federated-schema.ts';
import { correctPlan } from '../executor/plan-corrections.ts';
import { compileShaper, variableDefaults, type Shaper } from '../executor/shape.ts';
import { readResumableFields, type ResumableField, type ResumableFields } from './resumable-field.ts';

export interface SubscriptionPlan {
  /** The fetch that opens the upstream subscription. */
  primary: FetchNode;
  /** Entity fetches to run for every event; absent when one subgraph owns every field. */
  rest: PlanNode | undefined;
  /** Writes an event's result from the data its fetches gathered (executor/shape.ts). */
  shape: Shaper;
  /** Default values of the operation's variables (for the plan's `Condition` nodes). */
  defaults: Record<string, unknown>;
  /** The response key of the subscription field (its alias, or its name). */
  responseKey: string;
  /** How the subscription field resumes, when the supergraph declares it `@resumable`. */
  resumable: ResumableField | undefined;
  /** Where the client asked to resume from: the value of the resume argument in this request, if any. */
  resumeFrom: (variables: Record<string, unknown>) => string | undefined;
  /**
   * The operation as it is shared: without the resume argument (and the variable used only there),
   * so clients that differ only in where they resume share one upstream stream.
   */
  sharedQuery: string;
  /** The variables that matter for sharing (the resume variable left out). */
  sharedVariables: (variables: Record<string, unknown>) => Record<string, unknown>;
}

export class SubscriptionPlanner {
  readonly supergraph: Supergraph;
  readonly apiSchema: GraphQLSchema;
  readonly supergraphSchema: GraphQLSchema;
  /** Resumable subscription fields by name; read (and checked) when the supergraph loads. */
  readonly resumableFields: ResumableFields;
  private readonly planner: QueryPlanner;
  /**
   * Bounded by memory, not count: one plan of a large document (its parsed operation, its fetches)
   * can take megabytes, so a count bound says nothing about memory.
   */
  private readonly cache: LRUCache<string, SubscriptionPlan>;

  /** Throws when the supergraph declares `@resumable` wrongly (InvalidResumableDirective). */
  constructor(schema: FederatedSchema, cacheBytes: number = 50_000_000) {
    this.cache = new LRUCache({ maxSize: cacheBytes, sizeCalculation: planBytes });
    this.supergraph = schema.supergraph;
    this.apiSchema = schema.apiSchema;
    this.supergraphSchema = schema.supergraphSchema;
    this.resumableFields = readResumableFields(this.supergraphSchema);
    this.planner = schema.planner;
  }

  /** Plans (or returns the cached plan of) a validated subscription operation. */
  plan(document: DocumentNode, operationName: string | undefined, cacheKey: string): SubscriptionPlan {
    const cached = this.cache.get(cacheKey);
    if (cached) return cached;
    const { root, operation } = rootField(document, operationName);
    const fedOperation = operationFromDocument(this.supergraph.apiSchema(), document, { operationName });
    const queryPlan = correctPlan(this.planner.buildQueryPlan(fedOperation), this.supergraph, fedOperation);
    if (queryPlan.node?.kind !== 'Subscription') throw new GraphQLError('not a subscription operation');
    const resumable = this.resumableFields.get(root.name.value);
    const resumeValue = resumable ? root.arguments?.find((a) => a.name.value === resumable.argument)?.value : undefined;
    const resumeVariable =
      resumeValue?.kind === Kind.VARIABLE && usedOnce(document, resumeValue.name.value) ? resumeValue.name.value : undefined;
    const plan: SubscriptionPlan = {
      primary: queryPlan.node.primary,
      rest: queryPlan.node.rest,
      shape: compileShaper(this.apiSchema, document, operation),
      defaults: variableDefaults(operation),
      responseKey: root.alias?.value ?? root.name.value,
      resumable,
      resumeFrom: argumentValue(resumeValue),
      sharedQuery: resumable ? print(withoutResumeArgument(document, root, resumable.argument, resumeVariable)) : print(document),
      sharedVariables: (variables) => {
        if (resumeVariable === undefined || !(resumeVariable in variables)) return variables;
        const { [resumeVariable]: _resume, ...rest } = variables;
        return rest;
      },
    };
    this.cache.set(cacheKey, plan);
    return plan;
  }
}

/**
 * Memory a plan is estimated to keep: its texts (the shared query and the upstream operation) times
 * what each character of a document costs once parsed and planned (about 11 MB was measured for a
 * 10 000-alias document of 300 KB: under 40 bytes a character).
 */
const BYTES_PER_CHARACTER = 40;
const planBytes = (plan: SubscriptionPlan, key: string) =>
  Math.max(1, BYTES_PER_CHARACTER * (key.length + plan.sharedQuery.length + plan.primary.operation.length));

function rootField(document: DocumentNode, operationName: string | undefined): { root: FieldNode; operation: OperationDefinitionNode } {
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode =>
      d.kind === Kind.OPERATION_DEFINITION && (operationName === undefined || d.name?.value === operationName),
  );
  const root = operation?.selectionSet.selections.find((s): s is FieldNode => s.kind === Kind.FIELD);
  if (!operation || !root) throw new GraphQLError('a subscription selects exactly one field');
  return { root, operation };
}

/** Whether `$name` is used exactly once in the document, fragments included (then only as the resume argument). */
function usedOnce(document: DocumentNode, name: string): boolean {
  let uses = 0;
  visit(document, { VariableDefinition: () => false, Variable: (node) => void (node.name.value === name && uses++) });
  return uses === 1;
}

/** The document without the root field's resume argument, nor the variable used only there. */
function withoutResumeArgument(document: DocumentNode, root: FieldNode, argument: string, variable: string | undefined): DocumentNode {
  return visit(document, {
    VariableDefinition: (node) => (node.variable.name.value === variable ? null : undefined),
    Field: (node) => (node === root ? { ...node, arguments: node.arguments?.filter((a) => a.name.value !== argument) } : undefined),
  });
}

/** Reads the resume argument: a literal, or a variable's value; undefined when absent or null. */
function argumentValue(value: ValueNode | undefined): SubscriptionPlan['resumeFrom'] {
  if (value?.kind === Kind.STRING) return () => value.value;
  if (value?.kind === Kind.VARIABLE) {
    const name = value.name.value;
    return (variables) => (typeof variables[name] === 'string' ? (variables[name] as string) : undefined);
  }
  return () => undefined;
}
