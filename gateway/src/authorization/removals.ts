/**
 * What the operation filter took out of a document, in the shape of the document: one node per
 * selection set, shared by every spread of a named fragment, so its size is the document's size
 * however often fragments are spread. The result patch walks it together with the data.
 */

/**
 * For a field's type from the outside in: whether it is non-null, then (one entry per list level)
 * whether its items are. `[User!]!` is `[true, true]`, `User` is `[false]`.
 */
export type Nullability = readonly boolean[];

export interface RemovedField {
  /** Its response key (alias or name). */
  readonly key: string;
  /** Why, naming the field and what is missing; the error says `not authorized: ` and this. */
  readonly message: string;
  readonly nullability: Nullability;
  /**
   * Set when the field went because nothing in its selection set was left: if another selection
   * of the same response key brought the field back anyway, these apply inside it instead.
   */
  readonly emptied?: RemovalNode | undefined;
}

export interface NestedRemovals {
  /** The response key of a kept field whose own selections lost something. */
  readonly key: string;
  readonly node: RemovalNode;
  readonly nullability: Nullability;
}

export interface FragmentRemovals {
  readonly node: RemovalNode;
  /**
   * The object types the fragment applies to, when narrower than the enclosing selection's: the
   * patch reads the object's type from the hidden `__typename` selection (`TYPENAME_KEY`).
   */
  readonly types?: ReadonlySet<string> | undefined;
}

export interface RemovalNode {
  readonly removed: readonly RemovedField[];
  readonly nested: readonly NestedRemovals[];
  readonly fragments: readonly FragmentRemovals[];
  /** This selection set got the hidden `__typename` selection; the patch deletes it from the result. */
  readonly typename: boolean;
}

/** The response key of the `__typename` the filter adds where a fragment's type decides what was removed. */
export const TYPENAME_KEY = 'interchange__typename';

/** The first reason found in a node: why a field whose selections all went is gone too. */
export function firstReason(node: RemovalNode): string | undefined {
  if (node.removed[0]) return node.removed[0].message;
  for (const child of [...node.nested, ...node.fragments]) {
    const reason = firstReason(child.node);
    if (reason) return reason;
  }
  return undefined;
}
