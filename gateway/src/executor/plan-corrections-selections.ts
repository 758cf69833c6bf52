/**
 * Small helpers over the two selection shapes a plan holds: graphql-js selection sets (a fetch's
 * operation, parsed) and the planner's `requires` selections (names only, no arguments).
 */
import type { QueryPlanSelectionNode } from '@apollo/query-planner';
import { Kind, print, visit, type ASTNode, type FieldNode, type SelectionNode, type SelectionSetNode } from 'graphql';

export const responseName = (field: FieldNode): string => field.alias?.value ?? field.name.value;

export const isField = (selection: SelectionNode): selection is FieldNode => selection.kind === Kind.FIELD;

/** `set` and the selection sets of the inline fragments in it, at any depth. */
export function withFragments(set: SelectionSetNode): SelectionSetNode[] {
  return [set, ...set.selections.flatMap((s) => (s.kind === Kind.INLINE_FRAGMENT ? withFragments(s.selectionSet) : []))];
}

/** The fields answering to `name` in `sets` (inline fragments included). */
export function fieldsAnswering(sets: readonly SelectionSetNode[], name: string): FieldNode[] {
  return sets.flatMap(withFragments).flatMap((set) => set.selections.filter((s) => isField(s) && responseName(s) === name) as FieldNode[]);
}

/** Whether two fields are given the same arguments (in any order). */
export function sameArguments(a: FieldNode, b: FieldNode): boolean {
  const text = (field: FieldNode) =>
    (field.arguments ?? [])
      .map((argument) => print(argument))
      .sort()
      .join(',');
  return text(a) === text(b);
}

/** The planner's shape of `set` (what a fetch's `requires` holds). */
export function toPlanSelections(set: SelectionSetNode): QueryPlanSelectionNode[] {
  return set.selections.flatMap((s): QueryPlanSelectionNode[] => {
    if (s.kind === Kind.FIELD) {
      return [{ kind: 'Field', name: s.name.value, ...(s.selectionSet && { selections: toPlanSelections(s.selectionSet) }) }];
    }
    if (s.kind === Kind.INLINE_FRAGMENT) {
      return [{ kind: 'InlineFragment', typeCondition: s.typeCondition?.name.value, selections: toPlanSelections(s.selectionSet) }];
    }
    return [];
  });
}

/** Whether the planner's `selections` hold every field of `wanted` (by name, at every depth). */
export function planSelectionsCover(selections: readonly QueryPlanSelectionNode[], wanted: SelectionSetNode): boolean {
  return wanted.selections.every((w) => {
    if (!isField(w)) return false;
    const found = selections.find((s) => s.kind === 'Field' && s.alias === undefined && s.name === w.name.value);
    if (!found || found.kind !== 'Field') return false;
    return !w.selectionSet || planSelectionsCover(found.selections ?? [], w.selectionSet);
  });
}

/** Whether `set` selects every field of `wanted` under its own name, without arguments. */
export function selectionCovers(set: SelectionSetNode | undefined, wanted: SelectionSetNode): boolean {
  return wanted.selections.every((w) => {
    if (!isField(w) || !set) return false;
    const found = fieldsAnswering([set], w.name.value).find((f) => f.name.value === w.name.value && !f.arguments?.length);
    return found !== undefined && (!w.selectionSet || selectionCovers(found.selectionSet, w.selectionSet));
  });
}

/** The names of the variables used in `node`. */
export function variablesIn(node: ASTNode): Set<string> {
  const names = new Set<string>();
  visit(node, { Variable: (v) => void names.add(v.name.value) });
  return names;
}
