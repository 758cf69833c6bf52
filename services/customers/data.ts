/**
 * The customers the REST service serves: generated from a fixed seed, so c1..c1000 have the same
 * names, tiers and favourite products on every run (tests and demos may name them).
 */
import { customerCount, customerId, pick, productCount, productId, seededRandom } from '../seed.ts';

export const customerTiers = ['standard', 'gold', 'platinum'] as const;
export type CustomerTier = (typeof customerTiers)[number];

/** schema/openapi/customers.yaml `Customer`. */
export interface Customer {
  readonly id: string;
  readonly name: string;
  /** Unique: derived from the name and the id. */
  readonly email: string;
  readonly tier: CustomerTier;
  /** 2 to 5 distinct product ids among p1..p500. */
  readonly favoriteProductIds: readonly string[];
}

const firstNames = [
  'Ada',
  'Alan',
  'Amara',
  'Ben',
  'Chloe',
  'Dmitri',
  'Elena',
  'Farah',
  'Grace',
  'Hiro',
  'Ines',
  'Jonas',
  'Kwame',
  'Lena',
  'Mateo',
  'Nadia',
  'Omar',
  'Priya',
  'Quinn',
  'Rosa',
  'Sven',
  'Tara',
  'Uma',
  'Victor',
  'Wen',
  'Yusuf',
  'Zoe',
] as const;

const lastNames = [
  'Andersen',
  'Baker',
  'Castillo',
  'Dubois',
  'Eriksen',
  'Fischer',
  'Garcia',
  'Hughes',
  'Ito',
  'Jensen',
  'Kowalski',
  'Lopez',
  'Moreau',
  'Nakamura',
  'Okafor',
  'Petrov',
  'Rossi',
  'Schmidt',
  'Tanaka',
  'Usman',
  'Varga',
  'Weber',
  'Yilmaz',
  'Zhang',
] as const;

const defaultSeed = 0x5eed_c057;

/** Customers c1..c`count` in id order; the same `seed` always gives the same customers. */
export function generateCustomers(count = customerCount, seed = defaultSeed): Customer[] {
  const random = seededRandom(seed);
  const customers: Customer[] = [];
  for (let n = 1; n <= count; n++) {
    const first = pick(random, firstNames);
    const last = pick(random, lastNames);
    const roll = random();
    const tier: CustomerTier = roll < 0.08 ? 'platinum' : roll < 0.3 ? 'gold' : 'standard';
    const favourites = new Set<string>();
    const wanted = 2 + Math.floor(random() * 4);
    while (favourites.size < wanted) favourites.add(productId(1 + Math.floor(random() * productCount)));
    customers.push({
      id: customerId(n),
      name: `${first} ${last}`,
      email: `${first}.${last}.${n}@example.com`.toLowerCase(),
      tier,
      favoriteProductIds: [...favourites],
    });
  }
  return customers;
}
