/**
 * One pass over an operation that measures everything the operation limits bound: depth, aliases,
 * root fields, directives and cost. Each fragment is measured once per context and its measures
 * reused wherever it is spread, so a fragment bomb (each fragment spreading the previous one twice)
 * costs time linear in the document while its measures grow as the work it would cause; a fragment
 * that spreads itself, directly or not, is refused rather than followed.
 *
 * Cost, after federation's demand control (the supergraph's `@cost` and `@listSize`):
 * - a field costs its `@cost`, else its type's `@cost`, else 1 for an object, interface or union
 *   and 0 for a scalar or enum; a mutation's root field costs 10 unless it has its own `@cost`;
 * - an argument given with a `@cost` adds its weight;
 * - a list field multiplies its own cost and its selections' by its size: the largest slicing
 *   argument given (literal or variable, else the argument's default), else `@listSize(assumedSize)`,
 *   else DEFAULT_LIST_SIZE; with `@listSize(sizedFields)` the size multiplies those child fields
 *   instead (a connection's `edges`);
 * - introspection (`__schema`, `__type`, `__typename`) costs nothing, but counts for depth.
 */
import {
  GraphQLError,
  Kind,
  getNamedType,
  getOperationAST,
  getNullableType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { CostModel } from './cost-model.ts';

export interface Measures {
  depth: number;
  aliases: number;
  rootFields: number;
  directives: number;
  cost: number;
}

interface Totals {
  depth: number;
  aliases: number;
  directives: number;
  cost: number;
  /** Fields selected at this level (through fragments): the root fields, at the root. */
  fields: number;
}

const ZERO: Totals = { depth: 0, aliases: 0, directives: 0, cost: 0, fields: 0 };

/** A fragment that spreads itself: GraphQL forbids it, and following it would never end. */
export class FragmentCycle extends GraphQLError {}

/** The document has no operation `operationName` picks: it could not run, so it is not measured. */
export class NoOperation extends GraphQLError {}

/** Where a selection set is measured: what multiplies sized child fields, and whether it is a mutation's root. */
interface Context {
  sized: { fields: ReadonlySet<string>; size: number } | undefined;
  mutationRoot: boolean;
}

const PLAIN: Context = { sized: undefined, mutationRoot: false };
const contextKey = (c: Context) => `${c.mutationRoot ? 'm' : ''}${c.sized ? `${[...c.sized.fields].join(',')}*${c.sized.size}` : ''}`;

const IN_PROGRESS = Symbol('in progress');

export interface MeasureOptions {
  schema: GraphQLSchema;
  model: CostModel;
  defaultListSize: number;
  variables: Record<string, unknown>;
  /**
   * The operation that runs (as `operationName` picks it): only it is measured, with its variables'
   * defaults, so the fragments it spreads are measured with the values they will have.
   */
  operationName?: string | undefined;
}

/** Measures the operation that runs. Throws NoOperation when `operationName` picks none, FragmentCycle on a cycle. */
export function measureOperation(document: DocumentNode, options: MeasureOptions): Measures {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const memo = new Map<string, Totals | typeof IN_PROGRESS>();
  const { schema, model } = options;
  let variables: Record<string, unknown> = {};

  const selections = (set: SelectionSetNode, parent: GraphQLNamedType | undefined, context: Context): Totals => {
    const totals = { ...ZERO };
    const add = (t: Totals) => {
      totals.depth = Math.max(totals.depth, t.depth);
      totals.aliases += t.aliases;
      totals.directives += t.directives;
      totals.cost += t.cost;
      totals.fields += t.fields;
    };
    for (const selection of set.selections) {
      totals.directives += selection.directives?.length ?? 0;
      if (selection.kind === Kind.FIELD) add(field(selection, parent, context));
      else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        add(selections(selection.selectionSet, type, context));
      } else add(spread(selection.name.value, context));
    }
    return totals;
  };

  const spread = (name: string, context: Context): Totals => {
    const key = `${name}\u0000${contextKey(context)}`;
    const known = memo.get(key);
    if (known === IN_PROGRESS) throw new FragmentCycle(`the fragment "${name}" spreads itself`);
    if (known) return known;
    const fragment = fragments.get(name);
    if (!fragment) return ZERO; // validation names the unknown fragment
    memo.set(key, IN_PROGRESS);
    const totals = selections(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value), context);
    memo.set(key, totals);
    return totals;
  };

  const field = (node: FieldNode, parent: GraphQLNamedType | undefined, context: Context): Totals => {
    const name = node.name.value;
    const definition = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
    const type = definition ? getNamedType(definition.type) : undefined;
    const coordinate = `${parent?.name ?? ''}.${name}`;
    const listSize = definition ? model.listSize(coordinate) : undefined;
    const size = definition && isListType(getNullableType(definition.type)) ? sizeOf(node, definition, coordinate) : 1;
    const sizedHere = listSize && listSize.sizedFields.length > 0;
    const child = node.selectionSet
      ? selections(node.selectionSet, type, {
          sized: sizedHere ? { fields: new Set(listSize.sizedFields), size: sizeOf(node, definition!, coordinate) } : undefined,
          mutationRoot: false,
        })
      : ZERO;
    const introspection = name.startsWith('__');
    let cost = 0;
    if (!introspection) {
      const weight =
        model.fieldWeight(coordinate) ??
        (context.mutationRoot ? 10 : undefined) ??
        (type && model.typeWeight(type.name)) ??
        (isCompositeType(type) || (!definition && node.selectionSet) ? 1 : 0);
      const multiplier = context.sized?.fields.has(name) ? context.sized.size : sizedHere ? 1 : size;
      cost = multiplier * (weight + child.cost);
      for (const argument of node.arguments ?? []) cost += model.argumentWeight(`${coordinate}(${argument.name.value}:)`) ?? 0;
    }
    return {
      depth: 1 + child.depth,
      aliases: (node.alias ? 1 : 0) + child.aliases,
      directives: child.directives,
      cost,
      fields: 1,
    };
  };

  /** A list field's size: its largest slicing argument, else `@listSize(assumedSize)`, else the default. */
  const sizeOf = (node: FieldNode, definition: GraphQLField<unknown, unknown>, coordinate: string): number => {
    const listSize = model.listSize(coordinate);
    const sizes: number[] = [];
    for (const slicing of listSize?.slicingArguments ?? []) {
      const argument = node.arguments?.find((a) => a.name.value === slicing);
      const given =
        argument && (argument.value.kind === Kind.VARIABLE ? variables[argument.value.name.value] : valueFromASTUntyped(argument.value));
      // An argument left out, or a variable without a value, takes the argument's default.
      const value = given ?? definition.args.find((a) => a.name === slicing)?.defaultValue;
      // Only a value GraphQL's Int accepts: anything else is the variables' coercion to refuse (BAD_USER_INPUT).
      if (isGraphQLInt(value)) sizes.push(Math.max(0, value));
    }
    if (sizes.length > 0) return Math.max(...sizes);
    return listSize?.assumedSize ?? options.defaultListSize;
  };

  const operation = getOperationAST(document, options.operationName);
  if (!operation) {
    throw new NoOperation(
      options.operationName === undefined
        ? 'the document has several operations (or none): name the one to run in `operationName`'
        : `the document has no operation named "${options.operationName}"`,
    );
  }
  variables = withDefaults(operation, options.variables);
  const root = schema.getRootType(operation.operation) ?? undefined;
  const totals = selections(operation.selectionSet, root, { ...PLAIN, mutationRoot: operation.operation === 'mutation' });
  return {
    depth: totals.depth,
    aliases: totals.aliases,
    rootFields: totals.fields,
    directives: totals.directives + (operation.directives?.length ?? 0),
    cost: totals.cost,
  };
}

const isGraphQLInt = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31;

/** The request's variables, with the operation's defaults for those it leaves out (for slicing arguments). */
function withDefaults(operation: OperationDefinitionNode, given: Record<string, unknown>): Record<string, unknown> {
  const values = { ...given };
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    if (values[name] === undefined && definition.defaultValue) values[name] = valueFromASTUntyped(definition.defaultValue);
  }
  return values;
}
