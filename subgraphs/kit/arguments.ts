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

/**
 * For a backend without a batch read: one call per key, all started at once (each waits for a slot
 * in the source's bulkhead), never one after another. A key whose call fails gets its own Error, as
 * DataLoader expects, so one failure does not fail the other keys.
 */
export async function eachConcurrently<K, V>(keys: readonly K[], call: (key: K) => Promise<V>): Promise<(V | Error)[]> {
  const settled = await Promise.allSettled(keys.map(call));
  return settled.map((s) => (s.status === 'fulfilled' ? s.value : s.reason instanceof Error ? s.reason : new Error(String(s.reason))));
}
