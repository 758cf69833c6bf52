/**
 * Deterministic seed data for the example domain: the same ids, names and numbers on every run, so
 * tests and demos can name them. Customer ids are c1..cN, product ids p1..pN.
 */

/** mulberry32: a tiny, fast, seeded PRNG (deterministic across runs and platforms). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

export const customerCount = 1000;
export const productCount = 500;

export const customerId = (n: number) => `c${n}`;
export const productId = (n: number) => `p${n}`;
