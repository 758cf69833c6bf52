/**
 * The operation filter: the document without the selections the caller may not see, so that no
 * subgraph is ever asked for them, and a tree of what was removed (`removals.ts`) for the result
 * patch. A selection set left empty takes its field with it; variables and fragments nothing uses
 * any more are dropped, so the document stays valid for the planner.
 *
 * One pass over the document: a named fragment is filtered once and its result shared by every
 * spread, so a fragment "bomb" costs its size, not its expansion. The input must be a valid
 * document for `schema` (Apollo Server and graphql-ws validate before the gateway executes).
 *
 * A fragment's type condition is not checked on its own: any object of a protected type arrives
 * through a field returning that type or an abstract type that includes it, and that field already
 * carries the type's requirements (see `policy.ts`).
 */
import {
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  getDirectiveValues,
  getNamedType,
  isAbstractType,
  isListType,
  isNonNullType,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Principal } from '../../../lib/auth/principal.ts';
import { unmet, type AuthorizationPolicy } from './policy.ts';
import {
  TYPENAME_KEY,
  firstReason,
  type FragmentRemovals,
  type NestedRemovals,
  type Nullability,
  type RemovalNode,
  type RemovedField,
} from './removals.ts';

export interface FilteredOperation {
  /** The document to execute; null when every root field was removed (nothing to execute). */
  document: DocumentNode | null;
  /** What was removed; null when nothing was (then `document` is the input, unchanged). */
  removals: RemovalNode | null;
}

interface Filtered {
  /** The selection set to keep; null when nothing in it is left. */
  set: SelectionSetNode | null;
  removals: RemovalNode | null;
}

const TYPENAME_SELECTION: FieldNode = {
  kind: Kind.FIELD,
  alias: { kind: Kind.NAME, value: TYPENAME_KEY },
  name: { kind: Kind.NAME, value: '__typename' },
};

export function filterOperation(
  schema: GraphQLSchema,
  policy: AuthorizationPolicy,
  document: DocumentNode,
  operationName: string | null | undefined,
  principal: Principal,
  variables: Readonly<Record<string, unknown>> = {},
): FilteredOperation {
  const unchanged = { document, removals: null };
  if (policy.empty) return unchanged;
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName
    ? operations.find((o) => o.name?.value === operationName)
    : operations.length === 1
      ? operations[0]
      : undefined;
  const root = operation && schema.getRootType(operation.operation);
  if (!operation || !root) return unchanged;

  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const filteredFragments = new Map<string, Filtered>();
  const decisions = new Map<string, string | null>();
  const gates = new Map<string, ReadonlySet<string> | undefined>();

  /** Why the principal may not select `field` on `type`, or null; decided once per field. */
  const denial = (type: string, field: string): string | null => {
    const coordinate = `${type}.${field}`;
    let reason = decisions.get(coordinate);
    if (reason === undefined) {
      const requirements = policy.field(type, field);
      const missing = requirements ? unmet(requirements, principal) : null;
      reason = missing && `"${coordinate}" needs ${missing}`;
      decisions.set(coordinate, reason);
    }
    return reason;
  };

  /** The object types a fragment on `condition` is limited to inside `parent`, or undefined if it covers them all. */
  const gate = (parent: GraphQLCompositeType, condition: GraphQLCompositeType): ReadonlySet<string> | undefined => {
    const key = `${parent.name}\u0000${condition.name}`;
    if (!gates.has(key)) {
      const covered = new Set(possibleTypes(schema, condition));
      gates.set(key, possibleTypes(schema, parent).every((t) => covered.has(t)) ? undefined : covered);
    }
    return gates.get(key);
  };

  const filterSet = (set: SelectionSetNode, parent: GraphQLCompositeType): Filtered => {
    const kept: SelectionNode[] = [];
    const removed: RemovedField[] = [];
    const nested: NestedRemovals[] = [];
    const fragmentRemovals: FragmentRemovals[] = [];
    let changed = false;
    let typename = false;
    const inFragment = (
      result: Filtered,
      condition: GraphQLCompositeType,
      keep: (s: SelectionSetNode) => SelectionNode,
      original: SelectionNode,
    ) => {
      if (result.removals) {
        const types = gate(parent, condition);
        fragmentRemovals.push({ node: result.removals, types });
        typename ||= types !== undefined;
      }
      if (result.set === null) changed = true;
      else kept.push(result.removals ? keep(result.set) : original);
      if (result.removals) changed = true;
    };

    for (const selection of set.selections) {
      // Skipped with these variables: not in the result, and not executed either (the engine
      // evaluates the same directives with the same variables), so neither removed nor reported.
      if (selection.directives?.length && excluded(selection, variables)) kept.push(selection);
      else if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        const key = selection.alias?.value ?? name;
        const definition = name.startsWith('__') || !('getFields' in parent) ? undefined : parent.getFields()[name];
        if (!definition) {
          kept.push(selection); // __typename and introspection: nothing to authorize
          continue;
        }
        const nullability = nullabilityOf(definition.type);
        const reason = denial(parent.name, name);
        if (reason) {
          removed.push({ key, message: reason, nullability });
          changed = true;
          continue;
        }
        if (!selection.selectionSet) {
          kept.push(selection);
          continue;
        }
        const inner = filterSet(selection.selectionSet, getNamedType(definition.type) as GraphQLCompositeType);
        if (inner.set === null) {
          const why = inner.removals && firstReason(inner.removals);
          removed.push({
            key,
            message: `nothing selected in "${parent.name}.${name}" is allowed${why ? ` (${why})` : ''}`,
            nullability,
            emptied: inner.removals ?? undefined,
          });
          changed = true;
        } else if (inner.removals) {
          nested.push({ key, node: inner.removals, nullability });
          kept.push({ ...selection, selectionSet: inner.set });
          changed = true;
        } else kept.push(selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? (schema.getType(selection.typeCondition.name.value) as GraphQLCompositeType) : parent;
        inFragment(filterSet(selection.selectionSet, condition), condition, (s) => ({ ...selection, selectionSet: s }), selection);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment) {
          kept.push(selection);
          continue;
        }
        const condition = schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType;
        let result = filteredFragments.get(fragment.name.value);
        if (!result) {
          result = filterSet(fragment.selectionSet, condition);
          filteredFragments.set(fragment.name.value, result);
        }
        inFragment(result, condition, () => selection, selection);
      }
    }
    if (!changed) return { set, removals: null };
    if (kept.length === 0) return { set: null, removals: { removed, nested, fragments: fragmentRemovals, typename: false } };
    if (typename) kept.push(TYPENAME_SELECTION);
    return { set: { ...set, selections: kept }, removals: { removed, nested, fragments: fragmentRemovals, typename } };
  };

  const result = filterSet(operation.selectionSet, root);
  if (!result.removals) return unchanged;
  if (!result.set) return { document: null, removals: result.removals };
  return { document: rebuild({ ...operation, selectionSet: result.set }, fragments, filteredFragments), removals: result.removals };
}

