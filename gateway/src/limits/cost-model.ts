/**
 * Federation's demand-control directives, read from the supergraph as composition writes them:
 * `@cost(weight)` on fields, types and arguments, and `@listSize(assumedSize, slicingArguments,
 * sizedFields, requireOneSlicingArgument)` on list fields. Composition keeps their names when the
 * subgraphs import them (`@cost`, `@listSize`) and prefixes them otherwise (`@cost__listSize`,
 * `@federation__cost`), so every spelling is looked for.
 */
import {
  isInputObjectType,
  isObjectType,
  isInterfaceType,
  valueFromASTUntyped,
  type ConstDirectiveNode,
  type GraphQLSchema,
} from 'graphql';

export interface ListSize {
  assumedSize: number | undefined;
  slicingArguments: readonly string[];
  sizedFields: readonly string[];
  requireOneSlicingArgument: boolean;
}

export interface CostModel {
  /** `@cost` of a field (`Type.field`), if the supergraph sets one. */
  fieldWeight(coordinate: string): number | undefined;
  /** `@cost` of a type (object, scalar or enum), if set. */
  typeWeight(typeName: string): number | undefined;
  /** `@cost` of an argument (`Type.field(argument:)`), if set. */
  argumentWeight(coordinate: string): number | undefined;
  listSize(coordinate: string): ListSize | undefined;
}

const COST_NAMES = new Set(['cost', 'cost__cost', 'federation__cost']);
const LIST_SIZE_NAMES = new Set(['listSize', 'cost__listSize', 'federation__listSize']);

function directiveArgs(
  directives: readonly ConstDirectiveNode[] | undefined,
  names: ReadonlySet<string>,
): Record<string, unknown> | undefined {
  const found = directives?.find((d) => names.has(d.name.value));
  if (!found) return undefined;
  return Object.fromEntries((found.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value)]));
}

const weightOf = (directives: readonly ConstDirectiveNode[] | undefined): number | undefined => {
  const weight = directiveArgs(directives, COST_NAMES)?.['weight'];
  return typeof weight === 'number' ? weight : undefined;
};

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/** Reads the directives once, from the supergraph schema (the API schema has them stripped). */
export function readCostModel(supergraphSchema: GraphQLSchema): CostModel {
  const fields = new Map<string, number>();
  const types = new Map<string, number>();
  const args = new Map<string, number>();
  const sizes = new Map<string, ListSize>();
  for (const type of Object.values(supergraphSchema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    const typeWeight = weightOf(type.astNode?.directives);
    if (typeWeight !== undefined) types.set(type.name, typeWeight);
    if (!isObjectType(type) && !isInterfaceType(type) && !isInputObjectType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      const weight = weightOf(field.astNode?.directives);
      if (weight !== undefined) fields.set(coordinate, weight);
      if (!('args' in field)) continue;
      for (const arg of field.args) {
        const argWeight = weightOf(arg.astNode?.directives);
        if (argWeight !== undefined) args.set(`${coordinate}(${arg.name}:)`, argWeight);
      }
      const listSize = directiveArgs(field.astNode?.directives, LIST_SIZE_NAMES);
      if (listSize) {
        sizes.set(coordinate, {
          assumedSize: typeof listSize['assumedSize'] === 'number' ? listSize['assumedSize'] : undefined,
          slicingArguments: strings(listSize['slicingArguments']),
          sizedFields: strings(listSize['sizedFields']),
          requireOneSlicingArgument: listSize['requireOneSlicingArgument'] !== false,
        });
      }
    }
  }
  return {
    fieldWeight: (c) => fields.get(c),
    typeWeight: (t) => types.get(t),
    argumentWeight: (c) => args.get(c),
    listSize: (c) => sizes.get(c),
  };
}
