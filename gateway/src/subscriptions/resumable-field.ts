/**
 * Which subscription fields of a supergraph are resumable: the `@resumable(position:, argument:)`
 * directive composed into it (schema/resumable.md), read and checked when the supergraph loads.
 * Nothing is inferred from field names.
 */
import {
  Kind,
  getNamedType,
  isInterfaceType,
  isNonNullType,
  isObjectType,
  isScalarType,
  valueFromASTUntyped,
  type ConstDirectiveNode,
  type GraphQLSchema,
} from 'graphql';
import { RESUMABLE_DIRECTIVE, RESUMABLE_SPEC_URL } from '../../../lib/resumable.ts';

export interface ResumableField {
  /** The field of the subscription field's type that carries an event's position (a `String!`). */
  position: string;
  /** The subscription field's argument a client resumes with (a `String`). */
  argument: string;
}

/** The supergraph's resumable subscription fields, by field name. */
export type ResumableFields = ReadonlyMap<string, ResumableField>;

/** The supergraph declares `@resumable` wrongly: it is refused, with every problem named. */
export class InvalidResumableDirective extends Error {
  constructor(problems: string[]) {
    super(`the supergraph's @${RESUMABLE_DIRECTIVE} directives are invalid:\n  ${problems.join('\n  ')}`);
    this.name = 'InvalidResumableDirective';
  }
}

/** The name the supergraph uses for the directive: as imported by its `@link` to the spec, or none when it does not link it. */
function directiveName(schema: GraphQLSchema): string | undefined {
  const links = (schema.astNode?.directives ?? []).filter((d) => d.name.value === 'link');
  for (const link of links) {
    const args = Object.fromEntries((link.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value)]));
    if (typeof args['url'] !== 'string' || !args['url'].startsWith(RESUMABLE_SPEC_URL.replace(/v[\d.]+$/, ''))) continue;
    for (const entry of (args['import'] as unknown[] | undefined) ?? []) {
      if (entry === `@${RESUMABLE_DIRECTIVE}`) return RESUMABLE_DIRECTIVE;
      const renamed = entry as { name?: unknown; as?: unknown } | null;
      if (renamed?.name === `@${RESUMABLE_DIRECTIVE}` && typeof renamed.as === 'string') return renamed.as.replace(/^@/, '');
    }
    const namespace = typeof args['as'] === 'string' ? args['as'] : RESUMABLE_DIRECTIVE;
    return `${namespace}__${RESUMABLE_DIRECTIVE}`;
  }
  return undefined;
}

const stringArgument = (directive: ConstDirectiveNode, name: string): string | undefined => {
  const value = directive.arguments?.find((a) => a.name.value === name)?.value;
  return value?.kind === Kind.STRING ? value.value : undefined;
};

/**
 * Reads the resumable subscription fields of a supergraph schema (with its directives, as
 * `Supergraph.schema.toGraphQLJSSchema()` gives it). Throws `InvalidResumableDirective` naming
 * every misuse: a position field or argument that does not exist or has the wrong type.
 */
export function readResumableFields(supergraphSchema: GraphQLSchema): ResumableFields {
  const fields = new Map<string, ResumableField>();
  const name = directiveName(supergraphSchema);
  const subscription = supergraphSchema.getSubscriptionType();
  if (!name || !subscription) return fields;
  const problems: string[] = [];
  for (const field of Object.values(subscription.getFields())) {
    const directive = field.astNode?.directives?.find((d) => d.name.value === name);
    if (!directive) continue;
    const where = `@${RESUMABLE_DIRECTIVE} on ${subscription.name}.${field.name}`;
    const position = stringArgument(directive, 'position');
    const argument = stringArgument(directive, 'argument');
    if (position === undefined || argument === undefined) {
      problems.push(`${where}: needs position: String! and argument: String!`);
      continue;
    }
    const type = getNamedType(field.type);
    const positionField = isObjectType(type) || isInterfaceType(type) ? type.getFields()[position] : undefined;
    if (!positionField) problems.push(`${where}: position "${position}" is not a field of ${type.name}`);
    else if (!isNonNullType(positionField.type) || !isScalarType(positionField.type.ofType) || positionField.type.ofType.name !== 'String')
      problems.push(`${where}: position field ${type.name}.${position} must be String!, not ${String(positionField.type)}`);
    const arg = field.args.find((a) => a.name === argument);
    if (!arg) problems.push(`${where}: argument "${argument}" is not an argument of ${field.name}`);
    else if (!isScalarType(arg.type) || arg.type.name !== 'String')
      problems.push(`${where}: argument ${field.name}(${argument}:) must be String, not ${String(arg.type)}`);
    fields.set(field.name, { position, argument });
  }
  if (problems.length > 0) throw new InvalidResumableDirective(problems);
  return fields;
}
