/**
 * What one operation uses of the API schema, as schema coordinates: the fields it selects
 * (`Type.field`, on the type the selection is made on, through fragments and inline fragments,
 * aliases ignored) and the arguments it passes (`Type.field(arg:)`, as literals or variables).
 * Introspection (`__typename`, `__schema`, `__type`) and directive arguments are not counted.
 *
 * An operation is identified by a hash of its normalized document (the operation and the
 * fragments it reaches, printed by graphql-js, so layout and unused definitions do not matter)
 * and its name.
 */
import { createHash } from 'node:crypto';
import {
  Kind,
  TypeInfo,
  getOperationAST,
  isIntrospectionType,
  print,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';

export interface OperationUsage {
  /** SHA-256 (hex) of the operation's name and normalized document. */
  hash: string;
  /** The operation's name; null for an anonymous one. */
  name: string | null;
  type: 'query' | 'mutation' | 'subscription';
  /** `Type.field` coordinates it selects, sorted. */
  fields: string[];
  /** `Type.field(arg:)` coordinates it passes, sorted. */
  arguments: string[];
}

/**
 * The usage of the operation `operationName` picks in `document`, validated against `schema`
 * beforehand; undefined when it picks none, or when the operation uses nothing but introspection.
 */
export function operationUsage(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null): OperationUsage | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation) return undefined;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  // The fragments the operation reaches, in the document's order: the rest of the document is not its.
  const reached = new Set<string>();
  const reach = (node: Parameters<typeof visit>[0]) =>
    visit(node, {
      FragmentSpread: ({ name: { value } }) => {
        const fragment = fragments.get(value);
        if (reached.has(value) || !fragment) return;
        reached.add(value);
        reach(fragment);
      },
    });
  reach(operation);
  const normalized: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [operation, ...[...fragments.values()].filter((f) => reached.has(f.name.value))],
  };

  const fields = new Set<string>();
  const args = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  visit(
    normalized,
    visitWithTypeInfo(typeInfo, {
      Field: () => {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (parent && field && !introspection(parent, field)) fields.add(`${parent.name}.${field.name}`);
      },
      Argument: () => {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        const argument = typeInfo.getArgument();
        if (typeInfo.getDirective() || !parent || !field || !argument || introspection(parent, field)) return;
        args.add(`${parent.name}.${field.name}(${argument.name}:)`);
      },
    }),
  );
  if (fields.size === 0) return undefined;
  const name = operation.name?.value ?? null;
  return {
    hash: createHash('sha256')
      .update(`${name ?? ''}\n${print(normalized)}`)
      .digest('hex'),
    name,
    type: `${operation.operation}`,
    fields: [...fields].sort(),
    arguments: [...args].sort(),
  };
}

/** `__typename`, `__schema`, `__type`, and the fields of the introspection types. */
const introspection = (parent: GraphQLNamedType, field: GraphQLField<unknown, unknown>) =>
  field.name.startsWith('__') || isIntrospectionType(parent);

/**
 * `operationUsage`, computed once per document object and operation name: Apollo Server hands
 * every request with the same text the same parsed document (its document store), so the hot path
 * costs a lookup. A document seen with another schema (after a reload) is computed again.
 */
export class UsageExtractor {
  private readonly cache = new WeakMap<DocumentNode, Map<string, { schema: GraphQLSchema; usage: OperationUsage | undefined }>>();

  usage(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null): OperationUsage | undefined {
    let byName = this.cache.get(document);
    if (!byName) this.cache.set(document, (byName = new Map()));
    const key = operationName ?? '';
    const cached = byName.get(key);
    if (cached?.schema === schema) return cached.usage;
    const usage = operationUsage(schema, document, operationName);
    byName.set(key, { schema, usage });
    return usage;
  }
}
