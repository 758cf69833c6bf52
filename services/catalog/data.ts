/**
 * The products the gRPC catalog service serves: generated from a fixed seed, so p1..p500 have the
 * same names, prices and stock on every run (tests and demos may name them).
 */
import { pick, productCount, productId, seededRandom } from '../seed.ts';

/** schema/proto/catalog.proto `Product`. */
export interface CatalogProduct {
  readonly id: string;
  /** Unique among the generated products. */
  readonly name: string;
  /** 199..49999, always ending in 99. */
  readonly priceCents: number;
  /** 0..500 units; about one product in twelve is out of stock. */
  readonly stock: number;
}

const adjectives = [
  'Ancient',
  'Bold',
  'Brisk',
  'Classic',
  'Cosy',
  'Crisp',
  'Daring',
  'Elegant',
  'Fluffy',
  'Gentle',
  'Handy',
  'Humble',
  'Lucky',
  'Modern',
  'Nimble',
  'Quiet',
  'Rustic',
  'Sleek',
  'Sturdy',
  'Sunny',
] as const;

const materials = [
  'Bamboo',
  'Brass',
  'Ceramic',
  'Copper',
  'Cotton',
  'Glass',
  'Leather',
  'Linen',
  'Oak',
  'Steel',
  'Walnut',
  'Wool',
] as const;

const nouns = [
  'Backpack',
  'Blanket',
  'Bottle',
  'Bowl',
  'Candle',
  'Chair',
  'Clock',
  'Kettle',
  'Lamp',
  'Mug',
  'Notebook',
  'Pillow',
  'Planter',
  'Scarf',
  'Shelf',
  'Stool',
  'Teapot',
  'Tray',
  'Umbrella',
  'Vase',
] as const;

const defaultSeed = 0x5eed_ca7a;

/** Products p1..p`count` in id order; the same `seed` always gives the same products. */
export function generateProducts(count = productCount, seed = defaultSeed): CatalogProduct[] {
  const combinations = adjectives.length * materials.length * nouns.length;
  if (count > combinations) throw new RangeError(`at most ${combinations} products have distinct names`);
  const random = seededRandom(seed);
  const used = new Set<string>();
  const products: CatalogProduct[] = [];
  for (let n = 1; n <= count; n++) {
    let name: string;
    do name = `${pick(random, adjectives)} ${pick(random, materials)} ${pick(random, nouns)}`;
    while (used.has(name));
    used.add(name);
    const priceCents = (1 + Math.floor(random() * 499)) * 100 + 99;
    const stock = random() < 0.08 ? 0 : 1 + Math.floor(random() * 500);
    products.push({ id: productId(n), name, priceCents, stock });
  }
  return products;
}