/** The operation with the fragments it still spreads, each filtered, and only the variables still used. */
function rebuild(
  operation: OperationDefinitionNode,
  fragments: Map<string, FragmentDefinitionNode>,
  filtered: Map<string, Filtered>,
): DocumentNode {
  const variables = new Set<string>();
  const reached = new Map<string, FragmentDefinitionNode>();
  const pending: SelectionSetNode[] = [operation.selectionSet];
  for (let set = pending.pop(); set; set = pending.pop()) {
    visit(set, {
      Variable: (node) => void variables.add(node.name.value),
      FragmentSpread: (node) => {
        const name = node.name.value;
        const fragment = fragments.get(name);
        if (reached.has(name) || !fragment) return;
        const selectionSet = filtered.get(name)?.set ?? fragment.selectionSet;
        reached.set(name, { ...fragment, selectionSet });
        pending.push(selectionSet);
      },
    });
  }
  // Variables in the operation's own directives count too.
  visit(
    { ...operation, selectionSet: { kind: Kind.SELECTION_SET, selections: [] }, variableDefinitions: [] },
    {
      Variable: (node) => void variables.add(node.name.value),
    },
  );
  const variableDefinitions = operation.variableDefinitions?.filter((v) => variables.has(v.variable.name.value));
  return { kind: Kind.DOCUMENT, definitions: [{ ...operation, variableDefinitions }, ...reached.values()] };
}

function excluded(selection: SelectionNode, variables: Readonly<Record<string, unknown>>): boolean {
  try {
    return (
      getDirectiveValues(GraphQLSkipDirective, selection, variables)?.['if'] === true ||
      getDirectiveValues(GraphQLIncludeDirective, selection, variables)?.['if'] === false
    );
  } catch {
    return false; // a missing or invalid variable: the engine refuses the request; authorize as if included
  }
}

function possibleTypes(schema: GraphQLSchema, type: GraphQLCompositeType): string[] {
  return isAbstractType(type) ? schema.getPossibleTypes(type).map((t) => t.name) : [type.name];
}

function nullabilityOf(type: GraphQLOutputType): Nullability {
  const levels: boolean[] = [];
  let current: GraphQLOutputType = type;
  for (;;) {
    const nonNull = isNonNullType(current);
    if (isNonNullType(current)) current = current.ofType;
    levels.push(nonNull);
    if (!isListType(current)) return levels;
    current = current.ofType;
  }
}
