/** Argument checks shared by resolvers: each throws BAD_USER_INPUT naming the argument. */
import { badUserInput } from '../../lib/errors.ts';

/** Page sizes: 1 to `max` (100 by default), the limit the backends accept in one call. */
export function pageSize(first: number, max = 100): number {
  if (!Number.isInteger(first) || first < 1 || first > max) {
    throw badUserInput(`"first" must be between 1 and ${max}, got ${first}`, 'first');
  }
  return first;
}

/** Keeps the first answer for each id, in the order of `ids` (DataLoader needs one result per key). */
export function alignById<T extends { id: string }>(ids: readonly string[], found: readonly T[]): (T | null)[] {
  const byId = new Map(found.map((item) => [item.id, item]));
  return ids.map((id) => byId.get(id) ?? null);
}
