/**
 * Resolvers for the usual entity shape: one by id, the first N in order, and the federation
 * reference resolver, all through the request's DataLoader so lookups in one request are batched
 * and a listed entity is not fetched again.
 */
import type DataLoader from 'dataloader';
import { pageSize } from './arguments.ts';

export interface EntityAccess<T extends { id: string }, Ctx> {
  /** The request's loader for this entity. */
  loader(ctx: Ctx): DataLoader<string, T | null>;
  /** The first `count` entities in id order, in one backend call. */
  list(ctx: Ctx, count: number): Promise<T[]>;
}

export function entityResolvers<T extends { id: string }, Ctx>(access: EntityAccess<T, Ctx>) {
  return {
    byId: (_root: unknown, { id }: { id: string }, ctx: Ctx) => access.loader(ctx).load(id),
    list: async (_root: unknown, { first }: { first: number }, ctx: Ctx) => {
      const items = await access.list(ctx, pageSize(first));
      const loader = access.loader(ctx);
      for (const item of items) loader.prime(item.id, item);
      return items;
    },
    reference: (ref: { id: string }, ctx: Ctx) => access.loader(ctx).load(ref.id),
  };
}
