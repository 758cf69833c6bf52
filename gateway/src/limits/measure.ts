/**
 * One pass over an operation that measures everything the operation limits bound: depth, aliases,
 * root fields, fields (with fragments expanded), directives and cost. Each fragment is measured once
 * per context and its measures reused wherever it is spread, so a fragment bomb (each fragment
 * spreading the previous one twice) costs time linear in the document while its measures grow as the
 * work it would cause; a fragment that spreads itself, directly or not, is refused rather than followed.
 * A context is what changes a fragment's measures where it is spread: whether it is at a mutation's
 * root, and which `@listSize(sizedFields)` field it is under (the size itself is applied by that
 * field, not by the fragment); there are at most two per sized field of the schema, so the pass
 * stays linear in the document whatever the sizes asked for.
 *
 * Cost, after federation's demand control (the supergraph's `@cost` and `@listSize`):
 * - a field costs its `@cost`, else its type's `@cost`, else 1 for an object, interface or union
 *   and 0 for a scalar or enum; a mutation's root field costs 10 unless it has its own `@cost`;
 * - an argument given with a `@cost` adds its weight;
 * - a list field multiplies its own cost and its selections' by its size: the largest slicing
 *   argument given (literal or variable, else the argument's default), else `@listSize(assumedSize)`,
 *   else DEFAULT_LIST_SIZE; with `@listSize(sizedFields)` the size multiplies those child fields
 *   instead (a connection's `edges`); with `requireOneSlicingArgument` (the default when
 *   `slicingArguments` is set) exactly one slicing argument must be given, else the operation is refused;
 * - introspection costs nothing, except the lists that can nest without end (`__Type`'s `fields`,
 *   `inputFields`, `interfaces`, `possibleTypes`), which cost as lists of DEFAULT_LIST_SIZE objects.
 */
