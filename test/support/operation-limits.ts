/** What the operation-limit tests share: the hostile documents, and the parser's token count. */
import { parse } from 'graphql';
import { scalarFragmentBomb } from '../hostile/documents.ts';

/** The hostile documents, against the example schema's shapes. */
export const BOMBS: Readonly<Record<string, string>> = {
  'customers(first:100){favoriteProducts{name}} x 1000 aliases (58 KB)': `{ ${Array.from(
    { length: 1000 },
    (_, i) => `a${i}: customers(first: 100) { favoriteProducts { name } }`,
  ).join(' ')} }`,
  'a 2 KB fragment bomb': `{ ...F0 } ${Array.from({ length: 40 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join(' ')} fragment F40 on Query { customers { id } }`,
  'a 50k-alias subscription (939 KB)': `subscription { orderEvents { ${Array.from({ length: 50_000 }, (_, i) => `alias${i}: cursor`).join(' ')} } }`,
  'a fragment bomb of scalar fields below the root (20 levels: 2^20 fields)': scalarFragmentBomb(20),
  'a subscription fragment bomb of scalar fields (22 levels: 2^22 fields)': scalarFragmentBomb(22, 'subscription'),
  'circular introspection 14 deep': `{ __schema { types { ${'fields { type { '.repeat(5)}fields { name }${' } }'.repeat(5)} } } }`,
  'a long fragment chain': `{ ...C0 } ${Array.from({ length: 3_000 }, (_, i) => `fragment C${i} on Query { ...C${i + 1} }`).join(' ')} fragment C3000 on Query { __typename }`,
};

/** The smallest `maxTokens` graphql-js parses the document with: its token count as the parser counts. */
export function tokensOf(query: string): number {
  let [low, high] = [1, 1_000_000];
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    try {
      parse(query, { maxTokens: middle });
      high = middle;
    } catch {
      low = middle + 1;
    }
  }
  return low;
}
