/**
 * The result patch: after execution, `null` where the filter removed a field (in every element of
 * a list), with GraphQL's null propagation (a non-null field's null nulls its parent, up to the
 * nearest nullable one), and an `UNAUTHORIZED` error at the path of each removed field. The rest of
 * the data stays as it came back.
 *
 * Errors are bounded: one per removed field and list position collapsed (a field removed in each of
 * 100 list items gets one error, at the first item's path), and at most `MAX_UNAUTHORIZED_ERRORS`
 * in one result; the nulls are all there whatever the count. An object reached through the same
 * fragment twice is patched once, so fragment spreads cost no more than the data.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';
import { ErrorCode } from '../../../lib/errors.ts';
import { TYPENAME_KEY, type Nullability, type RemovalNode } from './removals.ts';

export const MAX_UNAUTHORIZED_ERRORS = 100;

type Data = Record<string, unknown>;
type Path = (string | number)[];

/** A value whose null must propagate to its parent. */
const PROPAGATE = Symbol('propagate');

class Patch {
  readonly errors: GraphQLError[] = [];
  private readonly reported = new Set<string>();
  private readonly visited = new Map<object, Set<RemovalNode>>();
  private readonly hiddenTypename: Data[] = [];

  object(target: Data, node: RemovalNode, path: Path): typeof PROPAGATE | undefined {
    let seen = this.visited.get(target);
    if (!seen) this.visited.set(target, (seen = new Set()));
    if (seen.has(node)) return undefined;
    seen.add(node);
    if (node.typename) this.hiddenTypename.push(target);
    let propagate = false;
    for (const field of node.removed) {
      if (field.emptied && target[field.key] !== undefined) continue; // selected elsewhere too: patched below
      target[field.key] = null;
      this.report([...path, field.key], field.message);
      propagate ||= field.nullability[0]!;
    }
    const nested = node.removed.filter((f) => f.emptied && target[f.key] !== undefined).map((f) => ({ ...f, node: f.emptied! }));
    for (const field of nested.length > 0 ? [...node.nested, ...nested] : node.nested) {
      const value = target[field.key];
      if (value === null || value === undefined) continue;
      path.push(field.key);
      if (this.value(value, field.node, field.nullability, 0, path) === PROPAGATE) {
        target[field.key] = null;
        propagate ||= field.nullability[0]!;
      }
      path.pop();
    }
    const typename = target[TYPENAME_KEY];
    for (const fragment of node.fragments) {
      if (fragment.types && !(typeof typename === 'string' && fragment.types.has(typename))) continue;
      propagate = this.object(target, fragment.node, path) === PROPAGATE || propagate;
    }
    return propagate ? PROPAGATE : undefined;
  }

  private value(value: unknown, node: RemovalNode, nullability: Nullability, depth: number, path: Path): typeof PROPAGATE | undefined {
    if (depth === nullability.length - 1) return this.object(value as Data, node, path);
    const items = value as unknown[];
    for (let i = 0; i < items.length; i++) {
      if (items[i] === null || items[i] === undefined) continue;
      path.push(i);
      const outcome = this.value(items[i], node, nullability, depth + 1, path);
      path.pop();
      if (outcome === PROPAGATE) {
        items[i] = null;
        if (nullability[depth + 1]) return PROPAGATE;
      }
    }
    return undefined;
  }

  private report(path: Path, message: string): void {
    if (this.errors.length >= MAX_UNAUTHORIZED_ERRORS) return;
    const collapsed = path.map((p) => (typeof p === 'number' ? '@' : p)).join('\u0000');
    if (this.reported.has(collapsed)) return;
    this.reported.add(collapsed);
    this.errors.push(new GraphQLError(`not authorized: ${message}`, { path, extensions: { code: ErrorCode.UNAUTHORIZED } }));
  }

  finish(): void {
    for (const target of this.hiddenTypename) delete target[TYPENAME_KEY];
  }
}

/**
 * The result of executing the filtered document, patched for what was removed; `result` is the
 * executor's (`{ data: {} }` when nothing was executed) and its data is changed in place. The
 * unauthorized errors come before the executor's own. A result without data (a request error, or
 * null propagated to the root already) is returned as it is: there are no paths to put errors at.
 */
export function patchResult<R extends ExecutionResult>(result: R, removals: RemovalNode): R {
  if (result.data === null || result.data === undefined) return result;
  const patch = new Patch();
  const data: Data | null = patch.object(result.data, removals, []) === PROPAGATE ? null : result.data;
  patch.finish();
  return { ...result, data, errors: [...patch.errors, ...(result.errors ?? [])] };
}