import {
  GraphQLError,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  getNamedType,
  getNullableType,
  getOperationAST,
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
import type { CostModel, ListSize } from './cost-model.ts';

export interface Measures {
  depth: number;
  aliases: number;
  rootFields: number;
  /** Field selections with every fragment expanded where it is spread (a fragment spread twice counts twice). */
  fields: number;
  directives: number;
  cost: number;
}

interface Totals {
  depth: number;
  aliases: number;
  directives: number;
  /** Cost, but that of the fields the context's sized field multiplies. */
  cost: number;
  /** Cost of the fields the context's sized field multiplies (its `sizedFields`), before its size. */
  sizedCost: number;
  /** Fields selected at this level (through fragments): the root fields, at the root. */
  level: number;
  /** Fields selected at this level and below, through fragments. */
  fields: number;
}

const ZERO: Totals = { depth: 0, aliases: 0, directives: 0, cost: 0, sizedCost: 0, level: 0, fields: 0 };

/** A fragment that spreads itself: GraphQL forbids it, and following it would never end. */
export class FragmentCycle extends GraphQLError {}

/** The document has no operation `operationName` picks: it could not run, so it is not measured. */
export class NoOperation extends GraphQLError {}

/** A list field with `@listSize(requireOneSlicingArgument)` given none, or several, of its slicing arguments. */
export class SlicingArgumentRequired extends GraphQLError {}

/** Where a selection set is measured: the sized field it is directly under, and whether it is a mutation's root. */
interface Context {
  sized: { coordinate: string; fields: readonly string[] } | undefined;
  mutationRoot: boolean;
}

const PLAIN: Context = { sized: undefined, mutationRoot: false };
const contextKey = (c: Context) => `${c.mutationRoot ? 'm' : ''}|${c.sized?.coordinate ?? ''}`;

/** Introspection lists that can nest without end (`fields { type { fields { type { …`): the only introspection that costs. */
const RECURSIVE_INTROSPECTION = new Set(['__Type.fields', '__Type.inputFields', '__Type.interfaces', '__Type.possibleTypes']);

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

/**
 * Measures the operation that runs. Throws NoOperation when `operationName` picks none, FragmentCycle
 * on a cycle, SlicingArgumentRequired when a field's `@listSize` requires one slicing argument.
 */
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
      totals.sizedCost += t.sizedCost;
      totals.level += t.level;
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
    const definition = fieldDefinition(schema, parent, name);
    const type = definition ? getNamedType(definition.type) : undefined;
    const coordinate = `${parent?.name ?? ''}.${name}`;
    const listSize = definition ? model.listSize(coordinate) : undefined;
    if (listSize) requireOneSlicingArgument(node, coordinate, listSize);
    const sizedHere = listSize && listSize.sizedFields.length > 0;
    const list = definition && isListType(getNullableType(definition.type));
    const size = definition && (list || sizedHere) ? sizeOf(node, definition, listSize) : 1;
    const child = node.selectionSet
      ? selections(
          node.selectionSet,
          type,
          sizedHere ? { sized: { coordinate, fields: listSize.sizedFields }, mutationRoot: false } : PLAIN,
        )
      : ZERO;
    const childCost = child.cost + (sizedHere ? size * child.sizedCost : 0);
    let cost: number;
    let sizedCost = 0;
    if (name.startsWith('__') || parent?.name.startsWith('__')) {
      cost = RECURSIVE_INTROSPECTION.has(coordinate) ? options.defaultListSize * (1 + childCost) : childCost;
    } else {
      const weight =
        model.fieldWeight(coordinate) ??
        (context.mutationRoot ? 10 : undefined) ??
        (type && model.typeWeight(type.name)) ??
        (isCompositeType(type) || (!definition && node.selectionSet) ? 1 : 0);
      let argumentsCost = 0;
      for (const argument of node.arguments ?? []) argumentsCost += model.argumentWeight(`${coordinate}(${argument.name.value}:)`) ?? 0;
      // A field its parent sizes (a connection's `edges`) is multiplied there, by the parent's size, not by its own.
      if (context.sized?.fields.includes(name)) {
        sizedCost = weight + childCost;
        cost = argumentsCost;
      } else cost = (sizedHere ? 1 : size) * (weight + childCost) + argumentsCost;
    }
    return {
      depth: 1 + child.depth,
      aliases: (node.alias ? 1 : 0) + child.aliases,
      directives: child.directives,
      cost,
      sizedCost,
      level: 1,
      fields: 1 + child.fields,
    };
  };

  /** The value given to `argument` (literal, or the variable's value), if any. */
  const given = (node: FieldNode, argument: string): unknown => {
    const value = node.arguments?.find((a) => a.name.value === argument)?.value;
    if (!value) return undefined;
    return value.kind === Kind.VARIABLE ? variables[value.name.value] : valueFromASTUntyped(value);
  };

  /** `@listSize(requireOneSlicingArgument)`: exactly one slicing argument given, as federation's demand control requires. */
  const requireOneSlicingArgument = (node: FieldNode, coordinate: string, listSize: ListSize) => {
    if (!listSize.requireOneSlicingArgument || listSize.slicingArguments.length === 0) return;
    const count = listSize.slicingArguments.filter((a) => (given(node, a) ?? undefined) !== undefined).length;
    if (count !== 1) {
      throw new SlicingArgumentRequired(
        `"${coordinate}" needs exactly one of its slicing arguments (${listSize.slicingArguments.join(', ')}); it was given ${count}`,
      );
    }
  };

  /** A list field's size: its largest slicing argument, else `@listSize(assumedSize)`, else the default. */
  const sizeOf = (node: FieldNode, definition: GraphQLField<unknown, unknown>, listSize: ListSize | undefined): number => {
    const sizes: number[] = [];
    for (const slicing of listSize?.slicingArguments ?? []) {
      // An argument left out, or a variable without a value, takes the argument's default.
      const value = given(node, slicing) ?? definition.args.find((a) => a.name === slicing)?.defaultValue;
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
    rootFields: totals.level,
    fields: totals.fields,
    directives: totals.directives + (operation.directives?.length ?? 0),
    cost: totals.cost,
  };
}

/** A field's definition, the introspection fields' included (`__schema` and `__type` on the query type only). */
function fieldDefinition(schema: GraphQLSchema, parent: GraphQLNamedType | undefined, name: string) {
  if (name === '__typename') return TypeNameMetaFieldDef;
  if (parent && parent === schema.getQueryType()) {
    if (name === '__schema') return SchemaMetaFieldDef;
    if (name === '__type') return TypeMetaFieldDef;
  }
  return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
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
