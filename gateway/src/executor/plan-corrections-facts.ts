/**
 * What the plan corrections read from a supergraph, per subgraph and entity type: its keys (and
 * whether each is resolvable there), the selection it `@requires` for a field (arguments kept, which
 * the planner's `requires` drops), and whether it resolves a selection itself. All of it comes from
 * the subgraphs federation extracts from the supergraph's `join__type(key:, resolvable:)` and
 * `join__field(requires:, external:)`.
 */
import { baseType, isInterfaceType, isObjectType, type Subgraph, type Supergraph } from '@apollo/federation-internals';
import { Kind, parse, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';

export interface EntityKey {
  fields: SelectionSetNode;
  resolvable: boolean;
}

export interface SupergraphFacts {
  /** Whether any plan of this supergraph can need a correction (some @requires or some resolvable: false key exists). */
  readonly relevant: boolean;
  /** `subgraph`'s keys for `type`, in declaration order. */
  keys(subgraph: string, type: string): readonly EntityKey[];
  /** The selection `subgraph` declares `@requires` for `type.field`, if any. */
  requires(subgraph: string, type: string, field: string): SelectionSetNode | undefined;
  /** Whether a field of `selection` on `type` is declared with arguments in `subgraph` (at any depth). */
  takesArguments(subgraph: string, type: string, selection: SelectionSetNode): boolean;
  /** Whether `subgraph` resolves every field of `selection` on `type` itself (all declared there, none external). */
  resolves(subgraph: string, type: string, selection: SelectionSetNode): boolean;
  /** Whether `type` is an object type of the supergraph (an inline fragment on another one never applies to it). */
  isObjectType(type: string): boolean;
}

const cache = new WeakMap<Supergraph, SupergraphFacts>();

export function factsOf(supergraph: Supergraph): SupergraphFacts {
  let facts = cache.get(supergraph);
  if (!facts) {
    facts = readFacts(supergraph);
    cache.set(supergraph, facts);
  }
  return facts;
}

/** Parses a field set (`price(currency: "USD")`, `comments(limit: 3) { id }`) into a selection set. */
export function parseFieldSet(fields: string): SelectionSetNode {
  return (parse(`{${fields}}`, { noLocation: true }).definitions[0] as OperationDefinitionNode).selectionSet;
}

function readFacts(supergraph: Supergraph): SupergraphFacts {
  const keys = new Map<string, EntityKey[]>();
  const requires = new Map<string, SelectionSetNode>();
  const subgraphs = new Map<string, Subgraph>();
  let relevant = false;
  for (const subgraph of supergraph.subgraphs()) {
    subgraphs.set(subgraph.name, subgraph);
    const metadata = subgraph.metadata();
    for (const type of subgraph.schema.types()) {
      if (!isObjectType(type) && !isInterfaceType(type)) continue;
      const typeKeys = type.appliedDirectivesOf(metadata.keyDirective()).map((key) => {
        const { fields, resolvable } = key.arguments();
        return { fields: parseFieldSet(fields), resolvable: resolvable ?? true };
      });
      if (typeKeys.length) keys.set(`${subgraph.name}/${type.name}`, typeKeys);
      if (typeKeys.some((k) => !k.resolvable)) relevant = true;
      for (const field of type.fields()) {
        const [applied] = field.appliedDirectivesOf(metadata.requiresDirective());
        if (!applied) continue;
        requires.set(`${subgraph.name}/${type.name}.${field.name}`, parseFieldSet(applied.arguments().fields));
        relevant = true;
      }
    }
  }

  const compositeType = (subgraph: string, type: string) => {
    const found = subgraphs.get(subgraph)?.schema.type(type);
    return found && (isObjectType(found) || isInterfaceType(found)) ? found : undefined;
  };

  const takesArguments = (subgraph: string, type: string, selection: SelectionSetNode): boolean =>
    selection.selections.some((s) => {
      if (s.kind === Kind.INLINE_FRAGMENT) return takesArguments(subgraph, s.typeCondition?.name.value ?? type, s.selectionSet);
      if (s.kind !== Kind.FIELD) return false;
      const field = compositeType(subgraph, type)?.field(s.name.value);
      if (!field) return false;
      if (field.arguments().length > 0) return true;
      return (
        s.selectionSet !== undefined && field.type !== undefined && takesArguments(subgraph, baseType(field.type).name, s.selectionSet)
      );
    });

  const resolves = (subgraph: string, type: string, selection: SelectionSetNode): boolean => {
    const parent = compositeType(subgraph, type);
    const metadata = subgraphs.get(subgraph)?.metadata();
    if (!parent || !metadata) return false;
    return selection.selections.every((s) => {
      if (s.kind === Kind.INLINE_FRAGMENT) return resolves(subgraph, s.typeCondition?.name.value ?? type, s.selectionSet);
      if (s.kind !== Kind.FIELD) return false;
      if (s.name.value === '__typename') return true;
      const field = parent.field(s.name.value);
      if (!field?.type || metadata.isFieldExternal(field)) return false;
      return s.selectionSet === undefined || resolves(subgraph, baseType(field.type).name, s.selectionSet);
    });
  };

  return {
    relevant,
    keys: (subgraph, type) => keys.get(`${subgraph}/${type}`) ?? [],
    requires: (subgraph, type, field) => requires.get(`${subgraph}/${type}.${field}`),
    takesArguments,
    resolves,
    isObjectType: (type) => {
      const found = supergraph.schema.type(type);
      return found !== undefined && isObjectType(found);
    },
  };
}
